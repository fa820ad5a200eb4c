# Two commands set up a fresh machine: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
APT_PACKAGES := $(shell grep -v '^\#' infra/apt-packages.txt)
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast lint system-deps venv dst-model clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev,train,telemetry,cluster,voice]"
	@touch $(STAMP)

venv: $(STAMP)

system-deps:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -z "$$missing" ]; then echo "system packages present: $(APT_PACKAGES)"; \
	elif [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	else echo "missing Debian packages: $$missing -- install them with: sudo apt-get install -y $$missing" >&2; exit 1; fi

demo: $(STAMP)
	$(PY) -m training.demo --calls 4
	$(PY) -m agent_runtime simulate --calls 2 --one-per-persona --print --out runs/demo

lint: $(STAMP)
	$(PY) -m ruff check .

test: system-deps $(STAMP) lint
	$(PY) -m pytest -q

test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow"

dst-model: $(STAMP)
	$(PY) -m training.train_dst

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
