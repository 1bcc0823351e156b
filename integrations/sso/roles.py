"""Who gets in through single sign-on, and as what: the pure part (no Django, no network).

The identity provider vouches for an email address and lists the person's groups; the hub
decides. HUB_OIDC_ROLE_GROUPS maps IdP group names to the hub's roles: "superuser" (everything)
and the groups "Operators" and "Viewers" (migration 0024_roles). HUB_OIDC_DEFAULT_ROLE gives a
role to whoever has no mapped group. Everyone else, and every address outside
HUB_OIDC_ALLOWED_DOMAINS, is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from integrations.sso.errors import LoginRefused

SUPERUSER = "superuser"
OPERATORS = "Operators"
VIEWERS = "Viewers"
ROLES = (SUPERUSER, OPERATORS, VIEWERS)
GROUP_ROLES = (OPERATORS, VIEWERS)  # the Django groups a login keeps in step
DEFAULT_ROLE_SOURCE = "HUB_OIDC_DEFAULT_ROLE"


@dataclass(frozen=True)
class Policy:
    provider: str  # the IdP's name as people read it (HUB_OIDC_NAME)
    allowed_domains: tuple[str, ...] = ()  # lower case; empty: any domain
    groups_claim: str = "groups"
    role_groups: Mapping[str, str] = field(default_factory=dict)  # IdP group -> role
    default_role: str = ""  # "", Operators or Viewers


@dataclass(frozen=True)
class Grant:
    email: str
    superuser: bool
    groups: frozenset[str]  # of GROUP_ROLES
    because: tuple[str, ...]  # the IdP groups that gave the roles (for the audit trail)

    @property
    def roles(self) -> list[str]:
        return ([SUPERUSER] if self.superuser else []) + sorted(self.groups)


def role_named(text: str) -> str | None:
    """The role a setting names, in any case ("operators" is "Operators")."""
    return {role.lower(): role for role in ROLES}.get(text.strip().lower())


def parse_role_groups(text: str, variable: str = "HUB_OIDC_ROLE_GROUPS") -> dict[str, str]:
    """`hub-admins=superuser,hub-ops=Operators` -> {"hub-admins": "superuser", ...}.

    Group names are kept as written (IdPs compare them exactly); the last `=` splits, so a
    group name may contain one. Raises ValueError naming the variable and the bad item."""
    mapping: dict[str, str] = {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        group, sep, role_text = item.rpartition("=")
        group = group.strip()
        role = role_named(role_text)
        if not sep or not group:
            raise ValueError(f"{variable}: {item!r} is not IDP_GROUP=ROLE.")
        if role is None:
            raise ValueError(
                f"{variable}: {role_text.strip()!r} in {item!r} is not a role; use "
                "superuser, Operators or Viewers."
            )
        if group in mapping:
            raise ValueError(f"{variable}: the group {group!r} is given twice.")
        mapping[group] = role
    return mapping


def decide(claims: Mapping[str, Any], policy: Policy) -> Grant:
    """The roles the claims give, or LoginRefused saying why and what to do."""
    email = _verified_email(claims, policy)
    _check_domain(email, policy)
    idp_groups = groups_in(claims, policy.groups_claim)
    matched = sorted(group for group in idp_groups if group in policy.role_groups)
    roles = {policy.role_groups[group] for group in matched}
    because = tuple(matched)
    if not roles and policy.default_role:
        roles, because = {policy.default_role}, (DEFAULT_ROLE_SOURCE,)
    if not roles:
        raise LoginRefused(_no_role(email, idp_groups, claims, policy))
    return Grant(email, SUPERUSER in roles, frozenset(roles & set(GROUP_ROLES)), because)


def groups_in(claims: Mapping[str, Any], name: str) -> set[str]:
    """The groups claim as a set. A dotted name reaches into objects (Keycloak's
    `realm_access.roles`); a single string counts as one group."""
    value: Any = claims.get(name)
    if value is None and "." in name:
        value = claims
        for part in name.split("."):
            value = value.get(part) if isinstance(value, Mapping) else None
    if isinstance(value, str):
        return {value}
    if isinstance(value, list | tuple):
        return {item for item in value if isinstance(item, str)}
    return set()


def _verified_email(claims: Mapping[str, Any], policy: Policy) -> str:
    email = claims.get("email")
    if not isinstance(email, str) or "@" not in email:
        raise LoginRefused(
            f"The hub refused the login: {policy.provider} sent no email address. The hub "
            "needs one: ask whoever manages it to give your account an address, and check "
            "that HUB_OIDC_SCOPES asks for 'email'."
        )
    # OpenID Connect Core §5.1: a boolean; some IdPs (Amazon Cognito) send the string "true".
    verified = claims.get("email_verified")
    if verified is not True and verified != "true":
        raise LoginRefused(
            f"The hub refused the login of {email}: {policy.provider} does not say the "
            "address is verified (email_verified is not true), and the hub links accounts by "
            f"address. Verify the address at {policy.provider}, then log in again."
        )
    return email.strip()


def _check_domain(email: str, policy: Policy) -> None:
    domain = email.rpartition("@")[2].lower()
    if policy.allowed_domains and domain not in policy.allowed_domains:
        raise LoginRefused(
            f"The hub refused the login of {email}: the domain {domain} is not among the "
            f"allowed ones ({', '.join(policy.allowed_domains)}; HUB_OIDC_ALLOWED_DOMAINS). "
            "Log in with an address of an allowed domain, or ask a hub administrator."
        )


def _no_role(email: str, idp_groups: set[str], claims: Mapping[str, Any], policy: Policy) -> str:
    if idp_groups:
        yours = f"your groups there ({', '.join(sorted(idp_groups))}) give"
    elif policy.groups_claim in claims:
        yours = "you are in no group there, which gives"
    else:
        yours = f"it sent no '{policy.groups_claim}' claim (HUB_OIDC_GROUPS_CLAIM), which gives"
    wanted = ", ".join(sorted(policy.role_groups)) or "(none is mapped)"
    return (
        f"The hub refused the login of {email} through {policy.provider}: {yours} no role in "
        f"the hub. Ask whoever manages {policy.provider} to add you to one of: {wanted}."
    )
