"""One test per recorded service answer and per example request body.

Response fixtures (tests/fixtures/chat/<kind>_<answer>.json) say what the
transport must make of them ("expect": success / permanent / transient);
`generic_*` answers can come from any service and are checked for every kind.
Request fixtures (<kind>_request_*.json, with a "message" key) document
exactly what we send.
"""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from integrations.channels import Message, TransportError, get_transport
from tests.fakes.chat_server import FIXTURES, RECEIVERS, load_fixture

ALL = sorted(p.stem for p in FIXTURES.glob("*.json"))
REQUESTS = [name for name in ALL if "message" in load_fixture(name)]
ANSWERS = [name for name in ALL if name not in REQUESTS]


def answer_cases():
    for name in ANSWERS:
        prefix = name.split("_")[0]
        kinds = sorted(RECEIVERS) if prefix == "generic" else [prefix]
        for kind in kinds:
            yield pytest.param(name, kind, id=f"{name}-{kind}" if prefix == "generic" else name)


@pytest.mark.parametrize("name, kind", list(answer_cases()))
def test_it_judges_the_recorded_answer(name, kind):
    fixture = load_fixture(name)
    with RECEIVERS[kind](default=name) as server:
        transport = get_transport(kind)(server.url, timeout=(2.0, 2.0))
        payload = transport.build(Message(text="hello", title="Daily"))[0]
        if fixture["expect"] == "success":
            reply = transport.post(payload)
            assert reply.status == fixture["status"]
            assert reply.body == server.answers_given[0].body.decode()[:1000]
            return
        with pytest.raises(TransportError) as info:
            transport.post(payload)
    error = info.value
    assert error.retryable is (fixture["expect"] == "transient")
    assert error.status == fixture["status"]
    if "retry_after" in fixture:
        assert error.retry_after == pytest.approx(fixture["retry_after"], abs=1.5)
    for secret in server.secrets:
        assert secret not in error.message and secret not in error.body


@pytest.mark.parametrize("name", REQUESTS)
def test_it_sends_the_documented_request(name):
    fixture = load_fixture(name)
    kind = name.split("_")[0]
    with RECEIVERS[kind]() as server:
        get_transport(kind)(server.url, fixture["options"]).send(Message(**fixture["message"]))
    sent = server.requests[0].json
    if "sent_at" in sent:
        datetime.fromisoformat(sent["sent_at"])
        sent["sent_at"] = "<sent_at>"
    assert sent == fixture["body"]


def test_every_answer_fixture_is_a_receiver_preset():
    served = {f for receiver in RECEIVERS.values() for f in receiver.all_presets().values()}
    assert set(ANSWERS) <= served
    assert served <= set(ANSWERS)


@pytest.mark.parametrize("name", ANSWERS)
def test_each_answer_fixture_is_well_formed(name):
    fixture = load_fixture(name)
    assert set(fixture) >= {"description", "source", "status", "body", "expect"}
    assert fixture["expect"] in ("success", "permanent", "transient")
    assert isinstance(fixture["body"], (str, dict, list))
    if isinstance(fixture["body"], str) and fixture.get("headers", {}).get(
        "Content-Type", ""
    ).startswith("application/json"):
        json.loads(fixture["body"])  # raw JSON text must still be JSON
