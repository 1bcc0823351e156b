"""The one HTTP layer every outside-service client is built on (Dify, GitLab, chat services).

What it guarantees, so no client has to:
- credentials travel only in headers set by an auth object, and redirects are never followed,
  so a token is never replayed to another host;
- TLS is always verified (a CA bundle path for a private CA, never `verify=False`);
- every request has a connect and a read timeout, and a body is read up to a size limit and,
  when asked, within a total deadline (requests' timeouts apply per socket read, so a server
  that drips bytes could otherwise hold a worker forever);
- every requests/urllib3 failure becomes a `Failure`, which the client's `network_error`
  turns into its own HubError; the secrets it knows are redacted from every message.

No retries happen here: whether to try again is the caller's decision, on the error's fields.

Connections are kept: every client in a process sends through one urllib3 pool (a client is
made per run or per delivery, and a TCP and TLS handshake per request would cost more than
the request). urllib3 keys its pools by host and TLS settings, so a client with its own CA
bundle never shares a connection with one without.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import time
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import requests
import requests.adapters
import urllib3
from requests.structures import CaseInsensitiveDict

from integrations.errors import HubError
from integrations.http.failures import SLOW, TOO_LARGE, Failure, classify
from integrations.http.redact import Redactor

log = logging.getLogger(__name__)

USER_AGENT = "dify-hub"
_READ_SIZE = 65536

# One pool for the process, sized for a worker's threads all talking to one Dify at once
# (`keep_connections`); beyond it a connection is opened and closed after use (never waited
# for), and urllib3 warns "Connection pool is full" each time.
_KEPT_PER_HOST = 128


def _pool(per_host: int) -> requests.adapters.HTTPAdapter:
    return requests.adapters.HTTPAdapter(pool_connections=64, pool_maxsize=per_host, max_retries=0)


_SHARED = _pool(_KEPT_PER_HOST)
# requests reads the environment on every request (a few ms each on a busy worker): proxy
# variables, REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE, and ~/.netrc for requests without
# credentials. The CA bundle is read here once, as requests would; the proxies only matter
# when one is set; credentials come from the hub's own settings, never from ~/.netrc.
_ENV_PROXIES = bool(urllib.request.getproxies())
_ENV_CA_BUNDLE = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")


def keep_connections(per_host: int) -> None:
    """Keep up to `per_host` connections to each host (never fewer than 128), for clients made
    from now on: a worker process's threads (HUB_WORKER_CONCURRENCY), all streaming from one
    Dify, each keep theirs instead of opening one per call."""
    global _SHARED
    size = max(_KEPT_PER_HOST, per_host)
    if size != _SHARED.poolmanager.connection_pool_kw.get("maxsize"):
        _SHARED = _pool(size)


class HeaderAuth(requests.auth.AuthBase):
    """Sets one credential header per request; never shows it in a repr."""

    def __init__(self, name: str, value: str) -> None:
        self._name = name
        self._value = value

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers[self._name] = self._value
        return request

    def __repr__(self) -> str:
        return f"<HeaderAuth {self._name}: ***>"


def bearer(token: str) -> HeaderAuth:
    return HeaderAuth("Authorization", f"Bearer {token}")


@dataclass(frozen=True)
class Request:
    """What was being done when a failure happened, for the error message."""

    method: str
    url: str
    path: str  # the path as the client names it, never with query values

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def writes(self) -> bool:
        return self.method not in ("GET", "HEAD", "OPTIONS")


@dataclass(frozen=True)
class Response:
    """A whole answer, read within the limits."""

    status: int
    headers: CaseInsensitiveDict
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


# Called before every request goes out. The Django side registers one that gives a worker
# thread's idle database connections back to their pool (runs/connections.py), so that no
# call to Dify, a forge or a chat service (a forge's diff can take seconds) holds one of a
# pool's few connections while it waits: this is the one place that sees every such call.
_BEFORE_REQUEST: list[Callable[[], None]] = []


def before_each_request(hook: Callable[[], None]) -> None:
    """Run `hook` before every request any client sends (registered once)."""
    if hook not in _BEFORE_REQUEST:
        _BEFORE_REQUEST.append(hook)


class HttpClient:
    """One outside service. Subclasses set `who` and override `network_error`."""

    who = "the service"

    def __init__(
        self,
        base_url: str,
        *,
        auth: requests.auth.AuthBase | None = None,
        connect_timeout: float = 10.0,
        read_timeout: float = 30.0,
        total_timeout: float | None = None,
        verify: bool | str = True,
        max_body: int = 32 * 1024 * 1024,
        truncate_body: bool = False,
        secrets: Iterable[str] = (),
        headers: dict[str, str] | None = None,
    ) -> None:
        for name, value in (("connect_timeout", connect_timeout), ("read_timeout", read_timeout)):
            if not value or value <= 0:
                raise ValueError(f"{name} must be a positive number of seconds")
        self.base_url = base_url.rstrip("/")
        self.connect_timeout = float(connect_timeout)
        self.read_timeout = float(read_timeout)
        self.total_timeout = total_timeout
        # requests' own rule for verify=True: the environment's CA bundle when it names one.
        self.verify = (_ENV_CA_BUNDLE or True) if verify is True else verify
        self.max_body = max_body
        self.truncate_body = truncate_body
        self.redact = Redactor(secrets)
        self._auth = auth
        self._session = requests.Session()
        self._session.trust_env = _ENV_PROXIES
        for prefix in ("http://", "https://"):
            self._session.mount(prefix, _SHARED)
        self._session.headers.update({"User-Agent": USER_AGENT, **(headers or {})})

    def __repr__(self) -> str:  # never the auth, never a URL that may carry a token
        return f"<{type(self).__name__} {self.who}>"

    def close(self) -> None:
        self._session.adapters.clear()  # the shared pool outlives this client
        self._session.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- what subclasses override --------------------------------------------------------

    def network_error(self, failure: Failure, request: Request) -> HubError:
        """The client's own error for a failure below HTTP."""
        return HubError(f"{self.who}: {failure.reason} ({request.label})", code=failure.kind)

    # -- requests ------------------------------------------------------------------------

    def url_for(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else self.base_url + path

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict | None = None,
        json: Any = None,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
        read_timeout: float | None = None,
    ) -> Response:
        """Send one request and read the whole answer (bounded in size and, if set, time)."""
        info = Request(method, self.url_for(path), path.split("?")[0])
        with self._open(info, params, json, data, headers, read_timeout, stream=True) as raw:
            body = self._read_body(raw, info)
            return Response(raw.status_code, raw.headers, body)

    @contextmanager
    def stream(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        headers: dict[str, str] | None = None,
        read_timeout: float | None = None,
    ) -> Iterator[Stream]:
        """Open a request whose answer is read as it arrives (server-sent events)."""
        info = Request(method, self.url_for(path), path.split("?")[0])
        with self._open(info, None, json, None, headers, read_timeout, stream=True) as raw:
            yield Stream(self, raw, info)

    @contextmanager
    def _open(self, info, params, json, data, headers, read_timeout, *, stream: bool):
        for hook in _BEFORE_REQUEST:
            hook()
        try:
            response = self._session.request(
                info.method,
                info.url,
                params=params,
                json=json,
                data=data,
                headers=headers,
                auth=self._auth,
                timeout=(self.connect_timeout, read_timeout or self.read_timeout),
                verify=self.verify,
                allow_redirects=False,
                stream=stream,
            )
        except (requests.RequestException, urllib3.exceptions.HTTPError) as exc:
            raise self._error(classify(exc), info) from None
        try:
            yield response
        finally:
            response.close()

    def _error(self, failure: Failure, info: Request) -> HubError:
        error = self.network_error(failure, info)
        error.redact(*self.redact.secrets)
        return error

    def _read_body(self, raw: requests.Response, info: Request) -> bytes:
        deadline = time.monotonic() + self.total_timeout if self.total_timeout else None
        data = bytearray()
        for chunk in self._chunks(raw, info):
            data += chunk
            if len(data) > self.max_body:
                if self.truncate_body:
                    return bytes(data[: self.max_body])
                raise self._error(
                    Failure(TOO_LARGE, f"the answer is larger than {self.max_body} bytes"), info
                )
            if deadline is not None and time.monotonic() > deadline:
                raise self._error(
                    Failure(SLOW, f"took longer than {self.total_timeout:g} s to answer"), info
                )
        return bytes(data)

    def _chunks(self, raw: requests.Response, info: Request) -> Iterator[bytes]:
        # read1() returns what one socket read got, so deadlines are checked in between.
        read = getattr(raw.raw, "read1", None) or raw.raw.read
        while True:
            try:
                chunk = read(_READ_SIZE, decode_content=True)
            except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
                raise self._error(classify(exc), info) from None
            if not chunk:
                return
            yield chunk


