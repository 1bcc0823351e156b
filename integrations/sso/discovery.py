"""The identity provider's endpoints, read from its discovery document on first use.

OpenID Connect Discovery 1.0 §4: GET {issuer}/.well-known/openid-configuration (a trailing
`/` of the issuer dropped first), and the document's `issuer` must equal the configured one
exactly (§4.3), so a look-alike document is not believed. It is read when a login starts,
never while Django starts (settings must not wait on the network), kept for an hour per
process, and a failure is not kept: the next login tries again.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from integrations.errors import HubError
from integrations.http import Failure, HttpClient, Request
from integrations.sso.errors import ProviderFailed

WELL_KNOWN = "/.well-known/openid-configuration"
KEEP_SECONDS = 3600
_ENDPOINTS = ("authorization_endpoint", "token_endpoint", "jwks_uri")
_cache: dict[str, tuple[float, Provider]] = {}
_lock = threading.Lock()


@dataclass(frozen=True)
class Provider:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str | None  # optional in the spec: the id token's claims then suffice
    basic_auth: bool  # client_secret_basic (the spec's default), else client_secret_post


class _DiscoveryClient(HttpClient):
    def __init__(self, name: str, timeout: float) -> None:
        super().__init__("", connect_timeout=timeout, read_timeout=timeout, max_body=1 << 20)
        self.who = name

    def network_error(self, failure: Failure, request: Request) -> HubError:
        return ProviderFailed(
            unreachable(self.who, request.url, failure.reason), code=failure.kind, who=self.who
        )


def unreachable(name: str, url: str, reason: str) -> str:
    return (
        f"{name} could not be reached at {url} ({reason}). Try again in a moment; if it keeps "
        "failing, check HUB_OIDC_ISSUER and that the hub's server can reach the identity provider."
    )


def provider() -> Provider:
    """The configured IdP's endpoints (settings.HUB_OIDC_ISSUER), cached. ProviderFailed
    names the IdP and the address when it cannot be read."""
    issuer = settings.HUB_OIDC_ISSUER
    with _lock:
        kept = _cache.get(issuer)
    if kept is not None and time.monotonic() - kept[0] < KEEP_SECONDS:
        return kept[1]
    found = fetch(issuer, name=settings.HUB_OIDC_NAME, timeout=settings.OIDC_TIMEOUT)
    with _lock:
        _cache[issuer] = (time.monotonic(), found)
    return found


def forget() -> None:
    """Drop the cached documents (tests; an IdP that moved its endpoints)."""
    with _lock:
        _cache.clear()


def fetch(issuer: str, *, name: str, timeout: float) -> Provider:
    url = issuer.rstrip("/") + WELL_KNOWN
    with _DiscoveryClient(name, timeout) as client:
        response = client.request("GET", url, headers={"Accept": "application/json"})
    if response.status != 200:
        raise ProviderFailed(
            unreachable(name, url, f"it answered HTTP {response.status}"), who=name
        )
    try:
        document = json.loads(response.body)
    except ValueError:
        raise ProviderFailed(unreachable(name, url, "the answer is not JSON"), who=name) from None
    return parse(document, issuer, name=name, url=url)


def parse(document: Any, issuer: str, *, name: str, url: str) -> Provider:
    """The endpoints of a discovery document, checked (pure)."""
    if not isinstance(document, dict):
        raise ProviderFailed(unreachable(name, url, "the answer is not a JSON object"), who=name)
    if document.get("issuer") != issuer:
        raise ProviderFailed(
            f"{name}'s discovery document at {url} names the issuer "
            f"{document.get('issuer')!r}, not {issuer!r}. Set HUB_OIDC_ISSUER to exactly the "
            "issuer the identity provider names (a trailing / counts).",
            who=name,
        )
    missing = [key for key in _ENDPOINTS if not _is_url(document.get(key))]
    if missing:
        raise ProviderFailed(
            f"{name}'s discovery document at {url} has no {', '.join(missing)}.", who=name
        )
    methods = document.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
    if "client_secret_basic" not in methods and "client_secret_post" not in methods:
        raise ProviderFailed(
            f"{name} accepts neither client_secret_basic nor client_secret_post at its token "
            f"endpoint (it lists {', '.join(map(str, methods))}); the hub signs in with a "
            "client secret. Give the hub's client a secret at the identity provider.",
            who=name,
        )
    userinfo = document.get("userinfo_endpoint")
    return Provider(
        issuer=issuer,
        authorization_endpoint=document["authorization_endpoint"],
        token_endpoint=document["token_endpoint"],
        jwks_uri=document["jwks_uri"],
        userinfo_endpoint=userinfo if _is_url(userinfo) else None,
        basic_auth="client_secret_basic" in methods,
    )


def _is_url(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(("https://", "http://"))
