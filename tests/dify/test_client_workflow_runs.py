"""DifyClient against FakeDify over real sockets: workflow runs, errors, reconciliation."""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest

from integrations.dify import (
    DifyAuthError,
    DifyClient,
    DifyError,
    DifyInputError,
    DifyOutcomeUnknown,
    DifyPermanentError,
    DifyRetryableError,
    DifyStreamStalled,
)
from tests.fakes.dify import (
    app_unavailable,
    cut_after_started,
    drop_connection,
    forbidden,
    gateway_error,
    internal_server_error,
    invalid_param,
    node_failed,
    not_found,
    not_published,
    paused,
    rate_limit_error,
    raw_response,
    slow,
    stall,
    stream_error,
    success,
    too_many_requests,
    unauthorized,
    unknown_500,
)

GOOD = {"query": "hello world", "count": 3, "color": "green"}
MODES = ["blocking", "streaming"]


def run_posts(fake):
    return [r for r in fake.requests if r.method == "POST" and r.path.endswith("/run")]


@pytest.mark.parametrize("mode", MODES)
def test_it_runs_a_workflow_and_returns_outputs_ids_and_usage(fake, client, mode):
    fake.script("run", success(total_tokens=42))
    seen = []

    result = client.run_app(
        "workflow",
        GOOD,
        user="hub:test",
        response_mode=mode,
        on_started=lambda *ids: seen.append(ids),
    )

    assert result.succeeded and result.status == "succeeded"
    assert result.outputs == {"echo": "hello world", "count": 3, "color": "green"}
    assert result.task_id and result.workflow_run_id
    assert result.total_tokens == 42
    assert result.elapsed_time is not None and result.elapsed_time >= 0
    assert result.error is None
    assert seen == [(result.task_id, result.workflow_run_id)]
    assert fake.runs[result.workflow_run_id]["status"] == "succeeded"


def test_it_reports_the_ids_while_the_streaming_run_is_still_running(fake, client):
    fake.script("run", slow(0.4))
    seen = []

    def on_started(task_id, run_id):
        seen.append((task_id, run_id, fake.runs[run_id]["status"]))

    result = client.run_app("workflow", GOOD, user="u", on_started=on_started)

    assert seen == [(result.task_id, result.workflow_run_id, "running")]
    assert result.status == "succeeded"


def test_it_sends_the_key_json_headers_user_agent_trace_id_and_user(fake):
    client = DifyClient(fake.url + "/", fake.api_key)

    client.run_app(
        "workflow", GOOD, user="hub:integration-7", trace_id="job-123_abc", response_mode="blocking"
    )

    (request,) = run_posts(fake)
    assert request.path == "/v1/workflows/run"
    assert request.headers["authorization"] == f"Bearer {fake.api_key}"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["accept"] == "application/json"
    assert request.headers["user-agent"] == "dify-hub"
    assert request.headers["x-trace-id"] == "job-123_abc"
    assert request.json == {
        "inputs": GOOD,
        "response_mode": "blocking",
        "user": "hub:integration-7",
    }


def test_it_asks_for_an_event_stream_in_streaming_mode(fake, client):
    client.run_app("workflow", GOOD, user="u")

    (request,) = run_posts(fake)
    assert request.json["response_mode"] == "streaming"
    assert request.headers["accept"] == "text/event-stream"
    assert "x-trace-id" not in request.headers


def test_it_refuses_a_trace_id_dify_would_ignore_before_sending_anything(fake, client):
    with pytest.raises(ValueError, match="trace_id"):
        client.run_app("workflow", GOOD, user="u", trace_id="has spaces/and slashes")

    assert fake.requests == []


def test_it_refuses_an_empty_user(fake, client):
    with pytest.raises(DifyInputError):
        client.run_app("workflow", GOOD, user="")

    assert fake.requests == []


@pytest.mark.parametrize("mode", MODES)
def test_it_returns_a_failed_run_when_a_node_fails(fake, client, mode):
    fake.script("run", node_failed("Node Review run failed: [openai] Rate limit reached"))

    result = client.run_app("workflow", GOOD, user="u", response_mode=mode)

    assert result.status == "failed"
    assert not result.succeeded
    assert result.error == "Node Review run failed: [openai] Rate limit reached"
    assert result.outputs == {}
    assert result.workflow_run_id in fake.runs


@pytest.mark.parametrize("mode", MODES)
def test_it_returns_a_paused_run(fake, client, mode):
    fake.script("run", paused())

    result = client.run_app("workflow", GOOD, user="u", response_mode=mode)

    assert result.status == "paused"
    assert result.workflow_run_id


