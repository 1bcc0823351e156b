"""One Run per (digest, slot); missed slots within the grace run, older ones are skipped."""

from __future__ import annotations

from datetime import timedelta

import pytest

from integrations.digests.firing import catch_up, claim_slot, fire
from integrations.models import Run
from tests.digests.conftest import utc

pytestmark = pytest.mark.django_db


def test_a_beat_fire_creates_the_run_for_its_slot_with_rendered_inputs(make_digest):
    digest = make_digest()
    run = fire(digest, utc(2026, 11, 21, 7, 0, 0, 300_000))  # 08:00:00.3 in Berlin
    assert run.slot == utc(2026, 11, 21, 7)
    assert run.status == Run.Status.QUEUED
    assert run.kind == Run.Kind.DIGEST
    assert run.inputs == {"query": "Weather for Saturday 2026-11-21 at 08:00"}
    assert run.dify_user == f"hub:digest:{digest.pk}"
    assert run.source.endswith("slot 2026-11-21 08:00 Europe/Berlin, fired by beat")


def test_a_fire_that_waited_past_the_next_slot_claims_both_slots(make_digest):
    # A minutely digest whose 07:00 fire sat in a busy queue until 07:01:10.
    digest = make_digest(cron="* * * * *", active_since=utc(2026, 11, 21, 6, 59, 30))
    run = fire(digest, utc(2026, 11, 21, 7, 1, 10))
    runs = list(Run.objects.filter(digest=digest).order_by("slot"))
    assert [(r.slot, r.status) for r in runs] == [
        (utc(2026, 11, 21, 7, 0), Run.Status.QUEUED),
        (utc(2026, 11, 21, 7, 1), Run.Status.QUEUED),
    ]
    assert run == runs[-1]
    assert runs[0].source.endswith("caught up after its time")
    assert runs[1].source.endswith("fired by beat")
    assert catch_up(digest, utc(2026, 11, 21, 7, 2, 30)) == []  # nothing left to the sweep


def test_a_second_fire_for_the_same_slot_makes_no_second_run(make_digest):
    digest = make_digest()
    first = fire(digest, utc(2026, 11, 21, 7, 0, 1))
    second = fire(digest, utc(2026, 11, 21, 7, 0, 40))
    assert first.pk == second.pk
    assert Run.objects.filter(digest=digest).count() == 1


def test_the_database_refuses_a_second_run_of_a_slot(make_digest):
    from django.db import IntegrityError, transaction

    digest = make_digest()
    run, created = claim_slot(digest, utc(2026, 11, 21, 7), utc(2026, 11, 21, 7))
    assert created
    with pytest.raises(IntegrityError), transaction.atomic():
        Run.objects.create(kind=Run.Kind.DIGEST, digest=digest, slot=run.slot, app=digest.app)


def test_a_disabled_digest_does_not_fire(make_digest):
    digest = make_digest(enabled=False)
    assert fire(digest, utc(2026, 11, 21, 7)) is None


def test_a_slot_missed_within_the_grace_runs_once_after_start_up(make_digest):
    digest = make_digest(catchup_grace=3600)
    now = utc(2026, 11, 21, 7, 40)  # 08:40 Berlin: the 08:00 slot passed while we were down
    Run.objects.create(
        kind=Run.Kind.DIGEST,
        digest=digest,
        slot=utc(2026, 11, 20, 7),
        app=digest.app,
        status=Run.Status.SUCCEEDED,
    )
    (run,) = catch_up(digest, now)
    assert run.slot == utc(2026, 11, 21, 7) and run.status == Run.Status.QUEUED
    assert run.source.endswith("08:00 Europe/Berlin, caught up after its time")
    assert catch_up(digest, now + timedelta(minutes=1)) == []


def test_older_missed_slots_are_recorded_as_skipped(make_digest):
    digest = make_digest(catchup_grace=3600, active_since=utc(2026, 11, 18, 12))
    now = utc(2026, 11, 21, 7, 30)  # down since the 18th; today's 08:00 is 30 min old
    runs = catch_up(digest, now)
    assert [(r.slot, r.status) for r in runs] == [
        (utc(2026, 11, 19, 7), Run.Status.SKIPPED),
        (utc(2026, 11, 20, 7), Run.Status.SKIPPED),
        (utc(2026, 11, 21, 7), Run.Status.QUEUED),
    ]
    skipped = runs[0]
    assert skipped.error_code == "missed_slot"
    assert "more than the digest's catch-up grace of 60 min" in skipped.error_message
    assert catch_up(digest, now) == []


def test_beat_firing_late_after_downtime_skips_a_slot_older_than_the_grace(make_digest):
    digest = make_digest(catchup_grace=600)
    run = fire(digest, utc(2026, 11, 21, 9))  # beat came back two hours after 08:00 Berlin
    assert run.slot == utc(2026, 11, 21, 7)
    assert run.status == Run.Status.SKIPPED


def test_the_sweep_leaves_a_fresh_slot_to_beat(make_digest):
    digest = make_digest(active_since=utc(2026, 11, 20, 12))
    assert catch_up(digest, utc(2026, 11, 21, 7, 0, 30)) == []


def test_slots_before_the_digest_existed_are_not_caught_up(make_digest):
    digest = make_digest(active_since=utc(2026, 11, 21, 7, 30))
    assert catch_up(digest, utc(2026, 11, 22, 6)) == []


@pytest.mark.parametrize(
    ("day", "expected_utc"),
    [((2026, 3, 29), (2026, 3, 29, 6)), ((2026, 10, 25), (2026, 10, 25, 7))],
    ids=["spring-forward", "fall-back"],
)
def test_a_daily_berlin_digest_runs_once_at_local_eight_when_clocks_change(
    make_digest, day, expected_utc
):
    digest = make_digest(active_since=utc(*day) - timedelta(days=1))
    # Sweep every five minutes through the whole day, as the minutely housekeeping would.
    now = utc(*day)
    while now < utc(*day) + timedelta(days=1):
        catch_up(digest, now)
        fire(digest, now)
        now += timedelta(minutes=5)
    todays = Run.objects.filter(digest=digest, slot__date=utc(*day).date())
    assert [r.slot for r in todays] == [utc(*expected_utc)]


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        ((2026, 3, 28, 12), (2026, 3, 29, 12), [(2026, 3, 29, 1, 30)]),
        ((2026, 10, 24, 12), (2026, 10, 25, 12), [(2026, 10, 25, 0, 30)]),
    ],
    ids=["missing-hour", "repeated-hour"],
)
def test_a_slot_in_the_changed_hour_runs_exactly_once(make_digest, start, end, expected):
    digest = make_digest(cron="30 2 * * *", active_since=utc(*start))
    now = utc(*start)
    while now <= utc(*end):
        catch_up(digest, now)
        fire(digest, now)
        now += timedelta(minutes=1)
    assert [r.slot for r in Run.objects.filter(digest=digest)] == [utc(*e) for e in expected]
