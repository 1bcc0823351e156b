"""The run engine's own bookkeeping: slots per app and the heartbeats of worker processes."""

from __future__ import annotations

from django.db import models


class RunSlot(models.Model):
    """One of an app's `max_concurrent_runs` places; a running run holds one.

    Rows instead of a count so claims never wait on each other: each claimer locks a free
    row with SKIP LOCKED (PostgreSQL), and a slot held by a run that has ended is visibly
    wrong and repaired by the sweep.
    """

    app = models.ForeignKey("integrations.DifyApp", on_delete=models.CASCADE, related_name="slots")
    number = models.PositiveSmallIntegerField()
    run = models.OneToOneField(
        "integrations.Run",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="held_slot",
    )
    taken_at = models.DateTimeField(null=True, blank=True)
    cooling_until = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Held back after Dify refused a run at its concurrency limit.",
    )

    class Meta:
        ordering = ["app", "number"]
        constraints = [
            models.UniqueConstraint(fields=["app", "number"], name="runslot_unique_number"),
        ]

    def __str__(self) -> str:
        return f"slot {self.number} of app {self.app_id}"


class WorkerHeartbeat(models.Model):
    """A worker process says it is alive every few seconds; runs it holds stay its own."""

    name = models.CharField(max_length=200, unique=True, help_text="Celery node name:pid")
    hostname = models.CharField(max_length=200)
    pid = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    beat_at = models.DateTimeField(db_index=True)
    work = models.JSONField(
        default=dict,
        blank=True,
        help_text="What the process was working on at its last beat: run and delivery ids.",
    )

    class Meta:
        ordering = ["-beat_at"]

    def __str__(self) -> str:
        return self.name
