"""The fake receiver itself: it must answer exactly like the fixtures say."""

from __future__ import annotations

import json
import time

import pytest
import requests

from tests.fakes.chat_server import (
    Answer,
    ChatServer,
    DiscordReceiver,
    SlackReceiver,
    load_fixture,
    main,
    refused_url,
)


def test_it_serves_the_fixture_bytes_status_and_headers():
    with DiscordReceiver(default="rate_limited") as server:
        response = requests.post(server.url, json={"content": "x"}, timeout=2)
    fixture = load_fixture("discord_rate_limited")
    assert response.status_code == 429
    assert response.content == fixture["body"].encode()
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Retry-After"] == "2"


def test_it_serializes_object_bodies_compactly():
    with ChatServer() as server:
        response = requests.post(server.url, data=b"{}", timeout=2)
    assert response.content == b'{"ok":true}'


def test_it_records_what_it_received():
    with SlackReceiver() as server:
        requests.post(
            server.url + "&a=1" if "?" in server.url else server.url + "?a=1",
            json={"text": "hé"},
            headers={"X-Test": "1"},
            timeout=2,
        )
        [request] = server.requests
    assert (request.method, request.path, request.query) == ("POST", server.path, {"a": ["1"]})
    assert request.header("x-test") == "1"
    assert request.json == {"text": "hé"}
    assert json.loads(request.body) == {"text": "hé"}


def test_it_answers_from_the_script_then_the_default():
    with SlackReceiver() as server:
        server.answer("channel_not_found", "rate_limited")
        statuses = [requests.post(server.url, data=b"{}", timeout=2).status_code for _ in range(3)]
        server.always(Answer(500, b"boom"))
        statuses.append(requests.post(server.url, data=b"{}", timeout=2).status_code)
    assert statuses == [404, 429, 200, 500]


def test_a_hanging_answer_ends_when_the_server_stops():
    server = ChatServer().start()
    server.hang(30)
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.post(server.url, data=b"{}", timeout=(1, 0.2))
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 1


def test_refused_url_refuses():
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.post(refused_url(), data=b"{}", timeout=2)


def test_it_lists_kinds_and_presets(capsys):
    main(["--list"])
    out = capsys.readouterr().out
    assert "rocketchat: " in out and "invalid_channel" in out and "wecom: " in out
