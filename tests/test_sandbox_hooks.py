"""rutter_nb.sandbox_hooks: point a local sandbox at a webhook receiver, never a remote host."""

from __future__ import annotations

import httpx
from batch_helpers import client_for

from rutter_nb.sandbox import Sandbox
from rutter_nb.sandbox_hooks import deliver_to, forget_webhook, is_local
from rutter_nb.settings import Settings


def client_config(sb: Sandbox) -> dict[str, object]:
    with client_for(sb) as client:
        reply = httpx.get(
            sb.url + "/_sandbox/config", headers={"Authorization": client.settings.auth_header}
        )
    data: dict[str, object] = reply.json()
    return data


def test_sandbox_hooks_touch_only_local_servers(sandbox: Sandbox) -> None:
    assert is_local("http://127.0.0.1:8000/versioned")
    assert is_local("http://localhost:8000/versioned")
    assert is_local("http://[::1]:8000/versioned")
    assert not is_local("https://production.rutterapi.com/versioned")
    assert not is_local("https://sandbox.rutterapi.com/versioned")
    with client_for(sandbox) as client:
        assert deliver_to(client.settings, "http://127.0.0.1:9/hook")
        assert deliver_to(client.settings, "http://127.0.0.1:9/hook")  # idempotent
        assert client_config(sandbox)["webhook_urls"] == ["http://127.0.0.1:9/hook"]
        assert forget_webhook(client.settings, "http://127.0.0.1:9/hook")
        assert client_config(sandbox)["webhook_urls"] == []


def test_remote_hosts_are_never_contacted() -> None:
    remote = Settings("https://sandbox.rutterapi.com/versioned", "id", "not-a-real-secret")
    assert deliver_to(remote, "http://127.0.0.1:9/hook") is False
    assert forget_webhook(remote, "http://127.0.0.1:9/hook") is False


def test_an_unreachable_local_server_is_left_alone() -> None:
    nothing = Settings("http://127.0.0.1:9/versioned", "id", "not-a-real-secret")
    assert deliver_to(nothing, "http://127.0.0.1:9/hook") is False
