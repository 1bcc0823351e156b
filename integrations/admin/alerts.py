from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from integrations.models import Alert


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    """What the hub told the alert recipients about, one row per problem (read-only: the
    messages themselves are alert runs, with their deliveries)."""

    list_display = ("title", "occurrences", "last_seen_at", "last_sent_at", "waiting", "message")
    search_fields = ("title", "key")
    fields = (
        "title",
        "key",
        "occurrences",
        "first_seen_at",
        "last_seen_at",
        "last_sent_at",
        "due_at",
        "pending",
        "dropped",
        "message",
    )
    readonly_fields = fields

    @admin.display(description=_("Waiting for the next message"))
    def waiting(self, obj: Alert) -> int:
        return len(obj.pending or []) + obj.dropped

    @admin.display(description=_("Last message"))
    def message(self, obj: Alert) -> str:
        if obj.last_run_id is None:
            return "—"
        url = reverse("admin:integrations_run_change", args=[obj.last_run_id])
        return format_html('<a href="{}">run #{}</a>', url, obj.last_run_id)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
