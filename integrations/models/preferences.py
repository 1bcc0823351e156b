from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


def languages() -> list[tuple[str, str]]:
    """The admin's languages (settings.LANGUAGES), each written in itself."""
    return list(settings.LANGUAGES)


class Preference(models.Model):
    """What one person chose for how the admin shows things to them."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="hub_preference"
    )
    time_zone = models.CharField(
        max_length=64,
        blank=True,
        help_text=_("IANA name; empty: the browser's zone (else the hub's TIME_ZONE)."),
    )
    language = models.CharField(
        max_length=16,
        blank=True,
        choices=languages,
        help_text=_("Empty: the browser's language (else English)."),
    )

    def __str__(self) -> str:
        return f"{self.user}: {self.time_zone or 'browser'}"
