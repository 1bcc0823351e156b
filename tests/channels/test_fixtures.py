"""One test per recorded service answer and per example request body.

Response fixtures say what the transport must make of them ("expect": success / permanent /
transient). The first kinds keep theirs in tests/fixtures/chat/<kind>_<answer>.json, later
kinds in tests/fixtures/<kind>/<answer>.json; `generic_*` answers (tests/fixtures/chat/) can
come from any service and are checked for every kind. Request fixtures (those with a
"message" key) document exactly what we send.
"""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from integrations.channels import Message, TransportError, get_transport
from tests.fakes.chat_server import FIXTURES, load_fixture
from tests.fakes.receivers import RECEIVERS


def _fixtures():
    """(kind or 'generic', directory, name) for every fixture file."""
    for path in sorted(FIXTURES.glob("*.json")):
        yield path.stem.split("_")[0], FIXTURES, path.stem
    for kind, receiver in sorted(RECEIVERS.items()):
        if receiver.fixtures != FIXTURES:
            for path in sorted(receiver.fixtures.glob("*.json")):
                yield kind, receiver.fixtures, path.stem


ALL = list(_fixtures())
REQUESTS = [f for f in ALL if "message" in load_fixture(f[2], f[1])]
ANSWERS = [f for f in ALL if f not in REQUESTS]


def _id(kind, directory, name) -> str:
    return name if directory == FIXTURES else f"{kind}/{name}"


def answer_cases():
    for prefix, directory, name in ANSWERS:
        kinds = sorted(RECEIVERS) if prefix == "generic" else [prefix]
        for kind in kinds:
            label = _id(prefix, directory, name)
            yield pytest.param(
                name, directory, kind, id=f"{label}-{kind}" if prefix == "generic" else label
            )


def transport_for(kind: str, server, options: dict | None = None):
    return get_transport(kind)(server.url, options, server.secret, timeout=(2.0, 2.0))


@pytest.mark.parametrize("name, directory, kind", list(answer_cases()))
def test_it_judges_the_recorded_answer(name, directory, kind):
    fixture = load_fixture(name, directory)
    receiver = RECEIVERS[kind]
    with receiver(default=name) as server:
        transport = transport_for(kind, server, getattr(receiver, "options", None))
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


@pytest.mark.parametrize("kind, directory, name", REQUESTS, ids=[_id(*f) for f in REQUESTS])
def test_it_sends_the_documented_request(kind, directory, name):
    fixture = load_fixture(name, directory)
    with RECEIVERS[kind]() as server:
        transport_for(kind, server, fixture["options"]).send(Message(**fixture["message"]))
    request = server.requests[0]
    for header, value in fixture.get("sent_headers", {}).items():
        assert request.header(header) == value, header
    if isinstance(fixture["body"], str):  # a plain-text body (ntfy)
        assert request.text == fixture["body"]
        return
    sent = request.json
    if "sent_at" in sent:
        datetime.fromisoformat(sent["sent_at"])
        sent["sent_at"] = "<sent_at>"
    assert sent == fixture["body"]


def test_every_answer_fixture_is_a_receiver_preset():
    served = {
        (f, receiver.fixtures) for receiver in RECEIVERS.values() for f in receiver.presets.values()
    }
    served |= {(f, FIXTURES) for f in RECEIVERS["webhook"].common_presets.values()}
    assert {(name, directory) for _, directory, name in ANSWERS} == served


@pytest.mark.parametrize("kind, directory, name", ANSWERS, ids=[_id(*f) for f in ANSWERS])
def test_each_answer_fixture_is_well_formed(kind, directory, name):
    fixture = load_fixture(name, directory)
    assert set(fixture) >= {"description", "source", "status", "body", "expect"}
    assert fixture["expect"] in ("success", "permanent", "transient")
    assert isinstance(fixture["body"], (str, dict, list))
    if isinstance(fixture["body"], str) and fixture.get("headers", {}).get(
        "Content-Type", ""
    ).startswith("application/json"):
        json.loads(fixture["body"])  # raw JSON text must still be JSON
