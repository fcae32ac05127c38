"""Scenario 9: exposure. Loopback by default (a warning otherwise), authentication on every
route but the OpenAPI document, secrets compared in constant time."""

from __future__ import annotations

import base64
import hmac
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import psutil
import pytest

from rutter_nb import webhooks
from rutter_nb.sandbox import Sandbox
from rutter_nb.sandbox.app import build_app
from rutter_nb.sandbox.config import SandboxConfig
from rutter_nb.sandbox.engine import Engine
from rutter_nb.webhooks import Receiver

from .support import Row, is_error_triple, record

pytestmark = pytest.mark.reliability


def _listening_ip(port: int) -> str:
    """The local address this process listens on at ``port``."""
    for conn in psutil.Process().net_connections(kind="inet"):
        if conn.status == psutil.CONN_LISTEN and conn.laddr.port == port:
            return str(conn.laddr.ip)
    raise AssertionError(f"nothing of ours listens on port {port}")


def test_sandbox_and_receiver_listen_on_loopback_by_default(sandbox: Sandbox) -> None:
    with Receiver("s3cret") as receiver:
        port = int(receiver.url.split(":")[2].split("/")[0])
        assert _listening_ip(port) == "127.0.0.1"
    assert _listening_ip(sandbox.port) == "127.0.0.1"


def test_binding_another_address_warns(tmp_path: Any) -> None:
    with pytest.warns(RuntimeWarning, match=r"binds 0\.0\.0\.0"):
        sb = Sandbox(host="0.0.0.0", db=str(tmp_path / "x.sqlite3")).start()
    try:
        assert _listening_ip(sb.port) == "0.0.0.0"
    finally:
        sb.stop()
    with pytest.warns(RuntimeWarning, match=r"binds 0\.0\.0\.0"):
        Receiver("s3cret", host="0.0.0.0").stop()


def test_the_cli_warns_when_told_to_bind_another_address(tmp_path: Any) -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rutter_nb.cli",
            "sandbox",
            "--host",
            "0.0.0.0",
            "--db",
            str(tmp_path / "cli.sqlite3"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "default"},
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()  # printed once serving
        assert "listening on http://0.0.0.0:" in first
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert "RuntimeWarning" in err and "other machines can reach it" in err


def _routes() -> list[tuple[str, str]]:
    """(method, path) of every route the sandbox app serves, ids filled in."""
    app = build_app(Engine(SandboxConfig(), ":memory:"))
    out = []
    for route in app.routes:
        path = getattr(route, "path", "")
        for method in sorted(getattr(route, "methods", None) or ()):
            if method != "HEAD":
                out.append((method, path.replace("{id}", str(uuid.uuid4()))))
    return out


def _basic(user: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()


def test_every_route_but_the_openapi_document_requires_authentication(sandbox: Sandbox) -> None:
    routes = _routes()
    assert len(routes) >= 50  # entities x methods, jobs, the sandbox hooks, openapi
    wrong_secret = "x" * len(sandbox.client_secret)
    credentials: list[dict[str, str]] = [
        {},
        {"Authorization": _basic(sandbox.client_id, wrong_secret)},
        {"Authorization": _basic("someone-else", sandbox.client_secret)},
        {"Authorization": "Bearer " + sandbox.access_token},
        {"Authorization": "Basic " + sandbox.client_secret},
    ]
    open_routes, checked = [], 0
    with httpx.Client(base_url=sandbox.url, timeout=30) as http:
        for method, path in routes:
            for headers in credentials:
                reply = http.request(
                    method,
                    path,
                    params={"access_token": sandbox.access_token},
                    headers={"X-Rutter-Version": "2024-08-31", **headers},
                    json={} if method in ("POST", "PATCH") else None,
                )
                checked += 1
                if reply.status_code != 401:
                    open_routes.append((method, path, bool(headers), reply.status_code))
                else:
                    assert is_error_triple(reply.json())
                    assert reply.json()["error_type"] == "AUTHENTICATION_ERROR"
    # only the OpenAPI document answers without credentials
    assert open_routes == [
        ("GET", "/openapi.json", h, 200) for h in [False, True, True, True, True]
    ]
    record(
        Row(
            "9 exposure",
            requests=checked,
            lost=0,
            duplicated=0,
            leaked=0,
            server_errors=0,
            notes=f"{len(routes)} routes x 5 bad credentials: 401 on all but /openapi.json; "
            "loopback by default, warning otherwise",
        )
    )


@pytest.fixture
def spy_compare(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[bytes, bytes]]]:
    """Record every hmac.compare_digest call (the sandbox and receiver run in-process)."""
    calls: list[tuple[bytes, bytes]] = []
    real: Callable[[Any, Any], bool] = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        calls.append(
            (
                bytes(a, "latin-1") if isinstance(a, str) else bytes(a),
                bytes(b, "latin-1") if isinstance(b, str) else bytes(b),
            )
        )
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    yield calls


def test_secrets_are_compared_in_constant_time(
    sandbox: Sandbox, spy_compare: list[tuple[bytes, bytes]]
) -> None:
    guess = "y" * len(sandbox.client_secret)
    reply = httpx.get(
        sandbox.url + "/_sandbox/stats",
        headers={"Authorization": _basic(sandbox.client_id, guess)},
        timeout=30,
    )
    assert reply.status_code == 401
    secret = sandbox.client_secret.encode()
    assert any(guess.encode() in call and secret in call for call in spy_compare)

    spy_compare.clear()
    with Receiver(sandbox.client_secret) as receiver:
        body = b'{"type": "JOB", "job": {"id": "j", "status": "success"}}'
        forged = webhooks.sign(body, "attacker")
        status = httpx.post(
            receiver.url, content=body, headers={webhooks.SIGNATURE_HEADER: forged}, timeout=30
        ).status_code
    assert status == 401
    expected = webhooks.sign(body, sandbox.client_secret).encode()
    assert (forged.encode(), expected) in spy_compare
