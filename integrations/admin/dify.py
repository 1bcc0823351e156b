from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from integrations.admin.common import (
    ChecksOnSave,
    HidesSecrets,
    ObjectButtons,
    SecretInput,
    bulk_action,
    button,
    keep_secret_when_blank,
    mask_secret,
    page_button,
)
from integrations.admin.inputs_form import AppInputsForm
from integrations.checks.dify_app import check_app
from integrations.models import DifyApp, Run
from integrations.runs.create import create_run
from integrations.runs.outputs import listing

# How the hub calls the app: the form's second half and the page's "Calling" section.
CALLING_FIELDS = (
    "response_mode",
    "connect_timeout",
    "read_timeout",
    "first_event_timeout",
    "run_timeout",
    "max_concurrent_runs",
    "ca_bundle",
)


class DifyAppForm(forms.ModelForm):
    base_url = forms.URLField(
        label=_("API base URL"),
        assume_scheme="https",
        initial="https://api.dify.ai/v1",
        help_text=_("Dify Cloud: https://api.dify.ai/v1. Self-hosted: https://your-dify-host/v1."),
    )
    api_key = forms.CharField(
        label=_("API key"),
        required=False,
        widget=SecretInput(),
        help_text=_("The app's service API key (app-…), from the app's API Access page in Dify. "
        "Stored encrypted and never shown again; leave empty to keep the current key."),
    )

    class Meta:
        model = DifyApp
        fields = (
            "name",
            "base_url",
            "api_key",
            "enabled",
            *CALLING_FIELDS,
        )
        # Every duration says its unit.
        labels = {
            "connect_timeout": "Connect timeout (seconds)",
            "read_timeout": "Read timeout (seconds)",
            "first_event_timeout": "First event timeout (seconds)",
            "run_timeout": "Run timeout (seconds)",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["api_key"]
        if self.instance.pk:
            # The box starts empty, so only a typed key counts as a change (and re-checks).
            self.initial["api_key"] = ""
            field.label = "New API key"
        else:
            field.required = True
            field.help_text = (
                "The app's service API key (app-…), from the app's API Access page in Dify. "
                "Stored encrypted and never shown again."
            )

    def clean_api_key(self) -> str:
        value = keep_secret_when_blank(self, "api_key").strip()
        if not value:
            raise forms.ValidationError("An API key is required.")
        if any(ch.isspace() for ch in value):
            raise forms.ValidationError("The API key contains spaces; paste it exactly.")
        return value

    def clean_base_url(self) -> str:
        return self.cleaned_data["base_url"].rstrip("/")


@admin.register(DifyApp)
class DifyAppAdmin(ObjectButtons, ChecksOnSave, HidesSecrets, admin.ModelAdmin):
    form = DifyAppForm
    secret_fields = ("api_key",)
    list_display = ("name", "mode", "base_url", "response_mode", "enabled", "connection")
    list_filter = ("enabled", "mode")
    search_fields = ("name", "base_url")
    readonly_fields = (
        "masked_key",
        "notice_text",
        "mode",
        "input_variables",
        "outputs",
        "checked_at",
        "check_error",
    )
    actions = ("check_connection_action",)
    change_actions = ("check_connection", "run_now")

    def sections(self, request, obj=None):
        sections = list(super().sections(request, obj))
        if obj is None:  # nothing stored yet: no masked key, nothing detected
            first = ("name", "base_url", "api_key", "enabled")
            return [(None, {"fields": first}), sections[2]]
        return sections

    fieldsets = (
        (None, {"fields": ("name", "base_url", "masked_key", "api_key", "enabled")}),
        (
            _("Detected from Dify"),
            {
                "fields": (
                    "notice_text",
                    "mode",
                    "input_variables",
                    "outputs",
                    "checked_at",
                    "check_error",
                )
            },
        ),
        (
            _("Calling"),
            {"fields": CALLING_FIELDS},
        ),
    )

    @admin.display(description=_("Stored API key"))
    def masked_key(self, obj: DifyApp) -> str:
        return mask_secret(obj.api_key) if obj.pk else "—"

    @admin.display(description=_("Input variables"))
    def input_variables(self, obj: DifyApp) -> str:
        fields = obj.fields
        if not fields:
            return "— (press “Check connection” to read them from Dify)"
        return format_html(
            "<ul class='hub-flat'>{}</ul>",
            format_html_join(
                "",
                "<li><code>{}</code> {} ({}{}){}</li>",
                (
                    (
                        f.variable,
                        f.label if f.label != f.variable else "",
                        f.type,
                        ", required" if f.required else "",
                        f": one of {', '.join(f.options)}" if f.options else "",
                    )
                    for f in fields
                ),
            ),
        )

    @admin.display(description=_("Outputs"))
    def outputs(self, obj: DifyApp) -> str:
        if not obj.output_names:
            return "— (known after the app's first successful run)"
        return format_html(
            "{} <span class='help'>(from its last successful run, {})</span>",
            listing(obj.output_names),
            _ago(obj.outputs_seen_at) if obj.outputs_seen_at else "",
        )

    @admin.display(description=_("Changed by the hub"))
    def notice_text(self, obj: DifyApp) -> str:
        if not obj.notice:
            return "—"
        return format_html('<strong class="hub-warn">{}</strong>', obj.notice)

    @admin.display(description=_("Last check"))
    def connection(self, obj: DifyApp) -> str:
        if obj.check_error:
            return format_html('<span class="hub-bad">✗ {}</span>', obj.check_error[:80])
        if obj.checked_at:
            return format_html('<span class="hub-good">✓ checked {}</span>', _ago(obj.checked_at))
        return "not checked"

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change or {"api_key", "base_url", "ca_bundle"} & set(form.changed_data):
            self._report_check(request, obj, saved=True)

    @bulk_action(
        _("Check connection (GET /info and /parameters)"),
        permission="integrations.check_connection",
    )
    def check_connection_action(self, request, queryset):
        for app in queryset:
            self._report_check(request, app)

    def _report_check(self, request: HttpRequest, app: DifyApp, *, saved: bool = False) -> None:
        report = check_app(app)
        self.report_check(request, app.name, report.ok, report.summary, saved=saved)

    @button(
        _("Check connection"),
        _("Read the app's mode and input form (GET /info, /parameters)."),
        permission="integrations.check_connection",
    )
    def check_connection(self, request, app: DifyApp):
        self._report_check(request, app)

    @page_button(
        _("Run now"), _("Run the app once with inputs you type in."), permission="integrations.run_now"
    )
    def run_now(self, request, app: DifyApp):
        return self.run_now_view(request, app)

    def run_now_view(self, request, app: DifyApp):
        form = AppInputsForm(request.POST or None, app=app)
        if request.method == "POST" and form.is_valid():
            run = create_run(
                app,
                kind=Run.Kind.MANUAL,
                source=f"run now by {request.user.get_username()}",
                inputs=form.cleaned_data["inputs"],
                query=form.cleaned_data.get("query") or "",
                dify_user=f"hub:manual:{request.user.get_username()}",
            )
            queued = gettext("Run #%(run)s queued.") % {"run": run.pk}
            self.message_user(request, queued, messages.SUCCESS)
            return HttpResponseRedirect(reverse("admin:integrations_run_change", args=[run.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Run %(app)s now") % {"app": app.name},
            "app": app,
            "form": form,
            "opts": self.model._meta,
            "original": app,
            "fields": app.fields,
        }
        return TemplateResponse(request, "admin/integrations/difyapp/run_now.html", context)


def _ago(moment) -> str:
    seconds = int((timezone.now() - moment).total_seconds())
    if seconds < 120:
        return "just now"
    if seconds < 7200:
        return f"{seconds // 60} min ago"
    if seconds < 172800:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86400} days ago"
