"""`rutter-nb sandbox` in a child process (to SIGKILL it, or to measure it apart), and a
`Sandbox`-shaped handle to talk to it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from rutter_nb.sandbox import Sandbox


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerProcess:
    """`rutter-nb sandbox` in its own process, so that it can be SIGKILLed and restarted."""

    def __init__(self, db: Path, port: int, flags: list[str]) -> None:
        self.db, self.port, self.flags = db, port, flags
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "rutter_nb.cli",
                "sandbox",
                "--port",
                str(self.port),
                "--db",
                str(self.db),
                *self.flags,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert "listening on" in line, line + (self.proc.stderr.read() if self.proc.stderr else "")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Remote(Sandbox):
    """A `Sandbox` handle for a server running elsewhere: URL and credentials only."""

    def __init__(self, port: int) -> None:
        super().__init__(port=port)
        self._port = port

    def stats(self) -> dict[str, Any]:
        reply = httpx.get(
            self.url + "/_sandbox/stats", auth=(self.client_id, self.client_secret), timeout=30
        )
        reply.raise_for_status()
        data: dict[str, Any] = reply.json()
        return data
