"""The fake answers like the real Dify 1.14.1 did in captures 80-97: the same status and
reason, the headers that matter, the same JSON keys and types, the same events in the same
order. Where a capture depends on time (a run in progress, a queue), the fake is driven the
same way with its nodes shortened (the real ones slept 10-25 s).
"""

from __future__ import annotations

import functools
import json
import threading
import time
from pathlib import Path

import pytest
import requests

from tests.dify.conftest import FIXTURES, capture
from tests.dify.test_fake_matches_captures import send_captured_request
from tests.fakes import dify as fd
from tests.fakes.dify import FakeDify

ALL_NEW = sorted(p.stem for p in FIXTURES.glob("[89][0-9]*.json"))
COVERED: set[str] = set()

SLOW_BODY = '{"slept": 1.0, "req": 1}'
FAIL_FORM = [fd.DEFAULT_INPUT_FORM[0]]


def covers(*names: str):
    COVERED.update(names)
    return pytest.mark.parametrize("name", names)


def request_body(name: str) -> dict:
    return capture(f"{name}.json")["request"]["body"]


def status_of(data: dict) -> str:
    """A run's status in a run detail or in the first row of the logs."""
    return data["status"] if "status" in data else data["data"][0]["workflow_run"]["status"]


def shape(value):
    """The JSON's keys (in order) and types, not its values."""
    if isinstance(value, dict):
        return [(key, shape(item)) for key, item in value.items()]
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return None if value is None else type(value).__name__


def real_json(name: str):
    return capture(f"{name}.json")["response"]["body_json"]


def headers_of(name: str) -> dict:
    return {key: value for key, value in capture(f"{name}.json")["response"]["headers"]}


def assert_answers_like(name: str, response: requests.Response, *, exact: bool = False) -> None:
    real = capture(f"{name}.json")["response"]
    assert (response.status_code, response.reason) == (real["status"], real["reason"])
    assert response.headers["Content-Type"] == headers_of(name)["content-type"]
    for header in ("access-control-allow-origin", "access-control-expose-headers", "x-version"):
        assert response.headers[header] == headers_of(name)[header]
    if exact:
        assert response.text == real["body_text"]
    elif real.get("body_json") is not None:
        assert shape(response.json()) == shape(real["body_json"])


def get(fake: FakeDify, path: str, **params) -> requests.Response:
    return requests.get(
        fake.base_url + path,
        params=params,
        headers={"Authorization": f"Bearer {fake.api_key}"},
        timeout=10,
    )


def post(fake: FakeDify, path: str, body: dict, *, stream: bool = False) -> requests.Response:
    return requests.post(
        fake.base_url + path,
        json=body,
        headers={"Authorization": f"Bearer {fake.api_key}"},
        timeout=30,
        stream=stream,
    )


def events_of(raw: bytes) -> list[dict]:
    blocks = [b for b in raw.decode().split("\n\n") if b]
    return [{"ping": True} if b == "event: ping" else json.loads(b[6:]) for b in blocks]


def order_of(events: list[dict], *, pings: bool = True) -> list:
    order = []
    for event in events:
        if event.get("ping"):
            if pings:
                order.append(("ping", None, None))
            continue
        data = event.get("data") or {}
        order.append(
            (None, event["event"], data.get("node_type") if isinstance(data, dict) else None)
        )
    return order


def real_order(name: str, *, pings: bool = True) -> list:
    order = [
        (e["sse_event_field"], e["event"], e["node_type"])
        for e in capture(f"{name}.json")["event_order"]
    ]
    return order if pings else [o for o in order if o[0] != "ping"]


def real_events(name: str) -> list[dict]:
    return [e["data"] for e in capture(f"{name}.json")["events_parsed"] if "data" in e]


once = functools.cache


def slow_fake(**options) -> FakeDify:
    fake = FakeDify(name="slow-http-workflow", ping_interval=0.3, close_delay=0.05, **options)
    fake.default_run = fd.slow(1.2, ping_interval=0.3, http_body=SLOW_BODY)
    return fake


@pytest.fixture
def echo():
    with FakeDify(ping_interval=0.3, close_delay=0.05) as fake:
        yield fake


# --- answers that do not depend on time -----------------------------------------------------


