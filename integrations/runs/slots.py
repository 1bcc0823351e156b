"""A fair slot scheduler per Dify app: `max_concurrent_runs` as a semaphore with FIFO hand-off.

- A run starts only by taking one of its app's free slots (RunSlot rows), and then it is
  always the *oldest* queued run of the app whose time has come that starts: a worker that
  got the message for run 7 runs run 3 if run 3 is older and waiting. So runs start in the
  order their events arrived, whatever order the broker hands messages out.
- A run that finds no free slot does nothing (no polling): it is handed a slot when a run of
  its app ends, however it ends (`release` then `hand_off` after the commit), and the
  recovery sweep hands out any slot that is free while runs wait (`pending_hand_offs`).
- The thread that ran a run goes on with its app's next one (engine.execute), so the slot
  it frees is not handed off through the broker as well (`continuing`).
- Claims do not wait on each other: on PostgreSQL each claimer locks a free slot row and the
  oldest free run row with SKIP LOCKED. SQLite has one writer at a time, which is enough.
- After Dify refused a run at its own concurrency limit, the slot cools down for a while, so
  the hub runs fewer at once instead of knocking again and again.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Count, F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from integrations.compiled import CompiledQuery
from integrations.models import DifyApp, Run, RunSlot
from integrations.runs import dispatch


def eligible(now: datetime) -> Q:
    """Queued runs whose time has come (not waiting out a retry backoff)."""
    return Q(status=Run.Status.QUEUED) & (
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )


def _free(app: DifyApp, now: datetime):
    return _free_slots(app.pk, app.max_concurrent_runs, now)


def _free_slots(app_id: int, cap: int, now: datetime):
    return RunSlot.objects.filter(
        Q(cooling_until__isnull=True) | Q(cooling_until__lte=now),
        app_id=app_id,
        run__isnull=True,
        number__lt=cap,
    )


# The claim's two locking reads, compiled once per process (integrations/compiled.py).
_FREE_SLOT = CompiledQuery(
    lambda app_id, cap, now: _free_slots(app_id, cap, now)
    .select_for_update(skip_locked=True)
    .order_by("number"),
    app_id=int,
    cap=int,
    now=datetime,
)
_OLDEST_ELIGIBLE = CompiledQuery(
    lambda app_id, now: Run.objects.select_for_update(skip_locked=True, of=("self",))
    # What the kinds read next (the endpoint, the digest), in this same query.
    .select_related("review_endpoint", "digest")
    .filter(eligible(now), app_id=app_id)
    .order_by("id"),
    app_id=int,
    now=datetime,
)


def ensure_slots(app: DifyApp) -> None:
    """Create the app's slot rows up to its current cap (kept beyond it, unused)."""
    have = set(RunSlot.objects.filter(app_id=app.pk).values_list("number", flat=True))
    missing = [n for n in range(app.max_concurrent_runs) if n not in have]
    if missing:
        RunSlot.objects.bulk_create(
            [RunSlot(app_id=app.pk, number=n) for n in missing], ignore_conflicts=True
        )


# A countdown message may arrive a moment before its run's next_attempt_at (clocks of the
# worker and the database differ); a run due this soon counts as due.
EARLY_TOLERANCE = timedelta(seconds=2)


def claim(app: DifyApp, *, holder: str, celery_task_id: str = "", early: bool = True) -> Run | None:
    """Start the oldest eligible queued run of `app` in a free slot; None if there is no
    free slot or no run to start. The run comes back `running`, its slot taken. `early`:
    a run due within EARLY_TOLERANCE counts as due (for a message that may be early)."""
    for _ in range(2):
        now = timezone.now() + (EARLY_TOLERANCE if early else timedelta(0))
        with transaction.atomic():
            slot = _FREE_SLOT.first(app_id=app.pk, cap=app.max_concurrent_runs, now=now)
            if slot is not None:
                return _start_oldest(app, slot, now, holder, celery_task_id)
        if RunSlot.objects.filter(app_id=app.pk).count() >= app.max_concurrent_runs:
            return None
        ensure_slots(app)  # an app saved before slots existed, or whose cap was raised
    return None


