"""The client parsing the exact bytes real Dify 1.14.1 sent (served over a real socket)."""

from __future__ import annotations

import datetime as dt

import pytest

from integrations.dify import DifyClient, DifyStreamStalled, LogEntry
from tests.dify.conftest import capture, capture_bytes
from tests.fakes.dify import raw_response, replay

SSE = "text/event-stream; charset=utf-8"


def _body(name: str) -> str:
    return capture(name)["response"]["body_text"]


def _content_type(name: str) -> str:
    return dict(capture(name)["response"]["headers"])["content-type"]


def serve_json(fake, kind: str, name: str) -> None:
    fake.script(kind, raw_response(200, _body(name), content_type=_content_type(name)))


def test_it_parses_the_real_blocking_run_answer(fake, client):
    serve_json(fake, "run", "01_run_blocking_ok.json")
    seen = []

    result = client.run_app(
        "workflow",
        {"query": "hello world", "count": 3, "color": "green"},
        user="capture-user-1",
        response_mode="blocking",
        on_started=lambda task_id, run_id: seen.append((task_id, run_id)),
    )

    assert result.task_id == "6f4a685b-e97e-4746-9394-91733f2d4db5"
    assert result.workflow_run_id == "ad450eca-3c68-4237-913c-8c88e9fb14bd"
    assert result.status == "succeeded" and result.succeeded
    assert result.outputs == {"echo": "hello world", "count": 3, "color": "green"}
    assert result.error is None
    assert result.elapsed_time == pytest.approx(0.038267)
    assert result.total_tokens == 0
    assert seen == [(result.task_id, result.workflow_run_id)]


def test_it_parses_a_real_blocking_run_with_optional_inputs_omitted(fake, client):
    serve_json(fake, "run", "03_run_blocking_optional_inputs_omitted.json")

    result = client.run_app(
        "workflow", {"query": "only required"}, user="u", response_mode="blocking"
    )

    assert result.outputs == {"echo": "only required", "count": None, "color": None}


def test_it_reads_the_real_stream_chunked_as_dify_sent_it(fake, client):
    cap = capture("02_run_streaming_ok.json")
    fake.script(
        "run",
        replay(
            capture_bytes("02_run_streaming_ok.sse.txt"),
            chunk_sizes=[c["bytes"] for c in cap["chunks_received"]],
            times=[c["t_s"] for c in cap["chunks_received"]],
        ),
    )
    seen = []

    result = client.run_app(
        "workflow", {"query": "hello world"}, user="u", on_started=lambda *ids: seen.append(ids)
    )

    assert result.status == "succeeded"
    assert result.task_id == "b9ae3a91-31b1-490c-837d-d432e1e1384a"
    assert result.workflow_run_id == "c2a1ea08-1935-4d0f-b08f-8f096befe576"
    assert result.outputs == {"echo": "hello world", "count": 3, "color": "green"}
    assert result.elapsed_time == pytest.approx(0.033119)
    assert seen == [(result.task_id, result.workflow_run_id)]


def test_it_survives_the_real_25s_node_replayed_faster_thanks_to_the_pings(fake):
    cap = capture("67_slow_app_streaming_25s_node_not_stopped.json")
    fake.script(
        "run",
        replay(
            capture_bytes("67_slow_app_streaming_25s_node_not_stopped.sse.txt"),
            chunk_sizes=[c["bytes"] for c in cap["chunks_received"]],
            times=[c["t_s"] for c in cap["chunks_received"]],
            time_scale=0.04,  # 10 s ping gaps become 0.4 s
        ),
    )
    client = DifyClient(fake.url, fake.api_key, read_timeout=0.7, first_event_timeout=0.7)

    result = client.run_app("workflow", {"query": "hello world"}, user="u")

    assert result.status == "succeeded"
    assert result.outputs["http_body"] == '{"slow":"done"}'


def test_it_reports_the_real_stopped_stream_as_a_stopped_run(fake, client):
    fake.script(
        "run",
        raw_response(
            200, capture_bytes("61_slow_app_run_streaming_stopped_midway.sse.txt"), content_type=SSE
        ),
    )

    result = client.run_app("workflow", {"query": "hello world"}, user="u")

    assert result.status == "stopped"
    assert not result.succeeded
    assert result.error == "Stopped by user."
    assert result.outputs == {}
    assert result.workflow_run_id == "9273be48-212c-47ba-8c47-9de22e6183fa"


