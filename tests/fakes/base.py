"""What every fake service shares: a real HTTP server on 127.0.0.1 (an ephemeral port by
default, TLS when given a context), its lifecycle, the log of requests it received, and
answers scripted per kind of request, consumed in order.

A fake subclasses `FakeServer` and names its request handler class; the handler calls
`server.fake.record(...)` and `server.fake.pop(kind)`.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Generic, TypeVar


@dataclass
class RecordedRequest:
    method: str
    path: str  # without the query string
    query: dict[str, str]
    headers: dict[str, str]  # lower-cased names
    json: Any
    raw_body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False
    # The listen backlog of the real services' front ends (nginx 511, gunicorn 2048), not
    # socketserver's 5: with hundreds of worker threads connecting at once, a backlog of 5
    # drops their SYNs, and each retries a second or more later (the kernel caps this at
    # net.core.somaxconn).
    request_queue_size = 1024

    def __init__(self, address: tuple[str, int], fake: FakeServer) -> None:
        self.fake = fake
        super().__init__(address, fake.handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        # As the real services' front ends do (nginx's tcp_nodelay, Go's net package): an
        # answer written as headers, then body, must not wait for the client's delayed ACK,
        # which otherwise adds 40 ms to every keep-alive call.
        with contextlib.suppress(OSError):
            request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        context = self.fake.ssl_context
        if context is not None:
            try:
                request.settimeout(10)  # for the handshake only: handlers set their own
                request = context.wrap_socket(request, server_side=True)
                request.settimeout(None)
            except (OSError, ssl.SSLError):
                with contextlib.suppress(OSError):
                    request.close()
                return
        self.fake.track(request, add=True)
        try:
            super().finish_request(request, client_address)
        finally:
            self.fake.track(request, add=False)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that hang up are part of the game


# What a fake records of each request: a RecordedRequest, unless it keeps its own (the chat
# receiver keeps headers as sent).
Record = TypeVar("Record")


class FakeServer(Generic[Record]):
    """Base of the fakes. Subclasses set `handler` (a BaseHTTPRequestHandler subclass)."""

    handler: type[BaseHTTPRequestHandler]
    scheme_path = ""  # appended to the base URL by `url`, e.g. "/v1"

    def __init__(
        self, *, host: str = "127.0.0.1", port: int = 0, ssl_context: ssl.SSLContext | None = None
    ) -> None:
        self.host = host
        self.port = port
        self.ssl_context = ssl_context
        self.lock = threading.RLock()
        self.shutting_down = threading.Event()
        self._requests: list[Record] = []
        self._scripts: dict[str, deque] = {}
        self._connections: set[Any] = set()
        self.connections_accepted = 0
        self._timers: list[threading.Timer] = []
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------

    def start(self):
        if self._server is not None:
            return self
        self.shutting_down.clear()
        self._server = _Server((self.host, self.port), self)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server = self._server
        if server is None:
            return
        self.shutting_down.set()
        self.on_stop()
        with self.lock:
            timers, self._timers = self._timers, []
            connections = list(self._connections)
        for timer in timers:
            timer.cancel()
        server.shutdown()
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def on_stop(self) -> None:
        """Wake whatever the handlers wait for (subclasses)."""

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def serve_forever(self) -> None:
        self.start()
        try:
            while self._thread is not None and self._thread.is_alive():
                self._thread.join(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    @property
    def base_url(self) -> str:
        scheme = "https" if self.ssl_context is not None else "http"
        return f"{scheme}://{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return self.base_url + self.scheme_path

    # -- what the tests read and script ------------------------------------------------

    @property
    def requests(self) -> list[Record]:
        with self.lock:
            return list(self._requests)

    def requests_to(self, path_suffix: str) -> list[Record]:
        return [r for r in self.requests if r.path.endswith(path_suffix)]

    def record(self, request: Record) -> None:
        with self.lock:
            self._requests.append(request)

    def reset(self) -> None:
        """Forget the requests received and the answers still scripted."""
        with self.lock:
            self._requests.clear()
            self._scripts.clear()

    def queue(self, kind: str, *answers: Any) -> None:
        with self.lock:
            self._scripts.setdefault(kind, deque()).extend(answers)

    def pop(self, kind: str) -> Any:
        with self.lock:
            queue = self._scripts.get(kind)
            return queue.popleft() if queue else None

    def later(self, seconds: float, function, *args: Any) -> None:
        """Call `function(*args)` in `seconds` (cancelled when the fake stops)."""
        if seconds <= 0:
            function(*args)
            return
        timer = threading.Timer(seconds, function, args)
        timer.daemon = True
        with self.lock:
            self._timers.append(timer)
        timer.start()

    def track(self, conn: Any, *, add: bool) -> None:
        with self.lock:
            if add:
                self._connections.add(conn)
                self.connections_accepted += 1
            else:
                self._connections.discard(conn)

    @property
    def open_connections(self) -> int:
        with self.lock:
            return len(self._connections)

    def wait_until(self, condition, timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return True
            time.sleep(0.01)
        return False
