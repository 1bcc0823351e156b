from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone as dj_timezone
from django.utils.translation import gettext_lazy as _

from integrations import placeholders
from integrations.dify import DifyInputError, validate_inputs
from integrations.digests import languages, schedule
from integrations.digests.sync import sync_schedule


def default_grace() -> int:
    return settings.HUB_DIGEST_CATCHUP_GRACE


class Digest(models.Model):
    """A Dify app run on a cron schedule whose output is sent to recipients."""

    name = models.CharField(max_length=100, unique=True)
    app = models.ForeignKey(
        "integrations.DifyApp", on_delete=models.PROTECT, related_name="digests"
    )
    inputs = models.JSONField(
        default=dict,
        blank=True,
        help_text=_(
            "Inputs for the app. Strings may use {{ date }}, {{ weekday }}, {{ time }} "
            "(at the scheduled slot, in this digest's time zone and language), {{ date_iso }} "
            "(always 2026-12-02) and {{ digest }}."
        ),
    )
    language = models.CharField(
        max_length=10,
        choices=languages.CHOICES,
        default=languages.ENGLISH,
        help_text=_(
            "The language of {{ weekday }} and {{ date }}: English writes Wednesday and "
            "2026-12-02, 简体中文 星期三 and 2026年12月2日, 日本語 水曜日 and 2026年12月2日, 한국어 "
            "수요일 and 2026년 12월 2일. {{ time }} and {{ date_iso }} are the same in every language."
        ),
        error_messages={
            "invalid_choice": "'%(value)s' is not a digest language; one of "
            + ", ".join(f"{code} ({name})" for code, name in languages.CHOICES)
            + "."
        },
    )
    query = models.TextField(
        blank=True, help_text=_("Chat apps only: the message sent as the user's query.")
    )
    output_key = models.CharField(
        _("output to send"),
        max_length=100,
        blank=True,
        help_text=_("Name of the app output to send. Empty: the only output, or `text`."),
    )
    title = models.CharField(
        max_length=200, blank=True, help_text=_("Optional heading; may use the same variables.")
    )
    footer = models.CharField(
        max_length=500,
        blank=True,
        help_text=_("Optional footer line; may use the same variables."),
    )
    recipients = models.ManyToManyField("integrations.Recipient", related_name="digests")
    cron = models.CharField(
        max_length=100,
        default="0 8 * * *",
        help_text=_(
            "Five fields: minute hour day-of-month month day-of-week, in the time zone "
            "below. '0 8 * * *' is every day at 08:00."
        ),
    )
    timezone = models.CharField(
        _("time zone"),
        max_length=64,
        default="UTC",
        help_text=_("IANA name, e.g. Europe/Berlin."),
    )
    enabled = models.BooleanField(default=True)
    catchup_grace = models.PositiveIntegerField(
        _("catch-up grace (seconds)"),
        default=default_grace,
        help_text=_(
            "A slot missed while the hub was down runs after start-up if it is younger "
            "than this; older missed slots are recorded as skipped."
        ),
    )
    active_since = models.DateTimeField(
        editable=False,
        default=dj_timezone.now,
        help_text=_(
            "Slots before this instant are never caught up (set when the schedule changes)."
        ),
    )
    periodic_task = models.OneToOneField(
        "django_celery_beat.PeriodicTask",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="digest",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        with transaction.atomic():
            if self.pk:
                previous = (
                    type(self)
                    .objects.filter(pk=self.pk)
                    .values("cron", "timezone", "enabled")
                    .first()
                )
                if previous and (
                    previous["cron"] != self.cron
                    or previous["timezone"] != self.timezone
                    or (self.enabled and not previous["enabled"])
                ):
                    # A new schedule starts now: never "catch up" slots of the old one.
                    self.active_since = dj_timezone.now()
            super().save(*args, **kwargs)
            sync_schedule(self)

    def _app_problems(self, app, found: dict) -> dict[str, str | list[str]]:
        """What the app, as the hub knows it from Dify, says against these settings."""
        problems: dict[str, str | list[str]] = {}
        if "inputs" not in found and app.input_form:
            # Checked as they will be on a real day, so a typo fails here, not at 08:00.
            sample = schedule.slot_context(
                dj_timezone.now(), "UTC", self.name or "digest", self.language
            )
            try:
                validate_inputs(app.fields, placeholders.render(self.inputs, sample))
            except DifyInputError as exc:
                problems["inputs"] = list(exc.problems)
        if app.is_chat and not (self.query or "").strip():
            problems["query"] = (
                f"'{app.name}' is a chat app: it needs a query, the message the digest sends it."
            )
        if problem := app.output_problem(self.output_key, "Output to send"):
            problems["output_key"] = problem
        return problems

    def clean(self) -> None:
        errors: dict[str, str | list[str]] = {}
        try:
            self.cron = schedule.normalize_cron(self.cron)
        except schedule.ScheduleError as exc:
            errors["cron"] = str(exc)
        try:
            schedule.parse_zone(self.timezone)
        except schedule.ScheduleError as exc:
            errors["timezone"] = str(exc)
        if not isinstance(self.inputs, dict):
            errors["inputs"] = 'Inputs must be a JSON object, e.g. {"city": "Berlin"}.'
        for field in ("inputs", "query", "title", "footer"):
            if field in errors:
                continue
            try:
                schedule.check_template(getattr(self, field))
            except schedule.ScheduleError as exc:
                errors[field] = str(exc)
        app = getattr(self, "app", None)  # unset in a half-filled form; unsaved in a plan
        if app is not None:
            errors.update(self._app_problems(app, errors))
        if errors:
            raise ValidationError(errors)
