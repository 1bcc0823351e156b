"""The audit trail: every change to the configuration, and every operator action, with who,
when, which door (the admin, `hub apply`, another `hub` command, the API) and which fields
changed. Field names only: a secret's entry says it changed, never what to.

The admin records through its ModelAdmins (admin/common.py: Django's own history, plus the
buttons); `hub apply` one entry per object it creates, changes or deletes, as the OS user;
the API the name of the hub API key that asked.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Iterable

from django.db import models

from integrations.config.plan import CHANGE, CREATE, DELETE, MODELS
from integrations.models import AuditEntry

Door = AuditEntry.Door


def os_user() -> str:
    """Who ran a `hub` command: the login name, else the uid."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry, e.g. in a container with a random uid
        return f"uid {os.getuid()}"


def record(
    door: str,
    actor: str,
    action: str,
    obj: models.Model | None = None,
    *,
    fields: Iterable[str] = (),
    note: str = "",
    object_type: str = "",
    object_id: str = "",
    object_repr: str = "",
) -> AuditEntry:
    if obj is not None:
        object_type = object_type or obj._meta.model_name
        object_id = object_id or str(obj.pk or "")
        object_repr = object_repr or str(obj)
    return AuditEntry.objects.create(
        door=door,
        actor=actor[:200],
        action=action[:100],
        object_type=object_type[:100],
        object_id=object_id[:64],
        object_repr=object_repr[:200],
        fields=sorted(set(fields)),
        note=note,
    )


def record_plan(plan, actor: str, ids: dict[int, object]) -> int:
    """One entry per object `hub apply` created, changed or deleted (a config.plan.Plan);
    `ids` holds each step's primary key from before a deletion cleared it."""
    actions = {CREATE: "created", CHANGE: "changed", DELETE: "deleted"}
    count = 0
    for step in plan.steps:
        if step.action not in actions:
            continue
        model = MODELS[step.section]
        record(
            Door.APPLY,
            actor,
            actions[step.action],
            object_type=model._meta.model_name,
            object_id=str(step.instance.pk or ids.get(id(step)) or ""),
            object_repr=step.name,
            fields=[change.key for change in step.changes] or step.keys,
            note=f"{step.section} in {plan.path}",
        )
        count += 1
    return count
