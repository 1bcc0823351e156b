from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Alert(models.Model):
    """One problem the hub tells the alert recipients about (a digest failing, a recipient
    turned off, an endpoint rejecting requests), keyed by what it is about.

    Occurrences are bundled: the first goes out at once, later ones wait in `pending` until
    HUB_ALERT_INTERVAL has passed since the last message, then go out together. Each message
    is an alert run with a delivery per alert recipient, kept like any other run."""

    key = models.CharField(max_length=200, unique=True)
    title = models.CharField(max_length=200)
    pending = models.JSONField(default=list, blank=True, help_text=_("Lines not sent yet."))
    dropped = models.PositiveIntegerField(
        default=0, help_text=_("Occurrences beyond the lines kept for the next message.")
    )
    occurrences = models.PositiveIntegerField(default=0)
    first_seen_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    last_sent_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(
        null=True, blank=True, db_index=True, help_text=_("When the pending lines go out.")
    )
    last_run = models.ForeignKey(
        "integrations.Run", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # A burst counter (requests rejected within the interval) for problems that only count
    # once they repeat.
    window_started_at = models.DateTimeField(null=True, blank=True)
    window_hits = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        ordering = ["-last_seen_at"]

    def __str__(self) -> str:
        return self.title
