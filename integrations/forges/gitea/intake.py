"""Gitea's and Forgejo's side of the webhook intake (integrations/forges/intake.py does the
rest).

A delivery proves itself with ``X-Forgejo-Signature`` / ``X-Gitea-Signature`` (bare hex
HMAC-SHA256 of the body). Each delivery, a *Replay* included, has a new delivery id, so the
id only catches a request repeated by a proxy; the review key (repository, PR, head) is what
keeps a replay from starting a second review.
"""

from __future__ import annotations

from collections.abc import Mapping

from integrations.forges.gitea.events import classify, delivery_id, event_name
from integrations.forges.gitea.signing import signature_problem
from integrations.forges.intake import Forge, Rejected
from integrations.models import ReviewEndpoint

KEPT_HEADERS = (
    "user-agent",
    "x-forgejo-event",
    "x-forgejo-event-type",
    "x-forgejo-delivery",
    "x-gitea-event",
    "x-gitea-event-type",
    "x-gitea-delivery",
)


def authenticate(endpoint: ReviewEndpoint, headers: Mapping[str, str], body: bytes) -> None:
    if not (headers.get("x-gitea-event") or headers.get("x-forgejo-event")):
        raise Rejected(
            "the delivery has no X-Gitea-Event or X-Forgejo-Event header: this endpoint is for "
            "Gitea and Forgejo webhooks"
        )
    if problem := signature_problem(endpoint.signing_secret, body, headers):
        raise Rejected(f"bad signature: {problem}")


def _delivery_key(headers: Mapping[str, str], body: bytes) -> str:
    return delivery_id(headers)


GITEA = Forge(
    name="gitea",
    who="Gitea",
    noun="pull request",
    context_key="pull_request",
    kept_headers=KEPT_HEADERS,
    authenticate=authenticate,
    delivery_key=_delivery_key,
    event_name=event_name,
    classify=classify,
)
