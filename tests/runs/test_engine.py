"""The run engine against a fake Dify over real sockets: claim, call, retry, reconcile."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from integrations.models import DifyApp, Run
from integrations.runs import engine, kinds, recovery, slots
from tests.fakes import dify as fd

pytestmark = pytest.mark.django_db


BAD_GATEWAY = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"


def due(run: Run) -> None:
    """Time passes: the run's retry backoff is over."""
    Run.objects.filter(pk=run.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))


def run_posts(fake) -> list:
    return [r for r in fake.requests if r.method == "POST" and r.path.endswith("/workflows/run")]


def test_it_runs_a_queued_run_to_success_over_a_stream(make_run, fake_dify):
    run = make_run(inputs={"query": "hello", "count": 3})
    assert engine.execute(run.pk) == engine.DONE
    run.refresh_from_db()
    assert run.status == Run.Status.SUCCEEDED
    assert run.outputs == {"echo": "hello", "count": 3, "color": None}
    assert run.attempts == 1
    assert run.dify_workflow_run_id in fake_dify.runs
    assert run.dify_task_id
    assert run.started_at and run.finished_at and run.elapsed is not None
    (post,) = run_posts(fake_dify)
    assert post.json["response_mode"] == "streaming"
    assert post.json["user"] == "hub:test"
    assert post.headers["x-trace-id"] == f"hub-run-{run.pk}"


def test_it_runs_in_blocking_mode_when_the_app_prefers_it(make_run, dify_app, fake_dify):
    DifyApp.objects.filter(pk=dify_app.pk).update(response_mode=DifyApp.ResponseMode.BLOCKING)
    run = make_run()
    engine.execute(run.pk)
    run.refresh_from_db()
    assert run.status == Run.Status.SUCCEEDED
    assert run_posts(fake_dify)[0].json["response_mode"] == "blocking"


def test_a_node_failure_is_a_failed_run_with_dify_error(make_run, fake_dify):
    fake_dify.script("run", fd.node_failed("Node Code failed: division by zero"))
    run = make_run()
    engine.execute(run.pk)
    run.refresh_from_db()
    assert run.status == Run.Status.FAILED
    assert run.error_code == "workflow_failed"
    assert "division by zero" in run.error_message
    assert run.dify_workflow_run_id


def test_inputs_are_checked_before_anything_is_sent(make_run, fake_dify):
    run = make_run(inputs={"count": "many", "colour": "red"})
    engine.execute(run.pk)
    run.refresh_from_db()
    assert run.status == Run.Status.FAILED
    assert (run.error_code, run.error_source) == ("hub_invalid_inputs", "hub")
    assert run.error_message.startswith("The hub did not call Dify")
    assert "query" in run.error_message and "colour" in run.error_message
    assert run.attempts == 0  # the hub's own refusal is not an attempt at Dify
    assert run_posts(fake_dify) == []


def test_a_bad_key_fails_at_once_with_a_hint_and_without_the_key(make_run, dify_app, fake_dify):
    DifyApp.objects.filter(pk=dify_app.pk).update(api_key="app-wrongwrongwrong")
    run = make_run()
    assert engine.execute(run.pk) == engine.DONE
    run.refresh_from_db()
    assert run.status == Run.Status.FAILED
    assert run.error_code == "unauthorized"
    assert "Access token is invalid" in run.error_message
    assert "API key" in run.error_message
    assert "app-wrongwrongwrong" not in run.error_message
    assert run.attempts == 1


def test_an_unpublished_workflow_says_to_publish_it(make_run, fake_dify):
    fake_dify.script("run", fd.not_published())
    run = make_run()
    engine.execute(run.pk)
    run.refresh_from_db()
    assert run.error_code == "invalid_param"
    assert "publish the workflow" in run.error_message