@pytest.mark.parametrize(
    "name", ["05_run_streaming_missing_required_input", "05b_run_streaming_wrong_type_input"]
)
def test_it_reports_the_real_ping_only_stream_as_stalled(fake, client, name):
    fake.script("run", raw_response(200, capture_bytes(f"{name}.sse.txt"), content_type=SSE))

    with pytest.raises(DifyStreamStalled) as info:
        client.run_app("workflow", {"count": 1}, user="u")

    assert "invalid inputs" in info.value.message


def test_it_parses_the_real_info_answer(fake, client):
    serve_json(fake, "info", "22_get_info.json")

    info = client.info()

    assert (info.name, info.mode) == ("echo-workflow", "workflow")


def test_it_parses_the_real_info_answer_of_an_unpublished_app(fake, client):
    serve_json(fake, "info", "43_unpublished_app_info.json")

    assert client.info().name == "echo-unpublished"


def test_it_parses_the_real_parameters_answer(fake, client):
    serve_json(fake, "parameters", "21_get_parameters.json")

    params = client.parameters()

    assert [f.variable for f in params.input_form] == ["query", "count", "color"]


@pytest.mark.parametrize(
    ("name", "status", "outputs"),
    [
        (
            "25_get_run_detail_blocking_run",
            "succeeded",
            {"echo": "hello world", "count": 3, "color": "green"},
        ),
        (
            "68_get_run_detail_long_run",
            "succeeded",
            {"echo": "hello world", "count": 3, "color": "green", "http_body": '{"slow":"done"}'},
        ),
        ("63_get_run_detail_stopped_run", "running", {}),  # a stopped run reads back as running
    ],
)
def test_it_parses_real_run_details(fake, client, name, status, outputs):
    cap = capture(f"{name}.json")
    serve_json(fake, "get_run", f"{name}.json")
    run_id = cap["response"]["body_json"]["id"]

    result = client.get_run(run_id)

    assert result.workflow_run_id == run_id
    assert result.task_id is None
    assert result.status == status
    assert result.outputs == outputs
    assert result.elapsed_time == cap["response"]["body_json"]["elapsed_time"]


def test_it_parses_the_real_logs_answer_and_filters_by_user_and_time(fake, client):
    serve_json(fake, "logs", "32_get_workflow_logs.json")
    after = dt.datetime.fromtimestamp(1795225895, dt.UTC)

    entries = client.find_runs(user="capture-user-1", created_after=after, limit=5)

    # filtered on the *run's* created_at (73466838 started at ...894 but was logged at ...895)
    assert entries == [
        LogEntry("e9000f36-401c-41d7-a7df-4a75fc88f832", "succeeded", after, "capture-user-1"),
        LogEntry("7930f96f-ee5d-4b42-908b-e69b4c86a6c7", "succeeded", after, "capture-user-1"),
        LogEntry("c935c71a-66a1-4dd2-b764-1176800f573d", "succeeded", after, "capture-user-1"),
    ]
    query = fake.requests[-1].query
    assert query["created_by_end_user_session_id"] == "capture-user-1"
    assert query["created_at__after"] == "2026-11-21T01:51:35+00:00"
    assert query["limit"] == "5"


def test_it_drops_log_entries_of_other_users_even_if_the_server_ignores_the_filter(fake, client):
    serve_json(fake, "logs", "32_get_workflow_logs.json")

    entries = client.find_runs(
        user="someone-else", created_after=dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    )

    assert entries == []


@pytest.mark.parametrize("name", ["29_stop_finished_task", "30_stop_unknown_task"])
def test_it_accepts_the_real_stop_answer(fake, client, name):
    cap = capture(f"{name}.json")
    serve_json(fake, "stop", f"{name}.json")
    task_id = cap["request"]["path"].split("/")[-2]

    assert client.stop(task_id, user="capture-user-1") is None
    assert fake.requests[-1].path == cap["request"]["path"]
    assert fake.requests[-1].json == {"user": "capture-user-1"}
