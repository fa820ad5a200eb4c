# Two commands set up a fresh machine: `make demo` (the agent, nothing else) and `make test` (everything).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
RUNTIME_APT := $(shell grep -v '^\#' infra/apt-runtime.txt)
TEST_APT := $(shell grep -v '^\#' infra/apt-test.txt)
# The default install: the live agent, `simulate`, the console. No torch, no GPL package (README, licences).
RUNTIME_STAMP := $(VENV)/.installed-runtime
# Everything the tests, trainers and benchmarks need on top.
ALL_STAMP := $(VENV)/.installed-all

.PHONY: demo test test-fast lint runtime-deps test-deps venv dst-model web-assets clean

# Debian packages: installed when run as root, otherwise the one line to run is printed.
define apt_install
@missing=$$(for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
if [ -z "$$missing" ]; then echo "Debian packages present: $(strip $(1))"; \
elif [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
else echo "missing Debian packages: $$missing -- install them with: sudo apt-get install -y $$missing" >&2; exit 1; fi
endef

NO_DEPS := infra/requirements-no-deps.txt

$(RUNTIME_STAMP): pyproject.toml $(NO_DEPS)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[voice,telemetry]"
	$(PY) -m pip install --quiet --no-deps -r $(NO_DEPS)
	@touch $(RUNTIME_STAMP)

$(ALL_STAMP): pyproject.toml $(NO_DEPS)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[voice,telemetry,piper,train,cluster,dev]"
	$(PY) -m pip install --quiet --no-deps -r $(NO_DEPS)
	@touch $(RUNTIME_STAMP) $(ALL_STAMP)

venv: $(ALL_STAMP)

runtime-deps:
	$(call apt_install,$(RUNTIME_APT))

test-deps: runtime-deps
	$(call apt_install,$(TEST_APT))

# Simulated calls in text and through audio, then the web console (DEMO_SERVE=0 stops after the calls).
DEMO_SERVE ?= 1
demo: runtime-deps $(RUNTIME_STAMP)
	$(PY) -m agent_runtime simulate --text --calls 4 --one-per-persona --explain --print --seed 7 --out runs/demo-text
	$(PY) -m agent_runtime simulate --calls 2 --one-per-persona --print --out runs/demo
	@if [ "$(DEMO_SERVE)" != 0 ]; then EVENTS_DB=runs/demo/events.db $(PY) -m agent_runtime web; fi

lint: $(ALL_STAMP)
	$(PY) -m ruff check .
	$(VENV)/bin/lint-imports

test: test-deps $(ALL_STAMP) lint
	DATABASE_TEST_URL=$$(infra/postgres-up.sh) $(PY) -m pytest -q

test-fast: $(ALL_STAMP)
	$(PY) -m pytest -q -m "not slow"

# The console's front-end packages (npm registry, committed lockfile), copied into the committed static/vendor.
WEB := agent_runtime/web
web-assets:
	cd $(WEB)/frontend && npm ci --no-audit --no-fund
	cp $(WEB)/frontend/node_modules/uplot/dist/uPlot.iife.min.js $(WEB)/frontend/node_modules/uplot/dist/uPlot.min.css \
		$(WEB)/frontend/node_modules/livekit-client/dist/livekit-client.umd.js $(WEB)/static/vendor/

dst-model: $(ALL_STAMP)
	$(PY) -m training.train_dst --out agent_runtime/dst/intent_model.npz

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
