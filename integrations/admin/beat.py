"""django-celery-beat's models in the admin: out of the menu, and read-only.

A digest's schedule lives in a PeriodicTask that integrations/digests/sync.py writes from the
digest form; edited by hand it would drift from the digest (and the next save would overwrite
it). The hub's own tasks (housekeeping, recovery, retention) are installed by migrations. So
beat's schedule models are not in the admin at all, and PeriodicTask is a read-only list for
superusers, reached from the overview's footnote rather than the menu: a POST to change or
add one is refused (403), like for every model a user may only view.
"""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django_celery_beat import admin as beat_admin  # noqa: F401  (registers beat's admins first)
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)

for model in (PeriodicTask, IntervalSchedule, CrontabSchedule, SolarSchedule, ClockedSchedule):
    if admin.site.is_registered(model):
        admin.site.unregister(model)


@admin.register(PeriodicTask)
class PeriodicTaskAdmin(admin.ModelAdmin):
    list_display = ("name", "task", "schedule", "enabled", "last_run_at", "total_run_count")
    list_filter = ("enabled", "task")
    search_fields = ("name",)
    fields = (
        "name",
        "task",
        "schedule",
        "digest_link",
        "enabled",
        "kwargs",
        "last_run_at",
        "total_run_count",
        "date_changed",
    )
    readonly_fields = fields
    actions = None

    def has_module_permission(self, request) -> bool:
        return False  # not in the menu nor on the home page

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("crontab", "interval")

    @admin.display(description=_("Schedule"))
    def schedule(self, obj: PeriodicTask) -> str:
        return str(obj.crontab or obj.interval or obj.solar or obj.clocked or "—")

    @admin.display(description=_("Digest"))
    def digest_link(self, obj: PeriodicTask) -> str:
        digest = getattr(obj, "digest", None)
        if digest is None:
            return "— (one of the hub's own tasks)"
        url = reverse("admin:integrations_digest_change", args=[digest.pk])
        return format_html('<a href="{}">{}</a>: change the schedule there', url, digest)