ERROR_CASES = [
    (unauthorized(), DifyAuthError, "unauthorized", 401),
    (forbidden(), DifyAuthError, "forbidden", 403),
    (invalid_param("query is required in input form"), DifyPermanentError, "invalid_param", 400),
    (not_published(), DifyPermanentError, "invalid_param", 400),
    (not_found("Workflow not found."), DifyPermanentError, "not_found", 404),
    (too_many_requests(), DifyRetryableError, "too_many_requests", 429),
    (rate_limit_error(), DifyPermanentError, "rate_limit_error", 429),
    (internal_server_error(), DifyRetryableError, "internal_server_error", 500),
    (unknown_500(), DifyRetryableError, "unknown", 500),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("behaviour", "cls", "code", "status"), ERROR_CASES, ids=[c[2] + str(c[3]) for c in ERROR_CASES]
)
def test_it_raises_the_right_error_for_each_dify_error_answer(
    fake, client, mode, behaviour, cls, code, status
):
    fake.script("run", behaviour)

    with pytest.raises(DifyError) as info:
        client.run_app("workflow", GOOD, user="u", response_mode=mode)

    assert type(info.value) is cls
    assert (info.value.code, info.value.http_status) == (code, status)
    assert len(run_posts(fake)) == 1  # never retried by the client


def test_it_raises_an_auth_error_for_a_wrong_key_like_real_dify(fake):
    client = DifyClient(fake.url, "app-invalidinvalidinvalid0")

    with pytest.raises(DifyAuthError) as info:
        client.info()

    assert str(info.value) == "Dify 401 unauthorized: Access token is invalid"


def test_it_raises_app_unavailable_for_parameters_of_an_unpublished_app(fake, client):
    fake.script("parameters", app_unavailable())

    with pytest.raises(DifyPermanentError) as info:
        client.parameters()

    assert info.value.code == "app_unavailable"


def test_it_does_not_retry_a_429_itself_but_the_next_call_succeeds(fake, client):
    fake.script("run", too_many_requests(retry_after=2), success())

    with pytest.raises(DifyRetryableError) as info:
        client.run_app("workflow", GOOD, user="u")
    assert info.value.retry_after == 2.0
    assert len(run_posts(fake)) == 1

    result = client.run_app("workflow", GOOD, user="u")

    assert result.succeeded
    assert len(run_posts(fake)) == 2


def test_it_reports_an_unknown_outcome_with_the_run_id_when_the_stream_is_cut(fake, client):
    fake.script("run", cut_after_started())
    started = []

    with pytest.raises(DifyOutcomeUnknown) as info:
        client.run_app(
            "workflow", GOOD, user="hub:cut", on_started=lambda *ids: started.append(ids)
        )

    error = info.value
    assert error.code == "connection_lost"
    assert error.workflow_run_id and error.task_id
    assert started == [(error.task_id, error.workflow_run_id)]
    # the run went on server-side: reconciliation finds it
    assert client.get_run(error.workflow_run_id).status == "succeeded"
    assert client.get_run(error.workflow_run_id).outputs["echo"] == "hello world"


def test_it_finds_a_run_lost_in_a_cut_blocking_call_through_the_logs(fake, client):
    before = dt.datetime.now(dt.UTC)
    fake.script("run", drop_connection())

    with pytest.raises(DifyOutcomeUnknown) as info:
        client.run_app("workflow", GOOD, user="hub:drop", response_mode="blocking")

    assert info.value.code == "connection_lost"
    assert info.value.workflow_run_id is None
    (entry,) = client.find_runs(user="hub:drop", created_after=before)
    assert entry.status == "succeeded" and entry.session_id == "hub:drop"
    assert entry.workflow_run_id in fake.runs


@pytest.mark.parametrize("mode", MODES)
def test_it_reports_an_unknown_outcome_for_a_gateway_timeout_while_the_run_goes_on(
    fake, client, mode
):
    before = dt.datetime.now(dt.UTC)
    fake.script("run", gateway_error(504, run_seconds=0.6))

    with pytest.raises(DifyOutcomeUnknown) as info:
        client.run_app("workflow", GOOD, user="hub:gw", response_mode=mode)

    assert info.value.http_status == 504
    assert info.value.code == "gateway_timeout"
    assert "Gateway" in str(info.value)
    # Dify lists a run in its logs as soon as it starts (captures 81, 95c), still running
    (run_id,) = fake.runs
    (entry,) = client.find_runs(user="hub:gw", created_after=before)
    assert (entry.workflow_run_id, entry.status) == (run_id, "running")
    assert client.get_run(run_id).status == "running"
    assert fake.wait_for_run_status(run_id, "succeeded")
    (entry,) = client.find_runs(user="hub:gw", created_after=before)
    assert (entry.workflow_run_id, entry.status) == (run_id, "succeeded")
    assert client.get_run(run_id).status == "succeeded"


