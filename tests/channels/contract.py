"""Behaviour every transport shares, tested once per kind.

Like django-allauth's provider test mixins: a kind's test class inherits
`TransportContract`, names its transport and receiver and lists which of the
receiver's real answers are permanent or transient, and gets the generic
tests for free. Everything goes over real sockets to the local receiver.
"""

from __future__ import annotations

import time

import pytest

from integrations.channels import Message, OptionsError, Transport, TransportError, get_transport
from tests.fakes.chat_server import ChatServer

FAST = (0.5, 0.5)  # connect, read timeouts for the "hangs" tests


def paragraphs(count: int, words: int = 40, word: str = "lorem") -> str:
    """Plain text made of numbered paragraphs, easy to check after splitting."""
    return "\n\n".join(f"P{n} " + " ".join([word] * words) for n in range(count))


class TransportContract:
    transport_class: type[Transport]
    receiver_class: type[ChatServer]
    options: dict = {}
    secret: str = ""
    permanent_answers: tuple[str, ...] = ()
    transient_answers: tuple[str, ...] = ()
    # a message long enough to need several parts (None: the kind never splits)
    long_message: Message | None = None
    sends_json: bool = True  # ntfy's body is the plain message

    def pytest_generate_tests(self, metafunc):
        """One run of the answer tests per answer listed on the class."""
        for argument, attribute in (
            ("permanent_answer", "permanent_answers"),
            ("transient_answer", "transient_answers"),
        ):
            if argument in metafunc.fixturenames:
                metafunc.parametrize(argument, getattr(self, attribute))

    @pytest.fixture
    def receiver(self):
        with self.receiver_class() as server:
            yield server

    def make(self, url: str, **kwargs) -> Transport:
        kwargs.setdefault("timeout", (2.0, 2.0))
        options = kwargs.pop("options", self.options)
        secret = kwargs.pop("secret", self.secret or self.receiver_class.secret)
        return self.transport_class(url, options, secret, **kwargs)

    def failure(self, receiver, answer, message=None) -> TransportError:
        receiver.answer(answer)
        with pytest.raises(TransportError) as info:
            self.make(receiver.url).send(message or Message(text="hello"))
        return info.value

    def assert_no_secrets(self, receiver, error: TransportError) -> None:
        for secret in receiver.secrets:
            assert secret not in str(error)
            assert secret not in repr(error)
            assert secret not in error.body

    # -- the contract ------------------------------------------------------

    def test_it_is_registered_under_its_kind(self):
        assert get_transport(self.transport_class.kind) is self.transport_class
        assert self.transport_class.label

    def test_it_posts_json_and_returns_the_reply(self, receiver):
        replies = self.make(receiver.url).send(Message(text="Hello **world**", title="Daily"))
        assert len(replies) == 1 == len(receiver.requests)
        request = receiver.requests[0]
        assert request.method == self.transport_class.http_method
        assert receiver.expects_path(request.path), request.path
        if self.sends_json:
            assert request.header("Content-Type").startswith("application/json")
            assert request.json is not None
        answer = receiver.answers_given[0]
        assert replies[0].status == answer.status
        assert replies[0].body == answer.body.decode()[:1000]

    def test_it_treats_permanent_answers_as_permanent(self, receiver, permanent_answer):
        error = self.failure(receiver, permanent_answer)
        assert error.retryable is False
        assert error.status == receiver.answers_given[0].status
        assert self.transport_class.label in error.message
        self.assert_no_secrets(receiver, error)

    def test_it_treats_transient_answers_as_transient(self, receiver, transient_answer):
        error = self.failure(receiver, transient_answer)
        assert error.retryable is True
        self.assert_no_secrets(receiver, error)

    def test_it_treats_a_proxy_error_as_transient(self, receiver):
        error = self.failure(receiver, "proxy_error")
        assert (error.retryable, error.status) == (True, 502)
        assert "<html>" not in error.message  # no HTML soup in the message

    def test_it_treats_a_redirect_as_permanent_without_following_it(self, receiver):
        error = self.failure(receiver, "redirect")
        assert (error.retryable, error.status) == (False, 301)
        assert "redirect" in error.message
        assert len(receiver.requests) == 1

    def test_it_treats_a_rate_limit_as_transient(self, receiver):
        error = self.failure(receiver, "rate_limited")
        assert error.retryable is True

    def test_it_treats_a_server_error_as_transient(self, receiver):
        error = self.failure(receiver, "server_error")
        assert error.retryable is True

    def test_it_treats_a_timeout_as_transient(self, receiver):
        receiver.hang(10)
        started = time.monotonic()
        with pytest.raises(TransportError) as info:
            self.make(receiver.url, timeout=FAST).send(Message(text="hello"))
        assert time.monotonic() - started < 2
        assert info.value.retryable is True
        assert "no answer within 0.5 s" in info.value.message
        self.assert_no_secrets(receiver, info.value)

    def test_it_treats_connection_refused_as_transient(self, receiver):
        url = receiver.closed_url()
        with pytest.raises(TransportError) as info:
            self.make(url).send(Message(text="hello"))
        assert info.value.retryable is True
        assert "connection refused" in info.value.message
        assert url not in str(info.value)
        for secret in receiver.secrets[1:]:
            assert secret not in str(info.value)
        assert info.value.__suppress_context__  # the URL-bearing requests error is not chained

    def test_it_rejects_unknown_options_naming_them(self):
        with pytest.raises(OptionsError) as info:
            self.transport_class.clean_options({**self.options, "colour": "red"})
        message = str(info.value)
        assert f"unknown option 'colour' for {self.transport_class.kind}" in message
        assert "allowed:" in message

    def test_it_rejects_options_of_the_wrong_type(self):
        for name, expected in self.transport_class.options.items():
            wrong = 12 if expected is not int else "12"
            with pytest.raises(OptionsError, match=f"option '{name}'"):
                self.transport_class.clean_options({name: wrong})

    def test_it_rejects_urls_that_are_not_http(self, receiver):
        cls = self.transport_class
        bad = ["ftp://example.com/hook", "example.com/hooks/x", "https:///nohost"]
        if cls.url_required:
            bad.append("")
        else:  # an empty URL means the service's public API
            assert cls.clean_url("") == cls.clean_url("  ") == cls.default_url
        for url in bad:
            with pytest.raises(OptionsError) as info:
                cls.clean_url(url)
            assert cls.url_label in str(info.value)
        assert cls.clean_url(f"  {receiver.url} ") == receiver.url

    def test_it_keeps_the_token_out_of_url_errors(self, receiver):
        bad = receiver.url.replace("http://", "gopher://")
        with pytest.raises(OptionsError) as info:
            self.transport_class.clean_url(bad)
        for secret in receiver.secrets:
            assert secret not in str(info.value)

    def test_it_does_not_show_the_url_in_repr(self, receiver):
        transport = self.make(receiver.url)
        assert receiver.url not in repr(transport)

    def received(self, request):
        """The payload as the receiver got it, minus send-time signing."""
        return request.json


class SplittingContract(TransportContract):
    """For kinds that send a long message as several parts (the others truncate)."""

    def test_it_sends_every_part_in_order(self, receiver):
        transport = self.make(receiver.url)
        parts = transport.build(self.long_message)
        assert len(parts) > 1
        replies = transport.send(self.long_message)
        assert len(replies) == len(parts) == len(receiver.requests)
        assert [self.received(r) for r in receiver.requests] == parts

    def test_it_stops_at_the_first_failing_part(self, receiver):
        receiver.answer("success", "server_error")
        with pytest.raises(TransportError):
            self.make(receiver.url).send(self.long_message)
        assert len(receiver.requests) == 2