@covers(
    "81c_get_workflow_logs_status_running_filter",
    "94g_get_workflow_logs_limit_0",
    "94h_get_workflow_logs_limit_101",
    "94j_get_workflow_logs_bad_created_at_after",
    "84_run_blocking_text_too_long",
    "83d_get_run_detail_of_stalled_invalid_input_run",
    "94i_get_workflow_logs_unknown_user",
)
def test_the_echo_app_answers_these_byte_for_byte(echo, name):
    assert_answers_like(name, send_captured_request(echo, capture(f"{name}.json")), exact=True)


@covers(
    "85_multi_output_app_get_parameters",
    "85b_multi_output_app_get_info",
    "86e_multi_output_app_run_blocking_json_object_given_string",
)
def test_the_multi_output_app_answers_these_byte_for_byte(name):
    app = fd.MULTI_OUTPUT
    with FakeDify(
        input_form=app.input_form, name=app.name, description=app.description, outputs=app.outputs
    ) as fake:
        assert_answers_like(name, send_captured_request(fake, capture(f"{name}.json")), exact=True)


@covers(
    "87_chatflow_get_parameters",
    "87b_chatflow_get_info",
    "90c_stop_finished_chat_task",
    "90f_workflows_run_with_chatflow_key",
    "90g_get_messages_without_conversation_id",
    "90j_chat_messages_query_absent",
    "90k_chatflow_get_workflow_logs",
    "90d_chat_messages_unknown_conversation_id",
)
def test_the_chatflow_answers_these_byte_for_byte(chatflow, name):
    assert_answers_like(name, send_captured_request(chatflow, capture(f"{name}.json")), exact=True)


@covers("90e_chat_messages_with_workflow_app_key")
def test_a_workflow_key_on_the_chat_route_is_refused_like_real_dify(echo, name):
    assert_answers_like(name, send_captured_request(echo, capture(f"{name}.json")), exact=True)


@pytest.fixture
def chatflow():
    app = fd.ECHO_CHATFLOW
    with FakeDify(
        app_mode=app.mode,
        input_form=app.input_form,
        name=app.name,
        description=app.description,
        close_delay=0.05,
    ) as fake:
        yield fake


# --- the multi-output app: output types -------------------------------------------------------


@pytest.fixture
def multi():
    app = fd.MULTI_OUTPUT
    with FakeDify(
        input_form=app.input_form,
        name=app.name,
        description=app.description,
        outputs=app.outputs,
        close_delay=0.05,
    ) as fake:
        yield fake


@covers(
    "86_multi_output_app_run_blocking",
    "86d_multi_output_app_run_blocking_only_required",
    "86f_multi_output_app_run_blocking_checkbox_given_string",
)
def test_a_blocking_run_keeps_the_outputs_json_types(multi, name):
    response = send_captured_request(multi, capture(f"{name}.json"))
    assert_answers_like(name, response)
    assert response.json()["data"]["outputs"] == real_json(name)["data"]["outputs"]


@covers("86b_multi_output_app_run_streaming", "86c_multi_output_app_get_run_detail")
def test_a_stream_renders_outputs_as_text_chunks_but_ends_with_typed_outputs(multi, name):
    response = send_captured_request(multi, capture("86b_multi_output_app_run_streaming.json"))
    events = events_of(response.content)
    assert order_of(events) == real_order("86b_multi_output_app_run_streaming")
    chunks = [e["data"]["text"] for e in events if e.get("event") == "text_chunk"]
    real = [
        e["data"]["text"]
        for e in real_events("86b_multi_output_app_run_streaming")
        if e["event"] == "text_chunk"
    ]
    assert chunks == real  # "7.5", "True", indented JSON: text, not the JSON types
    assert (
        events[-1]["data"]["outputs"]
        == real_events("86b_multi_output_app_run_streaming")[-1]["data"]["outputs"]
    )
    detail = get(multi, f"/v1/workflows/run/{events[-1]['workflow_run_id']}")
    assert_answers_like("86c_multi_output_app_get_run_detail", detail)
    assert list(json.loads(detail.json()["inputs"])) == list(
        json.loads(real_json("86c_multi_output_app_get_run_detail")["inputs"])
    )


# --- a run in progress, as the logs and the run detail show it --------------------------------