def test_it_gives_up_on_a_stalled_stream_after_first_event_timeout(fake):
    client = DifyClient(fake.url, fake.api_key, first_event_timeout=0.5, read_timeout=30)
    started = time.monotonic()

    with pytest.raises(DifyStreamStalled) as info:
        client.run_app(
            "workflow", {"count": 1}, user="u"
        )  # required 'query' missing: Dify goes silent

    elapsed = time.monotonic() - started
    assert 0.4 < elapsed < 5
    assert isinstance(info.value, DifyOutcomeUnknown)
    assert "invalid inputs" in info.value.message
    assert fake.runs == {}


def test_it_gives_up_on_a_scripted_stall_even_when_inputs_are_valid(fake):
    fake.script("run", stall())
    client = DifyClient(fake.url, fake.api_key, first_event_timeout=0.5)
    started = time.monotonic()

    with pytest.raises(DifyStreamStalled):
        client.run_app("workflow", GOOD, user="u")

    assert time.monotonic() - started < 5


def test_it_does_not_count_pings_as_the_first_event(fake):
    fake.script("run", success(first_event_delay=3, ping_interval=0.1))
    client = DifyClient(fake.url, fake.api_key, first_event_timeout=0.6, read_timeout=30)
    started = time.monotonic()

    with pytest.raises(DifyStreamStalled):
        client.run_app("workflow", GOOD, user="u")

    assert time.monotonic() - started < 2


def test_it_keeps_reading_a_slow_stream_kept_alive_by_pings(fake):
    fake.script("run", slow(1.0, ping_interval=0.2))
    client = DifyClient(fake.url, fake.api_key, first_event_timeout=0.4, read_timeout=0.5)

    result = client.run_app("workflow", GOOD, user="u")

    assert result.succeeded
    assert result.elapsed_time >= 1.0  # twice read_timeout, more than first_event_timeout


def test_it_times_out_between_chunks_after_read_timeout(fake):
    fake.script("run", slow(3, ping_interval=100))
    client = DifyClient(fake.url, fake.api_key, first_event_timeout=0.5, read_timeout=0.6)
    started = time.monotonic()

    with pytest.raises(DifyOutcomeUnknown) as info:
        client.run_app("workflow", GOOD, user="u")

    assert type(info.value) is DifyOutcomeUnknown
    assert info.value.code == "timeout"
    assert info.value.workflow_run_id in fake.runs
    assert time.monotonic() - started < 2


def test_it_reports_a_blocking_read_timeout_as_an_unknown_outcome(fake):
    fake.script("run", slow(2))
    client = DifyClient(fake.url, fake.api_key, read_timeout=0.5)

    with pytest.raises(DifyOutcomeUnknown) as info:
        client.run_app("workflow", GOOD, user="u", response_mode="blocking")

    assert info.value.code == "timeout"


def test_it_raises_the_mapped_error_of_an_in_stream_error_event_with_the_ids(fake, client):
    fake.script(
        "run", stream_error("provider_not_initialize", "No valid model provider credentials found.")
    )

    with pytest.raises(DifyPermanentError) as info:
        client.run_app("workflow", GOOD, user="u")

    assert info.value.code == "provider_not_initialize"
    assert info.value.http_status == 400
    assert info.value.workflow_run_id in fake.runs
    assert info.value.task_id


def test_it_treats_an_in_stream_invalid_param_as_permanent_and_500_as_retryable(fake, client):
    fake.script(
        "run",
        stream_error("invalid_param", "bad", 400),
        stream_error("internal_server_error", "boom", 500),
    )

    with pytest.raises(DifyPermanentError):
        client.run_app("workflow", GOOD, user="u")
    with pytest.raises(DifyRetryableError):
        client.run_app("workflow", GOOD, user="u")


def test_it_reports_a_real_blocking_input_error_from_dify(fake, client):
    with pytest.raises(DifyPermanentError) as info:
        client.run_app(
            "workflow", {"query": "x", "color": "purple"}, user="u", response_mode="blocking"
        )

    assert (
        info.value.message
        == "color in input form must be one of the following: ['red', 'green', 'blue']"
    )


def test_it_stops_a_running_task_and_the_stream_ends_stopped(fake, client):
    fake.script("run", slow(5))

    def stop_right_away(task_id, run_id):
        client.stop(task_id, user="someone-else")  # Dify does not check the user

    started = time.monotonic()
    result = client.run_app("workflow", GOOD, user="u", on_started=stop_right_away)

    assert time.monotonic() - started < 3
    assert result.status == "stopped"
    assert result.error == "Stopped by user."
    assert result.outputs == {}
    # Dify 1.14.1 quirk: the stopped run reads back as running, forever
    assert client.get_run(result.workflow_run_id).status == "running"
    stop_request = fake.requests_to("/stop")[0]
    assert stop_request.path == f"/v1/workflows/tasks/{result.task_id}/stop"
    assert stop_request.json == {"user": "someone-else"}


