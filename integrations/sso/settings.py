"""The single sign-on settings, from the values hub/settings.py reads from the environment.

Off unless an issuer is given. Only the issuer, the client and the roles are configured: the
endpoints come from the IdP's discovery document on first use (discovery.py), since settings
must not wait on the network. Every mistake stops start-up naming the variable, never a
secret's value. Imports nothing of Django but its ImproperlyConfigured.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

from integrations.sso.roles import GROUP_ROLES, parse_role_groups, role_named

BACKEND = "integrations.sso.backend.HubOIDCBackend"
PASSWORD_BACKEND = "django.contrib.auth.backends.ModelBackend"
USERNAME_CLAIMS = ("email", "preferred_username")
# The library's views, made to answer every failure with the login page (views.py). They are
# routed whether SSO is on or not, and answer 404 while it is off.
VIEWS = {
    "OIDC_AUTHENTICATE_CLASS": "integrations.sso.views.SSOStart",
    "OIDC_CALLBACK_CLASS": "integrations.sso.views.SSOCallback",
}
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def sso_settings(
    *,
    issuer: str,
    client_id: str = "",
    client_secret: str = "",
    name: str = "single sign-on",
    allowed_domains: list[str] | tuple[str, ...] = (),
    groups_claim: str = "groups",
    role_groups: str = "",
    default_role: str = "",
    username_claim: str = "email",
    scopes: str = "openid email profile",
    timeout: int = 10,
    local_login: bool = True,
    backends: list[str] | tuple[str, ...] = (PASSWORD_BACKEND,),
) -> dict[str, Any]:
    """Django settings: HUB_OIDC_*, the library's OIDC_* and AUTHENTICATION_BACKENDS."""
    issuer = issuer.strip()
    if not issuer:
        if not local_login:
            raise ImproperlyConfigured(
                "HUB_LOCAL_LOGIN=false switches password login off, but HUB_OIDC_ISSUER is not "
                "set, so nobody could log in. Set HUB_OIDC_ISSUER (docs/sso.md) or "
                "HUB_LOCAL_LOGIN=true."
            )
        return {**VIEWS, "HUB_OIDC_ENABLED": False, "HUB_LOCAL_LOGIN": True, "HUB_OIDC_NAME": name}
    _check_issuer(issuer)
    _require(HUB_OIDC_CLIENT_ID=client_id, HUB_OIDC_CLIENT_SECRET=client_secret)
    return {
        **VIEWS,
        "HUB_OIDC_ENABLED": True,
        "HUB_LOCAL_LOGIN": local_login,
        "HUB_OIDC_ISSUER": issuer,
        "HUB_OIDC_NAME": name.strip() or "single sign-on",
        "HUB_OIDC_ALLOWED_DOMAINS": [d.strip().lower().lstrip("@") for d in allowed_domains],
        "HUB_OIDC_GROUPS_CLAIM": groups_claim.strip() or "groups",
        **_roles(role_groups, default_role),
        "HUB_OIDC_USERNAME_CLAIM": _username_claim(username_claim),
        "OIDC_RP_CLIENT_ID": client_id,
        "OIDC_RP_CLIENT_SECRET": client_secret,
        "OIDC_RP_SIGN_ALGO": "RS256",
        "OIDC_RP_SCOPES": _scopes(scopes),
        "OIDC_TIMEOUT": timeout,
        "OIDC_USE_NONCE": True,
        "OIDC_USE_PKCE": True,  # RFC 7636: a stolen code is useless without the verifier
        "AUTHENTICATION_BACKENDS": _backends(backends, local_login),
        "AXES_WHITELIST_CALLABLE": "integrations.sso.views.is_sso_attempt",
    }


def _check_issuer(issuer: str) -> None:
    parts = urlsplit(issuer)
    loopback = parts.scheme == "http" and parts.hostname in _LOOPBACK
    # Discovery §3: https, no query, no fragment. Plain http only to this machine (tests, a
    # tunnel): the id token's keys must not come over a network unencrypted.
    if not (parts.scheme == "https" or loopback) or not parts.hostname:
        raise ImproperlyConfigured(
            f"HUB_OIDC_ISSUER={issuer!r} is not an https:// address (the IdP's issuer, e.g. "
            "https://login.example.com/realms/main; http:// only for 127.0.0.1 or localhost)."
        )
    if parts.query or parts.fragment:
        raise ImproperlyConfigured(
            f"HUB_OIDC_ISSUER={issuer!r} has a query or fragment; an issuer has neither."
        )


def _require(**values: str) -> None:
    missing = [variable for variable, value in values.items() if not value]
    if missing:
        raise ImproperlyConfigured(
            f"HUB_OIDC_ISSUER is set but {' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} "
            "not: register the hub as a client at the identity provider (docs/sso.md)."
        )


def _roles(role_groups: str, default_role: str) -> dict[str, Any]:
    try:
        mapping = parse_role_groups(role_groups)
    except ValueError as exc:
        raise ImproperlyConfigured(str(exc)) from None
    default = role_named(default_role) if default_role.strip() else ""
    if default is None or (default and default not in GROUP_ROLES):
        raise ImproperlyConfigured(
            f"HUB_OIDC_DEFAULT_ROLE={default_role!r} must be Operators or Viewers (superuser "
            "is given only through a group in HUB_OIDC_ROLE_GROUPS)."
        )
    if not mapping and not default:
        raise ImproperlyConfigured(
            "HUB_OIDC_ISSUER is set but neither HUB_OIDC_ROLE_GROUPS nor HUB_OIDC_DEFAULT_ROLE "
            "gives anyone a role, so every login would be refused (docs/sso.md)."
        )
    return {"HUB_OIDC_ROLE_GROUPS": mapping, "HUB_OIDC_DEFAULT_ROLE": default}


def _username_claim(claim: str) -> str:
    claim = claim.strip() or "email"
    if claim not in USERNAME_CLAIMS:
        raise ImproperlyConfigured(
            f"HUB_OIDC_USERNAME_CLAIM={claim!r} must be email or preferred_username."
        )
    return claim


def _scopes(scopes: str) -> str:
    words = scopes.split()
    for needed in ("openid", "email"):
        if needed not in words:
            raise ImproperlyConfigured(
                f"HUB_OIDC_SCOPES={scopes!r} lacks {needed!r}: the hub needs an id token and a "
                "verified email address."
            )
    return " ".join(words)


def _backends(backends: list[str] | tuple[str, ...], local_login: bool) -> list[str]:
    """Axes' backend stays first (it refuses locked-out logins before any other is asked);
    the password backend goes when local login is off, so no password logs anyone in."""
    kept = [b for b in backends if local_login or b != PASSWORD_BACKEND]
    axes = [b for b in kept if b.startswith("axes.")]
    return [*axes, BACKEND, *(b for b in kept if b not in axes)]
