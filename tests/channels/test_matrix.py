from __future__ import annotations

import json
import re

import pytest

from integrations.channels import Message, OptionsError, TransportError
from integrations.channels.base import encode_json
from integrations.channels.html import to_html
from integrations.channels.matrix import MAX_CONTENT_BYTES, MatrixTransport
from tests.fakes.chat_server import Answer, load_fixture
from tests.fakes.matrix_server import DIRECTORY_FIXTURES, FIXTURES, MatrixReceiver

from .contract import FAST, SplittingContract, paragraphs

ROOM = MatrixReceiver.room_id
ALIAS = MatrixReceiver.alias
TOKEN = MatrixReceiver.secret
KEY = "0b6f5c1e-2d3a-5b4c-9e8f-7a6b5c4d3e2f"
SEND = "/_matrix/client/v3/rooms/%21hWkYzJvLqPcRsTuX%3Aexample.org/send/m.room.message/"


def matrix(room: str = ROOM, **options) -> MatrixTransport:
    return MatrixTransport("https://matrix.example.org", {"room": room, **options}, TOKEN)


class TestMatrix(SplittingContract):
    transport_class = MatrixTransport
    receiver_class = MatrixReceiver
    options = {"room": ROOM}
    permanent_answers = (
        "forbidden_not_in_room",
        "forbidden_power_level",
        "forbidden_unknown_room",
        "unknown_token",
        "soft_logout",
        "missing_token",
        "unrecognized",
        "too_large",
        "bad_event",
    )
    transient_answers = ("rate_limited", "rate_limited_body_only", "server_error")
    # A key, so that building it twice gives the same parts (transaction ids included).
    long_message = Message(text=paragraphs(150), title="Digest", key=KEY)

    def received(self, request):
        return {**request.json, "_txn_id": MatrixReceiver.txn_id(request)}

    # -- what is sent ---------------------------------------------------------

    def test_it_puts_the_event_with_html_and_a_stable_txn_id(self, receiver):
        message = Message(
            text="Deploy **done** <b>now</b> @room", title="CI", footer="hub", key=KEY
        )
        self.make(receiver.url).send(message)
        [request] = receiver.requests
        assert request.method == "PUT"
        assert request.path == SEND + f"dify-hub.{KEY}.0"
        assert request.header("Authorization") == f"Bearer {TOKEN}"
        assert request.header("Content-Type") == "application/json; charset=utf-8"
        assert request.json == {
            "msgtype": "m.notice",
            "body": "**CI**\n\nDeploy **done** <b>now</b> @room\n\n_hub_",
            "format": "org.matrix.custom.html",
            "formatted_body": "<p><strong>CI</strong></p>\n"
            "<p>Deploy <strong>done</strong> &lt;b&gt;now&lt;/b&gt; @room</p>\n"
            "<p><em>hub</em></p>\n",
            "m.mentions": {},
        }

    def test_it_sends_m_text_when_notice_is_off(self, receiver):
        self.make(receiver.url, options={"room": ROOM, "notice": False}).send(Message(text="hi"))
        assert receiver.requests[0].json["msgtype"] == "m.text"

    def test_it_keeps_the_txn_id_out_of_the_body(self):
        [part] = matrix().build(Message(text="hi", key=KEY))
        assert part["_txn_id"] == f"dify-hub.{KEY}.0"
        url, _, body = matrix().prepare(part)
        assert url.endswith(f"/send/m.room.message/dify-hub.{KEY}.0")
        assert "_txn_id" not in json.loads(body)

    def test_it_uses_the_base_url_without_a_trailing_slash(self, receiver):
        MatrixTransport(receiver.url + "/", self.options, TOKEN).send(Message(text="hi"))
        assert receiver.requests[0].path.startswith("/_matrix/client/v3/rooms/")

    # -- idempotency --------------------------------------------------------------------

    def test_it_derives_txn_ids_from_the_message_key(self):
        first = [p["_txn_id"] for p in matrix().build(self.long_message)]
        again = [p["_txn_id"] for p in matrix().build(self.long_message)]
        assert first == again
        assert first == [f"dify-hub.{KEY}.{n}" for n in range(len(first))]

    def test_it_makes_random_txn_ids_without_a_key(self):
        one = matrix().build(Message(text="hi"))[0]["_txn_id"]
        two = matrix().build(Message(text="hi"))[0]["_txn_id"]
        assert one != two and one.startswith("dify-hub.once.")

    def test_a_stored_part_is_reposted_with_the_same_txn_id(self, receiver):
        transport = self.make(receiver.url)
        parts = transport.build(Message(text="hello", key=KEY))
        stored = json.loads(json.dumps(parts))  # as the delivery keeps them
        receiver.answer("server_error")
        with pytest.raises(TransportError) as info:
            transport.post(stored[0])
        assert info.value.retryable is True
        # A later attempt: a new transport (another worker), the same stored part.
        self.make(receiver.url).post(stored[0])
        first, retry = receiver.requests
        assert first.path == retry.path == SEND + f"dify-hub.{KEY}.0"
        assert first.body == retry.body

    # -- splitting ------------------------------------------------------------------------

    def test_it_splits_well_under_the_event_size_limit(self):
        text = paragraphs(300, words=40, word="a<b&c")  # HTML escaping doubles its size
        parts = matrix().build(Message(text=text, title="Digest", key=KEY))
        assert len(parts) > 2
        for part in parts:
            content = {k: v for k, v in part.items() if k != "_txn_id"}
            assert content["formatted_body"] == to_html(content["body"])
            assert len(encode_json(content)) <= MAX_CONTENT_BYTES + 200
            assert len(encode_json(content)) < 65536 // 2 + 1000
        bodies = "\n\n".join(p["body"] for p in parts)
        assert re.findall(r"P\d+", bodies) == [f"P{n}" for n in range(300)]
        assert parts[0]["body"].startswith("**Digest**\n\nP0 ")

    def test_it_counts_multibyte_text_in_bytes(self):
        parts = matrix().build(Message(text=paragraphs(120, word="天气晴朗"), key=KEY))
        assert len(parts) > 1
        assert all(
            len(encode_json(p["body"])) + len(encode_json(p["formatted_body"]))
            <= MAX_CONTENT_BYTES + 8
            for p in parts
        )

    def test_it_never_ends_a_part_inside_a_code_block(self):
        code = "```python\n" + "\n".join(f"print('<{i}>')" for i in range(4000)) + "\n```"
        parts = matrix().build(Message(text=code, key=KEY))
        assert len(parts) > 1
        for part in parts:
            assert part["body"].startswith("```python\n") and part["body"].endswith("\n```")
            html = part["formatted_body"]
            assert html.count("<pre>") == html.count("</pre>") == 1

    # -- the room alias ---------------------------------------------------------------------

    def test_it_resolves_an_alias_once(self, receiver):
        transport = self.make(receiver.url, options={"room": ALIAS})
        transport.send(Message(text="one"))
        transport.send(Message(text="two"))
        lookup, *sends = receiver.requests
        assert (lookup.method, MatrixReceiver.looked_up(lookup)) == ("GET", ALIAS)
        assert lookup.path == "/_matrix/client/v3/directory/room/%23family%3Aexample.org"
        assert lookup.header("Authorization") == f"Bearer {TOKEN}"
        assert [MatrixReceiver.room(r) for r in sends] == [ROOM, ROOM]
        assert len(receiver.lookups()) == 1

    def test_an_unknown_alias_is_a_permanent_error_naming_it(self, receiver):
        receiver.answer_directory("not_found")
        with pytest.raises(TransportError) as info:
            self.make(receiver.url, options={"room": ALIAS}).send(Message(text="hi"))
        error = info.value
        assert (error.retryable, error.status) == (False, 404)
        assert error.message.startswith(f"Matrix knows no room with the alias {ALIAS}")
        assert "option 'room'" in error.message
        assert receiver.sends() == []

    def test_a_failed_lookup_is_retried_on_the_next_attempt(self, receiver):
        receiver.answer_directory("federation_failed")
        transport = self.make(receiver.url, options={"room": ALIAS})
        with pytest.raises(TransportError) as info:
            transport.send(Message(text="hi"))
        assert (info.value.retryable, info.value.status) == (True, 502)
        assert f"could not look up the room alias {ALIAS}" in info.value.message
        transport.send(Message(text="hi"))  # nothing cached from the failure
        assert len(receiver.lookups()) == 2 and len(receiver.sends()) == 1

    def test_a_lookup_without_a_room_id_is_permanent(self, receiver):
        receiver.answer_directory(Answer.json(200, {"servers": ["example.org"]}))
        with pytest.raises(TransportError) as info:
            self.make(receiver.url, options={"room": ALIAS}).send(Message(text="hi"))
        assert info.value.retryable is False
        assert "with no room_id" in info.value.message

    def test_a_rate_limited_lookup_keeps_its_retry_after(self, receiver):
        receiver.answer_directory(Answer.from_fixture("rate_limited", FIXTURES))
        with pytest.raises(TransportError) as info:
            self.make(receiver.url, options={"room": ALIAS}).send(Message(text="hi"))
        assert (info.value.retryable, info.value.retry_after) == (True, 3.0)

    @pytest.mark.parametrize("name", sorted(p.stem for p in DIRECTORY_FIXTURES.glob("*.json")))
    def test_it_judges_each_recorded_lookup_answer(self, receiver, name):
        fixture = load_fixture(name, DIRECTORY_FIXTURES)
        assert set(fixture) >= {"description", "source", "status", "body", "expect"}
        assert name in MatrixReceiver.directory_presets.values()
        receiver.answer_directory(name)
        transport = self.make(receiver.url, options={"room": ALIAS})
        if fixture["expect"] == "success":
            transport.send(Message(text="hi"))
            assert MatrixReceiver.room(receiver.sends()[0]) == fixture["body"]["room_id"]
            return
        with pytest.raises(TransportError) as info:
            transport.send(Message(text="hi"))
        assert info.value.retryable is (fixture["expect"] == "transient")
        assert info.value.status == fixture["status"]
        self.assert_no_secrets(receiver, info.value)

    # -- answers ------------------------------------------------------------------------------

    def test_it_tells_to_invite_the_bot(self, receiver):
        error = self.failure(receiver, "forbidden_not_in_room")
        assert error.message == (
            "Matrix answered HTTP 403 (M_FORBIDDEN: User @dify-bot:example.org not in room "
            f"{ROOM} (None)): the bot account is not in this room; invite it, let it join "
            "(log in as the bot and accept), then retry"
        )

    def test_it_tells_apart_the_forbidden_causes(self, receiver):
        assert "power level" in self.failure(receiver, "forbidden_power_level").message
        assert "knows no such room" in self.failure(receiver, "forbidden_unknown_room").message
        msc3848 = {
            "error": "Not joined",
            "errcode": "M_FORBIDDEN",
            "org.matrix.msc3848.unstable.errcode": "ORG.MATRIX.MSC3848.NOT_JOINED",
        }
        assert "invite it" in self.failure(receiver, Answer.json(403, msc3848)).message

    def test_it_tells_a_soft_logout_from_a_dead_token(self, receiver):
        assert "soft logout" in self.failure(receiver, "soft_logout").message
        dead = self.failure(receiver, "unknown_token").message
        assert "soft logout" not in dead and "get a new one" in dead
        assert "no access token was sent" in self.failure(receiver, "missing_token").message

    def test_m_not_found_on_send_is_permanent(self, receiver):
        gone = {"error": "Not found", "errcode": "M_NOT_FOUND"}
        error = self.failure(receiver, Answer.json(404, gone))
        assert (error.retryable, error.status) == (False, 404)
        assert "check option 'room'" in error.message

    def test_it_prefers_retry_after_to_retry_after_ms(self, receiver):
        assert self.failure(receiver, "rate_limited").retry_after == 3.0
        assert self.failure(receiver, "rate_limited_body_only").retry_after == 1.5

    def test_m_limit_exceeded_is_transient_whatever_the_status(self, receiver):
        odd = {"error": "Too Many Requests", "errcode": "M_LIMIT_EXCEEDED", "retry_after_ms": 500}
        error = self.failure(receiver, Answer.json(400, odd))
        assert (error.retryable, error.retry_after) == (True, 0.5)

    def test_it_fails_on_200_without_an_event_id(self, receiver):
        receiver.answer(Answer.json(200, {"ok": True}))
        with pytest.raises(TransportError) as info:
            self.make(receiver.url).send(Message(text="hi"))
        assert info.value.retryable is False
        assert "without an event_id" in info.value.message

    # -- the token never leaks --------------------------------------------------------------

    def test_it_redacts_a_token_the_server_echoes(self, receiver):
        echo = {"error": f"Unrecognised access token {TOKEN}", "errcode": "M_UNKNOWN_TOKEN"}
        error = self.failure(receiver, Answer.json(401, echo))
        self.assert_no_secrets(receiver, error)
        assert "***" in error.message

    def test_the_lookup_keeps_the_token_out_of_network_errors(self, receiver):
        alias = {"room": ALIAS}
        with pytest.raises(TransportError) as refused:
            self.make(receiver.closed_url(), options=alias).send(Message(text="hi"))
        receiver.answer_directory(Answer.from_fixture("resolved", DIRECTORY_FIXTURES).delayed(5))
        with pytest.raises(TransportError) as slow:
            self.make(receiver.url, options=alias, timeout=FAST).send(Message(text="hi"))
        assert "connection refused" in refused.value.message
        assert "no answer within 0.5 s" in slow.value.message
        for error in (refused.value, slow.value):
            assert error.retryable is True
            self.assert_no_secrets(receiver, error)

    def test_a_lookup_at_the_wrong_url_is_not_an_unknown_alias(self, receiver):
        receiver.answer_directory(Answer.from_fixture("unrecognized", FIXTURES))
        with pytest.raises(TransportError) as info:
            self.make(receiver.url, options={"room": ALIAS}).send(Message(text="hi"))
        assert (info.value.retryable, info.value.status) == (False, 404)
        assert info.value.message.startswith(
            f"Matrix could not look up the room alias {ALIAS}: HTTP 404 (M_UNRECOGNIZED"
        )
        assert "check the homeserver URL" in info.value.message

    # -- configuration ------------------------------------------------------------------------

    @pytest.mark.parametrize(
        "room", ["family", "!", "!abc:", "#family", "#:example.org", "#family:", "!a b:x", "@bot:x"]
    )
    def test_it_rejects_rooms_that_are_neither_ids_nor_aliases(self, room):
        with pytest.raises(OptionsError, match="option 'room' for matrix must be a room id"):
            MatrixTransport.clean_options({"room": room})

    def test_it_accepts_room_ids_and_aliases(self):
        for room in (ROOM, "!31hneApxJ_1o-63DmFrpeqnkFfWppnzWso1JvH3ogLM", ALIAS, "#é:x.org"):
            assert MatrixTransport.clean_options({"room": f" {room} "}) == {"room": room}

    def test_it_requires_the_room_and_the_token(self):
        with pytest.raises(OptionsError, match="option 'room' is required for matrix"):
            MatrixTransport.clean_options({"notice": True})
        with pytest.raises(OptionsError, match="access token is required for matrix"):
            MatrixTransport("https://matrix.example.org", {"room": ROOM}, "")
        with pytest.raises(OptionsError, match="without 'Bearer'"):
            MatrixTransport.clean_secret(f"Bearer {TOKEN}")

    @pytest.mark.parametrize(
        "url, why",
        [
            ("https://matrix.example.org/_matrix/client/v3", "without /_matrix"),
            ("https://matrix.example.org/?access_token=x", "query string"),
            ("https://bot:pw@matrix.example.org", "user or password"),
        ],
    )
    def test_it_wants_the_homeserver_base_url(self, url, why):
        with pytest.raises(OptionsError, match="homeserver URL") as info:
            MatrixTransport.clean_url(url)
        assert why in str(info.value)

    def test_it_accepts_a_homeserver_under_a_path(self, receiver):
        assert (
            MatrixTransport.clean_url("https://example.org/matrix") == "https://example.org/matrix"
        )


def test_the_request_fixtures_name_the_path_they_are_sent_to():
    for path in sorted(FIXTURES.glob("request_*.json")):
        fixture = json.loads(path.read_text())
        with MatrixReceiver() as server:
            transport = MatrixTransport(server.url, fixture["options"], server.secret)
            transport.send(Message(**fixture["message"]))
        assert server.requests[0].path == fixture["sent_path"], path.name
