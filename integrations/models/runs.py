from __future__ import annotations

from datetime import timedelta

from django.db import models
from django.utils.translation import gettext_lazy as _


def _choice_label(choices: type[models.TextChoices], value: str) -> str:
    """The translated label of `value`, or the value itself when it is not a choice (as
    Django's get_FOO_display)."""
    try:
        return str(choices(value).label)
    except ValueError:
        return value


class Run(models.Model):
    """One execution of a Dify app, whatever triggered it, kept as history."""

    class Kind(models.TextChoices):
        DIGEST = "digest", _("Digest")
        MERGE_REQUEST_REVIEW = "merge_request_review", _("Merge request review")
        MANUAL = "manual", _("Manual")
        ALERT = "alert", _("Alert")
        REVIEW_PART = "review_part", _("Part of a review")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DELIVERING = "delivering", _("Delivering")
        SUCCEEDED = "succeeded", _("Succeeded")
        PARTIALLY_DELIVERED = "partially_delivered", _("Partially delivered")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")
        SUPERSEDED = "superseded", _("Superseded")
        SKIPPED = "skipped", _("Skipped")

    FINAL = (
        Status.SUCCEEDED,
        Status.PARTIALLY_DELIVERED,
        Status.FAILED,
        Status.CANCELLED,
        Status.SUPERSEDED,
        Status.SKIPPED,
    )

    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices)
    source = models.CharField(_("source"), max_length=255, help_text=_("What triggered the run."))
    # Empty only for an alert: the hub's own message, with no Dify app behind it.
    app = models.ForeignKey(
        "integrations.DifyApp",
        on_delete=models.PROTECT,
        related_name="runs",
        null=True,
        blank=True,
        verbose_name=_("app"),
    )
    digest = models.ForeignKey(
        "integrations.Digest",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="runs",
        verbose_name=_("digest"),
    )
    slot = models.DateTimeField(
        null=True, blank=True, help_text=_("The scheduled time this digest run is for (UTC).")
    )
    review_endpoint = models.ForeignKey(
        "integrations.ReviewEndpoint",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="runs",
        verbose_name=_("review endpoint"),
    )
    context = models.JSONField(
        null=True,
        blank=True,
        help_text=_("What triggered the run; for reviews, the merge request as the webhook told it."),
    )
    merge_request_key = models.CharField(
        "merge request", max_length=100, blank=True, db_index=True, help_text=_("project id!iid")
    )
    head_sha = models.CharField("head commit", max_length=64, blank=True)
    dedupe_key = models.CharField(
        max_length=255,
        null=True,
        blank=True,
        unique=True,
        help_text=_("At most one run per key: for reviews, one per endpoint, MR and head commit."),
    )
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.QUEUED
    )
    inputs = models.JSONField(default=dict, blank=True)
    query = models.TextField(blank=True, help_text=_("The user message, for chat apps."))
    outputs = models.JSONField(null=True, blank=True)
    message = models.JSONField(
        null=True, blank=True, help_text=_("The message sent to recipients: title, text, footer.")
    )
    error_code = models.CharField(max_length=100, blank=True)
    error_message = models.TextField(blank=True)
    error_source = models.CharField(
        max_length=10, blank=True, help_text=_("Who said the error: dify, gitlab, chat or hub.")
    )
    dify_user = models.CharField(max_length=255, blank=True)
    dify_task_id = models.CharField(max_length=64, blank=True)
    dify_workflow_run_id = models.CharField(max_length=64, blank=True, db_index=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    waits = models.PositiveSmallIntegerField(
        default=0,
        help_text=_("Times the run waited for something not ready yet (GitLab preparing a diff); "
        "these do not count as attempts."),
    )
    total_tokens = models.PositiveIntegerField(_("total tokens"), null=True, blank=True)
    elapsed = models.FloatField(null=True, blank=True, help_text=_("Seconds, as Dify measured."))
    celery_task_id = models.CharField(max_length=64, blank=True)
    holder = models.CharField(
        max_length=200,
        blank=True,
        help_text=_("The worker process working on the run now (Celery node name:pid); a run "
        "whose holder stopped beating is recovered from Dify."),
    )
    stop_requested_at = models.DateTimeField(null=True, blank=True)
    stop_requested_by = models.CharField(max_length=200, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    attempt_started_at = models.DateTimeField(null=True, blank=True)
    # Indexed as the first column of run_overview_covering (Meta.indexes), which serves every
    # range and order on created_at; a second index on it alone would win the planner's
    # tie and make the overview read the table (migration 0029).
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    retry_of = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="retries",
        help_text=_("The run this one retries (a retry asked for through the API)."),
    )
    # A review of a diff too large for one run is made of parts, one run each
    # (integrations/forges/parts.py); the parent waits for them and posts one summary.
    parent = models.ForeignKey(
        "self",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="parts",
        help_text=_("The review this run is a part of."),
    )
    part = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text=_("Which part (1, 2, …) of its review this run is.")
    )

    class Meta:
        verbose_name = _("run")
        verbose_name_plural = _("runs")
        ordering = ["-created_at", "-id"]
        # The admin's buttons each need one of these (admin/common.py; docs/security.md).
        permissions = [
            ("run_now", "Can run a digest or an app now"),
            ("stop_run", "Can stop a run"),
            ("retry_run", "Can retry a run"),
            ("retry_delivery", "Can retry a run's failed deliveries"),
        ]
        indexes = [
            models.Index(fields=["status", "app"], name="run_status_app"),
            models.Index(fields=["status", "next_attempt_at"], name="run_status_next"),
            # The API's and `hub runs`' filters, newest first.
            models.Index(fields=["status", "created_at", "id"], name="run_status_created"),
            models.Index(fields=["kind", "created_at", "id"], name="run_kind_created"),
            models.Index(fields=["source"], name="run_source"),
            # The slot scheduler's "oldest queued run of this app" (FIFO hand-off).
            models.Index(
                fields=["app", "id"], condition=models.Q(status="queued"), name="run_queued_fifo"
            ),
            models.Index(
                fields=["holder"], condition=models.Q(status="running"), name="run_running_holder"
            ),
            # The overview's week of runs, grouped, read from the index alone (no table
            # row): created_at first for the range, then every column it groups or sums.
            # Key columns rather than INCLUDE, which SQLite lacks (integrations/overview/).
            # Also the index on created_at for everything else.
            models.Index(
                fields=[
                    "created_at",
                    "status",
                    "app",
                    "digest",
                    "review_endpoint",
                    "total_tokens",
                    "started_at",
                    "finished_at",
                ],
                name="run_overview_covering",
            ),
        ]
        constraints = [
            # Two beats, a re-fire or a redelivered message cannot make a second run of a slot.
            models.UniqueConstraint(
                fields=["digest", "slot"],
                condition=models.Q(digest__isnull=False, slot__isnull=False),
                name="run_unique_digest_slot",
            ),
        ]

    def __str__(self) -> str:
        return f"Run #{self.pk} {self.kind_label} ({self.status_label})"

    # What get_kind_display() and get_status_display() give, without building the field's
    # choices dict on every call (each run on an admin page asks for both, some twice).
    @property
    def kind_label(self) -> str:
        return _choice_label(Run.Kind, self.kind)

    @property
    def status_label(self) -> str:
        return _choice_label(Run.Status, self.status)

    @property
    def is_final(self) -> bool:
        return self.status in self.FINAL

    @property
    def duration(self) -> timedelta | None:
        if self.started_at and self.finished_at:
            return self.finished_at - self.started_at
        return None


