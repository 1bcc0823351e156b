from __future__ import annotations

import json
import uuid

import pytest

from integrations.channels import Message, OptionsError, TransportError
from integrations.channels.line import (
    MAX_MESSAGES,
    MAX_TEXT,
    RETRY_KEY,
    LineTransport,
    plain_text,
    retry_key,
)
from integrations.channels.sizing import utf16_units
from tests.fakes.chat_server import Answer
from tests.fakes.line_server import TOKEN, USER_ID, LineReceiver

from .contract import FAST, SplittingContract, paragraphs

TO = {"to": USER_ID}
KEY = "0b8f7c52-3e1d-5a4b-9c6e-2f1a0d9e8b7c"  # a Message.key, as delivery.message_key makes


def transport(**options) -> LineTransport:
    return LineTransport("", {**TO, **options}, TOKEN)


def texts(parts: list[dict]) -> list[list[str]]:
    return [[m["text"] for m in part["messages"]] for part in parts]


class TestLine(SplittingContract):
    transport_class = LineTransport
    receiver_class = LineReceiver
    options = TO
    permanent_answers = (
        "invalid_to",
        "bad_request",
        "failed_to_send",
        "invalid_token",
        "forbidden",
        "monthly_limit",
    )
    transient_answers = ("rate_limited", "server_error")
    # 8 text messages of up to 5,000 characters: two pushes (5 + 3).
    long_message = Message(text=paragraphs(150), title="Digest", footer="end", key=KEY)

    def received(self, request):
        """The part as stored: the JSON body plus the retry key the header carried."""
        return {**request.json, RETRY_KEY: request.header("X-Line-Retry-Key")}

    # -- the request -------------------------------------------------------------------

    def test_it_sends_the_exact_push(self, receiver):
        self.make(receiver.url).send(
            Message(
                text="Deploy **done** - see [log](https://ci.example.com/1)", title="CI", key=KEY
            )
        )
        request = receiver.requests[0]
        assert (request.method, request.path) == ("POST", "/v2/bot/message/push")
        assert request.header("Authorization") == f"Bearer {TOKEN}"
        assert request.header("X-Line-Retry-Key") == retry_key(KEY, 0)
        assert request.json == {
            "to": USER_ID,
            "messages": [
                {"type": "text", "text": "CI\n\nDeploy done - see log (https://ci.example.com/1)"}
            ],
            "notificationDisabled": False,
        }

    def test_it_sends_silently_when_asked(self, receiver):
        self.make(receiver.url, options={**TO, "silent": True}).send(Message(text="hi"))
        assert receiver.requests[0].json["notificationDisabled"] is True

    def test_it_uses_api_line_me_when_the_url_is_empty(self):
        url, headers, body = transport().prepare(transport().build(Message(text="hi"))[0])
        assert url == "https://api.line.me/v2/bot/message/push"
        assert LineTransport.clean_url("") == "https://api.line.me"
        assert RETRY_KEY not in json.loads(body)  # it travels in the header only
        assert uuid.UUID(headers["X-Line-Retry-Key"])

    def test_it_posts_to_another_server_under_its_path(self):
        proxy = LineTransport("https://line-proxy.example.com/line/", TO, TOKEN)
        assert proxy.prepare({"to": USER_ID})[0] == (
            "https://line-proxy.example.com/line/v2/bot/message/push"
        )

    # -- plain text ----------------------------------------------------------------------

    def test_it_renders_markdown_as_readable_plain_text(self):
        text = (
            "# Release **1.2**\n**bold** *italic* ~~gone~~ `code` and [docs](https://d.example/x) "
            "<https://a.example> ![chart](https://i.example/c.png) [rel](docs/x)\n"
            "- one\n- two\n  - nested\n1. first\n2. second\n\n> quoted\n\n"
            "| a | b |\n|---|---|\n| 1 | 2 |\n\n```sh\nmake test\n```"
        )
        assert plain_text(text) == (
            "Release 1.2\n\nbold italic gone code and docs (https://d.example/x) "
            "https://a.example chart (https://i.example/c.png) rel\n\n"
            "• one\n• two\n  • nested\n\n1. first\n2. second\n\n> quoted\n\n"
            "a | b\n1 | 2\n\nmake test"
        )

    def test_it_puts_the_title_on_top_and_the_footer_at_the_end(self):
        [part] = transport().build(Message(text="*body*", title="Title", footer="Footer"))
        assert texts([part]) == [["Title\n\nbody\n\nFooter"]]

    # -- splitting -----------------------------------------------------------------------

    def test_it_splits_into_pushes_of_five_messages_of_5000_characters(self):
        parts = transport().build(self.long_message)
        chunks = texts(parts)
        assert [len(c) for c in chunks] == [MAX_MESSAGES, 3]
        assert all(len(t) <= MAX_TEXT for c in chunks for t in c)
        flat = [t for c in chunks for t in c]
        assert flat[0].startswith("Digest\n\nP0 ") and flat[-1].endswith("\n\nend")
        numbers = [int(w[1:]) for t in flat for w in t.split() if w.startswith("P")]
        assert numbers == list(range(150))

    def test_it_counts_emoji_as_two_units(self):
        [part] = transport().build(Message(text="😀" * 4000))  # 8,000 UTF-16 units
        assert len(part["messages"]) == 2
        assert all(utf16_units(m["text"]) <= MAX_TEXT for m in part["messages"])

    # -- retry keys ----------------------------------------------------------------------

    def test_the_retry_key_is_the_same_on_every_build_of_one_delivery(self):
        first = transport().build(self.long_message)
        again = transport().build(self.long_message)
        keys = [p[RETRY_KEY] for p in first]
        assert keys == [p[RETRY_KEY] for p in again] == [retry_key(KEY, 0), retry_key(KEY, 1)]
        assert len(set(keys)) == 2  # each push has its own
        assert all(uuid.UUID(k).version == 5 for k in keys)

    def test_a_one_off_message_gets_a_random_retry_key(self):
        first, second = (transport().build(Message(text="test"))[0][RETRY_KEY] for _ in range(2))
        assert first != second and uuid.UUID(first).version == 4

    def test_409_for_an_accepted_retry_key_is_a_success(self, receiver):
        receiver.answer("retry_key_accepted")
        [reply] = self.make(receiver.url).send(Message(text="hi", key=KEY))
        assert reply.status == 409

    def test_a_push_retried_after_a_timeout_is_not_delivered_twice(self, receiver):
        transport = self.make(receiver.url, timeout=FAST)
        [part] = transport.build(Message(text="hi", key=KEY))
        stored = json.loads(json.dumps(part))  # parts are stored as JSON between tries
        receiver.hang(2)  # LINE accepts the push, the answer comes too late
        with pytest.raises(TransportError) as info:
            transport.post(part)
        assert info.value.retryable is True
        reply = transport.post(stored)
        assert reply.status == 409
        assert [r.header("X-Line-Retry-Key") for r in receiver.requests] == [retry_key(KEY, 0)] * 2
        assert receiver.answers_given[-1].status == 409

    def test_409_without_an_accepted_request_is_an_error(self, receiver):
        error = self.failure(receiver, Answer.json(409, {"message": "Conflict"}))
        assert (error.status, error.retryable) == (409, False)

    # -- answers -------------------------------------------------------------------------

    def test_it_accepts_the_older_empty_answer(self, receiver):
        receiver.answer("success_empty")
        [reply] = self.make(receiver.url).send(Message(text="hi"))
        assert (reply.status, reply.body) == (200, "{}")

    def test_it_explains_the_monthly_limit_as_permanent(self, receiver):
        error = self.failure(receiver, "monthly_limit")
        assert (error.retryable, error.retry_after) == (False, None)
        assert "You have reached your monthly limit." in error.message
        assert "LINE Official Account Manager" in error.message

    def test_a_rate_limit_passes_on_retry_after(self, receiver):
        assert self.failure(receiver, "rate_limited").retry_after is None
        answer = Answer.json(429, {"message": "Too Many Requests"}, **{"Retry-After": "7"})
        error = self.failure(receiver, answer)
        assert (error.retryable, error.retry_after) == (True, 7.0)

    def test_it_names_the_to_option_for_an_invalid_recipient(self, receiver):
        error = self.failure(receiver, "invalid_to")
        assert error.message.startswith(
            "LINE answered HTTP 400 (The property, 'to', in the request body is invalid"
        )
        assert "check option 'to'" in error.message

    def test_it_shows_the_details_of_a_bad_request(self, receiver):
        error = self.failure(receiver, "bad_request")
        assert (
            "(Request body has 2 error(s). (messages[0].text: may not be empty; " in error.message
        )

    def test_it_fails_on_200_that_is_not_json(self, receiver):
        receiver.answer(Answer(200, b"<html>ok</html>", (("Content-Type", "text/html"),)))
        with pytest.raises(TransportError) as info:
            self.make(receiver.url).send(Message(text="hi"))
        assert info.value.retryable is False

    def test_the_fake_refuses_another_token_like_line(self, receiver):
        with pytest.raises(TransportError) as info:
            self.make(receiver.url, secret="A" * 172).send(Message(text="hi"))
        assert (info.value.status, info.value.retryable) == (401, False)
        assert "channel access token" in info.value.message

    # -- the token never leaks ---------------------------------------------------------

    def test_the_token_is_scrubbed_from_an_answer_that_echoes_it(self, receiver):
        echo = json.dumps({"message": f"bad header Bearer {TOKEN}"}).encode()
        receiver.answer(Answer(400, echo, (("Content-Type", "application/json"),)))
        with pytest.raises(TransportError) as info:
            self.make(receiver.url).send(Message(text="hi"))
        for text in (str(info.value), repr(info.value), info.value.body):
            assert TOKEN not in text
        assert "***" in info.value.body

    def test_the_token_is_not_in_the_repr_or_the_body(self, receiver):
        transport = self.make(receiver.url)
        transport.send(Message(text="hi"))
        assert TOKEN not in repr(transport) and TOKEN not in receiver.requests[0].text

    # -- configuration -------------------------------------------------------------------

    @pytest.mark.parametrize(
        "to", ["U4af4980629a1b2c3d4e5f60718293a4", "X4af4980629a1b2c3d4e5f60718293a4b", "user"]
    )
    def test_it_rejects_a_to_that_is_no_id(self, to):
        with pytest.raises(
            OptionsError, match="option 'to' for line must be a user, group or room ID: U, C or R"
        ):
            LineTransport.clean_options({"to": to})

    def test_it_explains_that_a_line_id_is_not_a_user_id(self):
        with pytest.raises(
            OptionsError, match=r"option 'to' for line .* not a LINE ID \(@\.\.\.\)"
        ):
            LineTransport.clean_options({"to": "@difyhub"})

    def test_it_takes_user_group_and_room_ids(self):
        for to in (USER_ID, "C" + USER_ID[1:], "R" + USER_ID[1:]):
            assert LineTransport.clean_options({"to": f" {to} "}) == {"to": to}
        with pytest.raises(OptionsError, match="option 'to' is required for line"):
            LineTransport.clean_options({"silent": True})

    def test_it_tells_a_channel_secret_from_an_access_token_without_quoting_it(self):
        secret = "8c5f0a1b2c3d4e5f60718293a4b5c6d7"
        with pytest.raises(OptionsError) as info:
            LineTransport.clean_secret(secret)
        assert "looks like the channel secret" in str(info.value)
        assert secret not in str(info.value)

    def test_it_checks_the_token_shape_without_quoting_it(self):
        for bad in ("short", TOKEN[:60] + " " + TOKEN[60:]):
            with pytest.raises(OptionsError) as info:
                LineTransport.clean_secret(bad)
            assert "channel access token does not look like one" in str(info.value)
            assert bad not in str(info.value)
        assert LineTransport.clean_secret(f"Bearer {TOKEN}") == TOKEN
        with pytest.raises(OptionsError, match="channel access token is required for line"):
            LineTransport.clean_secret("")

    def test_it_sends_line_notify_users_to_the_messaging_api(self):
        with pytest.raises(OptionsError, match="LINE Notify was shut down on 31 March 2025"):
            LineTransport.clean_url("https://notify-api.line.me/api/notify")

    def test_it_wants_the_server_not_the_endpoint(self):
        with pytest.raises(OptionsError, match="the server only"):
            LineTransport.clean_url("https://api.line.me/v2/bot/message/push")
