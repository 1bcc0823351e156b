from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import admin
from django.db.models import Max
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from integrations.admin.common import (
    ChecksOnSave,
    HidesSecrets,
    LargeTablePaginator,
    ObjectButtons,
    SecretInput,
    badge,
    bulk_action,
    button,
    keep_secret_when_blank,
    mask_secret,
    pretty_json,
)
from integrations.checks.gitlab_endpoint import check_endpoint
from integrations.forges.github.events import ASSOCIATIONS, DEFAULT_ASSOCIATIONS
from integrations.gitlab.events import TRIGGER_LABELS, TRIGGERS
from integrations.gitlab.review_inputs import STANDARD_INPUTS
from integrations.gitlab.signing import generate_token
from integrations.models import ReviewEndpoint, WebhookEvent


def public_url(request: HttpRequest, path_: str) -> str:
    """The URL GitLab must call: HUB_PUBLIC_URL when set (behind a proxy), else this request's."""
    base = settings.HUB_PUBLIC_URL
    return f"{base}{path_}" if base else request.build_absolute_uri(path_)


class ReviewEndpointForm(forms.ModelForm):
    secret_token = forms.CharField(
        required=False,
        widget=SecretInput(),
        help_text=_("Leave empty to have one generated; it is shown once, after saving, to paste "
        "into the forge's webhook. GitLab's is stored only as a hash, GitHub's (which signs "
        "every delivery) encrypted."),
    )
    access_token = forms.CharField(
        required=False,
        widget=SecretInput(),
        help_text=_("GitLab: a project or group access token (or a bot user's token) with the api "
        "scope and at least the Reporter role. GitHub: a fine-grained token with Pull requests "
        "(read and write) and Contents (read), or a classic token with the repo scope. Stored "
        "encrypted; never shown again."),
    )
    github_app_private_key = forms.CharField(
        label=_("GitHub App private key"),
        required=False,
        widget=forms.Textarea(attrs={"autocomplete": "off", "rows": 4, "spellcheck": "false"}),
        help_text=_("GitHub App only: the App's .pem file, whole. Stored encrypted; never shown "
        "again (leave empty to keep the stored one)."),
    )
    signing_secret = forms.CharField(
        required=False,
        widget=SecretInput(),
        help_text=_("GitLab only, optional: GitLab's signing token (whsec_…). When set, every "
        "request must carry a valid Standard Webhooks signature. Stored encrypted."),
    )
    triggers = forms.MultipleChoiceField(
        choices=[(t, TRIGGER_LABELS.get(t, t)) for t in TRIGGERS],
        widget=forms.CheckboxSelectMultiple,
        initial=list(TRIGGERS),
        error_messages={"required": "Choose at least one trigger, or disable the endpoint."},
    )
    target_branches = forms.CharField(
        required=False,
        help_text=_("Comma-separated branch names or globs, e.g. main, release/*. Empty: any."),
    )
    base_url = forms.URLField(
        label=_("Forge URL"),
        assume_scheme="https",
        help_text=_("e.g. https://gitlab.example.com, https://github.com or a GitHub Enterprise "
        "Server's address. Diffs are read and comments posted here only; URLs inside webhook "
        "payloads are never used with the token."),
    )
    review_command_from = forms.MultipleChoiceField(
        label=_("Who may ask with /review"),
        choices=[(a, a) for a in ASSOCIATIONS],
        widget=forms.CheckboxSelectMultiple,
        initial=list(DEFAULT_ASSOCIATIONS),
        required=False,
        help_text=_("GitHub's author associations; on GitLab anything but NONE means members with "
        "Developer access or more, on Gitea the owner and collaborators with write access. "
        "On public projects anyone can comment, and every review costs LLM tokens."),
    )

    class Meta:
        model = ReviewEndpoint
        fields = (
            "name",
            "forge",
            "slug",
            "enabled",
            "app",
            "base_url",
            "access_token",
            "github_app_id",
            "github_app_private_key",
            "github_installation_id",
            "ca_bundle",
            "secret_token",
            "signing_secret",
            "triggers",
            "review_command_from",
            "target_branches",
            "input_mapping",
            "output_key",
            "comments_output",
            "diff_budget",
            "post_note",
            "resolve_stale_comments",
            "new_part_when_large",
            "review_in_parts",
            "max_parts",
            "recipients",
        )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.new_token = ""
        if "input_mapping" not in self.fields:
            return  # a user who may only view: the model's fields are all shown read-only
        if self.instance.pk:
            self.fields["secret_token"].label = "New secret token"
            self.fields["secret_token"].help_text = (
                "Leave empty to keep the current one (use “Regenerate secret token” to get "
                "a new one shown)."
            )
            self.fields["access_token"].label = "New access token"
            self.fields["signing_secret"].label = "New signing secret"
            # The boxes start empty, so only a typed value is a change (otherwise every save
            # would count as a new access token and re-run the connection check).
            self.initial["access_token"] = self.initial["signing_secret"] = ""
            self.initial["github_app_private_key"] = ""
            self.initial["target_branches"] = ", ".join(self.instance.target_branches or [])
        mapping_help = ", ".join(f"{{{{ {name} }}}}" for name in STANDARD_INPUTS)
        self.fields["input_mapping"].help_text = (
            'Extra inputs and renames as JSON, e.g. {"code": "{{ diff }}", "language": "en"}. '
            f"Values may use {mapping_help}. Inputs with these names are filled automatically "
            "when the app declares them."
        )

    def clean_access_token(self) -> str:
        # Required for GitLab; for GitHub a token or an App (the model's clean says which).
        return keep_secret_when_blank(self, "access_token").strip()

    def clean_github_app_private_key(self) -> str:
        return keep_secret_when_blank(self, "github_app_private_key").strip()

    def clean_signing_secret(self) -> str:
        value = self.cleaned_data.get("signing_secret", "").strip()
        return value or (self.instance.signing_secret if self.instance.pk else "")

    def clean_target_branches(self) -> list[str]:
        text = self.cleaned_data.get("target_branches") or ""
        return [part.strip() for part in text.split(",") if part.strip()]

    def clean_secret_token(self) -> str:
        value = self.cleaned_data.get("secret_token", "").strip()
        if value and len(value) < 16:
            raise forms.ValidationError("Use at least 16 characters, or leave it empty.")
        return value

    def save(self, commit=True):
        endpoint = super().save(commit=False)
        token = self.cleaned_data.get("secret_token")
        if token:
            endpoint.set_secret_token(token)
        elif not endpoint.secret_token_hash:
            self.new_token = generate_token()
            endpoint.set_secret_token(self.new_token)
        if commit:
            endpoint.save()
            self.save_m2m()
        return endpoint