def _start_oldest(
    app: DifyApp, slot: RunSlot, now: datetime, holder: str, celery_task_id: str
) -> Run | None:
    run = _OLDEST_ELIGIBLE.first(app_id=app.pk, now=now)
    if run is None:
        return None
    now = timezone.now()  # read under the locks, so start times follow the claim order
    RunSlot.objects.filter(pk=slot.pk).update(run_id=run.pk, taken_at=now)
    Run.objects.filter(pk=run.pk).update(
        status=Run.Status.RUNNING,
        started_at=Coalesce(F("started_at"), now),
        attempt_started_at=now,
        attempts=F("attempts") + 1,
        next_attempt_at=None,
        celery_task_id=celery_task_id[:64],
        holder=holder[:200],
        updated_at=now,
    )
    run.status = Run.Status.RUNNING
    run.started_at = run.started_at or now
    run.attempt_started_at = now
    run.attempts += 1
    run.next_attempt_at = None
    run.celery_task_id = celery_task_id[:64]
    run.holder = holder[:200]
    run.app = app
    return run


# Apps whose freed slots this thread fills itself (engine.execute claims the app's next run
# when its run ends), so releasing a slot sends no hand-off message for them.
_continuing: ContextVar[frozenset[int]] = ContextVar("hub_slots_continuing", default=frozenset())


@contextmanager
def continuing(app_id: int) -> Iterator[None]:
    """Within this block the calling thread claims the app's next run itself afterwards."""
    token = _continuing.set(_continuing.get() | {app_id})
    try:
        yield
    finally:
        _continuing.reset(token)


def release(run: Run, *, cool_until: datetime | None = None) -> bool:
    """Free the slot `run` holds (inside the caller's transaction) and, once that commits,
    hand it to the next run of the app (unless this thread goes on with the app itself).
    `cool_until` keeps the slot out of use until then."""
    freed = RunSlot.objects.filter(run_id=run.pk).update(
        run=None, taken_at=None, cooling_until=cool_until
    )
    if freed and run.app_id not in _continuing.get():
        app_id = run.app_id
        transaction.on_commit(lambda: hand_off(app_id))
    return bool(freed)


def hand_off(app_id: int) -> int | None:
    """Dispatch the oldest eligible queued run of the app, if there is one."""
    run_id = (
        Run.objects.filter(eligible(timezone.now()), app_id=app_id)
        .order_by("id")
        .values_list("pk", flat=True)
        .first()
    )
    if run_id is not None:
        dispatch.publish(dispatch.EXECUTE_RUN, run_id)
    return run_id


def pending_hand_offs(now: datetime) -> list[int]:
    """Runs to dispatch now: per app, as many of the oldest eligible queued runs as it has
    free slots. The sweep's safety net for a lost hand-off or a lost message."""
    waiting = dict(
        Run.objects.filter(eligible(now))
        .values("app_id")
        .annotate(n=Count("pk"))
        .values_list("app_id", "n")
    )
    run_ids: list[int] = []
    for app in DifyApp.objects.filter(pk__in=waiting, enabled=True):
        ensure_slots(app)
        free = _free(app, now).count()
        if free:
            oldest = Run.objects.filter(eligible(now), app_id=app.pk).order_by("id")
            run_ids += list(oldest.values_list("pk", flat=True)[:free])
    disabled = Run.objects.filter(eligible(now), app__enabled=False)
    run_ids += list(disabled.values_list("pk", flat=True)[:100])  # to be failed, visibly
    return run_ids


def repair() -> int:
    """Free slots held by runs that are no longer running (a path that ended a run without
    releasing its slot, or a row changed by hand). Returns how many were freed."""
    stale = RunSlot.objects.filter(run__isnull=False).exclude(run__status=Run.Status.RUNNING)
    return RunSlot.objects.filter(pk__in=list(stale.values_list("pk", flat=True))).update(
        run=None, taken_at=None
    )


def in_flight(app_id: int, *, besides: int | None = None) -> int:
    """How many runs of the app hold a slot now (besides one run)."""
    held = RunSlot.objects.filter(app_id=app_id, run__isnull=False)
    if besides is not None:
        held = held.exclude(run_id=besides)
    return held.count()
