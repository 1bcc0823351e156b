from __future__ import annotations

import json
from urllib.parse import urlsplit

from django import forms
from django.contrib import admin, messages
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from integrations.admin.common import (
    HidesSecrets,
    ObjectButtons,
    SecretInput,
    bulk_action,
    button,
    keep_secret_when_blank,
)
from integrations.channels.base import Message, OptionsError, TransportError
from integrations.channels.registry import TRANSPORTS, get_transport
from integrations.hub_language import hub_language
from integrations.models import Recipient


def make_test_message() -> Message:
    """What "Send test message" sends: in the hub's language, whoever pressed it."""
    with hub_language():
        return Message(
            title=gettext("dify-hub test message"),
            text=gettext("If you can read this, **dify-hub** can post to this recipient."),
            footer=gettext("Sent with “Send test message” in the dify-hub admin."),
        )


class RecipientForm(forms.ModelForm):
    webhook_url = forms.CharField(
        label=_("URL"),
        required=False,
        widget=SecretInput(),
        help_text=_("The webhook URL (chat services), the server (ntfy: with the topic, "
        "https://ntfy.sh/family; Matrix: the homeserver, https://matrix.org), an Apprise URL "
        "(tgram://…, mailto://…), or empty for Telegram's and LINE's public API and for email. "
        "Stored encrypted and never shown again; leave empty to keep the current one."),
    )
    secret = forms.CharField(
        label=_("Secret"),
        required=False,
        widget=SecretInput(),
        help_text=_("Telegram: the bot token. LINE: the channel access token. Matrix: the "
        "access token. ntfy: an access token (tk_…) for a protected topic. Feishu, DingTalk: "
        "the signing secret; webhook: a Standard Webhooks secret. Leave empty to keep the "
        "current one."),
    )
    clear_secret = forms.BooleanField(required=False, label=_("Remove the secret"))

    class Meta:
        model = Recipient
        fields = (
            "name",
            "kind",
            "webhook_url",
            "secret",
            "clear_secret",
            "options",
            "enabled",
            "disable_after",
            "receives_alerts",
        )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if "options" in self.fields:  # absent for staff who may only view
            self.fields["options"].help_text = options_help()
        if "kind" in self.fields:
            # hub-admin.js shows only the chosen kind's boxes, with its words.
            self.fields["kind"].widget.attrs["data-kind-fields"] = json.dumps(kind_fields())

    def clean_webhook_url(self) -> str:
        value = keep_secret_when_blank(self, "webhook_url").strip()
        kind = self.cleaned_data.get("kind")
        cls = get_transport(kind) if kind in TRANSPORTS else None
        if not value and (cls is None or cls.url_required):
            label = cls.url_label if cls else "URL"
            raise forms.ValidationError(f"A {label} is required.")
        return value

    def clean_secret(self) -> str:
        return keep_secret_when_blank(self, "secret").strip()

    def clean(self):
        data = super().clean()
        if data.get("clear_secret"):
            data["secret"] = ""
            self.instance.secret = ""
        return data


def kind_fields() -> dict[str, dict]:
    """Per kind, what its form asks for (from the transports themselves)."""
    found = {}
    for kind in TRANSPORTS:
        cls = get_transport(kind)
        found[kind] = {
            "url": cls.url_label[:1].upper() + cls.url_label[1:],
            "url_required": cls.url_required,
            "url_default": cls.default_url,
            "secret": cls.secret_label[:1].upper() + cls.secret_label[1:]
            if cls.needs_secret
            else "",
            "options": list(cls.options),
        }
    return found


def options_help() -> str:
    """Each kind's options, from the transports themselves (so the help never goes stale)."""
    rows = []
    for kind in TRANSPORTS:
        cls = get_transport(kind)
        names = [f"{n} (required)" if n in cls.required_options else n for n in cls.options]
        rows.append((cls.label, ", ".join(names) or "none"))
    return format_html(
        'A JSON object; per kind: {}. E.g. Telegram {{"chat_id": "-1001234567890"}}, email '
        '{{"to": ["mum@example.com"]}}.',
        format_html_join("; ", "<b>{}</b>: {}", rows),
    )


