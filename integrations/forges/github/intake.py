"""GitHub's side of the webhook intake (integrations/forges/intake.py does the rest).

A delivery proves itself with ``X-Hub-Signature-256`` over the raw body, keyed with the
endpoint's secret. ``X-GitHub-Delivery`` is the same on a redelivery from GitHub's UI or API,
so it is the dedupe key. A Gitea or Forgejo server sends GitHub's headers too, but also its
own ``X-Gitea-Event``: such a delivery is refused with a word on where it belongs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from integrations.forges.github.events import classify, delivery_id, event_name
from integrations.forges.github.signing import SIGNATURE_HEADER, signature_problem
from integrations.forges.intake import Forge, Rejected
from integrations.models import ReviewEndpoint

KEPT_HEADERS = (
    "user-agent",
    "x-github-event",
    "x-github-delivery",
    "x-github-hook-id",
    "x-github-hook-installation-target-type",
    "x-github-hook-installation-target-id",
    "x-github-enterprise-host",
    "x-github-enterprise-version",
)


def authenticate(endpoint: ReviewEndpoint, headers: Mapping[str, str], body: bytes) -> None:
    if headers.get("x-gitea-event") or headers.get("x-forgejo-event"):
        raise Rejected(
            "this delivery came from Gitea or Forgejo (X-Gitea-Event), not GitHub; this "
            "endpoint is for GitHub"
        )
    problem = signature_problem(
        endpoint.signing_secret, body, headers.get(SIGNATURE_HEADER.lower())
    )
    if problem:
        raise Rejected(f"bad signature: {problem}")


def _event_name(headers: Mapping[str, str], payload: Any) -> str:
    return event_name(headers)


def _delivery_key(headers: Mapping[str, str], body: bytes) -> str:
    return delivery_id(headers)


GITHUB = Forge(
    name="github",
    who="GitHub",
    noun="pull request",
    context_key="pull_request",
    kept_headers=KEPT_HEADERS,
    authenticate=authenticate,
    delivery_key=_delivery_key,
    event_name=_event_name,
    classify=classify,
)
