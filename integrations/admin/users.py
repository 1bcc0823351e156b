"""Django's user and group pages, with their changes in the audit trail: who may log in and
with which role is configuration too (docs/security.md, "The audit trail")."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User

from integrations.admin.audited import Audited

admin.site.unregister(User)
admin.site.unregister(Group)


@admin.register(User)
class AuditedUserAdmin(Audited, UserAdmin):
    pass


@admin.register(Group)
class AuditedGroupAdmin(Audited, GroupAdmin):
    pass
