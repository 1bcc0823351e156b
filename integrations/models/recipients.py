from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from integrations.channels.base import OptionsError, Transport
from integrations.channels.registry import get_transport, kind_choices
from integrations.models.fields import EncryptedTextField

# The kinds' labels in the admin's language: the descriptive ones are translated, the product
# names (Slack, Rocket.Chat…) stay as they are. channels/registry.py, free of Django, keeps
# the English labels the transports carry.
KIND_WORDS = {"webhook": _("Webhook"), "email": _("Email")}
KIND_CHOICES = [(kind, KIND_WORDS.get(kind, label)) for kind, label in kind_choices()]


class Recipient(models.Model):
    """Where run output goes: a chat webhook, a bot, a mailbox, a push topic..."""

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=20, choices=KIND_CHOICES)
    webhook_url = EncryptedTextField(
        "URL",
        blank=True,  # required by the kinds that have no default (Recipient.clean)
        help_text=_("The webhook URL, or the server's URL for a bot (empty: the public "
        "service). Stored encrypted: it may carry the service's token."),
    )
    secret = EncryptedTextField(
        "secret",
        blank=True,
        help_text=_("Feishu, DingTalk: the bot's signing secret. Webhook: a Standard Webhooks "
        "secret (whsec_…). Telegram, LINE, Matrix, ntfy: the access token. Stored encrypted."),
    )
    options = models.JSONField(
        _("kind options"),
        default=dict,
        blank=True,
        help_text=_('Per kind, e.g. Rocket.Chat {"alias": "Weather", "emoji": ":sunny:"}.'),
    )
    enabled = models.BooleanField(default=True)
    # Health: deliveries that ended failed in a row; past the limit the recipient is turned
    # off (as GitLab does to a webhook that keeps failing) until someone turns it on again.
    consecutive_failures = models.PositiveIntegerField(
        _("failures in a row"), default=0, editable=False
    )
    disable_after = models.PositiveSmallIntegerField(
        _("turn off after"),
        null=True,
        blank=True,
        help_text=_("Failed deliveries in a row after which the hub turns this recipient off. "
        "Empty: the hub's setting HUB_RECIPIENT_DISABLE_AFTER (10). 0: never."),
    )
    disabled_at = models.DateTimeField(null=True, blank=True, editable=False)
    disabled_reason = models.TextField(blank=True, editable=False)
    receives_alerts = models.BooleanField(
        _("receives alerts"),
        default=False,
        help_text=_("Tell this recipient about trouble: a digest that failed or reached only "
        "some recipients, a recipient turned off, a forge endpoint rejecting requests."),
    )
    last_success_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_error = models.TextField(blank=True, editable=False)
    last_error_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("recipient")
        verbose_name_plural = _("recipients")
        ordering = ["name"]
        permissions = [
            ("send_test", "Can send a test message"),
            ("enable_recipient", "Can turn on again a recipient the hub turned off"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"

    def save(self, *args, **kwargs) -> None:
        if self.enabled and self.disabled_at is not None:
            # Turned on again after the hub turned it off: it starts with a clean slate.
            self.consecutive_failures, self.disabled_at, self.disabled_reason = 0, None, ""
            if kwargs.get("update_fields") is not None:
                kwargs["update_fields"] = {
                    *kwargs["update_fields"],
                    "consecutive_failures",
                    "disabled_at",
                    "disabled_reason",
                }
        super().save(*args, **kwargs)

    @property
    def turned_off_by_hub(self) -> bool:
        return not self.enabled and self.disabled_at is not None

    def turn_on_again(self) -> bool:
        """Turn on a recipient the hub turned off, with a clean slate (as saving it enabled
        does, see save). False: the hub had not turned it off, so nothing changed."""
        if not self.turned_off_by_hub:
            return False
        self.enabled = True
        self.save(update_fields=["enabled", "updated_at"])
        return True

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
        if self.webhook_url or cls.url_required:
            try:
                self.webhook_url = cls.clean_url(self.webhook_url)
            except OptionsError as exc:
                errors["webhook_url"] = str(exc)
        else:
            self.webhook_url = ""  # the kind's default, chosen when sending
        if self.secret and not cls.needs_secret:
            errors["secret"] = f"{cls.label} takes no secret; leave it empty"
        elif self.secret or cls.secret_required:
            try:
                self.secret = cls.clean_secret(self.secret or "")
            except OptionsError as exc:
                errors["secret"] = str(exc)
        if errors:
            raise ValidationError(errors)
