from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditEntry(models.Model):
    """One change to the hub's configuration (or one operator action), with who made it,
    when, through which door, and which fields changed: names only, a secret is "changed",
    never its value."""

    class Door(models.TextChoices):
        ADMIN = "admin", "Admin"
        APPLY = "apply", "hub apply"
        COMMAND = "command", "hub command"
        API = "api", "API"

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    door = models.CharField(max_length=10, choices=Door.choices)
    actor = models.CharField(
        max_length=200, help_text="The admin user, the OS user of a command, the API key."
    )
    action = models.CharField(max_length=100, help_text="created, changed, deleted, or a button")
    object_type = models.CharField(max_length=100, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=200, blank=True)
    fields = models.JSONField(default=list, blank=True, help_text="What changed (names).")
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"], name="audit_object")]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit trail")

    def __str__(self) -> str:
        return f"{self.actor} {self.action} {self.object_type} {self.object_repr}".strip()
