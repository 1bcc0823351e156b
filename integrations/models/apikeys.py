"""Hub API keys: bearer tokens for the REST API, shown once, stored hashed, scoped, revocable."""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from integrations.gitlab.signing import hash_token, token_matches

KEY_PREFIX = "dhk_"  # "dify-hub key": recognisable in a config file and in secret scanners
# dhk_<8 hex: looks the row up>_<43 URL-safe chars: 256 random bits>
_KEY = re.compile(r"dhk_([0-9a-f]{8})_[A-Za-z0-9_-]{43}")
# last_used_at is written at most this often per key, not on every request.
LAST_USED_RESOLUTION = timedelta(seconds=60)


class HubAPIKey(models.Model):
    """A key for `Authorization: Bearer …`. Only a salted hash of it is stored."""

    class Scope(models.TextChoices):
        READ = "read", "Read (list and read runs)"
        TRIGGER = "trigger", "Trigger (read; run digests; retry, stop and redeliver runs)"
        # Prometheus's key: GET /metrics and nothing else (integrations/metrics).
        METRICS = "metrics", "Metrics (scrape /metrics only)"

    name = models.CharField(
        max_length=100, unique=True, help_text=_("Who or what uses the key, e.g. 'ci' or 'grafana'.")
    )
    prefix = models.CharField(
        max_length=12,
        unique=True,
        editable=False,
        help_text=_("The key's first characters, to recognise it; not enough to use it."),
    )
    key_hash = models.CharField(max_length=200, editable=False)
    scope = models.CharField(
        max_length=10,
        choices=Scope.choices,
        default=Scope.READ,
        help_text=_("Trigger includes read; metrics is only for /metrics."),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(
        null=True, blank=True, editable=False, help_text=_("To the minute.")
    )
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("hub API key")
        verbose_name_plural = _("hub API keys")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def has_scope(self, scope: str) -> bool:
        """Trigger includes read: whoever may start a run may also read what became of it.
        Metrics is included in nothing and includes nothing: a scraper's key, kept in
        Prometheus's config, reads no run, and an API client's key scrapes nothing."""
        return self.scope == scope or (
            self.scope == self.Scope.TRIGGER and scope == self.Scope.READ
        )

    def set_new_key(self) -> str:
        """Give the row a fresh key; return it (the only time it exists in clear)."""
        while True:
            lookup = secrets.token_hex(4)
            prefix = f"{KEY_PREFIX}{lookup}"
            if not HubAPIKey.objects.filter(prefix=prefix).exists():
                break
        key = f"{prefix}_{secrets.token_urlsafe(32)}"
        self.prefix = prefix
        self.key_hash = hash_token(key)
        return key

    def matches(self, key: str) -> bool:
        return token_matches(self.key_hash, key)

    def revoke(self, now: datetime | None = None) -> None:
        if self.revoked_at is None:
            self.revoked_at = now or timezone.now()
            HubAPIKey.objects.filter(pk=self.pk, revoked_at__isnull=True).update(
                revoked_at=self.revoked_at
            )

    def touch(self, now: datetime) -> None:
        """Record a use, at most once a minute (a conditional UPDATE, no read first)."""
        if self.last_used_at and now - self.last_used_at < LAST_USED_RESOLUTION:
            return
        HubAPIKey.objects.filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION),
            pk=self.pk,
        ).update(last_used_at=now)
        self.last_used_at = now

    @classmethod
    def create_key(cls, name: str, scope: str) -> tuple[HubAPIKey, str]:
        api_key = cls(name=name, scope=scope)
        key = api_key.set_new_key()
        api_key.save()
        return api_key, key

    @classmethod
    def find(cls, key: str) -> HubAPIKey | None:
        """The key's row if `key` is a valid key (revoked or not), else None."""
        match = _KEY.fullmatch(key) if isinstance(key, str) else None
        if match is None:
            return None
        api_key = cls.objects.filter(prefix=f"{KEY_PREFIX}{match.group(1)}").first()
        if api_key is None or not api_key.matches(key):
            return None
        return api_key