def test_it_accepts_stopping_an_unknown_task(fake, client):
    assert client.stop("877b1b75-29c9-4f91-bc68-edf686d540ad", user="u") is None


def test_it_maps_run_detail_errors(fake, client):
    with pytest.raises(DifyPermanentError) as missing:
        client.get_run("cd7292f3-53c2-499b-9e85-bd2ddf3345be")
    with pytest.raises(DifyRetryableError) as not_uuid:
        client.get_run("not-a-uuid")

    assert missing.value.code == "not_found"
    assert not_uuid.value.code == "unknown"


def test_it_finds_only_this_users_runs_after_the_given_time(fake, client):
    old = client.run_app("workflow", GOOD, user="hub:a", response_mode="blocking")
    time.sleep(1.05)  # Dify timestamps are whole seconds
    after = dt.datetime.now(dt.UTC)
    mine = client.run_app("workflow", GOOD, user="hub:a", response_mode="blocking")
    client.run_app("workflow", GOOD, user="hub:b", response_mode="blocking")

    entries = client.find_runs(user="hub:a", created_after=after)

    assert [e.workflow_run_id for e in entries] == [mine.workflow_run_id]
    assert old.workflow_run_id not in [e.workflow_run_id for e in entries]
    assert entries[0].created_at.tzinfo is not None


def test_it_explains_a_base_url_without_v1(fake):
    client = DifyClient(fake.url[: -len("/v1")], fake.api_key)

    with pytest.raises(DifyPermanentError) as info:
        client.info()

    assert info.value.code == "not_found"
    assert "/v1" in info.value.message


def test_it_never_puts_the_api_key_in_an_error_message(fake, client):
    fake.script(
        "run",
        raw_response(
            400,
            json.dumps(
                {"code": "invalid_param", "message": f"bad key {fake.api_key}", "status": 400}
            ),
            content_type="application/json",
        ),
    )

    with pytest.raises(DifyError) as info:
        client.run_app("workflow", GOOD, user="u")

    assert fake.api_key not in str(info.value)
    assert fake.api_key not in repr(info.value)
    assert fake.api_key not in repr(client)


def test_it_reports_a_non_json_success_answer_as_unknown_outcome_for_runs(fake, client):
    fake.script("run", raw_response(200, "<html>proxy login</html>", content_type="text/html"))

    with pytest.raises(DifyOutcomeUnknown) as info:
        client.run_app("workflow", GOOD, user="u", response_mode="blocking")

    assert info.value.code == "bad_response"


def test_it_dispatches_a_workflow_app_by_mode(fake, client):
    result = client.run_app("workflow", GOOD, user="u", response_mode="blocking")

    assert result.outputs["echo"] == "hello world"


def test_it_keeps_reading_when_events_trickle_in_slower_than_first_event_timeout(fake):
    fake.script("run", success(event_delay=0.1, ping_interval=0.05))
    client = DifyClient(fake.url, fake.api_key, first_event_timeout=0.25, read_timeout=0.4)

    result = client.run_app("workflow", GOOD, user="u")

    assert result.succeeded
    assert result.outputs["color"] == "green"


def test_its_errors_survive_pickling_for_celery():
    import pickle

    errors = [
        DifyRetryableError("busy", code="too_many_requests", http_status=429, retry_after=3.0),
        DifyOutcomeUnknown("cut", code="connection_lost", task_id="t", workflow_run_id="r"),
        DifyStreamStalled("silent"),
        DifyInputError(["query: required but missing", "x: unknown input variable"]),
        DifyAuthError("Access token is invalid", code="unauthorized", http_status=401),
    ]
    for error in errors:
        clone = pickle.loads(pickle.dumps(error))
        assert type(clone) is type(error)
        assert vars(clone) == vars(error)
        assert str(clone) == str(error)


def test_it_allows_read_timeout_not_first_event_timeout_between_events_once_started(fake):
    # a 1 s silent node (no pings) is longer than first_event_timeout but shorter than
    # read_timeout: the socket timeout must have been raised after workflow_started
    fake.script("run", slow(1.0, ping_interval=100))
    client = DifyClient(fake.url, fake.api_key, first_event_timeout=0.3, read_timeout=3)

    result = client.run_app("workflow", GOOD, user="u")

    assert result.succeeded


def test_it_shrinks_the_socket_timeout_to_the_remaining_first_event_budget(fake):
    # pings at 0 s and 0.45 s, nothing else: the stall must be detected at 0.5 s, not at
    # 0.45 + 0.5 s (waiting a full timeout again after the second ping)
    fake.script("run", success(first_event_delay=5, ping_interval=0.45))
    client = DifyClient(fake.url, fake.api_key, first_event_timeout=0.5, read_timeout=30)
    started = time.monotonic()

    with pytest.raises(DifyStreamStalled):
        client.run_app("workflow", GOOD, user="u")

    assert time.monotonic() - started < 0.8