def test_too_many_requests_goes_back_to_the_queue_then_succeeds(make_run, fake_dify):
    fake_dify.script("run", fd.too_many_requests(retry_after=1))
    run = make_run()
    step = engine.execute(run.pk)
    assert step.action == "execute" and step.countdown >= 1
    run.refresh_from_db()
    assert run.status == Run.Status.QUEUED
    assert run.error_code == "too_many_requests"
    assert "retrying" in run.error_message
    assert run.next_attempt_at is not None

    due(run)
    assert engine.execute(run.pk) == engine.DONE
    run.refresh_from_db()
    assert run.status == Run.Status.SUCCEEDED
    assert run.attempts == 2
    assert run.error_message == "" and run.error_code == ""
    assert run.next_attempt_at is None
    assert len(run_posts(fake_dify)) == 2


def test_retries_are_bounded(make_run, fake_dify, settings):
    settings.HUB_RUN_MAX_ATTEMPTS = 2
    fake_dify.script("run", fd.internal_server_error(), fd.internal_server_error())
    run = make_run()
    assert engine.execute(run.pk).action == "execute"
    due(run)
    assert engine.execute(run.pk) == engine.DONE
    run.refresh_from_db()
    assert run.status == Run.Status.FAILED
    assert run.error_message.startswith("Gave up after 2 attempts")
    assert run.next_attempt_at is None


def test_a_cut_stream_is_reconciled_from_dify_without_a_second_post(make_run, fake_dify):
    fake_dify.script("run", fd.cut_after_started(finish_after=0.3))
    run = make_run()
    step = engine.execute(run.pk)
    run.refresh_from_db()
    assert run.dify_workflow_run_id  # stored before the cut
    # Dify is still running it when asked right after the cut: ask again later.
    assert step.action == "reconcile"
    assert run.status == Run.Status.RUNNING
    assert "still running" in run.error_message
    assert fake_dify.wait_for_run_status(run.dify_workflow_run_id, "succeeded", timeout=5)
    assert engine.reconcile(run.pk) == engine.DONE
    run.refresh_from_db()
    assert run.status == Run.Status.SUCCEEDED
    assert run.outputs["echo"] == "hello"
    assert run.next_attempt_at is None and run.error_message == ""
    assert len(run_posts(fake_dify)) == 1


def test_a_gateway_timeout_is_looked_up_in_the_logs_not_posted_again(make_run, fake_dify):
    fake_dify.script("run", fd.gateway_error(504, run_seconds=0))
    run = make_run()
    assert engine.execute(run.pk) == engine.DONE
    run.refresh_from_db()
    assert run.status == Run.Status.SUCCEEDED
    assert run.dify_workflow_run_id in fake_dify.runs
    assert len(run_posts(fake_dify)) == 1
    assert any(r.path.startswith("/v1/workflows/logs") for r in fake_dify.requests)


def test_a_silent_stream_with_valid_inputs_is_kept_open_and_retried_once_dify_closes_it(
    make_run, dify_app, fake_dify
):
    # One ping, then silence until Dify closes the stream: the run never started. The hub
    # re-reads the form (the inputs still fit), looks in the logs meanwhile, and retries.
    DifyApp.objects.filter(pk=dify_app.pk).update(first_event_timeout=0.5)
    fake_dify.script("run", fd.stall(max_seconds=2))
    run = make_run()
    step = engine.execute(run.pk)
    run.refresh_from_db()
    assert step.action == "execute"
    assert run.status == Run.Status.QUEUED
    assert run.error_code == "never_started" and "never started" in run.error_message
    assert len(run_posts(fake_dify)) == 1
    assert len(fake_dify.requests_to("/parameters")) == 1
    assert fake_dify.requests_to("/workflows/logs")

    due(run)
    assert engine.execute(run.pk) == engine.DONE
    run.refresh_from_db()
    assert run.status == Run.Status.SUCCEEDED
    assert len(run_posts(fake_dify)) == 2


