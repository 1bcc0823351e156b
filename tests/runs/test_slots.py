"""The slot scheduler: FIFO hand-off, no polling, and a slot freed however a run ends."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from integrations.gitlab.intake import supersede_older
from integrations.models import DifyApp, Run, RunSlot
from integrations.runs import engine, recovery, slots
from tests.fakes import dify as fd

pytestmark = pytest.mark.django_db

TOO_MANY = (
    "Too many requests. Please try again later. The current maximum concurrent requests "
    "allowed for 5b3d7b0e-0000-4000-8000-000000000001 is 2."
)


def held(app: DifyApp) -> list[int]:
    return list(RunSlot.objects.filter(app=app, run__isnull=False).values_list("run_id", flat=True))


def limit(app: DifyApp, cap: int) -> DifyApp:
    DifyApp.objects.filter(pk=app.pk).update(max_concurrent_runs=cap)
    app.refresh_from_db()
    return app


def test_the_oldest_queued_run_starts_whichever_message_arrives(make_run, dify_app, fake_dify):
    limit(dify_app, 1)
    first, second, third = make_run(), make_run(), make_run()

    # The message of the newest run starts the oldest; the thread then goes on with the
    # app's next runs, in order, one at a time (the app's cap is 1).
    assert engine.execute(third.pk) == engine.DONE
    runs = Run.objects.filter(pk__in=[first.pk, second.pk, third.pk]).order_by("started_at")
    assert [r.pk for r in runs] == [first.pk, second.pk, third.pk]
    assert all(r.status == Run.Status.SUCCEEDED for r in runs)
    assert runs[1].started_at >= runs[0].finished_at or runs[0].status == "succeeded"


def test_the_next_run_in_line_is_the_oldest_due_one(make_run, dify_app):
    limit(dify_app, 1)
    first, second = make_run(), make_run()
    assert slots.hand_off(dify_app.pk) == first.pk
    Run.objects.filter(pk=first.pk).update(status=Run.Status.CANCELLED)
    assert slots.hand_off(dify_app.pk) == second.pk


def test_a_run_without_a_free_slot_waits_without_polling(make_run, dify_app, fake_dify):
    limit(dify_app, 1)
    holder = make_run()
    assert slots.claim(dify_app, holder="").pk == holder.pk
    waiting = make_run()
    before = Run.objects.get(pk=waiting.pk).updated_at

    assert engine.execute(waiting.pk) == engine.DONE  # no countdown: nothing to poll
    waiting.refresh_from_db()
    assert waiting.status == Run.Status.QUEUED and waiting.updated_at == before
    assert fake_dify.requests == []


def test_ending_a_run_hands_its_slot_over_after_the_commit(
    make_run, dify_app, fake_dify, django_capture_on_commit_callbacks
):
    limit(dify_app, 1)
    first, second = make_run(), make_run()
    slots.claim(dify_app, holder="")
    with django_capture_on_commit_callbacks() as callbacks:
        engine.attempt(Run.objects.select_related("app").get(pk=first.pk))
    assert held(dify_app) == []
    assert len(callbacks) == 1  # the hand-off, sent once the end is committed
    assert slots.hand_off(dify_app.pk) == second.pk


def test_a_retry_waiting_out_its_backoff_is_not_handed_a_slot(make_run, dify_app):
    later = timezone.now() + timedelta(minutes=5)
    backing_off = make_run(next_attempt_at=later)
    ready = make_run()
    assert slots.hand_off(dify_app.pk) == ready.pk
    assert slots.pending_hand_offs(timezone.now()) == [ready.pk]
    assert backing_off.pk not in slots.pending_hand_offs(timezone.now())


def test_claims_stop_at_the_cap_and_the_sweep_hands_out_only_free_slots(make_run, dify_app):
    limit(dify_app, 2)
    runs = [make_run() for _ in range(4)]
    started = [slots.claim(dify_app, holder="w:1"), slots.claim(dify_app, holder="w:1")]
    assert [run.pk for run in started] == [runs[0].pk, runs[1].pk]
    assert slots.claim(dify_app, holder="w:1") is None
    assert slots.pending_hand_offs(timezone.now()) == []


def test_raising_the_cap_creates_the_missing_slots(make_run, dify_app):
    limit(dify_app, 1)
    make_run(), make_run()
    assert slots.claim(dify_app, holder="") is not None
    assert slots.claim(dify_app, holder="") is None
    limit(dify_app, 2)
    assert slots.claim(dify_app, holder="") is not None
    assert RunSlot.objects.filter(app=dify_app).count() == 2


@pytest.mark.parametrize(
    "behaviour, status",
    [
        (fd.success(), Run.Status.SUCCEEDED),
        (fd.node_failed(), Run.Status.FAILED),
        (fd.unauthorized(), Run.Status.FAILED),
        (fd.internal_server_error(), Run.Status.QUEUED),  # a retry later
        (fd.invalid_param(TOO_MANY), Run.Status.QUEUED),  # Dify at its own limit
    ],
    ids=["succeeded", "node-failed", "bad-key", "retry", "dify-concurrency-limit"],
)
def test_every_way_out_of_running_frees_the_slot(make_run, dify_app, fake_dify, behaviour, status):
    fake_dify.script("run", behaviour)
    run = make_run()
    engine.execute(run.pk)
    run.refresh_from_db()
    assert run.status == status
    assert held(dify_app) == []


def test_the_hubs_own_refusals_free_the_slot(make_run, dify_app, fake_dify):
    refused = make_run(inputs={"colour": "red"})  # query missing: refused before Dify
    engine.execute(refused.pk)
    DifyApp.objects.filter(pk=dify_app.pk).update(enabled=False)
    disabled = make_run()
    engine.execute(disabled.pk)
    assert Run.objects.get(pk=refused.pk).status == Run.Status.FAILED
    assert Run.objects.get(pk=disabled.pk).status == Run.Status.FAILED
    assert held(dify_app) == []


def test_a_concurrency_refusal_holds_the_slot_back_and_never_fails_the_run(
    make_run, dify_app, fake_dify
):
    limit(dify_app, 2)
    other = make_run()
    assert slots.claim(dify_app, holder="") is not None  # another run of the app is in flight
    fake_dify.script("run", fd.invalid_param(TOO_MANY))
    run = make_run()
    engine.execute(run.pk)
    run.refresh_from_db()
    assert run.status == Run.Status.QUEUED and run.attempts == 0
    assert "Dify's limit of concurrent runs" in run.error_message
    cooling = RunSlot.objects.get(app=dify_app, run__isnull=True)
    assert cooling.cooling_until > timezone.now() + timedelta(seconds=5)
    assert held(dify_app) == [other.pk]
    assert slots.claim(dify_app, holder="") is None  # the cooling slot is not handed out


def test_a_streaming_app_refused_with_nothing_else_running_switches_to_blocking(
    make_run, dify_app, fake_dify
):
    fake_dify.script("run", fd.invalid_param(TOO_MANY.replace("is 2.", "is 1.")))
    run = make_run()
    assert engine.execute(run.pk) == engine.DONE  # retried at once, in the same task
    dify_app.refresh_from_db()
    assert dify_app.response_mode == DifyApp.ResponseMode.BLOCKING
    assert "Dify counts a streaming run twice" in dify_app.notice
    run.refresh_from_db()
    assert run.status == Run.Status.SUCCEEDED
    assert fake_dify.requests_to("/workflows/run")[-1].json["response_mode"] == "blocking"


def test_a_superseded_review_frees_its_slot(make_run, dify_app):
    run = make_run()
    assert slots.claim(dify_app, holder="") is not None
    newer = make_run()
    Run.objects.filter(pk__in=[run.pk, newer.pk]).update(merge_request_key="1!1")
    newer.refresh_from_db()
    assert supersede_older(newer) == [run.pk]
    assert held(dify_app) == []


def test_the_watchdog_frees_the_slot_of_a_run_past_its_timeout(make_run, dify_app):
    run = make_run()
    slots.claim(dify_app, holder="")
    Run.objects.filter(pk=run.pk).update(
        attempt_started_at=timezone.now() - timedelta(seconds=dify_app.run_timeout + 1)
    )
    assert recovery.end_stuck_runs(timezone.now()) == [run.pk]
    assert held(dify_app) == []


def test_the_sweep_frees_a_slot_left_held_by_a_run_that_ended(make_run, dify_app):
    run = make_run()
    slots.claim(dify_app, holder="")
    Run.objects.filter(pk=run.pk).update(status=Run.Status.CANCELLED)  # by hand, say
    assert slots.repair() == 1
    assert held(dify_app) == []


def test_an_unknown_outcome_with_no_run_in_dify_gives_its_slot_to_the_next_run(
    make_run, dify_app, fake_dify
):
    limit(dify_app, 1)
    bad_gateway = "<html><head><title>502 Bad Gateway</title></head></html>"
    fake_dify.script("run", fd.raw_response(502, bad_gateway, content_type="text/html"))
    waiting = make_run()
    step = engine.execute(waiting.pk)
    assert step.action == "reconcile"  # looked for in Dify's logs for a while...
    assert held(dify_app) == []  # ...without holding the app's only slot meanwhile
    assert Run.objects.get(pk=waiting.pk).status == Run.Status.RUNNING
