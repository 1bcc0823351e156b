"""mozilla-django-oidc's backend, made strict and plain-spoken.

What it changes (mozilla_django_oidc/auth.py, 5.0.2):
- the IdP's endpoints are discovered on first use (discovery.py) instead of read from
  settings in __init__: Django builds a backend for every request with a logged-in session;
- the id token is checked as OpenID Connect Core §3.1.3.7 asks: RS256 only, `aud` is our
  client id and `iss` the issuer (the library skips both), `exp`, `iat` and `sub` present;
- userinfo's claims are merged over the id token's after checking the two `sub` agree
  (§5.3.2), so a groups claim only in the id token (Entra ID, Keycloak mappers) still counts;
- who may log in and as what is roles.decide and accounts.sign_in;
- every failure becomes a LoginRefused or ProviderFailed, kept on the request for the
  callback view to show on the login page, instead of a 400 or a 500.
"""

from __future__ import annotations

import logging
from typing import Any

import jwt
import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.utils import import_from_settings

from integrations.errors import HubError
from integrations.http import classify
from integrations.sso import accounts, discovery, roles
from integrations.sso.errors import ProviderFailed

log = logging.getLogger(__name__)

ALGORITHM = "RS256"
LEEWAY_SECONDS = 60  # clocks of the hub and the IdP may differ by this much
_UNTRUSTED = {
    jwt.InvalidSignatureError: "its signature does not match the keys it publishes (JWKS)",
    jwt.ExpiredSignatureError: "the id token has expired",
    jwt.ImmatureSignatureError: "the id token is not valid yet (are the clocks right?)",
    jwt.InvalidAudienceError: "the id token is meant for another client (aud)",
    jwt.InvalidIssuerError: "the id token comes from another issuer (iss)",
    jwt.MissingRequiredClaimError: "the id token lacks a required claim",
}


class HubOIDCBackend(OIDCAuthenticationBackend):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Not the library's __init__: it reads the endpoints, which would mean discovery on
        # every page. They are the properties below.
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
        self.OIDC_RP_CLIENT_SECRET = settings.OIDC_RP_CLIENT_SECRET
        self.OIDC_RP_SIGN_ALGO = ALGORITHM
        self.OIDC_RP_IDP_SIGN_KEY = None
        self.UserModel = get_user_model()

    @property
    def OIDC_OP_TOKEN_ENDPOINT(self) -> str:  # noqa: N802 (the library's name)
        return discovery.provider().token_endpoint

    @property
    def OIDC_OP_JWKS_ENDPOINT(self) -> str:  # noqa: N802
        return discovery.provider().jwks_uri

    @property
    def OIDC_OP_USER_ENDPOINT(self) -> str | None:  # noqa: N802
        return discovery.provider().userinfo_endpoint

    def get_settings(self, attr: str, *args: Any) -> Any:
        if attr == "OIDC_TOKEN_USE_BASIC_AUTH":  # what the IdP's discovery document lists
            return discovery.provider().basic_auth
        return import_from_settings(attr, *args)

    def authenticate(self, request, **kwargs: Any):
        # Only the callback view passes a nonce; a password is ModelBackend's (or refused).
        if request is None or "nonce" not in kwargs:
            return None
        try:
            return super().authenticate(request, **kwargs)
        except HubError as exc:
            failure = exc
        except requests.RequestException as exc:
            failure = ProviderFailed(self._unreachable(exc), who=self._name)
        except (SuspiciousOperation, jwt.PyJWTError, ValueError, KeyError, TypeError) as exc:
            failure = ProviderFailed(self._untrusted(str(exc) or type(exc).__name__))
        log.warning("single sign-on login failed: %s", failure)
        request.sso_failure = failure  # for the callback view's message
        raise PermissionDenied(str(failure))  # no other backend is asked

    def get_or_create_user(self, access_token, id_token, payload):
        claims = self.get_userinfo(access_token, id_token, payload)
        return accounts.sign_in(claims, roles.decide(claims, accounts.policy()))

    def get_userinfo(self, access_token, id_token, payload) -> dict[str, Any]:
        if not self.OIDC_OP_USER_ENDPOINT:
            return dict(payload)
        userinfo = super().get_userinfo(access_token, id_token, payload)
        if not isinstance(userinfo, dict) or userinfo.get("sub") != payload.get("sub"):
            raise ProviderFailed(self._untrusted("its userinfo is about another subject (sub)"))
        return {**payload, **userinfo}

    def raise_token_response_error(self, response: requests.Response) -> None:
        if response.status_code == 200:
            return
        # RFC 6749 §5.2: {"error": "invalid_grant", "error_description": "..."}
        try:
            body = response.json()
        except ValueError:
            body = {}
        said = body.get("error") if isinstance(body, dict) else None
        detail = f"{said}: {body.get('error_description') or ''}".rstrip(": ") if said else ""
        raise ProviderFailed(
            f"{self._name} did not complete the login: its token endpoint answered HTTP "
            f"{response.status_code}{f' ({detail})' if detail else ''}. Try again; if it keeps "
            "failing, check HUB_OIDC_CLIENT_ID and HUB_OIDC_CLIENT_SECRET, and that the "
            "hub's callback URL is registered at the identity provider.",
            who=self._name,
        )

    def retrieve_matching_jwk(self, token):
        try:
            return super().retrieve_matching_jwk(token)
        except SuspiciousOperation:
            raise ProviderFailed(
                self._untrusted("none of the keys it publishes (JWKS) has the token's key id")
            ) from None

    def _verify_jws(self, payload, key) -> dict[str, Any]:
        if jwt.get_unverified_header(payload).get("alg") != ALGORITHM:
            raise ProviderFailed(self._untrusted(f"the id token is not signed with {ALGORITHM}"))
        try:
            return jwt.decode(
                payload,
                key,
                algorithms=[ALGORITHM],
                audience=self.OIDC_RP_CLIENT_ID,
                issuer=settings.HUB_OIDC_ISSUER,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.InvalidTokenError as exc:
            reason = next((r for t, r in _UNTRUSTED.items() if isinstance(exc, t)), str(exc))
            raise ProviderFailed(self._untrusted(reason)) from None

    @property
    def _name(self) -> str:
        return settings.HUB_OIDC_NAME

    def _unreachable(self, exc: requests.RequestException) -> str:
        response = getattr(exc, "response", None)
        if response is not None:  # raise_for_status of the JWKS or userinfo request
            reason = f"it answered HTTP {response.status_code}"
        else:
            reason = classify(exc).reason
        return discovery.unreachable(self._name, settings.HUB_OIDC_ISSUER, reason)

    def _untrusted(self, reason: str) -> str:
        return (
            f"The hub did not accept {self._name}'s answer: {reason}. Nobody was logged in. "
            "Try again; if it keeps failing, the identity provider's keys or the hub's "
            "HUB_OIDC_ISSUER and HUB_OIDC_CLIENT_ID need a look."
        )