class Delivery(models.Model):
    """A run's output sent to one recipient; every try is a DeliveryAttempt."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")

    FINAL = (Status.DELIVERED, Status.FAILED)

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="deliveries")
    recipient = models.ForeignKey(
        "integrations.Recipient",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="deliveries",
    )
    recipient_name = models.CharField(_("recipient name"), max_length=100)
    kind = models.CharField(max_length=20)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    attempts_before = models.PositiveSmallIntegerField(
        default=0,
        editable=False,
        help_text=_("Attempts made before the delivery was last retried on request; the limit "
        "of attempts counts from there."),
    )
    parts_total = models.PositiveSmallIntegerField(default=0)
    parts = models.JSONField(
        default=list,
        blank=True,
        help_text=_("The payloads built for this recipient, kept so a retry sends the same bytes "
        "(and the same webhook-id) instead of building new ones."),
    )
    parts_sent = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    error_source = models.CharField(max_length=10, blank=True)
    holder = models.CharField(max_length=200, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "recipient"],
                condition=models.Q(recipient__isnull=False),
                name="delivery_unique_run_recipient",
            ),
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="delivery_status_next")]

    def __str__(self) -> str:
        return f"{self.recipient_name}: {self.get_status_display()}"


class DeliveryAttempt(models.Model):
    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_rows")
    number = models.PositiveSmallIntegerField()
    part = models.PositiveSmallIntegerField(default=1)
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(default=0)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True)
    error = models.TextField(blank=True)
    permanent = models.BooleanField(default=False)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"attempt {self.number} (part {self.part})"

    @property
    def ok(self) -> bool:
        return not self.error