def test_an_unknown_outcome_not_in_the_logs_is_looked_for_before_posting_again(make_run, fake_dify):
    # The proxy answered; Dify never saw the request.
    fake_dify.script("run", fd.raw_response(502, BAD_GATEWAY, content_type="text/html"))
    run = make_run()
    step = engine.execute(run.pk)
    run.refresh_from_db()
    assert step.action == "reconcile"
    assert "logs show no run of it yet" in run.error_message
    Run.objects.filter(pk=run.pk).update(
        attempt_started_at=timezone.now() - engine.NEVER_STARTED_AFTER - timedelta(seconds=1)
    )
    assert engine.reconcile(run.pk).action == "execute"
    run.refresh_from_db()
    assert run.status == Run.Status.QUEUED and "never started" in run.error_message
    assert len(run_posts(fake_dify)) == 1


def test_a_gateway_timeout_on_a_long_run_is_followed_until_dify_finishes(make_run, fake_dify):
    fake_dify.script("run", fd.gateway_error(504, run_seconds=0.5))
    run = make_run()
    assert engine.execute(run.pk).action == "reconcile"
    run.refresh_from_db()
    assert run.status == Run.Status.RUNNING
    # Poll as the reconcile task would, until Dify's logs show the finished run.
    for _ in range(50):
        if engine.reconcile(run.pk) == engine.DONE:
            break
        time.sleep(0.1)
    run.refresh_from_db()
    assert run.status == Run.Status.SUCCEEDED
    assert len(run_posts(fake_dify)) == 1


def test_the_app_concurrency_limit_holds_runs_in_the_queue(make_run, dify_app, fake_dify):
    DifyApp.objects.filter(pk=dify_app.pk).update(max_concurrent_runs=1)
    dify_app.refresh_from_db()
    first = make_run()
    holding = slots.claim(dify_app, holder="")
    assert holding.pk == first.pk
    waiting = make_run()
    assert engine.execute(waiting.pk) == engine.DONE  # no polling: it waits for a hand-off
    waiting.refresh_from_db()
    assert waiting.status == Run.Status.QUEUED and waiting.attempts == 0
    assert run_posts(fake_dify) == []


def test_a_redelivered_message_does_not_run_twice(make_run, fake_dify):
    run = make_run()
    engine.execute(run.pk)
    assert engine.execute(run.pk) == engine.DONE
    assert len(run_posts(fake_dify)) == 1


def test_a_disabled_app_fails_the_run_with_a_clear_reason(make_run, dify_app, fake_dify):
    DifyApp.objects.filter(pk=dify_app.pk).update(enabled=False)
    run = make_run()
    engine.execute(run.pk)
    run.refresh_from_db()
    assert run.status == Run.Status.FAILED
    assert run.error_message == "The hub: the Dify app 'echo' is disabled in the hub."
    assert (run.error_source, run.attempts) == ("hub", 0)


def test_the_watchdog_ends_a_run_stuck_past_its_timeout(make_run, dify_app):
    started = timezone.now() - timedelta(seconds=dify_app.run_timeout + 5)
    stuck = make_run(status=Run.Status.RUNNING, started_at=started, attempt_started_at=started)
    fresh = make_run(
        status=Run.Status.RUNNING, started_at=timezone.now(), attempt_started_at=timezone.now()
    )
    assert recovery.end_stuck_runs(timezone.now()) == [stuck.pk]
    stuck.refresh_from_db()
    fresh.refresh_from_db()
    assert stuck.status == Run.Status.FAILED and stuck.error_code == "hub_timeout"
    assert fresh.status == Run.Status.RUNNING


def test_the_watchdog_asks_dify_before_giving_up(make_run, dify_app, fake_dify):
    finished = make_run()
    engine.execute(finished.pk)
    finished.refresh_from_db()
    started = timezone.now() - timedelta(seconds=dify_app.run_timeout + 5)
    # A run whose worker died after Dify had started it; Dify finished it meanwhile.
    lost = make_run(
        status=Run.Status.RUNNING,
        started_at=started,
        attempt_started_at=started,
        dify_workflow_run_id=finished.dify_workflow_run_id,
    )
    assert recovery.end_stuck_runs(timezone.now()) == []
    lost.refresh_from_db()
    assert lost.status == Run.Status.SUCCEEDED
    assert lost.outputs == finished.outputs


