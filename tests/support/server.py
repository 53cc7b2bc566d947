"""A real `bestnext serve` process for end-to-end tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

BIN = Path(sys.executable).parent / "bestnext"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_cli(db_url: str, *args: str, env: dict[str, str] | None = None) -> str:
    """Run a `bestnext` command against ``db_url`` and return its stdout (fails on error)."""
    full_env = {**os.environ, "BESTNEXT_DATABASE_URL": db_url, **(env or {})}
    proc = subprocess.run([str(BIN), *args], env=full_env, capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        raise AssertionError(f"bestnext {' '.join(args)} failed: {proc.stderr[-2000:]}")
    return proc.stdout


class Server:
    """Starts, kills (-9) and restarts `bestnext serve` on a free port."""

    def __init__(self, db_url: str, log_file: Path, env: dict[str, str] | None = None) -> None:
        self.db_url, self.log_file = db_url, log_file
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "BESTNEXT_DATABASE_URL": db_url, "BESTNEXT_LOG_FILE": str(log_file),
                    **(env or {})}
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Server:
        self.proc = subprocess.Popen(
            [str(BIN), "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.proc.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("server did not become healthy")

    def kill9(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill9()
