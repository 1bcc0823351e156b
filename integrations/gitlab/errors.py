"""GitLab's errors, on the hub's one error tree (integrations/errors.py).

Every failure :class:`~integrations.gitlab.api.GitLabClient` raises is a :class:`GitLabError`
(source "gitlab") with ``code``, ``message``, ``status``, ``retryable`` and ``retry_after``.
``str(exc)`` is a sentence a hub admin can act on; GitLab's own words (the ``message`` /
``error`` field of the body) are quoted at the end when there are any, cut to ~300 characters.

* retryable: :class:`GitLabRateLimited` (wait ``retry_after`` s), :class:`GitLabServerError`,
  :class:`GitLabUnreachable` (code ``unreachable``, ``timeout`` or ``connection_lost``).
  A timed-out or cut POST/PUT may still have been applied by GitLab: look the note up
  (``find_note``) before posting again.
* permanent: :class:`GitLabAuthError`, :class:`GitLabForbidden`, :class:`GitLabNotFound`,
  :class:`GitLabRequestError`, :class:`GitLabTLSError`, :class:`GitLabBadResponse`; retrying
  the same call fails the same way until someone fixes the token, the role, the URL, etc.

Pure Python (no Django, no requests). The client redacts the access token from every
message before raising.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from integrations.errors import HubError
from integrations.http import header, retry_after

__all__ = [
    "GitLabAuthError",
    "GitLabBadResponse",
    "GitLabError",
    "GitLabForbidden",
    "GitLabNotFound",
    "GitLabRateLimited",
    "GitLabRequestError",
    "GitLabServerError",
    "GitLabTLSError",
    "GitLabUnreachable",
    "error_from_response",
    "gitlab_text",
]

GITLAB_TEXT_LIMIT = 300


class GitLabError(HubError):
    """Base class; subclasses set the default ``code`` and ``retryable``."""

    source = "gitlab"
    default_who = "GitLab"
    default_code = "gitlab_error"

    def __init__(self, message: str, *, gitlab_message: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.gitlab_message = gitlab_message

    def redact(self, *secrets: str) -> None:
        super().redact(*secrets)
        for secret in secrets:
            if secret and self.gitlab_message:
                self.gitlab_message = self.gitlab_message.replace(secret, "***")


class GitLabAuthError(GitLabError):
    """401: the token is wrong, expired or revoked."""

    default_code = "unauthorized"


class GitLabForbidden(GitLabError):
    """403: the token's user lacks access or role, or the token lacks the ``api`` scope."""

    default_code = "forbidden"


class GitLabNotFound(GitLabError):
    """404: the project / MR / note does not exist or the token cannot see it (or a bad URL)."""

    default_code = "not_found"


class GitLabRateLimited(GitLabError):
    """429: wait ``retry_after`` seconds (None when GitLab did not say)."""

    default_code = "rate_limited"
    default_retryable = True


class GitLabServerError(GitLabError):
    """5xx: GitLab or a proxy in front of it failed; usually temporary."""

    default_code = "server_error"
    default_retryable = True


class GitLabUnreachable(GitLabError):
    """No HTTP answer: ``unreachable`` (nothing sent), ``timeout`` or ``connection_lost``."""

    default_code = "unreachable"
    default_retryable = True


class GitLabTLSError(GitLabError):
    """The TLS handshake or certificate verification failed."""

    default_code = "tls_error"


class GitLabRequestError(GitLabError):
    """Other 4xx (400, 409, 413, 422, ...) and redirects: the request itself is wrong."""

    default_code = "bad_request"


class GitLabBadResponse(GitLabError):
    """A 2xx answer that is not the JSON GitLab documents (a login page, a proxy, ...)."""

    default_code = "bad_response"


# ---------------------------------------------------------------------------
# reading GitLab's answers
# ---------------------------------------------------------------------------


def _trim(text: str, limit: int = GITLAB_TEXT_LIMIT) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _flatten(value: Any) -> str:
    """GitLab's ``message`` is a string, or a dict of field -> list of problems."""
    if isinstance(value, Mapping):
        parts = []
        for key, item in value.items():
            inner = _flatten(item)
            parts.append(inner if key in ("error", "base") else f"{key} {inner}")
        return "; ".join(part for part in parts if part)
    if isinstance(value, list):
        return ", ".join(_flatten(item) for item in value)
    return "" if value is None else str(value)


def _json_text(data: Any) -> str | None:
    if not isinstance(data, Mapping):
        return None
    if "message" in data:
        return _flatten(data["message"]) or None
    error, description = data.get("error"), data.get("error_description")
    if not error:
        return None
    if description:
        return f"{_flatten(error)}: {_flatten(description)}"
    return _flatten(error) or None


def _html_text(body_text: str) -> str:
    title = re.search(r"<title[^>]*>(.*?)</title>", body_text, re.IGNORECASE | re.DOTALL)
    if title:
        return title.group(1)
    return re.sub(r"<[^>]+>", " ", body_text)


def _parse_json(body_text: str) -> Any:
    try:
        return json.loads(body_text)
    except (TypeError, ValueError):
        return None