@admin.register(ReviewEndpoint)
class ReviewEndpointAdmin(ObjectButtons, ChecksOnSave, HidesSecrets, admin.ModelAdmin):
    form = ReviewEndpointForm
    secret_fields = ("access_token", "github_app_private_key", "secret_token", "signing_secret")
    list_display = (
        "name",
        "forge",
        "webhook_url_short",
        "app",
        "enabled",
        "last_event",
        "rejections",
    )
    list_filter = ("forge", "enabled", "app")
    search_fields = ("name", "slug", "base_url")
    prepopulated_fields = {"slug": ("name",)}
    filter_horizontal = ("recipients",)
    readonly_fields = (
        "masked_access_token",
        "bot_user",
        "connection",
        "rejected",
    )
    actions = ("check_connection_action",)
    change_actions = ("check_connection", "regenerate_token")
    change_form_template = "admin/integrations/reviewendpoint/change_form.html"

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        # A forge is chosen once: events, runs and the secret's form depend on it.
        return (*fields, "forge") if obj is not None else fields

    def sections(self, request, obj=None):
        review = {
            "fields": (
                "triggers",
                "review_command_from",
                "target_branches",
                "input_mapping",
                "output_key",
                "comments_output",
                "diff_budget",
                "post_note",
                "resolve_stale_comments",
                "new_part_when_large",
                "review_in_parts",
                "max_parts",
                "recipients",
            )
        }
        if obj is None:
            return [
                (None, {"fields": ("name", "forge", "slug", "enabled", "app")}),
                (
                    _("Forge"),
                    {
                        "fields": (
                            "base_url",
                            "access_token",
                            "github_app_id",
                            "github_app_private_key",
                            "github_installation_id",
                            "ca_bundle",
                        )
                    },
                ),
                (_("Webhook security"), {"fields": ("secret_token", "signing_secret")}),
                ("Review", review),
            ]
        return [
            (None, {"fields": ("name", "forge", "slug", "enabled", "app")}),
            (_("Requests the forge sent that the hub refused"), {"fields": ("rejected",)}),
            (
                obj.get_forge_display(),
                {
                    "fields": (
                        "base_url",
                        "masked_access_token",
                        "access_token",
                        "github_app_id",
                        "github_app_private_key",
                        "github_installation_id",
                        "bot_user",
                        "connection",
                        "ca_bundle",
                    )
                },
            ),
            (_("Webhook security"), {"fields": ("secret_token", "signing_secret")}),
            ("Review", review),
        ]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(latest_event_at=Max("events__received_at"))

    @admin.display(description=_("Webhook URL"))
    def webhook_url_short(self, obj: ReviewEndpoint) -> str:
        return obj.webhook_path

    @admin.display(description=_("Stored access token"))
    def masked_access_token(self, obj: ReviewEndpoint) -> str:
        return mask_secret(obj.access_token)

    @admin.display(description=_("Bot user"))
    def bot_user(self, obj: ReviewEndpoint) -> str:
        if obj.bot_user_id is None:
            return "— (learnt on “Check connection” or the first review)"
        return f"@{obj.bot_username} (id {obj.bot_user_id}); its own notes never trigger a review"

    @admin.display(description=_("Last check"))
    def connection(self, obj: ReviewEndpoint) -> str:
        if obj.check_error:
            return format_html('<span class="hub-bad">✗ {}</span>', obj.check_error)
        if obj.checked_at:
            when = timezone.localtime(obj.checked_at).strftime("%Y-%m-%d %H:%M:%S %Z")
            return format_html('<span class="hub-good">✓ checked {}</span>', when)
        return "not checked"

    @admin.display(description=_("Rejected requests"))
    def rejected(self, obj: ReviewEndpoint) -> str:
        if not obj.rejected_count:
            return "none"
        return f"{obj.rejected_count}; last at {obj.last_rejected_at:%Y-%m-%d %H:%M:%S} UTC: " + (
            obj.last_rejected_reason
        )

    @admin.display(description=_("Last event"), ordering="latest_event_at")
    def last_event(self, obj) -> str:
        return obj.latest_event_at or "—"

    @admin.display(description=_("Rejected"), ordering="rejected_count")
    def rejections(self, obj: ReviewEndpoint) -> int:
        return obj.rejected_count

    def change_view(self, request, object_id, form_url="", extra_context=None):
        endpoint = self.get_object(request, object_id)
        extra = dict(extra_context or {})
        if endpoint is not None:
            extra["webhook_url"] = public_url(request, endpoint.webhook_path)
        return super().change_view(request, object_id, form_url, extra_context=extra)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if form.new_token:
            # Kept on this request only: the token page is the POST's own response, so the
            # token is never stored in a session, a message cookie or the database.
            request.hub_new_token = form.new_token
        watched = {
            "access_token",
            "base_url",
            "ca_bundle",
            "github_app_id",
            "github_app_private_key",
        }
        if not change or watched & set(form.changed_data):
            self._report_check(request, obj, saved=True)

    def response_add(self, request, obj, post_url_continue=None):
        token = getattr(request, "hub_new_token", "")
        if token:
            return self._token_page(request, obj, token)
        return super().response_add(request, obj, post_url_continue)

    def _token_page(self, request: HttpRequest, endpoint: ReviewEndpoint, token: str):
        context = {
            **self.admin_site.each_context(request),
            "title": f"Set up {endpoint.get_forge_display()} for {endpoint.name}",
            "opts": self.model._meta,
            "original": endpoint,
            "webhook_url": public_url(request, endpoint.webhook_path),
            "token": token,
        }
        response = TemplateResponse(
            request, "admin/integrations/reviewendpoint/token.html", context
        )
        response["Cache-Control"] = "no-store"
        return response

    @bulk_action(
        _("Check connection to the forge (GET /user)"), permission="integrations.check_connection"
    )
    def check_connection_action(self, request, queryset):
        for endpoint in queryset:
            self._report_check(request, endpoint)

    def _report_check(
        self, request: HttpRequest, endpoint: ReviewEndpoint, *, saved: bool = False
    ) -> None:
        report = check_endpoint(endpoint)
        self.report_check(request, endpoint.name, report.ok, report.summary, saved=saved)

    @button(
        _("Check connection"),
        _("Check the access token with the forge (GET /user)."),
        permission="integrations.check_connection",
    )
    def check_connection(self, request, endpoint: ReviewEndpoint):
        self._report_check(request, endpoint)

    @button(
        _("Regenerate secret token"),
        _("Make a new webhook secret token, shown once."),
        permission="integrations.regenerate_secret",
        confirm=_("The forge keeps sending the old secret until you paste the new one. Regenerate?"),
    )
    def regenerate_token(self, request, endpoint: ReviewEndpoint):
        token = generate_token()
        endpoint.set_secret_token(token)
        endpoint.save(update_fields=["secret_token_hash", "signing_secret", "updated_at"])
        return self._token_page(request, endpoint, token)