def test_queued_runs_are_handed_the_free_slots_oldest_first(make_run, dify_app):
    DifyApp.objects.filter(pk=dify_app.pk).update(max_concurrent_runs=2)
    runs = [make_run() for _ in range(3)]
    assert slots.pending_hand_offs(timezone.now()) == [runs[0].pk, runs[1].pk]


def test_a_failing_follow_up_fails_the_run_instead_of_leaving_it_running(
    make_run, fake_dify, monkeypatch
):
    monkeypatch.setitem(kinds._KINDS, Run.Kind.MANUAL, kinds.RunKind(after_success=len))
    run = make_run()
    assert engine.execute(run.pk) == engine.DONE
    run.refresh_from_db()
    assert run.status == Run.Status.FAILED
    assert run.error_code == "hub_error"
    assert run.error_message.startswith("The hub: Dify succeeded, but the hub failed afterwards")
    assert run.outputs["echo"] == "hello"


# --- what real Dify does that the engine must expect (captures 83, 91, 94b) -----------------


def test_an_app_whose_form_was_never_loaded_has_it_read_before_the_first_call(
    make_run, dify_app, fake_dify
):
    DifyApp.objects.filter(pk=dify_app.pk).update(input_form=[], form_loaded_at=None)
    run = make_run(inputs={"query": "x" * 300})  # over the form's max_length of 256
    engine.execute(run.pk)
    run.refresh_from_db()
    assert run.status == Run.Status.FAILED and run.error_code == "hub_invalid_inputs"
    assert "query" in run.error_message and "256" in run.error_message
    assert len(fake_dify.requests_to("/parameters")) == 1
    assert run_posts(fake_dify) == []  # refused before anything was sent
    assert run.attempts == 0


def test_a_silent_stream_from_a_form_that_changed_in_dify_fails_with_the_forms_reason(
    make_run, dify_app, fake_dify
):
    # The hub's copy of the form is fresh but out of date: Dify now allows 10 characters.
    DifyApp.objects.filter(pk=dify_app.pk).update(first_event_timeout=0.5)
    fake_dify.input_form[0]["text-input"]["max_length"] = 10
    run = make_run(inputs={"query": "longer than ten"})
    started = time.monotonic()
    assert engine.execute(run.pk) == engine.DONE
    run.refresh_from_db()
    assert run.status == Run.Status.FAILED
    assert (run.error_code, run.error_source) == ("invalid_inputs", "dify")
    assert "Dify did not start the run" in run.error_message
    assert "query" in run.error_message and "10" in run.error_message
    assert len(run_posts(fake_dify)) == 1  # one POST, no re-POST to surface the error
    assert time.monotonic() - started < 10  # the first-event timeout, not Dify's 300 s
    dify_app.refresh_from_db()
    assert dify_app.fields[0].max_length == 10  # the new form is kept


def test_a_node_that_fails_is_named_in_the_error(make_run, fake_dify):
    fake_dify.script(
        "run",
        fd.node_failed(
            "[Errno 111] Connection refused", node_type="http-request", title="Closed port HTTP"
        ),
    )
    run = make_run()
    engine.execute(run.pk)
    run.refresh_from_db()
    assert run.error_message == (
        "Dify: the workflow failed at node 'Closed port HTTP' (http-request): "
        "[Errno 111] Connection refused"
    )
    assert run.error_source == "dify"


def test_dify_at_its_concurrency_limit_slows_the_app_down_and_never_fails_the_run(
    make_run, dify_app, fake_dify
):
    # Real Dify refuses with 400 invalid_param (not 429), without Retry-After (capture 92).
    fake_dify.script("run", fd.concurrency_limit(limit=2, app_id=fake_dify.app_id))
    other = make_run()
    slots.claim(dify_app, holder="")  # another run of the app is in flight
    run = make_run()
    engine.execute(run.pk)
    run.refresh_from_db()
    assert run.status == Run.Status.QUEUED and run.attempts == 0
    assert "Dify's limit of concurrent runs" in run.error_message
    assert run.next_attempt_at > timezone.now() + timedelta(seconds=5)
    dify_app.refresh_from_db()
    assert dify_app.response_mode == DifyApp.ResponseMode.STREAMING
    assert Run.objects.get(pk=other.pk).status == Run.Status.RUNNING