def gitlab_text(body_text: str) -> str | None:
    """GitLab's own words from an error body, one line, at most ~300 characters."""
    if not body_text or not body_text.strip():
        return None
    data = _parse_json(body_text)
    text = _json_text(data) if data is not None else None
    if text is None and data is None:
        stripped = body_text.lstrip()
        text = _html_text(body_text) if stripped.startswith("<") else body_text
    text = _trim(text) if text else ""
    return text or None


# ---------------------------------------------------------------------------
# status -> exception
# ---------------------------------------------------------------------------

_MEMBERSHIP_HINT = "make sure the bot user is a member of the project"


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _sentence(status: int, explanation: str, said: str | None, request: str | None) -> str:
    head = f"GitLab answered {status} {_reason(status)}".rstrip()
    text = f"{head}: {explanation}"
    if said:
        text += f'. GitLab said: "{said}"'
    if request:
        text += f" ({request})"
    return text


def _is_grape_route_miss(data: Any) -> bool:
    # GitLab's API answers {"error": "404 Not Found"} for a path it has no route for.
    return isinstance(data, Mapping) and "message" not in data and "error" in data


def _forbidden_explanation(data: Any) -> str:
    if isinstance(data, Mapping) and data.get("error") == "insufficient_scope":
        return (
            "the access token lacks the scope this call needs (a read_api token can read "
            "but cannot post or edit comments: create the token with the api scope)"
        )
    return (
        "the token's user may not do this: it cannot access the project, its role is too "
        "low, or the token only has the read_api scope and this call writes (give the bot "
        "user at least the Reporter role on the project and the token the api scope)"
    )


def _not_found_explanation(data: Any, said: str | None) -> str:
    if data is None or _is_grape_route_miss(data):
        return (
            "this API path does not exist on the server (check the endpoint's base URL: it "
            "must be the GitLab address, e.g. https://gitlab.example.com)"
        )
    if said and "project" in said.lower():
        return (
            "the project does not exist or the token's user cannot see it (check the project "
            f"id or path, and {_MEMBERSHIP_HINT})"
        )
    return (
        "the merge request or note does not exist, or the token's user cannot see it "
        f"(check the merge request number, and {_MEMBERSHIP_HINT})"
    )


def _rate_limited(status: int, said: str | None, request: str | None, headers, now) -> GitLabError:
    wait = retry_after(headers, now)
    when = f"retry in {wait:.0f} s" if wait is not None else "retry later with backoff"
    explanation = (
        f"too many requests from this token's user, {when} (on self-managed GitLab an "
        "admin can raise the limit or exempt the bot user)"
    )
    return GitLabRateLimited(
        _sentence(status, explanation, said, request),
        status=status,
        retry_after=wait,
        gitlab_message=said,
    )


def _redirect(status: int, headers, request: str | None) -> GitLabError:
    location = header(headers, "location") or ""
    if location:
        parts = urlsplit(location)  # never repeat a query string: it could carry secrets
        location = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    target = f" to {location}" if location else ""
    explanation = (
        f"it redirects{target}; the project was moved or renamed, or the base URL is wrong "
        "(use the new project path or the address GitLab redirects to; redirects are not "
        "followed so the token is never sent elsewhere)"
    )
    return GitLabRequestError(
        _sentence(status, explanation, None, request), code="redirect", status=status
    )


def error_from_response(
    status: int,
    body_text: str,
    headers: Mapping[str, str] | None = None,
    *,
    request: str | None = None,
    now: float | None = None,
) -> GitLabError:
    """Map a non-2xx answer to the right :class:`GitLabError`.

    ``request`` (e.g. ``"GET /api/v4/user"``) is named in the message so an admin sees
    which call failed.
    """
    data = _parse_json(body_text) if body_text else None
    said = gitlab_text(body_text)
    kwargs: dict[str, Any] = {"status": status, "gitlab_message": said}
    if status == 401:
        explanation = (
            "the access token is wrong, expired or revoked (set a valid token with the api "
            "scope on the endpoint)"
        )
        return GitLabAuthError(_sentence(status, explanation, said, request), **kwargs)
    if status == 403:
        explanation = _forbidden_explanation(data)
        return GitLabForbidden(_sentence(status, explanation, said, request), **kwargs)
    if status == 404:
        explanation = _not_found_explanation(data, said)
        return GitLabNotFound(_sentence(status, explanation, said, request), **kwargs)
    if status == 429:
        return _rate_limited(status, said, request, headers, now)
    if status >= 500:
        explanation = (
            "GitLab (or a proxy in front of it) failed or is temporarily unavailable; this "
            "is usually temporary, retry later (if it lasts, check GitLab's health)"
        )
        return GitLabServerError(_sentence(status, explanation, said, request), **kwargs)
    if 300 <= status < 400:
        return _redirect(status, headers, request)
    if 400 <= status < 500:
        explanation = (
            "GitLab rejected the request as invalid; retrying the same request will not help"
        )
        return GitLabRequestError(_sentence(status, explanation, said, request), **kwargs)
    explanation = "this is not a status the GitLab API uses; is the base URL a GitLab instance?"
    return GitLabBadResponse(_sentence(status, explanation, said, request), **kwargs)
