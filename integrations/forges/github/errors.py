"""GitHub's errors, on the hub's one error tree (integrations/errors.py).

Every failure the GitHub client raises is a :class:`GitHubError` (source "github"). The
status codes and bodies follow GitHub's REST docs ("Troubleshooting", "Rate limits for the
REST API") and the exchanges recorded in tests/fixtures/github/api:

* 401 "Bad credentials": the token is wrong, expired or revoked;
* 403 or 429 with ``x-ratelimit-remaining: 0``: the primary limit, wait until
  ``x-ratelimit-reset``; 403 or 429 saying "secondary rate limit": wait ``retry-after``, else
  at least a minute (GitHub's rule; going on may get the token banned);
* other 403: the token lacks a permission (GitHub names it in ``X-Accepted-GitHub-Permissions``);
* 404: the repository or pull request does not exist, or the token cannot see it (GitHub
  answers 404, not 403, for a private repository the token has no access to);
* 301/307: the repository was renamed or moved (never followed: the token stays here);
* 422 and other 4xx: the request is invalid; 5xx: GitHub failed, usually briefly.

Pure Python (no Django, no requests).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from integrations.errors import HubError
from integrations.http import header, parse_retry_after, reset_delay

__all__ = [
    "GitHubAuthError",
    "GitHubBadResponse",
    "GitHubError",
    "GitHubForbidden",
    "GitHubNotFound",
    "GitHubRateLimited",
    "GitHubRequestError",
    "GitHubServerError",
    "GitHubTLSError",
    "GitHubUnreachable",
    "error_from_response",
    "github_text",
]

TEXT_LIMIT = 300
# GitHub: after a secondary limit without retry-after, "wait for at least one minute".
SECONDARY_WAIT = 60.0


class GitHubError(HubError):
    source = "github"
    default_who = "GitHub"
    default_code = "github_error"


class GitHubAuthError(GitHubError):
    default_code = "unauthorized"


class GitHubForbidden(GitHubError):
    default_code = "forbidden"


class GitHubNotFound(GitHubError):
    default_code = "not_found"


class GitHubRateLimited(GitHubError):
    default_code = "rate_limited"
    default_retryable = True


class GitHubServerError(GitHubError):
    default_code = "server_error"
    default_retryable = True


class GitHubUnreachable(GitHubError):
    """No HTTP answer: ``unreachable`` (nothing sent), ``timeout`` or ``connection_lost``."""

    default_code = "unreachable"
    default_retryable = True


class GitHubTLSError(GitHubError):
    default_code = "tls_error"


class GitHubRequestError(GitHubError):
    default_code = "bad_request"


class GitHubBadResponse(GitHubError):
    """A 2xx answer that is not the JSON GitHub documents."""

    default_code = "bad_response"


def _parse(body_text: str) -> Any:
    try:
        return json.loads(body_text)
    except (TypeError, ValueError):
        return None


def github_text(body_text: str) -> str | None:
    """GitHub's own words: ``message`` plus each validation error, one line, ~300 chars."""
    data = _parse(body_text) if body_text else None
    if not isinstance(data, Mapping):
        text = " ".join(str(body_text or "").split())
        return text[:TEXT_LIMIT] or None
    parts = [str(data.get("message") or "")]
    for item in data.get("errors") or []:
        if isinstance(item, Mapping):
            detail = item.get("message") or " ".join(
                str(item[k]) for k in ("resource", "field", "code") if item.get(k)
            )
            parts.append(str(detail))
        elif isinstance(item, str):
            parts.append(item)
    text = "; ".join(p for p in parts if p)
    return (text[: TEXT_LIMIT - 3] + "...") if len(text) > TEXT_LIMIT else (text or None)


def _sentence(status: int, explanation: str, said: str | None, request: str | None) -> str:
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = ""
    text = f"GitHub answered {status} {phrase}".rstrip() + f": {explanation}"
    if said:
        text += f'. GitHub said: "{said}"'
    return text + (f" ({request})" if request else "")


def _rate_limit(
    status: int, said: str | None, headers: Any, now: float | None
) -> tuple[float, str] | None:
    """(seconds to wait, what to say) when this 403/429 is a rate limit, else None."""
    lowered = (said or "").lower()
    if header(headers, "x-ratelimit-remaining") == "0":
        wait = reset_delay(header(headers, "x-ratelimit-reset"), now)
        wait = SECONDARY_WAIT if wait is None else wait
        return wait, f"the token's hourly request limit is used up; it resets in {wait:.0f} s"
    if "secondary rate limit" in lowered or header(headers, "retry-after") or status == 429:
        wait = parse_retry_after(header(headers, "retry-after"), now)
        wait = SECONDARY_WAIT if wait is None else max(wait, 1.0)
        return wait, (
            "GitHub's secondary rate limit (too many requests or comments at once) was hit; "
            f"the hub waits {wait:.0f} s before trying again"
        )
    return None


def _forbidden(said: str | None, headers: Any) -> str:
    wanted = header(headers, "x-accepted-github-permissions")
    if wanted:
        return (
            f"the token lacks a permission this call needs ({wanted}): give the fine-grained "
            "token or the GitHub App that permission on the repository"
        )
    return (
        "the token may not do this: give it access to the repository with Pull requests "
        "(read and write) and Contents (read), or the repo scope for a classic token"
    )


def _redirect(status: int, said: str | None, headers: Any, request: str | None) -> GitHubError:
    location = (header(headers, "location") or "").split("?")[0]
    target = f" to {location}" if location else ""
    explanation = (
        f"the repository was renamed or moved (it redirects{target}); update the repository "
        "name (redirects are not followed so the token is never sent elsewhere)"
    )
    return GitHubRequestError(
        _sentence(status, explanation, said, request), code="redirect", status=status
    )


def error_from_response(
    status: int,
    body_text: str,
    headers: Mapping[str, str] | None = None,
    *,
    request: str | None = None,
    now: float | None = None,
) -> GitHubError:
    """Map a non-2xx answer to the right :class:`GitHubError`."""
    said = github_text(body_text)
    if status in (403, 429) and (limit := _rate_limit(status, said, headers, now)):
        wait, explanation = limit
        return GitHubRateLimited(
            _sentence(status, explanation, said, request), status=status, retry_after=wait
        )
    if status == 401:
        explanation = "the token is wrong, expired or revoked (set a valid token on the endpoint)"
        return GitHubAuthError(_sentence(status, explanation, said, request), status=status)
    if status == 403:
        return GitHubForbidden(
            _sentence(status, _forbidden(said, headers), said, request), status=status
        )
    if status == 404:
        explanation = (
            "the repository or pull request does not exist, or the token cannot see it "
            "(GitHub answers 404 for a private repository the token has no access to: check "
            "the name and the token's repository access)"
        )
        return GitHubNotFound(_sentence(status, explanation, said, request), status=status)
    if 300 <= status < 400:
        return _redirect(status, said, headers, request)
    if status >= 500:
        explanation = "GitHub failed or is briefly unavailable; this is usually temporary"
        return GitHubServerError(_sentence(status, explanation, said, request), status=status)
    if 400 <= status < 500:
        explanation = (
            "GitHub rejected the request as invalid; retrying the same request will not help"
        )
        return GitHubRequestError(_sentence(status, explanation, said, request), status=status)
    explanation = "this is not a status GitHub's API uses; is the API URL right?"
    return GitHubBadResponse(_sentence(status, explanation, said, request), status=status)