@once
def logs_scenario() -> tuple[dict, list[dict]]:
    user = "cap-logs-user-80"
    with slow_fake() as slow_app:
        stream = post(
            slow_app,
            "/v1/workflows/run",
            capture("80_slow_app_streaming_20s_run_for_logs.json")["request"]["body"],
            stream=True,
        )
        time.sleep(0.3)
        while_running = {
            "81_get_workflow_logs_by_user_while_running": get(
                slow_app,
                "/v1/workflows/logs",
                created_by_end_user_session_id=user,
                page=1,
                limit=20,
            ),
            "81b_get_workflow_logs_no_filter_while_running": get(
                slow_app, "/v1/workflows/logs", page=1, limit=3
            ),
            "81e_get_workflow_logs_by_user_created_at_after_while_running": get(
                slow_app,
                "/v1/workflows/logs",
                created_by_end_user_session_id=user,
                created_at__after="2000-01-01T00:00:00Z",
            ),
            "81f_get_workflow_logs_status_succeeded_by_user_while_running": get(
                slow_app,
                "/v1/workflows/logs",
                status="succeeded",
                created_by_end_user_session_id=user,
            ),
        }
        (run_id,) = slow_app.runs
        while_running["81d_get_run_detail_while_running"] = get(
            slow_app, f"/v1/workflows/run/{run_id}"
        )
        events = events_of(stream.content)
        after = {
            "82_get_workflow_logs_by_user_after_finish": get(
                slow_app,
                "/v1/workflows/logs",
                created_by_end_user_session_id=user,
                page=1,
                limit=20,
            ),
            "82b_get_workflow_logs_no_filter_after_finish": get(
                slow_app, "/v1/workflows/logs", page=1, limit=3
            ),
            "82c_get_run_detail_after_finish": get(slow_app, f"/v1/workflows/run/{run_id}"),
            "82d_get_workflow_logs_status_succeeded_by_user_after_finish": get(
                slow_app,
                "/v1/workflows/logs",
                status="succeeded",
                created_by_end_user_session_id=user,
            ),
        }
    return {**while_running, **after}, events


@covers(
    "80_slow_app_streaming_20s_run_for_logs",
    "81_get_workflow_logs_by_user_while_running",
    "81b_get_workflow_logs_no_filter_while_running",
    "81d_get_run_detail_while_running",
    "81e_get_workflow_logs_by_user_created_at_after_while_running",
    "81f_get_workflow_logs_status_succeeded_by_user_while_running",
    "82_get_workflow_logs_by_user_after_finish",
    "82b_get_workflow_logs_no_filter_after_finish",
    "82c_get_run_detail_after_finish",
    "82d_get_workflow_logs_status_succeeded_by_user_after_finish",
)
def test_a_running_run_is_in_the_logs_at_once_and_succeeded_after(name):
    answers, events = logs_scenario()
    if name.startswith("80"):
        assert order_of(events, pings=False) == real_order(name, pings=False)
        assert events[-1]["data"]["outputs"]["http_body"] == SLOW_BODY
        return
    response = answers[name]
    assert_answers_like(name, response)
    real, ours = real_json(name), response.json()
    if "data" in real and isinstance(real["data"], list):
        statuses = [row["workflow_run"]["status"] for row in ours["data"]]
        assert statuses == [row["workflow_run"]["status"] for row in real["data"]][: len(statuses)]
        assert ours["total"] == real["total"] or "no_filter" in name  # other runs of the server
    else:
        assert (ours["status"], ours["finished_at"] is None) == (
            real["status"],
            real["finished_at"] is None,
        )


@once
def blocking_logs_scenario() -> dict:
    user = "cap-blocking-logs-user-95"
    with slow_fake() as slow_app:
        before = get(slow_app, "/v1/workflows/logs", created_by_end_user_session_id=user)
        result = {}
        body = capture("95_slow_app_blocking_10s_run_for_logs.json")["request"]["body"]
        thread = threading.Thread(
            target=lambda: result.update(answer=post(slow_app, "/v1/workflows/run", body))
        )
        thread.start()
        assert slow_app.wait_until(lambda: slow_app.runs)
        waiting = get(slow_app, "/v1/workflows/logs", created_by_end_user_session_id=user)
        (run_id,) = slow_app.runs
        detail = get(slow_app, f"/v1/workflows/run/{run_id}")
        thread.join(10)
    return {
        "95_slow_app_blocking_10s_run_for_logs": result["answer"],
        "95b_get_workflow_logs_by_user_before_blocking_run_visible": before,
        "95c_get_workflow_logs_by_user_while_blocking_run_waits": waiting,
        "95d_get_run_detail_while_blocking_run_waits": detail,
    }


