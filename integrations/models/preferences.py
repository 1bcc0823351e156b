from __future__ import annotations

from django.conf import settings
from django.db import models


class Preference(models.Model):
    """What one person chose for how the admin shows things to them."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="hub_preference"
    )
    time_zone = models.CharField(
        max_length=64,
        blank=True,
        help_text="IANA name; empty: the browser's zone (else the hub's TIME_ZONE).",
    )

    def __str__(self) -> str:
        return f"{self.user}: {self.time_zone or 'browser'}"
