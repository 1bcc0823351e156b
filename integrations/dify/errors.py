"""Error hierarchy for the Dify service-API client.

Every failure the client raises is a :class:`DifyError`. Callers branch on the class:

* :class:`DifyPermanentError` - do not retry; fix the configuration or the request.
  :class:`DifyAuthError` (401/403) and :class:`DifyInputError` (local input validation) are
  special cases of it.
* :class:`DifyRetryableError` - the request was *not* accepted (or Dify answered with a JSON
  error that says it did not run); retrying later with backoff is safe.
* :class:`DifyOutcomeUnknown` - the request may have been accepted and a run may exist.
  Never re-POST blindly: look the run up first (``get_run`` with ``workflow_run_id`` when it
  is known, otherwise ``find_runs``).

This module is pure Python (no Django, no requests).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import Any

__all__ = [
    "DifyAuthError",
    "DifyError",
    "DifyInputError",
    "DifyOutcomeUnknown",
    "DifyPermanentError",
    "DifyRetryableError",
    "DifyStreamStalled",
    "error_from_payload",
    "error_from_response",
]

_MAX_MESSAGE = 500


class DifyError(Exception):
    """Base class. ``retryable`` is a class attribute; the rest are per instance."""

    retryable: bool = False
    default_code: str = "dify_error"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        http_status: int | None = None,
        task_id: str | None = None,
        workflow_run_id: str | None = None,
    ) -> None:
        self.message = message
        self.code = code or self.default_code
        self.http_status = http_status
        self.task_id = task_id
        self.workflow_run_id = workflow_run_id
        super().__init__(message)

    def __str__(self) -> str:
        head = "Dify"
        if self.http_status is not None:
            head += f" {self.http_status}"
        return f"{head} {self.code}: {self.message}"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(code={self.code!r}, http_status={self.http_status!r}, "
            f"message={self.message!r}, task_id={self.task_id!r}, "
            f"workflow_run_id={self.workflow_run_id!r})"
        )


class DifyPermanentError(DifyError):
    """Retrying the same request will fail the same way."""

    retryable = False
    default_code = "permanent_error"


class DifyAuthError(DifyPermanentError):
    """401 (bad/deleted key) or 403 (app API disabled, app/workspace unavailable)."""

    default_code = "unauthorized"


class DifyInputError(DifyPermanentError):
    """Local validation of ``inputs`` failed; nothing was sent to Dify."""

    default_code = "invalid_inputs"

    def __init__(self, problems: list[str], **kwargs: Any) -> None:
        self.problems = list(problems)
        message = kwargs.pop("message", None) or ("; ".join(self.problems) or "invalid inputs")
        super().__init__(message, **kwargs)


class DifyRetryableError(DifyError):
    """The request was not accepted; safe to retry later (with backoff)."""

    retryable = True
    default_code = "retryable_error"

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kwargs)


class DifyOutcomeUnknown(DifyError):
    """The request may have been accepted: a run may exist (or even succeed).

    ``task_id`` / ``workflow_run_id`` are set when they were seen before the failure.
    """

    retryable = False
    default_code = "outcome_unknown"


class DifyStreamStalled(DifyOutcomeUnknown):
    """The stream opened but no data event arrived within ``first_event_timeout``."""

    default_code = "stream_stalled"


# ---------------------------------------------------------------------------
# Mapping HTTP answers to exceptions
# ---------------------------------------------------------------------------

_GATEWAY_STATUSES = {502, 503, 504, 520, 521, 522, 523, 524, 525, 526, 527, 530}


def _trim(text: object, limit: int = _MAX_MESSAGE) -> str:
    """One line, at most ``limit`` characters."""
    text = " ".join(str(text).split())
    if len(text) > limit:
        return text[: limit - 3] + "..."
    return text


def _non_json_summary(status: int, body_text: str) -> str:
    """A short human description of a non-JSON (usually HTML) error body."""
    text = body_text or ""
    title = re.search(r"<title[^>]*>(.*?)</title>", text, re.IGNORECASE | re.DOTALL)
    if title:
        snippet = " ".join(title.group(1).split())
    else:
        snippet = " ".join(re.sub(r"<[^>]+>", " ", text).split())
    snippet = _trim(snippet, 160)
    return f"HTTP {status} with a non-JSON body" + (f": {snippet}" if snippet else "")


def _parse_retry_after(headers: Mapping[str, str] | None) -> float | None:
    if not headers:
        return None
    value = None
    for key in headers:
        if str(key).lower() == "retry-after":
            value = headers[key]
            break
    if value is None:
        return None
    value = str(value).strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - time.time())


def _parse_envelope(body_text: str) -> dict | None:
    """Return the Dify error envelope ``{code, message, status}`` or None."""
    if not body_text:
        return None
    try:
        data = json.loads(body_text)
    except (TypeError, ValueError):
        return None
    if isinstance(data, dict) and ("code" in data or "message" in data):
        return data
    return None


def error_from_payload(
    status: int | None,
    code: str | None,
    message: str | None,
    *,
    headers: Mapping[str, str] | None = None,
    task_id: str | None = None,
    workflow_run_id: str | None = None,
) -> DifyError:
    """Map a Dify error envelope (HTTP body or in-stream ``error`` event) to an exception."""
    code = str(code) if code else None
    message = _trim(message if message else (code or "error"))
    ids = {"task_id": task_id, "workflow_run_id": workflow_run_id}
    st = status if isinstance(status, int) else None

    if st in (401, 403) or code in ("unauthorized", "forbidden"):
        default = "unauthorized" if st == 401 else "forbidden"
        return DifyAuthError(message, code=code or default, http_status=st, **ids)
    if st == 429 or code in ("too_many_requests", "rate_limit_error"):
        if code == "rate_limit_error":
            # Plan quota / provider limit: retrying soon will not help.
            return DifyPermanentError(message, code=code, http_status=st, **ids)
        return DifyRetryableError(
            message,
            code=code or "too_many_requests",
            http_status=st,
            retry_after=_parse_retry_after(headers),
            **ids,
        )
    if st is not None and st >= 500:
        return DifyRetryableError(
            message, code=code or "internal_server_error", http_status=st, **ids
        )
    if st is None and code == "internal_server_error":
        return DifyRetryableError(message, code=code, http_status=st, **ids)
    return DifyPermanentError(message, code=code or f"http_{st}", http_status=st, **ids)


def error_from_response(
    status: int,
    body_text: str,
    headers: Mapping[str, str] | None = None,
    *,
    idempotent: bool = False,
) -> DifyError:
    """Map a non-2xx HTTP answer to the right :class:`DifyError` subclass.

    ``idempotent=True`` (GET and stop calls) turns the "outcome unknown" gateway answers
    into retryable errors, since repeating a read cannot start a second run.
    """
    envelope = _parse_envelope(body_text)
    if envelope is not None:
        return error_from_payload(
            status, envelope.get("code"), envelope.get("message"), headers=headers
        )

    summary = _non_json_summary(status, body_text)
    if status in (401, 403):
        return DifyAuthError(
            summary, code="unauthorized" if status == 401 else "forbidden", http_status=status
        )
    if status == 404:
        return DifyPermanentError(
            summary + " (is the base URL right? It must end with /v1, e.g. http://host/v1)",
            code="not_found",
            http_status=status,
        )
    if status == 429:
        # A proxy/CDN rate limit (e.g. Cloudflare 1015): the request never reached Dify.
        return DifyRetryableError(
            summary,
            code="too_many_requests",
            http_status=status,
            retry_after=_parse_retry_after(headers),
        )
    if status >= 500:
        if idempotent:
            return DifyRetryableError(summary, code="gateway_error", http_status=status)
        code = "gateway_timeout" if status in (504, 524) else "gateway_error"
        if status not in _GATEWAY_STATUSES:
            code = "server_error"
        return DifyOutcomeUnknown(
            summary + "; the run may still be executing on the Dify side",
            code=code,
            http_status=status,
        )
    if 300 <= status < 400:
        location = ""
        if headers:
            for key in headers:
                if str(key).lower() == "location":
                    location = str(headers[key])
        return DifyPermanentError(
            f"unexpected redirect (HTTP {status})"
            + (f" to {location}" if location else "")
            + "; fix the base URL (scheme/host/path) instead of relying on redirects",
            code="unexpected_redirect",
            http_status=status,
        )
    return DifyPermanentError(summary, code=f"http_{status}", http_status=status)