@covers(
    "95_slow_app_blocking_10s_run_for_logs",
    "95b_get_workflow_logs_by_user_before_blocking_run_visible",
    "95c_get_workflow_logs_by_user_while_blocking_run_waits",
    "95d_get_run_detail_while_blocking_run_waits",
)
def test_a_blocking_run_is_in_the_logs_while_its_post_waits(name):
    response = blocking_logs_scenario()[name]
    assert_answers_like(name, response)
    real = real_json(name)
    if name.startswith("95c"):
        assert (
            response.json()["data"][0]["workflow_run"]["status"]
            == real["data"][0]["workflow_run"]["status"]
            == "running"
        )
    if name.startswith("95d"):
        assert response.json()["status"] == real["status"] == "running"


# --- a stalled stream: bad inputs ---------------------------------------------------------------


@covers(
    "83_run_streaming_text_too_long_first_10s",
    "83b_get_workflow_logs_for_user_after_stalled_stream",
    "83c_get_workflow_logs_for_user_after_server_timeout",
)
def test_a_streaming_run_with_bad_inputs_pings_once_never_runs_and_holds_the_socket(name):
    with FakeDify(stall_seconds=1.0, close_delay=0.05) as fake:
        cap = capture("83_run_streaming_text_too_long_first_10s.json")
        stream = post(fake, "/v1/workflows/run", cap["request"]["body"], stream=True)
        first = next(stream.iter_content(chunk_size=None))
        assert first == b"event: ping\n\n"
        stream.close()  # the client gives up, as in 83, after a while
        held = fake.open_connections
        logs = get(
            fake,
            "/v1/workflows/logs",
            created_by_end_user_session_id="cap-invalid-user-83",
            page=1,
            limit=20,
        )
        if name.startswith("83_"):
            assert (stream.status_code, stream.headers["Content-Type"]) == (
                200,
                "text/event-stream; charset=utf-8",
            )
            assert held >= 1  # Dify does not notice the client went; it holds the socket
            assert fake.runs == {}
        else:
            assert_answers_like(name, logs, exact=False)
            assert logs.json()["total"] == real_json(name)["total"] == 0


# --- chatflows ------------------------------------------------------------------------------


@once
def chatflow_scenario() -> tuple[dict, list, list]:
    app = fd.ECHO_CHATFLOW
    options = dict(input_form=app.input_form, name=app.name, description=app.description)
    with FakeDify(app_mode=app.mode, close_delay=0.05, **options) as chatflow:
        first = post(
            chatflow,
            "/v1/chat-messages",
            capture("87c_chat_messages_blocking_first_turn.json")["request"]["body"],
        )
        conversation = first.json()["conversation_id"]
        stream = post(
            chatflow,
            "/v1/chat-messages",
            capture("88_chat_messages_streaming_first_turn.json")["request"]["body"],
            stream=True,
        )
        streamed = events_of(stream.content)
        second = post(
            chatflow,
            "/v1/chat-messages",
            {
                **capture("89_chat_messages_blocking_second_turn.json")["request"]["body"],
                "conversation_id": conversation,
            },
        )
        streamed_conversation = streamed[1]["conversation_id"]
        stream2 = post(
            chatflow,
            "/v1/chat-messages",
            {
                **capture("89b_chat_messages_streaming_second_turn.json")["request"]["body"],
                "conversation_id": streamed_conversation,
            },
            stream=True,
        )
        streamed2 = events_of(stream2.content)
        user = "cap-chat-user-87"
        answers = {
            "87c_chat_messages_blocking_first_turn": first,
            "89_chat_messages_blocking_second_turn": second,
            "90_get_messages_of_conversation": get(
                chatflow, "/v1/messages", conversation_id=conversation, user=user
            ),
            "90b_get_conversations_of_user": get(chatflow, "/v1/conversations", user=user),
            "90h_get_conversations_first_page_limit_1": get(
                chatflow, "/v1/conversations", user=user, limit=1
            ),
            "90i_chatflow_get_run_detail": get(
                chatflow, f"/v1/workflows/run/{streamed[1]['workflow_run_id']}"
            ),
        }
    return answers, streamed, streamed2


