"""Dify's errors, on the hub's one error tree (integrations/errors.py).

Callers branch on the fields (`retryable`) or the class:

* :class:`DifyPermanentError` - do not retry; fix the configuration or the request.
  :class:`DifyAuthError` (401/403) is a special case of it.
* :class:`DifyRetryableError` - the request was *not* accepted (or Dify answered with a JSON
  error that says it did not run); retrying later with backoff is safe.
  :class:`DifyConcurrencyLimit` is Dify's refusal at the app's `max_active_requests`.
* :class:`DifyOutcomeUnknown` - the request may have been accepted and a run may exist.
  Never re-POST blindly: look the run up first (``get_run`` with ``workflow_run_id`` when it
  is known, otherwise ``find_runs``).
* :class:`DifyInputError` - the hub's own check of the inputs against the app's form refused
  them; nothing was sent to Dify (source "hub", code ``hub_invalid_inputs``).

Pure Python (no Django, no requests).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from integrations.errors import HubError, HubRefusal, OutcomeUnknown
from integrations.http import header, retry_after

__all__ = [
    "DifyAuthError",
    "DifyConcurrencyLimit",
    "DifyError",
    "DifyInputError",
    "DifyOutcomeUnknown",
    "DifyPermanentError",
    "DifyRetryableError",
    "DifySilentRefusal",
    "DifyStreamStalled",
    "error_from_payload",
    "error_from_response",
]

_MAX_MESSAGE = 500
# Dify 1.14.1 refuses a run over the app's max_active_requests with 400 invalid_param and
# this text (AppInvokeQuotaExceededError is a ValueError; captures 91, 92).
_CONCURRENCY = re.compile(
    r"Too many requests\. Please try again later\. The current maximum concurrent requests "
    r"allowed for \S+ is (\d+)"
)


class DifyError(HubError):
    """Base class: what Dify said (or what happened on the way to it)."""

    source = "dify"
    default_who = "Dify"
    default_code = "dify_error"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        http_status: int | None = None,
        task_id: str | None = None,
        workflow_run_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, code=code, status=http_status, retry_after=retry_after)
        self.task_id = task_id
        self.workflow_run_id = workflow_run_id

    @property
    def http_status(self) -> int | None:
        return self.status

    def __str__(self) -> str:
        head = "Dify"
        if self.status is not None:
            head += f" {self.status}"
        return f"{head} {self.code}: {self.message}"


class DifyPermanentError(DifyError):
    """Retrying the same request will fail the same way."""

    default_code = "permanent_error"


class DifyAuthError(DifyPermanentError):
    """401 (bad/deleted key) or 403 (app API disabled, app/workspace unavailable)."""

    default_code = "unauthorized"


class DifyRetryableError(DifyError):
    """The request was not accepted; safe to retry later (with backoff)."""

    default_code = "retryable_error"
    default_retryable = True


class DifyConcurrencyLimit(DifyRetryableError):
    """The app is at Dify's max_active_requests; try again when one of its runs has ended."""

    default_code = "concurrency_limit"

    def __init__(self, message: str, *, limit: int | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.limit = limit


class DifyOutcomeUnknown(DifyError, OutcomeUnknown):
    """The request may have been accepted: a run may exist (or even succeed).

    ``task_id`` / ``workflow_run_id`` are set when they were seen before the failure.
    """

    default_code = "outcome_unknown"
    default_retryable = False


class DifyStreamStalled(DifyOutcomeUnknown):
    """The stream opened but no data event arrived within ``first_event_timeout``."""

    default_code = "stream_stalled"


class DifySilentRefusal(DifyPermanentError):
    """A streaming run Dify never started because its inputs do not fit the app's form.

    Dify answers such a call with 200, one ping and silence (captures 05, 83): no error
    event and no run in its logs, ever. The hub finds out by reading the form again and
    checking the inputs itself; ``problems`` are what that check found.
    """

    default_code = "invalid_inputs"

    def __init__(self, problems: list[str], input_form: list | None = None) -> None:
        self.problems = list(problems)
        self.input_form = input_form
        super().__init__(
            "Dify did not start the run: its inputs do not fit the app's input form ("
            + "; ".join(self.problems)
            + "). Dify answers a streaming call with such inputs with silence, not an error, "
            "so the hub checked them against the form Dify has now; fix the inputs."
        )


class DifyInputError(HubRefusal):
    """The hub's check of the inputs against the app's input form failed; nothing was sent."""

    default_code = "hub_invalid_inputs"

    def __init__(self, problems: list[str], *, message: str | None = None) -> None:
        self.problems = list(problems)
        text = message or ("; ".join(self.problems) or "invalid inputs")
        super().__init__(f"The hub did not call Dify: the inputs do not fit the app's form: {text}")


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

    if code == "invalid_param" and (limit := _CONCURRENCY.search(message)):
        return DifyConcurrencyLimit(
            message + " (Dify's limit of concurrent runs for this app)",
            code="concurrency_limit",
            http_status=st,
            limit=int(limit.group(1)),
            retry_after=retry_after(headers),
            **ids,
        )
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
            retry_after=retry_after(headers),
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
            retry_after=retry_after(headers),
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
        location = header(headers, "location") or ""
        return DifyPermanentError(
            f"unexpected redirect (HTTP {status})"
            + (f" to {location}" if location else "")
            + "; fix the base URL (scheme/host/path) instead of relying on redirects",
            code="unexpected_redirect",
            http_status=status,
        )
    return DifyPermanentError(summary, code=f"http_{status}", http_status=status)
