"""Real services for tests, each on a free loopback port and stopped by PID (never through a shell)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path


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
        self.config.write_text(
            self.config.read_text().replace("allow_anonymous true", "allow_anonymous false")
            + f"password_file {passwords}\n"
        )
        return self

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> Mosquitto:
        self.process = subprocess.Popen(
            [self.binary, "-c", str(self.config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_for_port(self.port)
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