@covers(
    "87c_chat_messages_blocking_first_turn",
    "88_chat_messages_streaming_first_turn",
    "89_chat_messages_blocking_second_turn",
    "89b_chat_messages_streaming_second_turn",
    "90_get_messages_of_conversation",
    "90b_get_conversations_of_user",
    "90h_get_conversations_first_page_limit_1",
    "90i_chatflow_get_run_detail",
)
def test_a_chatflow_talks_and_remembers_like_real_dify(name):
    answers, streamed, streamed2 = chatflow_scenario()
    if name in answers:
        assert_answers_like(name, answers[name])
        real, ours = real_json(name), answers[name].json()
        if "answer" in real:
            assert ours["answer"] == real["answer"] and "workflow_run_id" not in ours  # 87c
        if name.startswith("90b") or name.startswith("90h"):
            assert [c["name"] for c in ours["data"]] == [c["name"] for c in real["data"]]
            assert ours["has_more"] == real["has_more"]
        if name.startswith("90_"):
            assert [m["answer"] for m in ours["data"]] == [m["answer"] for m in real["data"]]
        if name.startswith("90i"):
            assert list(json.loads(ours["inputs"])) == list(json.loads(real["inputs"]))
            assert ours["outputs"] == real["outputs"]
        return
    events = streamed if name.startswith("88") else streamed2
    assert order_of(events) == real_order(name)
    real = real_events(name)
    assert [e.get("answer") for e in events if e.get("event") == "message"] == [
        e.get("answer") for e in real if e["event"] == "message"
    ]
    for ours, theirs in zip((e for e in events if not e.get("ping")), real, strict=True):
        assert list(ours) == list(theirs), ours["event"]
    assert shape(events[-1]) == shape(real[-1])
    end = next(e for e in events if e.get("event") == "message_end")
    assert shape(end["metadata"]["usage"]) == shape(
        next(e for e in real if e["event"] == "message_end")["metadata"]["usage"]
    )


# --- Dify's concurrency limit ---------------------------------------------------------------


@once
def limit_one_scenario() -> tuple[dict, str]:
    with FakeDify(max_active_requests=1, close_delay=0.05) as fake:
        fake.default_run = fd.slow(1.0, http_body=SLOW_BODY)
        streaming_alone = post(
            fake,
            "/v1/workflows/run",
            request_body("91_ratelimit1_streaming_run_nothing_else_active"),
        )
        result = {}
        holder = threading.Thread(
            target=lambda: result.update(
                b=post(
                    fake,
                    "/v1/workflows/run",
                    request_body("91b_ratelimit1_blocking_run_holding_the_slot"),
                )
            )
        )
        holder.start()
        assert fake.wait_until(lambda: fake.runs)
        second_blocking = post(
            fake,
            "/v1/workflows/run",
            request_body("92_ratelimit1_second_run_blocking_while_one_active"),
        )
        second_streaming = post(
            fake,
            "/v1/workflows/run",
            request_body("92b_ratelimit1_second_run_streaming_while_one_active"),
        )
        holder.join(10)
        after = post(
            fake, "/v1/workflows/run", request_body("92c_ratelimit1_blocking_run_after_slot_freed")
        )
        answers = {
            "91_ratelimit1_streaming_run_nothing_else_active": streaming_alone,
            "91b_ratelimit1_blocking_run_holding_the_slot": result["b"],
            "92_ratelimit1_second_run_blocking_while_one_active": second_blocking,
            "92b_ratelimit1_second_run_streaming_while_one_active": second_streaming,
            "92c_ratelimit1_blocking_run_after_slot_freed": after,
        }
        app_id = fake.app_id
    return answers, app_id


@covers(
    "91_ratelimit1_streaming_run_nothing_else_active",
    "91b_ratelimit1_blocking_run_holding_the_slot",
    "92_ratelimit1_second_run_blocking_while_one_active",
    "92b_ratelimit1_second_run_streaming_while_one_active",
    "92c_ratelimit1_blocking_run_after_slot_freed",
)
def test_an_app_limited_to_one_refuses_streaming_always_and_a_second_blocking_run(name):
    answers, app_id = limit_one_scenario()
    response = answers[name]
    assert_answers_like(name, response)
    real = capture(f"{name}.json")["response"]
    if real["status"] == 400:
        real_app = real["body_json"]["message"].split("allowed for ")[1].split(" ")[0]
        assert response.text == real["body_text"].replace(real_app, app_id)


