"""Runs made of parts: a run (the parent) that handed its work to part runs waits, queued,
until every part has ended; the part that ends last makes the parent due at once, so it is
claimed next and puts the parts' results together (integrations/forges/parts.py for
reviews). The parent also looks again every WAIT_SECONDS, in case that message was lost.

Parts are ordinary runs of the same app: they queue for its slots like any other run and
are retried, reconciled and recovered alone.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from integrations.models import Run
from integrations.runs import dispatch

# How often a parent looks at its parts when no part's end has woken it.
WAIT_SECONDS = 30.0


def part_ended(part: Run) -> None:
    """Called where a part reached a final status (inside that transaction)."""
    if part.parent_id is not None:
        parent_id = part.parent_id
        transaction.on_commit(lambda: _wake_if_all_ended(parent_id))


def _wake_if_all_ended(parent_id: int) -> None:
    if Run.objects.filter(parent_id=parent_id).exclude(status__in=Run.FINAL).exists():
        return
    now = timezone.now()
    woken = Run.objects.filter(pk=parent_id, status=Run.Status.QUEUED).update(
        next_attempt_at=now, updated_at=now
    )
    if woken:
        dispatch.execute(parent_id)


def unfinished(parent: Run) -> int:
    return Run.objects.filter(parent=parent).exclude(status__in=Run.FINAL).count()
