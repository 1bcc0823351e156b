"""Chat, agent, chatflow (advanced-chat) and completion apps against FakeDify."""

from __future__ import annotations

import pytest

from integrations.dify import (
    DifyClient,
    DifyInputError,
    DifyOutcomeUnknown,
    DifyPermanentError,
    DifyRetryableError,
)
from tests.fakes.dify import FakeDify, cut_after_started, stream_error, success

MODES = ["blocking", "streaming"]


@pytest.fixture
def make():
    servers = []

    def factory(mode: str) -> tuple[FakeDify, DifyClient]:
        fake = FakeDify(app_mode=mode, name=f"{mode}-app", ping_interval=0.2).start()
        servers.append(fake)
        return fake, DifyClient(fake.url, fake.api_key, first_event_timeout=2, read_timeout=5)

    yield factory
    for fake in servers:
        fake.stop()


@pytest.mark.parametrize("response_mode", MODES)
def test_it_returns_a_chat_answer_with_its_task_id_and_tokens(make, response_mode):
    fake, client = make("chat")
    fake.script("chat", success(answer="Looks fine; one nit on line 12."))
    seen = []

    result = client.run_app(
        "chat",
        {"topic": "code review"},
        query="Review this",
        user="hub:chat",
        response_mode=response_mode,
        on_started=lambda *ids: seen.append(ids),
    )

    assert result.status == "succeeded"
    assert result.outputs == {"answer": "Looks fine; one nit on line 12."}
    assert result.task_id
    assert result.workflow_run_id is None
    assert result.total_tokens and result.total_tokens > 5
    assert seen == [(result.task_id, None)]
    request = fake.requests_to("/chat-messages")[0]
    assert request.json["query"] == "Review this"
    assert request.json["user"] == "hub:chat"


@pytest.mark.parametrize("finish_order", ["message_end_first", "workflow_finished_first"])
def test_it_reads_a_chatflow_stream_to_the_end_in_either_order(make, finish_order):
    fake, client = make("advanced-chat")
    fake.script("chat", success(answer="the final answer", finish_order=finish_order))
    seen = []

    result = client.run_app(
        "advanced-chat",
        {"topic": "x"},
        query="q?",
        user="u",
        on_started=lambda *ids: seen.append(ids),
    )

    assert result.status == "succeeded"
    assert result.outputs["answer"] == "the final answer"
    assert result.workflow_run_id in fake.runs
    assert seen == [(result.task_id, result.workflow_run_id)]


def test_it_forces_streaming_and_takes_the_query_from_inputs_for_agent_apps(make):
    fake, client = make("agent-chat")
    fake.script("chat", success(answer="agent says hi"))
    inputs = {"query": "do the thing", "topic": "x"}

    result = client.run_app("agent-chat", inputs, user="u", response_mode="blocking")

    assert result.outputs == {"answer": "agent says hi"}
    request = fake.requests_to("/chat-messages")[0]
    assert request.json["response_mode"] == "streaming"
    assert request.json["query"] == "do the thing"
    assert "query" not in request.json["inputs"]
    assert inputs == {"query": "do the thing", "topic": "x"}  # caller's dict untouched


def test_it_needs_a_query_for_chat_apps(make):
    fake, client = make("chat")

    with pytest.raises(DifyInputError):
        client.run_app("chat", {"topic": "x"}, user="u")

    assert fake.requests == []


@pytest.mark.parametrize("response_mode", MODES)
def test_it_returns_a_completion_answer(make, response_mode):
    fake, client = make("completion")

    result = client.run_app(
        "completion", {"query": "write a haiku"}, user="u", response_mode=response_mode
    )

    assert result.status == "succeeded"
    assert result.outputs == {"answer": "Echo: write a haiku"}
    assert fake.requests_to("/completion-messages")[0].json["inputs"] == {"query": "write a haiku"}


def test_it_raises_the_in_stream_chat_error(make):
    fake, client = make("chat")
    fake.script(
        "chat",
        stream_error("completion_request_error", "[openai] Bad Request Error"),
        stream_error("internal_server_error", "boom", 500),
    )

    with pytest.raises(DifyPermanentError) as info:
        client.run_app("chat", {"topic": "x"}, query="hi", user="u")
    assert info.value.code == "completion_request_error"
    assert info.value.task_id
    with pytest.raises(DifyRetryableError):
        client.run_app("chat", {"topic": "x"}, query="hi", user="u")


def test_it_reports_a_cut_chatflow_stream_with_its_run_id(make):
    fake, client = make("advanced-chat")
    fake.script("chat", cut_after_started())

    with pytest.raises(DifyOutcomeUnknown) as info:
        client.run_app("chat", {"topic": "x"}, query="hi", user="u")

    assert info.value.code == "connection_lost"
    assert info.value.workflow_run_id in fake.runs


def test_it_reports_the_wrong_route_for_the_app_mode(make):
    _, client = make("chat")

    with pytest.raises(DifyPermanentError) as info:
        client.run_app("workflow", {"topic": "x"}, user="u")

    assert info.value.code == "not_workflow_app"


def test_it_reports_the_app_mode_from_info(make):
    _, client = make("advanced-chat")

    assert client.info().mode == "advanced-chat"