class Stream:
    """An answer being read as it arrives. `chunks()` yields bytes; the read timeout can be
    changed between reads (Dify: a short wait for the first event, longer after it)."""

    def __init__(self, client: HttpClient, raw: requests.Response, info: Request) -> None:
        self._client = client
        self._raw = raw
        self.info = info
        self.status: int = raw.status_code
        self.headers: CaseInsensitiveDict = raw.headers

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "")

    def read_all(self) -> Response:
        return Response(self.status, self.headers, self._client._read_body(self._raw, self.info))

    def set_read_timeout(self, seconds: float) -> bool:
        """Change the socket timeout of the open connection; False if it cannot be reached."""
        connection = getattr(self._raw.raw, "connection", None)  # urllib3 2: public
        sock = getattr(connection, "sock", None)
        if sock is None or not hasattr(sock, "settimeout"):
            return False
        sock.settimeout(seconds)
        return True

    def abort(self) -> None:
        """Shut the connection down from another thread: a read blocked on it returns."""
        connection = getattr(self._raw.raw, "connection", None)
        sock = getattr(connection, "sock", None)
        if sock is not None:
            with contextlib.suppress(OSError):  # already closed
                sock.shutdown(socket.SHUT_RDWR)

    def chunks(self, on_failure: Callable[[Failure], HubError] | None = None) -> Iterator[bytes]:
        """The body as it arrives. A failure while reading becomes `on_failure(failure)` when
        given (the caller knows what a cut stream means), else the client's network error."""
        read = self._raw.raw.read1
        while True:
            try:
                chunk = read(_READ_SIZE, decode_content=True)
            except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
                failure = classify(exc)
                if on_failure is None:
                    raise self._client._error(failure, self.info) from None
                error = on_failure(failure)
                error.redact(*self._client.redact.secrets)
                raise error from None
            if not chunk:
                return
            yield chunk
