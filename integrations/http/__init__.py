"""The one HTTP layer: see client.py. Plain Python, no Django."""

from integrations.http.client import HeaderAuth, HttpClient, Request, Response, Stream, bearer
from integrations.http.failures import (
    CONNECT,
    INVALID,
    LOST,
    SLOW,
    TIMEOUT,
    TLS,
    TOO_LARGE,
    Failure,
    classify,
    exception_chain,
)
from integrations.http.headers import header, parse_retry_after, reset_delay, retry_after
from integrations.http.redact import MASK, Redactor, looks_secret, url_secrets

__all__ = [
    "CONNECT",
    "INVALID",
    "LOST",
    "MASK",
    "SLOW",
    "TIMEOUT",
    "TLS",
    "TOO_LARGE",
    "Failure",
    "HeaderAuth",
    "HttpClient",
    "Redactor",
    "Request",
    "Response",
    "Stream",
    "bearer",
    "classify",
    "exception_chain",
    "header",
    "looks_secret",
    "parse_retry_after",
    "reset_delay",
    "retry_after",
    "url_secrets",
]