def test_an_app_limited_to_one_in_dify_is_switched_to_blocking_and_runs(db, make_run):
    from tests.fakes.dify import FakeDify

    with FakeDify(max_active_requests=1, close_delay=0, ping_interval=0.2) as limited:
        app = DifyApp.objects.create(
            name="limited",
            base_url=limited.url,
            api_key=limited.api_key,
            form_loaded_at=timezone.now(),
            input_form=[
                {"variable": "query", "label": "q", "type": "text-input", "required": True}
            ],
        )
        run = make_run(app=app)
        assert engine.execute(run.pk) == engine.DONE
        run.refresh_from_db()
        app.refresh_from_db()
    assert run.status == Run.Status.SUCCEEDED
    assert app.response_mode == DifyApp.ResponseMode.BLOCKING
    assert "Dify counts a streaming run twice" in app.notice
    posts = [r.json["response_mode"] for r in limited.requests_to("/workflows/run")]
    assert posts == ["streaming", "blocking"]  # the refused streaming call, then blocking


@pytest.fixture
def chatflow_app(db):
    from tests.fakes.dify import ECHO_CHATFLOW, FakeDify

    with FakeDify(
        app_mode="advanced-chat", input_form=[], name=ECHO_CHATFLOW.name, close_delay=0
    ) as fake:
        app = DifyApp.objects.create(
            name="chatflow",
            base_url=fake.url,
            api_key=fake.api_key,
            mode=DifyApp.Mode.ADVANCED_CHAT,
            form_loaded_at=timezone.now(),
            first_event_timeout=2,
        )
        yield app, fake


def test_a_chatflow_run_records_the_tokens_of_its_message_end(make_run, chatflow_app):
    app, fake = chatflow_app
    fake.script("chat", fd.success(total_tokens=31))
    run = make_run(app=app, inputs={}, query="Good morning")
    engine.execute(run.pk)
    run.refresh_from_db()
    assert run.status == Run.Status.SUCCEEDED
    assert run.outputs["answer"] == "You said: Good morning (turn 1)"
    assert run.total_tokens == 31 and run.dify_workflow_run_id in fake.runs


def test_a_cut_chatflow_stream_is_reconciled_by_its_run_id(make_run, chatflow_app):
    app, fake = chatflow_app
    fake.script("chat", fd.cut_after_started(finish_after=0.2))
    run = make_run(app=app, inputs={}, query="hello")
    step = engine.execute(run.pk)
    run.refresh_from_db()
    assert run.dify_workflow_run_id  # from the stream's workflow_started
    assert fake.wait_for_run_status(run.dify_workflow_run_id, "succeeded", timeout=5)
    if step.action == "reconcile":
        assert engine.reconcile(run.pk) == engine.DONE
    run.refresh_from_db()
    assert run.status == Run.Status.SUCCEEDED
    assert run.outputs["answer"].startswith("You said: hello")
    assert len(fake.requests_to("/chat-messages")) == 1


def test_a_chat_run_without_a_run_id_cannot_be_looked_up_and_is_not_sent_again(
    make_run, chatflow_app
):
    app, fake = chatflow_app
    DifyApp.objects.filter(pk=app.pk).update(response_mode=DifyApp.ResponseMode.BLOCKING)
    fake.script("chat", fd.drop_connection())
    run = make_run(app=app, inputs={}, query="hello")
    engine.execute(run.pk)
    run.refresh_from_db()
    assert run.status == Run.Status.FAILED and run.error_code == "outcome_unknown"
    assert "cannot be looked up" in run.error_message
    assert len(fake.requests_to("/chat-messages")) == 1
