from __future__ import annotations

import json

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.utils import flatten_fieldsets
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _

from integrations.admin.common import ObjectButtons, ZoneInput, bulk_action, button
from integrations.digests import schedule
from integrations.digests.firing import run_now
from integrations.models import DifyApp, Digest, Run

INPUT_PREFIX = "var_"
# An input box's help, by (required, has options): whole sentences, for the translators.
BOX_HELP = {
    (False, False): _("Variable %(variable)s (%(type)s)."),
    (True, False): _("Variable %(variable)s (%(type)s, required)."),
    (False, True): _("Variable %(variable)s (%(type)s; one of %(options)s)."),
    (True, True): _("Variable %(variable)s (%(type)s, required; one of %(options)s)."),
}


def box_help(f) -> str:
    """Variable city (select, required; one of Berlin, Paris). Placeholders such as…"""
    values = {"variable": f.variable, "type": f.type, "options": ", ".join(f.options)}
    what = str(BOX_HELP[bool(f.required), bool(f.options)]) % values
    return what + " " + gettext("Placeholders such as {{ weekday }} may be used.")


class DigestForm(forms.ModelForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields.get("timezone")  # not there on a read-only page
        if field is not None:
            field.widget = ZoneInput(fill_from_browser=self.instance.pk is None)
            if self.instance.pk is None:
                field.initial = settings.TIME_ZONE  # the browser's, once hub-admin.js has run
        self.typed = self._input_fields() if "inputs" in self.fields else {}

    def _input_fields(self) -> dict[str, forms.Field]:
        """One box per input of the digest's app (its cached input form), each taking text
        with {{ placeholders }}; the JSON box stays for advanced use. A new digest gets them
        as soon as its app is chosen (hub-admin.js shows the page again with ?app=)."""
        app = chosen_app(self.instance, self.data or None, self.initial)
        if app is None or not app.fields:
            return {}
        stored = self.instance.inputs or {}
        typed = {}
        for f in app.fields:
            if f.hide or f.type in ("file", "file-list"):
                continue
            value = stored.get(f.variable, "")
            typed[f.variable] = forms.CharField(
                label=f.label or f.variable,
                required=False,
                initial=value if isinstance(value, str) else json.dumps(value),
                help_text=box_help(f),
                widget=forms.Textarea(attrs={"rows": 2, "cols": 80})
                if f.type == "paragraph"
                else forms.TextInput(attrs={"size": 80}),
            )
        for name, box in typed.items():
            self.fields[INPUT_PREFIX + name] = box
        # An empty JSON box (the model's JSON field would show "{}" or "null"), read in clean().
        self.fields["inputs"] = forms.CharField(
            label=gettext("Inputs as JSON (advanced)"),
            required=False,
            widget=forms.Textarea(attrs={"rows": 3, "cols": 80, "class": "hub-code"}),
            help_text=gettext("When given, used instead of the boxes above.")
            + " "
            + str(self.fields["inputs"].help_text),
        )
        self.initial["inputs"] = ""
        return typed

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
        if self.typed:
            data["inputs"] = self._typed_or_json(data)
        if data.get("enabled") and not data.get("recipients"):
            self.add_error("recipients", gettext("An enabled digest needs at least one recipient."))
        return data

    def _typed_or_json(self, data: dict) -> dict:
        raw = (data.get("inputs") or "").strip()
        if raw:
            try:
                value = json.loads(raw)
            except json.JSONDecodeError as exc:
                problem = gettext("Not valid JSON: %(error)s (line %(line)s).")
                self.add_error("inputs", problem % {"error": exc.msg, "line": exc.lineno})
                return dict(self.instance.inputs or {})
            if isinstance(value, dict):
                return value
            self.add_error(
                "inputs", gettext('Inputs must be a JSON object, e.g. {"city": "Berlin"}.')
            )
            return dict(self.instance.inputs or {})
        # The boxes; inputs the app no longer declares are kept as they were.
        kept = {k: v for k, v in (self.instance.inputs or {}).items() if k not in self.typed}
        typed = {
            name: data.get(INPUT_PREFIX + name)
            for name in self.typed
            if data.get(INPUT_PREFIX + name) not in (None, "")
        }
        return {**kept, **typed}


def chosen_app(digest: Digest | None, data=None, initial=None) -> DifyApp | None:
    """The digest's app; for a new one, the app its form was sent with (data) or opened
    with (?app=, the admin's initial values)."""
    if digest is not None and digest.app_id:
        return digest.app
    raw = (data or {}).get("app") or (initial or {}).get("app")
    if isinstance(raw, DifyApp):
        return raw
    try:
        return DifyApp.objects.filter(pk=int(raw)).first() if raw else None
    except (TypeError, ValueError):
        return None


def _input_boxes(app: DifyApp | None) -> list[str]:
    if app is None:
        return []
    return [
        INPUT_PREFIX + f.variable
        for f in app.fields
        if not f.hide and f.type not in ("file", "file-list")
    ]


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
        (_("What to run"), {"fields": ("inputs", "query", "language")}),
        (_("What to send"), {"fields": ("output_key", "title", "footer", "recipients")}),
        (
            _("When"),
            {"fields": ("cron", "timezone", "schedule_summary", "catchup_grace", "active_since")},
        ),
    )

    def get_fieldsets(self, request, obj=None):
        """The app's inputs, one box each, before the JSON box (DigestForm)."""
        if not self.has_change_permission(request, obj):
            return self.fieldsets
        boxes = _input_boxes(chosen_app(obj, request.POST, request.GET))
        if not boxes:
            return self.fieldsets
        what = (_("What to run"), {"fields": (*boxes, "inputs", "query", "language")})
        return (self.fieldsets[0], what, *self.fieldsets[2:])

    def get_form(self, request, obj=None, change=False, **kwargs):
        # The boxes are the form's own (made in its __init__), not the model's fields.
        fields = flatten_fieldsets(self.get_fieldsets(request, obj))
        kwargs["fields"] = [name for name in fields if not name.startswith(INPUT_PREFIX)]
        return super().get_form(request, obj, change, **kwargs)

    @admin.display(description=_("Schedule"))
    def schedule_in_words(self, obj: Digest) -> str:
        try:
            return schedule.describe(obj.cron, get_language() or "en")
        except schedule.ScheduleError:
            return obj.cron

    @admin.display(description=_("Next run"))
    def next_fire(self, obj: Digest) -> str:
        if not obj.enabled:
            return gettext("disabled")
        slots = schedule.next_slots(obj.cron, obj.timezone, timezone.now(), 1)
        if not slots:
            return gettext("never")
        local = slots[0].astimezone(schedule.parse_zone(obj.timezone))
        return local.strftime("%a %Y-%m-%d %H:%M %Z")

    @admin.display(description=_("Last run"))
    def last_run(self, obj: Digest) -> str:
        run = obj.runs.order_by("-created_at").first()
        if run is None:
            return "—"
        url = reverse("admin:integrations_run_change", args=[run.pk])
        return format_html('<a href="{}">{}</a>', url, run.get_status_display())

    @admin.display(description=_("Next three runs"))
    def schedule_summary(self, obj: Digest) -> str:
        if not obj.pk:
            return gettext("Shown after saving.")
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
            schedule.describe(obj.cron, get_language() or "en"),
            "" if obj.enabled else " " + gettext("(disabled: nothing fires)"),
            obj.timezone,
            format_html_join("", "<tr><td>{}</td><td>{}</td></tr>", rows),
        )

    @bulk_action(_("Run now (outside the schedule)"), permission="integrations.run_now")
    def run_now_action(self, request, queryset):
        for digest in queryset:
            self._run_now(request, digest)

    def _run_now(self, request, digest: Digest) -> Run:
        run = run_now(digest, requested_by=request.user.get_username(), now=timezone.now())
        url = reverse("admin:integrations_run_change", args=[run.pk])
        self.message_user(
            request,
            format_html(
                gettext('{digest}: <a href="{url}">run #{run}</a> queued.'),
                digest=digest.name,
                url=url,
                run=run.pk,
            ),
            messages.SUCCESS,
        )
        return run

    @button(
        _("Run now"),
        _("Run the digest once now, outside its schedule."),
        permission="integrations.run_now",
    )
    def run_once(self, request, digest: Digest):
        run = self._run_now(request, digest)
        return HttpResponseRedirect(reverse("admin:integrations_run_change", args=[run.pk]))