@once
def limit_two_scenario() -> dict:
    with FakeDify(max_active_requests=2, ping_interval=0.3, close_delay=0.05) as fake:
        fake.default_run = fd.slow(1.5, ping_interval=0.3, http_body=SLOW_BODY)
        answers: dict[str, requests.Response] = {}
        names = [
            "92d_ratelimit2_streaming_run_active",
            "92e_ratelimit2_blocking_run_B2_while_S1_active",
            "92f_ratelimit2_blocking_run_B3_while_S1_B2_active",
        ]
        threads = []
        for n in names:
            thread = threading.Thread(
                target=lambda n=n: answers.update(
                    {n: post(fake, "/v1/workflows/run", request_body(n))}
                )
            )
            thread.start()
            threads.append(thread)
            time.sleep(0.2)
        answers["92g_ratelimit2_blocking_run_B4_while_S1_B2_B3_active"] = post(
            fake,
            "/v1/workflows/run",
            request_body("92g_ratelimit2_blocking_run_B4_while_S1_B2_B3_active"),
        )
        for thread in threads:
            thread.join(10)
    return answers


@covers(
    "92d_ratelimit2_streaming_run_active",
    "92e_ratelimit2_blocking_run_B2_while_S1_active",
    "92f_ratelimit2_blocking_run_B3_while_S1_B2_active",
    "92g_ratelimit2_blocking_run_B4_while_S1_B2_B3_active",
)
def test_a_streaming_run_holds_no_place_while_it_runs_but_blocking_ones_do(name):
    answers = limit_two_scenario()
    assert_answers_like(name, answers[name])
    if name.startswith("92d"):
        events = events_of(answers[name].content)
        assert order_of(events, pings=False) == real_order(name, pings=False)


# --- a client that hangs up; a run that is stopped --------------------------------------------


@once
def hang_up_scenario():
    with slow_fake() as slow_app:
        stream = post(
            slow_app,
            "/v1/workflows/run",
            capture("93_slow_app_streaming_client_disconnects_after_2s.json")["request"]["body"],
            stream=True,
        )
        seen = b""
        for piece in stream.iter_content(chunk_size=None):
            seen += piece
            if b'"node_type":"http-request"' in seen:
                break
        stream.close()
        (run_id,) = slow_app.runs
        user = "cap-disconnect-user-93"
        early = {
            "93b_get_run_detail_5s_after_client_disconnect": get(
                slow_app, f"/v1/workflows/run/{run_id}"
            ),
            "93c_get_workflow_logs_by_user_5s_after_client_disconnect": get(
                slow_app, "/v1/workflows/logs", created_by_end_user_session_id=user
            ),
        }
        assert slow_app.wait_for_run_status(run_id, "succeeded", timeout=5)
        late = {
            "93d_get_run_detail_after_node_finished": get(slow_app, f"/v1/workflows/run/{run_id}"),
            "93e_get_workflow_logs_by_user_after_node_finished": get(
                slow_app, "/v1/workflows/logs", created_by_end_user_session_id=user
            ),
        }
    return seen, {**early, **late}


@covers(
    "93_slow_app_streaming_client_disconnects_after_2s",
    "93b_get_run_detail_5s_after_client_disconnect",
    "93c_get_workflow_logs_by_user_5s_after_client_disconnect",
    "93d_get_run_detail_after_node_finished",
    "93e_get_workflow_logs_by_user_after_node_finished",
)
def test_a_run_whose_client_hangs_up_runs_on_to_its_end(name):
    seen, answers = hang_up_scenario()
    if name.startswith("93_"):
        cut = [e for e in events_of(seen.rsplit(b"\n\n", 1)[0] + b"\n\n")]
        assert order_of(cut) == real_order(name)
        return
    response = answers[name]
    assert_answers_like(name, response)
    real, ours = real_json(name), response.json()
    assert status_of(ours) == status_of(real)  # running 5 s after the hang-up, succeeded after
    if name.startswith("93d"):
        assert ours["outputs"]["http_body"] == SLOW_BODY


