from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from integrations.admin.common import ObjectButtons, ZoneInput, bulk_action, button
from integrations.digests import schedule
from integrations.digests.firing import run_now
from integrations.models import Digest, Run


class DigestForm(forms.ModelForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields.get("timezone")  # not there on a read-only page
        if field is not None:
            field.widget = ZoneInput(fill_from_browser=self.instance.pk is None)
            if self.instance.pk is None:
                field.initial = settings.TIME_ZONE  # the browser's, once hub-admin.js has run

    class Meta:
        model = Digest
        fields = (
            "name",
            "app",
            "inputs",
            "query",
            "language",
            "output_key",
            "title",
            "footer",
            "recipients",
            "cron",
            "timezone",
            "catchup_grace",
            "enabled",
        )

    def clean(self):
        # The app's inputs, query and outputs are checked by Digest.clean (the admin and
        # `hub apply` share it); a digest's recipients are not on the model yet.
        data = super().clean()
        if data.get("enabled") and not data.get("recipients"):
            self.add_error("recipients", "An enabled digest needs at least one recipient.")
        return data


@admin.register(Digest)
class DigestAdmin(ObjectButtons, admin.ModelAdmin):
    form = DigestForm
    list_display = (
        "name",
        "app",
        "schedule_in_words",
        "timezone",
        "enabled",
        "next_fire",
        "last_run",
    )
    list_filter = ("enabled", "app")
    search_fields = ("name",)
    filter_horizontal = ("recipients",)
    readonly_fields = ("schedule_summary", "active_since")
    actions = ("run_now_action",)
    change_actions = ("run_once",)
    fieldsets = (
        (None, {"fields": ("name", "app", "enabled")}),
        ("What to run", {"fields": ("inputs", "query", "language")}),
        ("What to send", {"fields": ("output_key", "title", "footer", "recipients")}),
        (
            "When",
            {"fields": ("cron", "timezone", "schedule_summary", "catchup_grace", "active_since")},
        ),
    )

    @admin.display(description="Schedule")
    def schedule_in_words(self, obj: Digest) -> str:
        try:
            return schedule.describe(obj.cron)
        except schedule.ScheduleError:
            return obj.cron

    @admin.display(description="Next run")
    def next_fire(self, obj: Digest) -> str:
        if not obj.enabled:
            return "disabled"
        slots = schedule.next_slots(obj.cron, obj.timezone, timezone.now(), 1)
        if not slots:
            return "never"
        local = slots[0].astimezone(schedule.parse_zone(obj.timezone))
        return local.strftime("%a %Y-%m-%d %H:%M %Z")

    @admin.display(description="Last run")
    def last_run(self, obj: Digest) -> str:
        run = obj.runs.order_by("-created_at").first()
        if run is None:
            return "—"
        url = reverse("admin:integrations_run_change", args=[run.pk])
        return format_html('<a href="{}">{}</a>', url, run.get_status_display())

    @admin.display(description="Next three runs")
    def schedule_summary(self, obj: Digest) -> str:
        if not obj.pk:
            return "Shown after saving."
        zone = schedule.parse_zone(obj.timezone)
        slots = schedule.next_slots(obj.cron, obj.timezone, timezone.now(), 3)
        rows = (
            (
                slot.astimezone(zone).strftime("%a %Y-%m-%d %H:%M %Z"),
                slot.strftime("%Y-%m-%d %H:%M UTC"),
            )
            for slot in slots
        )
        return format_html(
            "<p>{}{}</p><table><tr><th>{}</th><th>UTC</th></tr>{}</table>",
            schedule.describe(obj.cron),
            "" if obj.enabled else " (disabled: nothing fires)",
            obj.timezone,
            format_html_join("", "<tr><td>{}</td><td>{}</td></tr>", rows),
        )

    @bulk_action("Run now (outside the schedule)", permission="integrations.run_now")
    def run_now_action(self, request, queryset):
        for digest in queryset:
            self._run_now(request, digest)

    def _run_now(self, request, digest: Digest) -> Run:
        run = run_now(digest, requested_by=request.user.get_username(), now=timezone.now())
        url = reverse("admin:integrations_run_change", args=[run.pk])
        self.message_user(
            request,
            format_html('{}: <a href="{}">run #{}</a> queued.', digest.name, url, run.pk),
            messages.SUCCESS,
        )
        return run

    @button(
        "Run now",
        "Run the digest once now, outside its schedule.",
        permission="integrations.run_now",
    )
    def run_once(self, request, digest: Digest):
        run = self._run_now(request, digest)
        return HttpResponseRedirect(reverse("admin:integrations_run_change", args=[run.pk]))
