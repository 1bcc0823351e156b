"""Gitea's and Forgejo's errors, on the hub's one error tree (integrations/errors.py).

Gitea answers errors as ``{"message": "...", "url": "<swagger>"}`` (404 also with
``errors``). It has no rate limit of its own (none in the sources read), so a 429 comes
from a proxy in front, with whatever wait it names. 401: the token is wrong or revoked;
403: the token's user lacks access or the token lacks a scope; 404: the repository or pull
request does not exist, or the token cannot see it; other 4xx: the request is invalid; 5xx:
the server failed. Pure Python.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from integrations.errors import HubError
from integrations.http import retry_after

__all__ = [
    "GiteaAuthError",
    "GiteaBadResponse",
    "GiteaError",
    "GiteaForbidden",
    "GiteaNotFound",
    "GiteaRateLimited",
    "GiteaRequestError",
    "GiteaServerError",
    "GiteaTLSError",
    "GiteaUnreachable",
    "error_from_response",
]

TEXT_LIMIT = 300


class GiteaError(HubError):
    source = "gitea"
    default_who = "Gitea"
    default_code = "gitea_error"


class GiteaAuthError(GiteaError):
    default_code = "unauthorized"


class GiteaForbidden(GiteaError):
    default_code = "forbidden"


class GiteaNotFound(GiteaError):
    default_code = "not_found"


class GiteaRateLimited(GiteaError):
    default_code = "rate_limited"
    default_retryable = True


class GiteaServerError(GiteaError):
    default_code = "server_error"
    default_retryable = True


class GiteaUnreachable(GiteaError):
    default_code = "unreachable"
    default_retryable = True


class GiteaTLSError(GiteaError):
    default_code = "tls_error"


class GiteaRequestError(GiteaError):
    default_code = "bad_request"


class GiteaBadResponse(GiteaError):
    default_code = "bad_response"


def gitea_text(body_text: str) -> str | None:
    try:
        data = json.loads(body_text) if body_text else None
    except ValueError:
        data = None
    text = str(data.get("message") or "") if isinstance(data, Mapping) else (body_text or "")
    text = " ".join(text.split())
    return text[:TEXT_LIMIT] or None


_EXPLAIN = {
    401: (
        GiteaAuthError,
        "the token is wrong, expired or revoked (set a valid token on the endpoint)",
    ),
    403: (
        GiteaForbidden,
        "the token's user may not do this: make it a collaborator with write access, and give "
        "the token the repository (read and write) and issue (read and write) scopes",
    ),
    404: (
        GiteaNotFound,
        "the repository or pull request does not exist, or the token's user cannot see it "
        "(check the name, and that the URL is the server's address)",
    ),
}


def error_from_response(
    status: int,
    body_text: str,
    headers: Mapping[str, str] | None = None,
    *,
    request: str | None = None,
    now: float | None = None,
) -> GiteaError:
    said = gitea_text(body_text)
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = ""

    def sentence(explanation: str) -> str:
        text = f"Gitea answered {status} {phrase}".rstrip() + f": {explanation}"
        text += f'. Gitea said: "{said}"' if said else ""
        return text + (f" ({request})" if request else "")

    kwargs: dict[str, Any] = {"status": status}
    if status in _EXPLAIN:
        cls, explanation = _EXPLAIN[status]
        return cls(sentence(explanation), **kwargs)
    if status == 429:
        wait = retry_after(headers, now)
        when = f"retry in {wait:.0f} s" if wait is not None else "retry later"
        return GiteaRateLimited(
            sentence(f"a proxy in front of Gitea is limiting requests, {when}"),
            retry_after=wait,
            **kwargs,
        )
    if status >= 500:
        return GiteaServerError(sentence("the server failed; this is usually temporary"), **kwargs)
    if 300 <= status < 400:
        return GiteaRequestError(
            sentence(
                "it redirects (the repository moved, or the URL is wrong; redirects are not followed)"
            ),
            code="redirect",
            **kwargs,
        )
    if 400 <= status < 500:
        return GiteaRequestError(sentence("the request was refused as invalid"), **kwargs)
    return GiteaBadResponse(sentence("this is not a status Gitea's API uses"), **kwargs)
