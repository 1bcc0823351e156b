"""What went wrong below HTTP: requests/urllib3 exceptions turned into one plain value.

requests wraps urllib3 errors, which wrap socket errors, in `args`, `reason` and
`__cause__`; this walks the whole chain once and names the innermost reason in plain words,
without the URL (requests puts the full URL, and so any token in it, into its messages).
The clients turn a `Failure` into their own HubError; none of them sees a requests or
urllib3 exception.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import requests
import urllib3.exceptions as u3

# What kind of failure: decides whether anything reached the server.
CONNECT = "connect"  # no connection was made: nothing was sent
TIMEOUT = "timeout"  # sent, no answer in time: the server may have acted on it
LOST = "lost"  # sent, the connection broke before a whole answer: it may have acted
TLS = "tls"  # the TLS handshake or certificate check failed: nothing was sent
INVALID = "invalid"  # the URL or a header cannot be sent at all
SLOW = "slow"  # the answer came slower than the total deadline allows
TOO_LARGE = "too_large"  # the answer is larger than the client accepts


@dataclass(frozen=True)
class Failure:
    kind: str
    reason: str  # a few words, never the URL: "connection refused", "timed out"

    @property
    def nothing_sent(self) -> bool:
        return self.kind in (CONNECT, TLS, INVALID)


def exception_chain(exc: BaseException) -> Iterator[BaseException]:
    """`exc` and everything it wraps or was raised in, each once."""
    seen: set[int] = set()
    stack: list[Any] = [exc]
    while stack:
        item = stack.pop()
        if not isinstance(item, BaseException) or id(item) in seen:
            continue
        seen.add(id(item))
        yield item
        stack.append(getattr(item, "reason", None))
        stack.extend(arg for arg in item.args if isinstance(arg, BaseException))
        stack.extend((item.__cause__, item.__context__))


def _any(exc: BaseException, *types: type) -> bool:
    return any(isinstance(cause, types) for cause in exception_chain(exc))


def classify(exc: BaseException) -> Failure:
    """The Failure for an exception raised by requests or urllib3 while sending or reading."""
    if isinstance(exc, requests.exceptions.SSLError) or _any(exc, ssl.SSLError):
        if _any(exc, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(exc):
            return Failure(TLS, "TLS certificate verification failed")
        return Failure(TLS, "TLS handshake failed")
    if isinstance(
        exc,
        requests.exceptions.InvalidURL
        | requests.exceptions.MissingSchema
        | requests.exceptions.InvalidSchema
        | requests.exceptions.InvalidHeader
        | requests.exceptions.URLRequired
        | u3.LocationParseError,
    ):
        return Failure(INVALID, "the URL or a header is not valid")
    if _is_connect_failure(exc):
        return Failure(CONNECT, _connect_reason(exc))
    if isinstance(exc, requests.exceptions.ReadTimeout) or _any(
        exc, u3.ReadTimeoutError, socket.timeout, TimeoutError
    ):
        return Failure(TIMEOUT, "timed out")
    return Failure(LOST, _lost_reason(exc))


def _is_connect_failure(exc: BaseException) -> bool:
    if isinstance(exc, requests.exceptions.ConnectTimeout | requests.exceptions.ProxyError):
        return True
    for cause in exception_chain(exc):
        # Read-side failures wrap connection classes too; the first one seen decides.
        if isinstance(cause, u3.ReadTimeoutError | u3.ProtocolError):
            return False
        if isinstance(
            cause,
            u3.NewConnectionError
            | u3.ConnectTimeoutError
            | u3.NameResolutionError
            | ConnectionRefusedError
            | socket.gaierror,
        ):
            return True
    return False


def _connect_reason(exc: BaseException) -> str:
    if _any(exc, u3.NameResolutionError, socket.gaierror):
        return "the host name could not be resolved"
    if _any(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, requests.exceptions.ConnectTimeout) or _any(
        exc, u3.ConnectTimeoutError, socket.timeout, TimeoutError
    ):
        return "connection timed out"
    if isinstance(exc, requests.exceptions.ProxyError):
        return "the proxy refused the connection"
    return _os_reason(exc) or "could not connect"


def _lost_reason(exc: BaseException) -> str:
    for cause in exception_chain(exc):
        if type(cause).__name__ == "RemoteDisconnected":
            return "the server closed the connection without answering"
    if _any(exc, ConnectionResetError):
        return "connection reset by the server"
    if _any(exc, BrokenPipeError):
        return "the server closed the connection while the request was sent"
    if isinstance(
        exc,
        requests.exceptions.ChunkedEncodingError
        | requests.exceptions.ContentDecodingError
        | u3.ProtocolError
        | u3.DecodeError,
    ):
        return "the answer was cut off"
    return _os_reason(exc) or f"the request failed ({type(exc).__name__})"


def _os_reason(exc: BaseException) -> str:
    for cause in exception_chain(exc):
        plain_os = isinstance(cause, OSError) and not isinstance(cause, requests.RequestException)
        if plain_os and cause.strerror:
            return cause.strerror.lower() if cause.errno else cause.strerror
    return ""
