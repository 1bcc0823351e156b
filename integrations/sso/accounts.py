"""The hub user a single sign-on login becomes, with its roles kept in step with the IdP.

Linking: an existing user is found by email address (any case), and only when exactly one
has it; roles.decide has already required the IdP to say the address is verified. No user is
ever linked by username: a new one gets its username from the email address (or the
`preferred_username` claim, HUB_OIDC_USERNAME_CLAIM), and a clash with an existing account
refuses the login instead of taking that account over. Linking an account also hands its
roles to the IdP's groups from then on, a superuser's too (docs/sso.md).

Roles, on every login: staff on; superuser exactly when a group maps to it; membership of
"Operators" and "Viewers" as the groups give (other Django groups are left alone). A user
created, or whose roles changed, gets an entry in the audit trail.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser, Group
from django.db import transaction

from integrations.audit import Door, record
from integrations.sso.errors import LoginRefused
from integrations.sso.roles import GROUP_ROLES, Grant, Policy

log = logging.getLogger(__name__)


def policy() -> Policy:
    return Policy(
        provider=settings.HUB_OIDC_NAME,
        allowed_domains=tuple(settings.HUB_OIDC_ALLOWED_DOMAINS),
        groups_claim=settings.HUB_OIDC_GROUPS_CLAIM,
        role_groups=settings.HUB_OIDC_ROLE_GROUPS,
        default_role=settings.HUB_OIDC_DEFAULT_ROLE,
    )


@transaction.atomic
def sign_in(claims: Mapping[str, Any], grant: Grant) -> AbstractUser:
    """The user for `grant`, linked or created, with its roles set (LoginRefused if not)."""
    user, created = _link(claims, grant)
    if not user.is_active:
        raise LoginRefused(
            f"The hub refused the login of {grant.email}: its hub account {user.username} is "
            "turned off (not active). Ask a hub administrator to turn it on."
        )
    changed = apply_roles(user, grant)
    note = (
        f"single sign-on through {settings.HUB_OIDC_NAME}: roles "
        f"{', '.join(grant.roles)} from {', '.join(grant.because)}"
    )
    if created:
        record(Door.ADMIN, user.username, "created", user, fields=["email", *changed], note=note)
    elif changed:
        record(Door.ADMIN, user.username, "changed", user, fields=changed, note=note)
    log.info("single sign-on: %s logged in as %s", grant.email, ", ".join(grant.roles))
    return user


def apply_roles(user: AbstractUser, grant: Grant) -> list[str]:
    """Set staff, superuser and the role groups from `grant`; the fields that changed."""
    changed = []
    if user.is_superuser != grant.superuser:
        user.is_superuser = grant.superuser
        changed.append("is_superuser")
    if not user.is_staff:
        user.is_staff = True
        changed.append("is_staff")
    if changed:
        user.save(update_fields=changed)
    groups = {group.name: group for group in Group.objects.filter(name__in=GROUP_ROLES)}
    if missing := sorted(set(grant.groups) - set(groups)):
        raise LoginRefused(
            f"The hub refused the login of {grant.email}: its group {', '.join(missing)} is "
            "missing (deleted in the admin?). A hub administrator runs `manage.py migrate` "
            "after restoring it, or recreates it with its permissions."
        )
    held = set(user.groups.filter(name__in=GROUP_ROLES).values_list("name", flat=True))
    if add := grant.groups - held:
        user.groups.add(*(groups[name] for name in add))
    if remove := held - grant.groups:
        user.groups.remove(*(groups[name] for name in remove))
    if add or remove:
        changed.append("groups")
    return changed


def _link(claims: Mapping[str, Any], grant: Grant) -> tuple[AbstractUser, bool]:
    users = get_user_model().objects
    found = list(users.filter(email__iexact=grant.email)[:2])
    if len(found) > 1:
        raise LoginRefused(
            f"The hub refused the login of {grant.email}: more than one hub account has that "
            "address, so the hub cannot tell which is yours. Ask a hub administrator to "
            "change the address of the others."
        )
    if found:
        return found[0], False
    username = username_for(claims, grant)
    if users.filter(username__iexact=username).exists():
        raise LoginRefused(
            f"The hub refused the login of {grant.email}: a hub account named {username} "
            "already exists with another email address. A hub administrator links it by "
            f"setting its address to {grant.email}, or renames it."
        )
    # create_user without a password: the account can log in through the IdP only.
    return users.create_user(username, email=grant.email), True


def username_for(claims: Mapping[str, Any], grant: Grant) -> str:
    preferred = claims.get("preferred_username")
    preferred = preferred.strip() if isinstance(preferred, str) else ""
    if settings.HUB_OIDC_USERNAME_CLAIM == "preferred_username" and preferred:
        return preferred[:150]
    return grant.email[:150]
