from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models

from integrations.channels.base import OptionsError, Transport
from integrations.channels.registry import get_transport, kind_choices
from integrations.models.fields import EncryptedTextField


class Recipient(models.Model):
    """A chat webhook (or any JSON endpoint) that receives run output."""

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=20, choices=kind_choices())
    webhook_url = EncryptedTextField(
        "webhook URL", help_text="Stored encrypted: it carries the service's token."
    )
    secret = EncryptedTextField(
        "signing secret",
        blank=True,
        help_text="Feishu, DingTalk: the bot's signing secret. Webhook: a Standard Webhooks "
        "secret (whsec_…). Stored encrypted.",
    )
    options = models.JSONField(
        "kind options",
        default=dict,
        blank=True,
        help_text='Per kind, e.g. Rocket.Chat {"alias": "Weather", "emoji": ":sunny:"}.',
    )
    enabled = models.BooleanField(default=True)
    last_success_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_error = models.TextField(blank=True, editable=False)
    last_error_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"

    def transport_class(self) -> type[Transport]:
        return get_transport(self.kind)

    def transport(self, **kwargs) -> Transport:
        return self.transport_class()(
            self.webhook_url, self.options or {}, self.secret or "", **kwargs
        )

    def clean(self) -> None:
        if not self.kind:
            return
        cls = self.transport_class()
        errors: dict[str, str] = {}
        try:
            self.options = cls.clean_options(self.options or {})
        except OptionsError as exc:
            errors["options"] = str(exc)
        if self.webhook_url:
            try:
                self.webhook_url = cls.clean_url(self.webhook_url)
            except OptionsError as exc:
                errors["webhook_url"] = str(exc)
        if errors:
            raise ValidationError(errors)
