"""Turning schedule slots into Runs: exactly one Run per (digest, slot).

Two paths reach here: beat's crontab fire (`fire`) and the minutely catch-up sweep
(`catch_up`). Both go through `claim_slot`, whose row is unique in the database, so two beat
processes, a re-fire or a redelivered message never make a second run or a second message.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction

from integrations import placeholders
from integrations.digests import schedule
from integrations.models import Digest, Run
from integrations.runs import dispatch

log = logging.getLogger(__name__)

# Beat fires on the slot; the sweep leaves it this long to do so before stepping in.
BEAT_LEAD = timedelta(seconds=60)
# Beat's tick can be a moment early or late; a fire this close to a slot is for that slot.
FIRE_TOLERANCE = timedelta(seconds=5)
# Bound the rows one sweep writes for a digest after a very long outage; the next sweep
# continues from the last recorded slot, so nothing is lost.
MAX_SLOTS_PER_SWEEP = 500
# The end of a slot run's source: which path created it.
FIRED_BY_BEAT = "fired by beat"
CAUGHT_UP = "caught up after its time"


def dify_user(digest: Digest) -> str:
    return f"hub:digest:{digest.pk}"


def fire_by_id(digest_id: int, now: datetime) -> Run | None:
    """Beat fired a digest's crontab (the task carries only the digest's id)."""
    digest = Digest.objects.filter(pk=digest_id).select_related("app").first()
    if digest is None:
        log.warning("beat fired digest %s, which no longer exists", digest_id)
        return None
    return fire(digest, now)


def fire(digest: Digest, now: datetime) -> Run | None:
    """Beat fired the digest's crontab: run the slot it fired for.

    A fire that waited in a busy queue past the next slot has two slots due: its own (still
    within the catch-up grace) is claimed too, as caught up, rather than left to the sweep.
    """
    if not digest.enabled:
        return None
    slot = schedule.latest_slot(digest.cron, digest.timezone, now + FIRE_TOLERANCE)
    if slot is None or slot < digest.active_since - FIRE_TOLERANCE:
        return None
    floor = max(digest.active_since, now - timedelta(seconds=digest.catchup_grace))
    for earlier in _unrecorded_slots(digest, floor - FIRE_TOLERANCE, slot):
        if earlier < slot:
            claim_slot(digest, earlier, now)
    run, _ = claim_slot(digest, slot, now, on_schedule=True)
    return run


def catch_up(digest: Digest, now: datetime) -> list[Run]:
    """Create the runs of slots that passed without one (downtime, a lost beat fire)."""
    if not digest.enabled:
        return []
    created = []
    for slot in _unrecorded_slots(digest, digest.active_since, now - BEAT_LEAD):
        run, was_created = claim_slot(digest, slot, now)
        if was_created:
            created.append(run)
    return created


def _unrecorded_slots(digest: Digest, floor: datetime, until: datetime) -> list[datetime]:
    """Slots up to `until` after both `floor` and the digest's latest recorded slot."""
    last = (
        Run.objects.filter(digest=digest, slot__isnull=False)
        .order_by("-slot")
        .values_list("slot", flat=True)
        .first()
    )
    since = max(filter(None, [floor, last]))
    return schedule.slots_between(digest.cron, digest.timezone, since, until)[:MAX_SLOTS_PER_SWEEP]


def claim_slot(
    digest: Digest, slot: datetime, now: datetime, *, on_schedule: bool = False
) -> tuple[Run, bool]:
    """The Run for (digest, slot): queued if the slot is fresh enough, else recorded as skipped.

    `on_schedule` is beat's fire for this very slot; its source says so, so a user (and the
    end-to-end test) can tell a digest that fires on time from one the sweep keeps rescuing.
    """
    existing = Run.objects.filter(digest=digest, slot=slot).first()
    if existing is not None:
        return existing, False
    late = now - slot
    context = schedule.slot_context(slot, digest.timezone, digest.name, digest.language)
    fields = dict(
        kind=Run.Kind.DIGEST,
        digest=digest,
        slot=slot,
        app_id=digest.app_id,
        source=(
            f"digest '{digest.name}', slot {context['date_iso']} {context['time']} {digest.timezone}, "
            + (FIRED_BY_BEAT if on_schedule else CAUGHT_UP)
        )[:255],
        inputs=placeholders.render(digest.inputs, context),
        query=placeholders.render(digest.query, context),
        dify_user=dify_user(digest),
    )
    if late > timedelta(seconds=digest.catchup_grace):
        fields.update(
            status=Run.Status.SKIPPED,
            finished_at=now,
            error_code="missed_slot",
            error_message=(
                f"Missed while the hub was down: {_minutes(late)} late, more than the "
                f"digest's catch-up grace of {_minutes(timedelta(seconds=digest.catchup_grace))}."
            ),
        )
    try:
        with transaction.atomic():
            run = Run.objects.create(**fields)
            if run.status == Run.Status.QUEUED:
                dispatch.execute(run.pk)
    except IntegrityError:
        # Someone else (another beat, the sweep) created it first.
        return Run.objects.get(digest=digest, slot=slot), False
    return run, True


def run_now(digest: Digest, *, requested_by: str, now: datetime) -> Run:
    """A manual run outside the schedule ("Run now"): variables use the current time."""
    context = schedule.slot_context(now, digest.timezone, digest.name, digest.language)
    with transaction.atomic():
        run = Run.objects.create(
            kind=Run.Kind.DIGEST,
            digest=digest,
            app_id=digest.app_id,
            source=f"digest '{digest.name}', run now by {requested_by}"[:255],
            inputs=placeholders.render(digest.inputs, context),
            query=placeholders.render(digest.query, context),
            dify_user=dify_user(digest),
        )
        dispatch.execute(run.pk)
    return run


def _minutes(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 120:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min"