@once
def stop_scenario():
    with slow_fake() as slow_app:
        stream = post(
            slow_app,
            "/v1/workflows/run",
            capture("97_slow_app_streaming_stopped_for_logs.json")["request"]["body"],
            stream=True,
        )
        seen = b""
        pieces = stream.iter_content(chunk_size=None)
        for piece in pieces:
            seen += piece
            if b'"node_type":"http-request"' in seen:
                break
        task_id = next(
            e
            for e in events_of(
                seen.split(b"\n\n", 2)[0] + b"\n\n" + seen.split(b"\n\n")[1] + b"\n\n"
            )
            if not e.get("ping")
        )["task_id"]
        stop = post(
            slow_app, f"/v1/workflows/tasks/{task_id}/stop", {"user": "cap-stopped-user-97"}
        )
        seen += b"".join(pieces)
        (run_id,) = slow_app.runs
        user = "cap-stopped-user-97"
        answers = {
            "97b_stop_running_task": stop,
            "97c_get_workflow_logs_by_user_after_stop": get(
                slow_app, "/v1/workflows/logs", created_by_end_user_session_id=user
            ),
            "97d_get_workflow_logs_status_stopped_by_user": get(
                slow_app,
                "/v1/workflows/logs",
                status="stopped",
                created_by_end_user_session_id=user,
            ),
        }
        time.sleep(1.3)  # past the node's time: still "running"
        answers["97e_get_run_detail_stopped_run_after_node_time"] = get(
            slow_app, f"/v1/workflows/run/{run_id}"
        )
        answers["97f_get_workflow_logs_by_user_stopped_run_later"] = get(
            slow_app, "/v1/workflows/logs", created_by_end_user_session_id=user
        )
    return seen, answers


@covers(
    "97_slow_app_streaming_stopped_for_logs",
    "97b_stop_running_task",
    "97c_get_workflow_logs_by_user_after_stop",
    "97d_get_workflow_logs_status_stopped_by_user",
    "97e_get_run_detail_stopped_run_after_node_time",
    "97f_get_workflow_logs_by_user_stopped_run_later",
)
def test_a_stopped_run_ends_its_stream_stopped_but_stays_running_in_dify(name):
    seen, answers = stop_scenario()
    if name.startswith("97_"):
        events = events_of(seen)
        assert order_of(events) == real_order(name)
        assert events[-1]["data"]["status"] == "stopped" and events[-1]["data"]["outputs"] == {}
        return
    assert_answers_like(name, answers[name])
    real, ours = real_json(name), answers[name].json()
    if name.startswith("97e"):
        assert (
            (ours["status"], ours["finished_at"])
            == (real["status"], real["finished_at"])
            == ("running", None)
        )
    elif "data" in real:
        assert [r["workflow_run"]["status"] for r in ours["data"]] == [
            r["workflow_run"]["status"] for r in real["data"]
        ]


# --- two streaming runs queued behind Dify's one worker ---------------------------------------


@once
def queue_scenario():
    with FakeDify(worker_slots=1, ping_interval=0.3, close_delay=0.05) as fake:
        fake.default_run = fd.slow(1.2, ping_interval=0.3, http_body=SLOW_BODY)
        answers, arrivals = {}, []

        def read(n: str) -> None:
            response = post(fake, "/v1/workflows/run", request_body(n), stream=True)
            started, raw = time.monotonic(), b""
            for piece in response.iter_content(chunk_size=None):
                arrivals.append((n, time.monotonic() - started, piece))
                raw += piece
            answers[n] = (response, raw)

        a = threading.Thread(target=read, args=("96_slow_app_two_streaming_runs_A",))
        a.start()
        assert fake.wait_until(lambda: fake.runs)
        b = threading.Thread(target=read, args=("96b_slow_app_two_streaming_runs_B",))
        b.start()
        time.sleep(0.5)
        logs = get(
            fake, "/v1/workflows/logs", created_by_end_user_session_id="cap-concurrent-user-96"
        )
        a.join(10)
        b.join(10)
    return answers, arrivals, logs


@covers(
    "96_slow_app_two_streaming_runs_A",
    "96b_slow_app_two_streaming_runs_B",
    "96c_get_workflow_logs_by_user_while_B_queued",
)
def test_a_second_streaming_run_waits_silently_for_the_worker(name):
    answers, arrivals, logs = queue_scenario()
    if name.startswith("96c"):
        assert_answers_like(name, logs)
        assert [r["workflow_run"]["status"] for r in logs.json()["data"]] == ["running"]  # only A
        return
    response, raw = answers[name]
    assert order_of(events_of(raw), pings=False) == real_order(name, pings=False)
    if name.startswith("96b"):
        b_pieces = [(t, p) for n, t, p in arrivals if n == name]
        first_data = next(t for t, p in b_pieces if b"data:" in p)
        assert first_data > 0.9  # B starts only once A has finished its node...
        assert not [p for t, p in b_pieces if 0.05 < t < first_data - 0.05]  # ...in silence


