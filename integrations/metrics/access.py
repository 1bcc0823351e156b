"""Who may scrape /metrics: a hub API key with the metrics scope, or an allowed address.

A key that is sent is always checked, even from an allowed address: a wrong key in
Prometheus's config is a mistake worth a 401 now rather than a surprise the day the
scraper moves. Without a key the client address decides (the same address the login
protection counts: REMOTE_ADDR, or behind a trusted proxy the one it appended to
X-Forwarded-For; integrations/lockout/address.py). The key is never logged or echoed.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone

from integrations.lockout.address import client_address
from integrations.metrics.allow import is_allowed
from integrations.models import HubAPIKey

REFUSED = "dify-hub refused the scrape of /metrics: "
CREATE = "Create a key with `manage.py hub apikey create prometheus --scope metrics`"


@dataclass(frozen=True)
class Refusal:
    status: int  # 401: who are you? 403: known, but not for this
    message: str


def refusal(request: HttpRequest) -> Refusal | None:
    """None when the request may scrape; else what to answer."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if header:
        return key_refusal(header)
    address = client_address(request)
    if is_allowed(address, settings.HUB_METRICS_ALLOW):
        return None
    return Refusal(
        401,
        f"{REFUSED}it needs `Authorization: Bearer <hub API key>` with a key of the metrics "
        f"scope, or the scraper's address ({address or 'unknown'}) in HUB_METRICS_ALLOW. "
        f"{CREATE} and give it to Prometheus (docs/operations.md, Monitoring).",
    )


def key_refusal(header: str) -> Refusal | None:
    scheme, _, key = header.strip().partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key or " " in key:
        return Refusal(401, f"{REFUSED}send `Authorization: Bearer <hub API key>`.")
    api_key = HubAPIKey.find(key)
    if api_key is None:
        return Refusal(401, f"{REFUSED}the key is not one of this hub's API keys. {CREATE}.")
    if not api_key.is_active:
        return Refusal(
            401,
            f"{REFUSED}the API key '{api_key.name}' was revoked on "
            f"{api_key.revoked_at:%Y-%m-%d %H:%M} UTC. {CREATE}.",
        )
    if not api_key.has_scope(HubAPIKey.Scope.METRICS):
        return Refusal(
            403,
            f"{REFUSED}the API key '{api_key.name}' has the {api_key.scope} scope; /metrics "
            f"needs the metrics scope. {CREATE}.",
        )
    api_key.touch(timezone.now())
    return None
