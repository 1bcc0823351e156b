"""Shared transport behaviour: options, URLs, network failures, answers."""

from __future__ import annotations

import time
from email.utils import formatdate

import pytest

from integrations.channels import Message, OptionsError, Reply, Transport, TransportError
from integrations.channels.base import REPLY_BODY_LIMIT
from integrations.http import parse_retry_after
from tests.fakes.chat_server import Answer, ChatServer, self_signed_cert


class Probe(Transport):
    kind = "probe"
    label = "Probe"
    options = {"name": str, "flag": bool, "count": int, "tags": list}

    def build(self, message: Message) -> list[dict]:
        return [{"text": message.text}]


@pytest.fixture
def receiver():
    with ChatServer() as server:
        yield server


def test_it_normalizes_options():
    cleaned = Probe.clean_options({"name": "  Dify ", "flag": False, "count": 0, "tags": []})
    assert cleaned == {"name": "Dify", "flag": False, "count": 0, "tags": []}


def test_it_drops_empty_and_null_options():
    assert Probe.clean_options({"name": "   ", "count": None}) == {}
    assert Probe.clean_options(None) == {}


@pytest.mark.parametrize(
    "options, message",
    [
        ({"flag": 1}, "option 'flag' for probe must be true or false (got int)"),
        ({"count": True}, "option 'count' for probe must be a whole number (got bool)"),
        ({"count": "3"}, "option 'count' for probe must be a whole number (got str)"),
        ({"tags": "a,b"}, "option 'tags' for probe must be a list (got str)"),
        ({"name": 5}, "option 'name' for probe must be a string (got int)"),
        ({"nmae": "x"}, "unknown option 'nmae' for probe (allowed: count, flag, name, tags)"),
    ],
)
def test_it_names_the_bad_option(options, message):
    with pytest.raises(OptionsError) as info:
        Probe.clean_options(options)
    assert str(info.value) == message


def test_it_rejects_options_that_are_not_an_object():
    with pytest.raises(OptionsError, match="must be an object"):
        Probe.clean_options(["name"])


@pytest.mark.parametrize(
    "url, message",
    [
        ("", "webhook URL is required"),
        ("https://chat.example.com/hooks/a b", "webhook URL must not contain spaces"),
        ("https://chat.example.com:99999/hooks/x", "webhook URL is not a valid URL"),
        ("javascript:alert(1)", "webhook URL must start with http:// or https://"),
        ("http://", "webhook URL has no host"),
    ],
)
def test_it_rejects_bad_urls(url, message):
    with pytest.raises(OptionsError) as info:
        Probe.clean_url(url)
    assert str(info.value) == message


def test_it_accepts_self_hosted_urls():
    for url in (
        "http://10.0.0.5:3000/hooks/a/b",
        "https://chat.internal/hooks/x",
        "HTTPS://Chat.Example.com/x",
    ):
        assert Probe.clean_url(url) == url


def test_it_trims_the_reply_body(receiver):
    receiver.answer(Answer(200, b"x" * 5000))
    [reply] = Probe(receiver.url).send(Message(text="hi"))
    assert reply == Reply(status=200, body="x" * REPLY_BODY_LIMIT)


def test_it_reads_at_most_64_kb_of_an_answer(receiver):
    receiver.answer(Answer(200, b"y" * 500_000))
    [reply] = Probe(receiver.url).send(Message(text="hi"))
    assert reply.status == 200


def test_it_gives_up_on_a_server_that_drips_its_answer(receiver):
    receiver.answer(Answer(200, b"z" * 100).dripping(0.05))
    started = time.monotonic()
    with pytest.raises(TransportError) as info:
        Probe(receiver.url, timeout=(0.5, 0.5)).send(Message(text="hi"))
    assert time.monotonic() - started < 2
    assert info.value.retryable is True
    assert info.value.message == "Probe took longer than 1 s to answer"


def test_it_reports_a_server_that_hangs_up(receiver):
    receiver.answer(Answer(200, hang_up=True))
    with pytest.raises(TransportError) as info:
        Probe(receiver.url).send(Message(text="hi"))
    assert info.value.retryable is True
    assert "closed the connection without answering" in info.value.message


def test_it_reports_a_bad_certificate_without_the_url(tmp_path):
    with ChatServer(tls=self_signed_cert(tmp_path)) as server:
        with pytest.raises(TransportError) as info:
            Probe(server.url).send(Message(text="hi"))
        assert server.requests == []
    assert info.value.message == "Probe could not be reached: TLS certificate verification failed"
    assert info.value.retryable is False  # a certificate problem stays until someone fixes it


def test_it_reports_tls_spoken_to_a_plain_http_server(receiver):
    with pytest.raises(TransportError) as info:
        Probe(receiver.url.replace("http://", "https://")).send(Message(text="hi"))
    assert info.value.message == "Probe could not be reached: TLS handshake failed"
    assert info.value.retryable is False


def test_it_redacts_the_secret_and_url_tokens_from_answers(receiver):
    transport = Probe(receiver.url, secret="signing-Secret-42")
    receiver.answer(Answer(400, b"bad token Wh7kQ2xR9mTs4Lp1 for signing-Secret-42"))
    with pytest.raises(TransportError) as info:
        transport.send(Message(text="hi"))
    assert "Wh7kQ2xR9mTs4Lp1" not in info.value.message
    assert "signing-Secret-42" not in info.value.body
    assert info.value.body == "bad token *** for ***"


def test_it_keeps_plain_words_readable_when_redacting():
    transport = Probe("https://chat.example.com/hooks/webhooks/services/AbC123def456")
    assert transport.redact("no service at /hooks/webhooks/services/AbC123def456") == (
        "no service at /hooks/webhooks/services/***"
    )


def test_transport_error_carries_everything_the_caller_needs():
    error = TransportError(
        "Probe answered HTTP 429",
        retryable=True,
        status=429,
        body="slow",
        retry_after=2.5,
        who="Probe",
    )
    assert (str(error), error.retryable, error.status, error.body, error.retry_after) == (
        "Probe answered HTTP 429",
        True,
        429,
        "slow",
        2.5,
    )
    assert "retryable=True" in repr(error)
    assert (error.source, error.who) == ("chat", "Probe")


def test_messages_and_replies_are_immutable():
    message = Message(text="t")
    assert (message.title, message.footer) == ("", "")
    with pytest.raises(AttributeError):
        message.text = "x"  # type: ignore[misc]


@pytest.mark.parametrize(
    "value, expected",
    [(None, None), ("", None), ("7", 7.0), (" 1.5 ", 1.5), ("-3", 0.0), ("soon", None)],
)
def test_it_parses_retry_after_seconds(value, expected):
    assert parse_retry_after(value) == expected


def test_it_parses_retry_after_dates():
    assert parse_retry_after(formatdate(time.time() + 60, usegmt=True)) == pytest.approx(60, abs=2)
    assert parse_retry_after(formatdate(time.time() - 60, usegmt=True)) == 0.0