# --- a failed node, the logs' paging and filters -------------------------------------------


@once
def failure_scenario():
    failed = fd.node_failed(
        "[Errno 111] Connection refused",
        node_type="http-request",
        title="Closed port HTTP",
        request="GET /closed HTTP/1.1\r\nHost: 127.0.0.1:5898\r\n\r\n",
    )
    with FakeDify(input_form=FAIL_FORM, name="fail-http-workflow", close_delay=0.05) as fake:
        fake.script("run", failed, failed)
        blocking = send_captured_request(
            fake, capture("94_failed_run_blocking_http_node_closed_port.json")
        )
        streaming = send_captured_request(
            fake, capture("94b_failed_run_streaming_http_node_closed_port.json")
        )
        for _ in range(3):
            post(
                fake,
                "/v1/workflows/run",
                {"inputs": {"query": "more"}, "response_mode": "blocking", "user": "cap-paging-94"},
            )
        answers = {
            "94_failed_run_blocking_http_node_closed_port": blocking,
            "94c_get_run_detail_failed_run": get(
                fake, f"/v1/workflows/run/{blocking.json()['workflow_run_id']}"
            ),
            "94d_get_workflow_logs_status_failed": get(
                fake,
                "/v1/workflows/logs",
                status="failed",
                created_by_end_user_session_id="cap-fail-user-94",
            ),
            "94e_get_workflow_logs_page2_limit2": get(fake, "/v1/workflows/logs", page=2, limit=2),
            "94f_get_workflow_logs_page_beyond_end": get(
                fake, "/v1/workflows/logs", page=999, limit=20
            ),
            "94k_get_workflow_logs_created_at_after_z_suffix": get(
                fake, "/v1/workflows/logs", created_at__after="2000-01-01T00:00:00Z", limit=2
            ),
            "94l_get_workflow_logs_created_at_before_offset": get(
                fake, "/v1/workflows/logs", created_at__before="2099-01-01T00:00:00+00:00", limit=2
            ),
        }
    return answers, streaming


@covers(
    "94_failed_run_blocking_http_node_closed_port",
    "94b_failed_run_streaming_http_node_closed_port",
    "94c_get_run_detail_failed_run",
    "94d_get_workflow_logs_status_failed",
    "94e_get_workflow_logs_page2_limit2",
    "94f_get_workflow_logs_page_beyond_end",
    "94k_get_workflow_logs_created_at_after_z_suffix",
    "94l_get_workflow_logs_created_at_before_offset",
)
def test_a_failed_node_and_the_logs_filters(name):
    answers, streaming = failure_scenario()
    if name.startswith("94b"):
        events = events_of(streaming.content)
        assert order_of(events) == real_order(name)
        real = real_events(name)
        failing = [e for e in events if e.get("event") == "node_finished"][-1]["data"]
        theirs = [e for e in real if e["event"] == "node_finished"][-1]["data"]
        assert (failing["status"], failing["error"], failing["title"]) == (
            theirs["status"],
            theirs["error"],
            theirs["title"],
        )
        assert failing["process_data"] == theirs["process_data"]
        assert events[-1]["data"]["exceptions_count"] == real[-1]["data"]["exceptions_count"] == 1
        return
    assert_answers_like(name, answers[name])
    real, ours = real_json(name), answers[name].json()
    if name in ("94_failed_run_blocking_http_node_closed_port", "94c_get_run_detail_failed_run"):
        data_ours, data_real = ours.get("data", ours), real.get("data", real)
        assert (data_ours["status"], data_ours["error"]) == (
            data_real["status"],
            data_real["error"],
        )
    if name.startswith("94f"):
        assert (ours["data"], ours["has_more"]) == ([], False) and ours["total"] > 0
    if name.startswith("94e"):
        assert (ours["page"], ours["limit"], len(ours["data"])) == (2, 2, 2)


def test_every_capture_has_a_test():
    assert ALL_NEW and sorted(COVERED) == ALL_NEW, sorted(set(ALL_NEW) - COVERED)


def test_the_captures_came_with_their_raw_streams():
    for name in ALL_NEW:
        body_file = capture(f"{name}.json")["response"].get("body_file")
        if body_file:
            assert (FIXTURES / Path(body_file).name).exists(), body_file
