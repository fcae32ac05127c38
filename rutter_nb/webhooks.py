"""Rutter webhooks: verify ``X-Rutter-Signature`` and receive ``JOB_COMPLETED`` events locally.

Rutter signs each delivery with ``sha256=<base64 HMAC-SHA256(client_secret, raw body)>`` and
retries deliveries, so the same payload can arrive twice. :class:`Receiver` is a small HTTP
server on 127.0.0.1 (a free port, a background thread) that checks the signature in constant
time, drops duplicates and out-of-order deliveries, and hands each job that moved forward to
its subscribers (a :class:`rutter_nb.Batch` subscribes to stop polling those jobs)::

    from rutter_nb import webhooks

    with webhooks.Receiver(secret) as receiver:
        receiver.on_job(lambda job: print(job["id"], job["status"]))
        ...  # point Rutter (or the sandbox) at receiver.url
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import logging
import threading
import warnings
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

__all__ = ["SIGNATURE_HEADER", "Receiver", "WebhookError", "sign", "verify"]

SIGNATURE_HEADER = "X-Rutter-Signature"
_PREFIX = "sha256="
_MAX_BODY = 4 * 1024 * 1024  # a job payload is a few kB; refuse anything absurd

# How far along a job is. A delivery is passed on only when it moves the job forward, so a
# retried `pending` arriving after `success` is ignored. Statuses we do not know are treated
# as final [ours]: PROTOCOL.md says an unknown status must stop polling and be reported.
_RANK = {"prequeued": 0, "pending": 1}
_FINAL_RANK = 2

_log = logging.getLogger(__name__)

JobCallback = Callable[[dict[str, Any]], None]


class WebhookError(ValueError):
    """Bad input to :func:`verify`/:func:`sign` or :class:`Receiver` (never a bad delivery)."""


def _as_bytes(body: object) -> bytes:
    if isinstance(body, bytes | bytearray | memoryview):
        return bytes(body)
    raise WebhookError(
        f"body must be the raw request bytes, not {type(body).__name__}: "
        "a signature is computed over the exact bytes received"
    )


def _secret_bytes(secret: object) -> bytes:
    if isinstance(secret, str) and secret:
        return secret.encode()
    if isinstance(secret, bytes) and secret:
        return secret
    raise WebhookError("secret must be a non-empty str or bytes (the client secret)")


def sign(body: bytes, secret: str | bytes) -> str:
    """Return the ``X-Rutter-Signature`` value Rutter would send for ``body`` (for tests/tools)."""
    digest = hmac.new(_secret_bytes(secret), _as_bytes(body), hashlib.sha256).digest()
    return _PREFIX + base64.b64encode(digest).decode("ascii")


def verify(body: bytes, signature: str | None, secret: str | bytes) -> bool:
    """True when ``signature`` is Rutter's signature of the raw ``body`` under ``secret``.

    A missing or malformed signature is simply False; the comparison is constant-time.

    >>> verify(b"{}", sign(b"{}", "s3cret"), "s3cret")
    True
    """
    expected = sign(body, secret).encode("ascii")
    if not isinstance(signature, str):
        return False
    try:
        given = signature.strip().encode("ascii")
    except UnicodeEncodeError:
        return False
    return hmac.compare_digest(given, expected)


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _rank(status: str) -> int:
    return _RANK.get(status, _FINAL_RANK)


class Receiver:
    """A local webhook endpoint: verifies, de-duplicates and fans out job deliveries.

    Counts: ``received`` (every POST), ``accepted`` (passed to subscribers), ``duplicates``
    (valid but not moving the job forward), ``rejected`` (bad or missing signature, bad JSON).
    """

    def __init__(
        self,
        secret: str | bytes,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        path: str = "/webhooks/rutter",
    ) -> None:
        self._secret = _secret_bytes(secret)
        if not path.startswith("/"):
            raise WebhookError(f"path must start with '/': {path!r}")
        self._path = path
        if not _loopback(host):
            warnings.warn(
                f"the webhook receiver binds {host}, not 127.0.0.1: other machines can reach it",
                RuntimeWarning,
                stacklevel=2,
            )
        self._lock = threading.Lock()
        self._callbacks: list[JobCallback] = []
        self._latest: dict[str, dict[str, Any]] = {}
        self.received = 0
        self.accepted = 0
        self.duplicates = 0
        self.rejected = 0
        try:
            self._server = ThreadingHTTPServer((host, port), _make_handler(self))
        except OSError as exc:
            raise WebhookError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.2},
            name="rutter_nb-webhooks",
            daemon=True,
        )
        self._stopped = False
        self._thread.start()

    @property
    def url(self) -> str:
        """Where Rutter (or the sandbox) should deliver, e.g. ``http://127.0.0.1:PORT/webhooks/rutter``."""
        host, port = self._server.server_address[:2]
        host_text = host.decode() if isinstance(host, bytes) else host
        return f"http://{host_text}:{port}{self._path}"

    def on_job(self, callback: JobCallback) -> Callable[[], None]:
        """Call ``callback(job_dict)`` for each job delivery that moves a job forward.

        Runs on the receiver's thread: keep it cheap. Returns a function that unsubscribes.
        """
        with self._lock:
            self._callbacks.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._callbacks:
                    self._callbacks.remove(callback)

        return unsubscribe

    def get(self, job_id: str) -> dict[str, Any] | None:
        """The furthest-along job object delivered for ``job_id``, if any (for late joiners)."""
        with self._lock:
            return self._latest.get(job_id)

    def stats(self) -> dict[str, int]:
        """The delivery counts as one dict."""
        with self._lock:
            return {
                "received": self.received,
                "accepted": self.accepted,
                "duplicates": self.duplicates,
                "rejected": self.rejected,
            }

    def stop(self) -> None:
        """Stop serving and release the port; safe to call twice."""
        if self._stopped:
            return
        self._stopped = True
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Receiver:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "stopped" if self._stopped else self.url
        return (
            f"<Receiver {state} received={self.received} accepted={self.accepted} "
            f"duplicates={self.duplicates} rejected={self.rejected}>"
        )

    # -- called by the handler thread -------------------------------------------------

    def _deliver(self, body: bytes, signature: str | None, path: str) -> tuple[int, str]:
        """Decide one delivery; returns (HTTP status, short reason). Never raises."""
        with self._lock:
            self.received += 1
        if path.split("?", 1)[0] != self._path:
            return self._reject(404, "unknown path")
        if not verify(body, signature, self._secret):
            return self._reject(401, "bad or missing signature")
        try:
            event = json.loads(body)
        except (ValueError, RecursionError):  # _deliver never raises
            return self._reject(400, "body is not JSON")
        if not isinstance(event, dict):
            return self._reject(400, "not an event object")
        if event.get("type") != "JOB":
            # A signed event of another kind: acknowledge it so Rutter stops retrying.
            return 200, "ignored"
        job = event.get("job")
        if (
            not isinstance(job, dict)
            or not isinstance(job.get("id"), str)
            or not isinstance(job.get("status"), str)
        ):
            return self._reject(400, "not a job event")
        with self._lock:
            previous = self._latest.get(job["id"])
            if previous is not None and _rank(job["status"]) <= _rank(previous["status"]):
                self.duplicates += 1
                return 200, "duplicate"
            self._latest[job["id"]] = job
            self.accepted += 1
            callbacks = list(self._callbacks)
        for callback in callbacks:
            try:
                callback(job)
            except Exception:  # a subscriber's bug must not make Rutter redeliver
                _log.exception("webhook subscriber failed for job %s", job["id"])
        return 200, "ok"

    def _reject(self, status: int, reason: str) -> tuple[int, str]:
        with self._lock:
            self.rejected += 1
        _log.info("webhook delivery rejected: %s", reason)
        return status, reason


def _make_handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: a sender may post many deliveries
        server_version = "rutter_nb-webhooks"

        def do_POST(self) -> None:
            try:
                length = int(self.headers.get("Content-Length", ""))
            except ValueError:
                self._reply(*receiver._reject(411, "Content-Length required"), close=True)
                return
            if length < 0 or length > _MAX_BODY:
                self._reply(*receiver._reject(413, "body too large"), close=True)
                return
            body = self.rfile.read(length)
            status, reason = receiver._deliver(body, self.headers.get(SIGNATURE_HEADER), self.path)
            self._reply(status, reason)

        def do_GET(self) -> None:
            self._reply(405, "POST only", close=True)

        def _reply(self, status: int, reason: str, *, close: bool = False) -> None:
            payload = json.dumps({"status": reason}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            if close:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            _log.debug("webhook %s", format % args)

    return _Handler
