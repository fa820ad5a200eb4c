"""Real services for tests, each on a free loopback port and stopped by PID (never through a shell)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

INFRA = Path(__file__).resolve().parent.parent / "infra"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.02)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


class Mosquitto:
    """Debian's mosquitto with persistence saved on every change, so a SIGKILL loses nothing it acknowledged."""

    def __init__(self, folder: Path, port: int | None = None):
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not Path(binary).exists():
            raise RuntimeError("mosquitto is not installed: apt-get install -y mosquitto (see infra/apt-test.txt)")
        self.binary, self.folder, self.port = binary, folder, port or free_port()
        self.tls_port: int | None = None  # set by listen_tls
        self.process: subprocess.Popen | None = None
        folder.mkdir(parents=True, exist_ok=True)
        self.config = folder / "mosquitto.conf"
        as_root = "user root\n" if os.geteuid() == 0 else ""
        self.config.write_text(
            f"{as_root}listener {self.port} 127.0.0.1\nallow_anonymous true\nset_tcp_nodelay true\n"
            f"persistence true\npersistence_location {folder}/\nautosave_interval 1\nautosave_on_changes true\n"
            f"max_queued_messages 0\nmax_inflight_messages 1000\nlog_dest file {folder}/mosquitto.log\n"
        )

    def require_password(self, user: str, password: str) -> Mosquitto:
        """Refuse anonymous clients and accept `user` with `password` (before start)."""
        passwords = self.folder / "passwd"
        subprocess.run(["mosquitto_passwd", "-b", "-c", str(passwords), user, password], check=True)
        return self.use_password_file(passwords)

    def use_password_file(self, passwords: Path) -> Mosquitto:
        """Refuse anonymous clients and accept the accounts of `passwords`, a mosquitto_passwd file (before start)."""
        self.config.write_text(
            self.config.read_text().replace("allow_anonymous true", "allow_anonymous false")
            + f"password_file {passwords}\n"
        )
        return self

    def use_acl(self, acl: Path) -> Mosquitto:
        """Enforce the access rules of `acl` (Mosquitto's acl_file): what no rule allows is denied (before start).

        Mosquitto 2.0 drops the connection of a client whose publish it denies when max_queued_messages is 0 (no
        limit), where the shipped config's finite limit keeps it: this broker takes the shipped limit too."""
        config = self.config.read_text().replace("max_queued_messages 0\n", "max_queued_messages 100000\n")
        self.config.write_text(config + f"acl_file {acl}\n")
        return self

    def listen_tls(self, cert: Path, key: Path, ca: Path | None = None) -> Mosquitto:
        """Also listen for MQTT over TLS on a free port (`tls_port`, `tls_url`), presenting `cert` (its private key:
        `key`); `ca` is the broker's cafile (the CA it would check client certificates against; none required).
        The plain listener stays; both share the accounts and rules (before start)."""
        self.tls_port = free_port()
        while self.tls_port == self.port:
            self.tls_port = free_port()
        ca_line = f"cafile {ca}\n" if ca else ""
        self.config.write_text(
            self.config.read_text()
            + f"listener {self.tls_port} 127.0.0.1\ncertfile {cert}\nkeyfile {key}\n{ca_line}tls_version tlsv1.2\n"
        )
        return self

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    @property
    def tls_url(self) -> str:
        if self.tls_port is None:
            raise RuntimeError("no TLS listener: call listen_tls before start")
        return f"mqtts://127.0.0.1:{self.tls_port}"

    def start(self) -> Mosquitto:
        self.process = subprocess.Popen(
            [self.binary, "-c", str(self.config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        for port in (self.port, self.tls_port):
            if port is not None:
                try:
                    wait_for_port(port)
                except TimeoutError:
                    self.stop()
                    raise TimeoutError(f"mosquitto does not listen on {port}: see its log in {self.folder}") from None
        return self

    def kill(self) -> None:
        """SIGKILL: the broker dies mid-stream without a chance to clean up."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.kill()


@dataclass(frozen=True)
class Certificates:
    ca: Path  # the CA's certificate: what clients trust (MQTT_CA_FILE)
    cert: Path  # the server's certificate, for 127.0.0.1
    key: Path  # the server's private key


def make_certificates(folder: Path, host: str = "127.0.0.1") -> Certificates:
    """A throwaway CA and a server certificate for `host` (an IP address), EC P-256 keys, valid one day (openssl)."""
    folder.mkdir(parents=True, exist_ok=True)

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=folder)

    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "1", "-subj", "/CN=throwaway test CA")
    openssl("req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", f"/CN={host}")
    (folder / "server.ext").write_text(
        f"subjectAltName=IP:{host}\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
        "extendedKeyUsage=serverAuth\nauthorityKeyIdentifier=keyid,issuer\nsubjectKeyIdentifier=hash\n"
    )
    openssl(
        "x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "server.crt", "-days", "1", "-extfile", "server.ext",
    )  # fmt: skip
    return Certificates(folder / "ca.crt", folder / "server.crt", folder / "server.key")


def make_passwd(auth: Path, accounts: dict[str, str]) -> subprocess.CompletedProcess:
    """Run infra/mosquitto/make-passwd.sh as the deployment does, with only `accounts` (MQTT_USERNAME and the rest) and
    PATH (which `accounts` may override) in its environment: it writes `auth`/passwd and `auth`/acl, rendered from the
    shipped template. Returns the finished process, whatever its exit status."""
    auth.mkdir(parents=True, exist_ok=True)
    script, template = INFRA / "mosquitto/make-passwd.sh", INFRA / "mosquitto/acl"
    return subprocess.run(
        ["sh", str(script), str(auth / "passwd"), str(template), str(auth / "acl")],
        env={"PATH": os.environ["PATH"], **accounts},
        capture_output=True,
        text=True,
        timeout=30,
    )


def shipped_mosquitto(folder: Path, auth: Path, certs: Certificates) -> Mosquitto:
    """A broker on infra/mosquitto/mosquitto.conf as shipped (before start), with what runs in containers moved here:
    both listeners onto free loopback ports (`port` plain, `tls_port` TLS), the password file and ACL read from `auth`
    (make-passwd.sh's output: passwd, acl), the certificate and key from `certs`, data and log into `folder`."""
    broker = Mosquitto(folder)
    broker.tls_port = free_port()
    while broker.tls_port == broker.port:
        broker.tls_port = free_port()
    config = (INFRA / "mosquitto/mosquitto.conf").read_text()
    for shipped, here in [
        ("listener 1883 0.0.0.0\n", f"listener {broker.port} 127.0.0.1\n"),
        ("listener 8883 0.0.0.0\n", f"listener {broker.tls_port} 127.0.0.1\n"),
        ("/mosquitto/certs/server.crt\n", f"{certs.cert}\n"),
        ("/mosquitto/certs/server.key\n", f"{certs.key}\n"),
        ("/mosquitto/auth/passwd\n", f"{auth}/passwd\n"),
        ("/mosquitto/auth/acl\n", f"{auth}/acl\n"),
        ("/mosquitto/data/\n", f"{folder}/\n"),
        ("log_dest stdout\n", f"log_dest file {folder}/mosquitto.log\n"),
    ]:
        assert config.count(shipped) == 1, f"mosquitto.conf changed: no single {shipped.strip()!r} to move"
        config = config.replace(shipped, here)
    settings = [line for line in config.splitlines() if not line.startswith("#")]
    assert not [line for line in settings if "/mosquitto/" in line], "a container path this helper does not move"
    broker.config.write_text(("user root\n" if os.geteuid() == 0 else "") + config)
    return broker
