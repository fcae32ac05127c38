"""A tiny HTTP server over a real socket that answers every request with preset raw bytes.

The reply is whatever the test sets in ``HostileServer.reply``: malformed framing, bad JSON,
wrong types, enormous bodies. It reads each request fully first, so the client always sees
the reply rather than a reset.
"""

from __future__ import annotations

import socket
import threading
from types import TracebackType


class HostileServer:
    """Serves ``reply`` (raw HTTP bytes) once per connection, then closes it."""

    def __init__(self) -> None:
        self.reply = b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n"
        self.requests = 0
        self._lock = threading.Lock()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self._sock.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="hostile-server", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        conn.settimeout(10)
        try:
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                data += chunk
            head, _, body = data.partition(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value.strip())
            while len(body) < length:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                body += chunk
            with self._lock:
                self.requests += 1
                reply = self.reply
            conn.sendall(reply)
        except OSError:
            pass
        finally:
            conn.close()

    def stop(self) -> None:
        """Stop accepting and release the port."""
        self._stop.set()
        self._sock.close()
        self._thread.join(timeout=5)

    def __enter__(self) -> HostileServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
