"""`Sandbox`: the embedded server run by uvicorn on a background thread.

Example::

    with Sandbox(port=0, db=":memory:", job_duration=(0.05, 0.2), seed=1) as sb:
        httpx.get(sb.url + "/openapi.json")
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
import shutil
import socket
import tempfile
import threading
import warnings
from collections.abc import Coroutine
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import uvicorn

from .app import build_app
from .config import SandboxConfig
from .engine import Engine

T = TypeVar("T")


def _loopback(host: str) -> bool:
    """True for addresses only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class SandboxError(RuntimeError):
    """The sandbox could not start, or is not running when it must be."""


class Sandbox:
    """A Rutter-compatible server on 127.0.0.1; keyword arguments mirror the CLI flags."""

    def __init__(self, **settings: Any) -> None:
        self.config = SandboxConfig(**settings)
        self._tempdir: str | None = None
        self._thread: threading.Thread | None = None
        self._server: uvicorn.Server | None = None
        self._engine: Engine | None = None
        self._port: int | None = None

    # life cycle ----------------------------------------------------------------------
    def start(self, timeout: float = 30.0) -> Sandbox:
        """Bind, start serving on a background thread and return self once ready."""
        if self.running:
            return self
        db = self.config.db
        if db is None:
            if self._tempdir is None:
                self._tempdir = tempfile.mkdtemp(prefix="rutter-sandbox-")
            db = os.path.join(self._tempdir, "sandbox.sqlite3")
        elif db != ":memory:":
            Path(db).parent.mkdir(parents=True, exist_ok=True)
        if not _loopback(self.config.host):
            warnings.warn(
                f"the sandbox binds {self.config.host}, not 127.0.0.1: other machines can reach "
                "it, and its demo credentials are public",
                RuntimeWarning,
                stacklevel=2,
            )
        sock = socket.socket(socket.AF_INET6 if ":" in self.config.host else socket.AF_INET)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.config.host, self.config.port))
        except OSError as exc:
            sock.close()
            raise SandboxError(
                f"cannot bind {self.config.host}:{self.config.port}: {exc}"
            ) from None
        self._port = int(sock.getsockname()[1])
        engine = Engine(self.config, db)
        server = uvicorn.Server(
            uvicorn.Config(
                build_app(engine),
                # an embedded server must not reconfigure its host's logging (a kernel's);
                # no access log either: request lines carry the access token
                log_config=None,
                log_level="warning",
                access_log=False,
                lifespan="on",
                http="h11",
                loop="asyncio",
                ws="none",
                timeout_graceful_shutdown=2,
                backlog=2048,
            )
        )

        def serve() -> None:
            # uvicorn exits this way when startup fails; reported below
            with contextlib.suppress(SystemExit):
                server.run(sockets=[sock])

        thread = threading.Thread(target=serve, name="rutter-sandbox", daemon=True)
        self._engine, self._server, self._thread = engine, server, thread
        thread.start()
        deadline = threading.Event()
        waited = 0.0
        while not server.started and thread.is_alive() and waited < timeout:
            deadline.wait(0.02)
            waited += 0.02
        if not server.started:
            sock.close()
            self.stop()
            cause = engine.startup_error
            detail = f"{type(cause).__name__}: {cause}" if cause else "see the log above"
            raise SandboxError(f"the sandbox server did not start ({detail})")
        return self

    def stop(self) -> None:
        """Stop serving (unfinished jobs stay in the database for the next start)."""
        server, thread = self._server, self._thread
        if server is not None:
            server.should_exit = True
        if thread is not None:
            thread.join(timeout=15)
        self._server = self._thread = self._engine = None
        if self._tempdir is not None and self.config.db is None:
            shutil.rmtree(self._tempdir, ignore_errors=True)
            self._tempdir = None

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = f"url={self.url!r}" if self.running else "stopped"
        return f"<Sandbox {state} client_id={self.config.client_id!r}>"

    # addresses and credentials -------------------------------------------------------
    @property
    def running(self) -> bool:
        """True while the server thread serves requests."""
        return self._thread is not None and self._thread.is_alive() and self._server is not None

    @property
    def port(self) -> int:
        """The bound port (a free one when created with `port=0`)."""
        if self._port is None:
            raise SandboxError("the sandbox has not been started")
        return self._port

    @property
    def url(self) -> str:
        """`http://HOST:PORT` of the running server."""
        host = f"[{self.config.host}]" if ":" in self.config.host else self.config.host
        return f"http://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        """What a client's base_url is: `url + "/versioned"`."""
        return self.url + "/versioned"

    @property
    def client_id(self) -> str:
        """The demo client id (Basic auth user)."""
        return self.config.client_id

    @property
    def client_secret(self) -> str:
        """The demo client secret (Basic auth password; also signs webhooks)."""
        return self.config.client_secret

    @property
    def access_token(self) -> str:
        """The seeded connection's access token."""
        return self.config.access_token

    # runtime control (executed on the server's loop) ---------------------------------
    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        engine = self._engine
        if engine is None or engine.loop is None or not self.running:
            coro.close()
            raise SandboxError("the sandbox is not running")
        return asyncio.run_coroutine_threadsafe(coro, engine.loop).result(timeout=30)

    def configure(self, **changes: Any) -> SandboxConfig:
        """Change runtime settings (faults, failure_rate, webhook_urls, sync_window, ...)."""
        engine = self._engine

        async def apply() -> SandboxConfig:
            assert engine is not None
            return engine.configure(**changes)

        self.config = self._call(apply())
        return self.config

    def stats(self) -> dict[str, Any]:
        """The same dict as `GET /_sandbox/stats`."""
        engine = self._engine

        async def read() -> dict[str, Any]:
            assert engine is not None
            return engine.snapshot()

        return self._call(read())

    def reset(self) -> None:
        """Forget all jobs, entities, keys and counters; reseed (like `POST /_sandbox/reset`)."""
        engine = self._engine

        async def run() -> None:
            assert engine is not None
            engine.reset()

        self._call(run())