@admin.register(WebhookEvent)
class WebhookEventAdmin(admin.ModelAdmin):
    paginator = LargeTablePaginator
    show_full_result_count = False
    list_display = (
        "received_at",
        "endpoint",
        "event_name",
        "coloured_outcome",
        "trigger",
        "merge_request_key",
        "short_reason",
        "run_link",
        "duplicate_count",
    )
    list_filter = ("outcome", "endpoint", "event_name", "trigger")
    search_fields = ("idempotency_key", "merge_request_key", "head_sha", "reason")
    list_select_related = ("endpoint", "run")
    show_full_result_count = False
    fields = (
        "endpoint",
        "event_name",
        "received_at",
        "outcome",
        "trigger",
        "reason",
        "merge_request_key",
        "head_sha",
        "run_link",
        "idempotency_key",
        "duplicate_count",
        "last_duplicate_at",
        "headers_pretty",
        "payload_pretty",
    )
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description=_("Reason"))
    def short_reason(self, obj: WebhookEvent) -> str:
        return obj.reason if len(obj.reason) <= 70 else obj.reason[:69] + "…"

    @admin.display(description=_("Run"))
    def run_link(self, obj: WebhookEvent) -> str:
        if obj.run_id is None:
            return "—"
        url = reverse("admin:integrations_run_change", args=[obj.run_id])
        status = obj.run.get_status_display().lower()
        return format_html('<a href="{}">#{}</a>&nbsp;({})', url, obj.run_id, status)

    @admin.display(description=_("Headers"))
    def headers_pretty(self, obj: WebhookEvent) -> str:
        return pretty_json(obj.headers)

    @admin.display(description=_("Payload"))
    def payload_pretty(self, obj: WebhookEvent) -> str:
        return pretty_json(obj.payload)

    @admin.display(description=_("Outcome"), ordering="outcome")
    def coloured_outcome(self, obj: WebhookEvent) -> str:
        return badge(obj.get_outcome_display(), OUTCOME_CLASSES.get(obj.outcome, "hub-info"))


OUTCOME_CLASSES = {
    WebhookEvent.Outcome.ACCEPTED: "hub-good",
    WebhookEvent.Outcome.IGNORED: "hub-muted",
    WebhookEvent.Outcome.INVALID: "hub-bad",
}