@admin.register(Recipient)
class RecipientAdmin(ObjectButtons, HidesSecrets, admin.ModelAdmin):
    form = RecipientForm
    secret_fields = ("webhook_url", "secret", "clear_secret")
    list_display = (
        "name",
        "kind",
        "enabled",
        "last_success_at",
        "consecutive_failures",
        "health",
    )
    list_filter = ("kind", "enabled", "receives_alerts")
    search_fields = ("name",)
    readonly_fields = (
        "stored_url",
        "last_success_at",
        "last_error",
        "last_error_at",
        "consecutive_failures",
        "disabled_at",
        "disabled_reason",
    )
    actions = ("send_test_action", "turn_on_action")
    change_actions = ("send_test", "turn_on")

    @admin.display(description=_("Last result"))
    def health(self, obj: Recipient) -> str:
        if not obj.enabled and obj.disabled_at:
            return format_html(
                '<span class="hub-bad">⏻ turned off by the hub: {}</span>',
                obj.disabled_reason[:100],
            )
        if obj.last_error_at and (
            not obj.last_success_at or obj.last_error_at > obj.last_success_at
        ):
            return format_html('<span class="hub-bad">✗ {}</span>', obj.last_error[:100])
        if obj.last_success_at:
            return format_html('<span class="hub-good">✓ delivered</span>')
        return "—"

    @admin.display(description=_("Stored webhook URL"))
    def stored_url(self, obj: Recipient) -> str:
        parts = urlsplit(obj.webhook_url or "")
        # Host only: the path and query carry the service's token.
        if parts.hostname:
            return f"{parts.scheme}://{parts.hostname}/…"
        if parts.scheme:  # an Apprise URL: its scheme names the service
            return f"{parts.scheme}://…"
        default = get_transport(obj.kind).default_url if obj.kind in TRANSPORTS else ""
        return f"none: {default}" if default else "—"

    def sections(self, request, obj=None):
        fields = ["name", "kind", "webhook_url", "secret"]
        if obj:
            fields.insert(2, "stored_url")
        if obj and obj.secret:
            fields.append("clear_secret")
        fields += ["options", "enabled"]
        sections = [
            (None, {"fields": fields}),
            (_("Health and alerts"), {"fields": ["disable_after", "receives_alerts"]}),
        ]
        if obj:
            sections[1][1]["fields"][:0] = [
                "consecutive_failures",
                "disabled_at",
                "disabled_reason",
            ]
            sections.append(
                (_("Last delivery"), {"fields": ("last_success_at", "last_error", "last_error_at")})
            )
        return sections

    @bulk_action(
        _("Send test message (no retry; shows the service's answer)"),
        permission="integrations.send_test",
    )
    def send_test_action(self, request, queryset):
        for recipient in queryset:
            self._send_test(request, recipient)

    def _send_test(self, request, recipient: Recipient) -> None:
        try:
            replies = recipient.transport().send(make_test_message())
        except OptionsError as exc:
            text = gettext("%(name)s: not sent: %(error)s.") % {"name": recipient.name, "error": exc}
            self.message_user(request, text, messages.ERROR)
            return
        except TransportError as exc:
            Recipient.objects.filter(pk=recipient.pk).update(
                last_error=str(exc), last_error_at=timezone.now()
            )
            text = (
                gettext("%(name)s: failed (temporary error): %(error)s")
                if exc.retryable
                else gettext("%(name)s: failed (permanent error): %(error)s")
            ) % {"name": recipient.name, "error": exc}
            self.message_user(
                request,
                text + (f" — HTTP {exc.status}: {exc.body}" if exc.status else ""),
                messages.ERROR,
            )
            return
        Recipient.objects.filter(pk=recipient.pk).update(last_success_at=timezone.now())
        answers = "; ".join(f"HTTP {reply.status} {reply.body!s}".strip() for reply in replies)
        text = gettext("%(name)s: sent. The service answered: %(answers)s")
        self.message_user(request, text % {"name": recipient.name, "answers": answers})

    @button(
        _("Send test message"),
        _("Post a short test message to this recipient now."),
        permission="integrations.send_test",
    )
    def send_test(self, request, recipient: Recipient):
        self._send_test(request, recipient)

    # --- turning on again a recipient the hub turned off ------------------------------------

    def buttons_for(self, request, recipient: Recipient) -> list[str]:
        names = super().buttons_for(request, recipient)
        return names if recipient.turned_off_by_hub else [n for n in names if n != "turn_on"]

    @bulk_action(
        _("Turn on again (those the hub turned off; their failure count starts at 0)"),
        permission="integrations.enable_recipient",
    )
    def turn_on_action(self, request, queryset):
        for recipient in queryset:
            self._turn_on(request, recipient)

    @button(
        _("Turn on again"),
        _("The hub turned this recipient off after failed deliveries; send to it again."),
        permission="integrations.enable_recipient",
    )
    def turn_on(self, request, recipient: Recipient):
        self._turn_on(request, recipient)

    def _turn_on(self, request, recipient: Recipient) -> None:
        if not recipient.turn_on_again():
            text = (
                gettext("%(name)s: not changed; it is on.")
                if recipient.enabled
                else gettext("%(name)s: not changed; it is off by hand, not by the hub.")
            )
            self.message_user(request, text % {"name": recipient.name}, messages.WARNING)
            return
        self.message_user(
            request,
            gettext("%(name)s: turned on again; the next delivery goes to it.")
            % {"name": recipient.name},
            messages.SUCCESS,
        )
