"""GitLab's side of the webhook intake (integrations/forges/intake.py does the rest).

A delivery proves itself with the secret token (``X-Gitlab-Token``, compared with its hash)
and, when the endpoint has a signing secret, a Standard Webhooks signature. GitLab 17.4+
sends an ``Idempotency-Key`` that stays the same on retries and "Resend request"; before
that the body's hash stands in for it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from django.conf import settings

from integrations.forges.intake import Answer, Forge, Rejected, supersede_older
from integrations.forges.intake import receive as receive_from
from integrations.gitlab.events import classify, event_name
from integrations.gitlab.signing import SignatureError, token_matches, verify_signature
from integrations.models import ReviewEndpoint

__all__ = ["GITLAB", "Answer", "authenticate", "receive", "supersede_older"]

# Kept with each event: enough to trace a delivery in GitLab's "Recent events", never secrets
# (X-Gitlab-Token and webhook-signature are left out on purpose).
KEPT_HEADERS = (
    "user-agent",
    "x-gitlab-event",
    "x-gitlab-instance",
    "x-gitlab-webhook-uuid",
    "x-gitlab-event-uuid",
    "idempotency-key",
    "webhook-id",
    "webhook-timestamp",
)


def authenticate(endpoint: ReviewEndpoint, headers: Mapping[str, str], body: bytes) -> None:
    """The token must match; with a signing secret the signature must be valid as well."""
    token = headers.get("x-gitlab-token")
    if endpoint.signing_secret:
        try:
            verify_signature(
                endpoint.signing_secret,
                headers,
                body,
                now=time.time(),
                tolerance=settings.HUB_WEBHOOK_SIGNATURE_TOLERANCE,
            )
        except SignatureError as exc:
            raise Rejected(f"bad signature: {exc}") from None
        if token is not None and not token_matches(endpoint.secret_token_hash, token):
            raise Rejected("wrong X-Gitlab-Token")
        return
    if not token:
        raise Rejected("missing X-Gitlab-Token (set the secret token in GitLab's webhook form)")
    if not token_matches(endpoint.secret_token_hash, token):
        raise Rejected("wrong X-Gitlab-Token")


def _delivery_key(headers: Mapping[str, str], body: bytes) -> str:
    return headers.get("idempotency-key", "").strip()


GITLAB = Forge(
    name="gitlab",
    who="GitLab",
    noun="MR",
    context_key="merge_request",
    kept_headers=KEPT_HEADERS,
    authenticate=authenticate,
    delivery_key=_delivery_key,
    event_name=event_name,
    classify=classify,
)


def receive(endpoint: ReviewEndpoint, headers: Mapping[str, str], body: bytes) -> Answer:
    """Handle one POST to a GitLab endpoint. `headers` keys are lower-case."""
    return receive_from(GITLAB, endpoint, headers, body)
