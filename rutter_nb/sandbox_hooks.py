"""Point a sandbox on this machine at a local webhook receiver, for the user.

The real Rutter takes webhook URLs in its dashboard; the embedded sandbox takes them at
runtime through ``POST /_sandbox/config``. We only ever try that when the client's base URL
is on the loopback interface, so nothing is sent to a real Rutter host, and a server that
does not know the route (a real API behind a local proxy) is simply left alone.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

import httpx

from rutter_nb.redact import get_logger
from rutter_nb.settings import Settings

__all__ = ["deliver_to", "forget_webhook", "is_local"]

_log = get_logger("rutter_nb.sandbox_hooks")
_TIMEOUT = 5.0


def is_local(base_url: str) -> bool:
    """True when ``base_url`` points at this machine (127.0.0.0/8, ::1 or localhost)."""
    host = urlsplit(base_url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _config_url(settings: Settings) -> str:
    parts = urlsplit(settings.base_url)
    return f"{parts.scheme}://{parts.netloc}/_sandbox/config"


def _change(settings: Settings, url: str, *, add: bool) -> bool:
    if not is_local(settings.base_url):
        return False
    headers = {"Authorization": settings.auth_header}
    try:
        with httpx.Client(timeout=_TIMEOUT) as http:
            current = http.get(_config_url(settings), headers=headers)
            if current.status_code != 200:
                return False
            urls = list(current.json().get("webhook_urls") or [])
            wanted = (
                ([*urls, url] if url not in urls else urls)
                if add
                else [u for u in urls if u != url]
            )
            if wanted == urls:
                return True
            reply = http.post(_config_url(settings), headers=headers, json={"webhook_urls": wanted})
            return reply.status_code == 200
    except (httpx.HTTPError, ValueError, AttributeError) as exc:
        _log.info("could not configure the sandbox's webhooks: %s", type(exc).__name__)
        return False


def deliver_to(settings: Settings, url: str) -> bool:
    """Ask a local sandbox to deliver job webhooks to ``url`` too; True when it does."""
    return _change(settings, url, add=True)


def forget_webhook(settings: Settings, url: str) -> bool:
    """Undo :func:`deliver_to` (when the receiver goes away)."""
    return _change(settings, url, add=False)
