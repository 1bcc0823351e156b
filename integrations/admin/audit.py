from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from integrations.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Who changed what, when and through which door: one list for the admin, `hub apply`,
    the other `hub` commands and the API (read-only; nobody edits history)."""

    list_display = ("at", "actor", "door", "action", "object_type", "object_repr", "changed")
    list_filter = ("door", "object_type", "action")
    search_fields = ("actor", "object_repr", "object_id", "note")
    date_hierarchy = "at"
    fields = (
        "at",
        "door",
        "actor",
        "action",
        "object_type",
        "object_id",
        "object_repr",
        "fields",
        "note",
    )
    readonly_fields = fields

    @admin.display(description=_("Fields"))
    def changed(self, obj: AuditEntry) -> str:
        return ", ".join(obj.fields) or "—"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
