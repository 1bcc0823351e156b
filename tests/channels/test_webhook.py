from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import datetime

import pytest

from integrations.channels import Message, OptionsError, TransportError
from integrations.channels.webhook import WebhookTransport
from tests.fakes.chat_server import ChatServer

from .contract import TransportContract

RAW_KEY = b"\x01\x02secret-key-bytes\xff"
WHSEC = "whsec_" + base64.b64encode(RAW_KEY).decode()
URL = "https://hooks.example.com/in"


def verify(request, key: bytes) -> None:
    webhook_id = request.header("webhook-id")
    timestamp = request.header("webhook-timestamp")
    signed = f"{webhook_id}.{timestamp}.".encode() + request.body
    expected = "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    assert request.header("webhook-signature") == expected
    assert abs(int(timestamp) - time.time()) < 5


class TestWebhook(TransportContract):
    transport_class = WebhookTransport
    receiver_class = ChatServer
    secret = WHSEC
    permanent_answers = ("bad_request", "unauthorized", "gone")
    transient_answers = ("request_timeout", "rate_limited", "unavailable")

    def received(self, request):
        return request.json

    def test_it_sends_the_default_body(self, receiver):
        self.make(receiver.url, secret="").send(Message(text='**hi** "you"', title="T", footer="F"))
        sent = receiver.requests[0].json
        sent_at = sent.pop("sent_at")
        assert sent == {"title": "T", "text": '**hi** "you"', "footer": "F"}
        assert abs(datetime.fromisoformat(sent_at).timestamp() - time.time()) < 5
        assert sent_at.endswith("+00:00")

    def test_it_fills_a_body_template_with_escaped_text(self, receiver):
        template = (
            '{"msg": "$TITLE: $TEXT", "meta": {"footer": "$FOOTER", "at": "$SENT_AT"}, "n": 1}'
        )
        transport = self.make(receiver.url, options={"body_template": template})
        transport.send(
            Message(text='line 1\nsays "hi" \\ costs $TEXT $SENT_AT', title="雨", footer="")
        )
        sent = receiver.requests[0].json
        assert sent["msg"] == '雨: line 1\nsays "hi" \\ costs $TEXT $SENT_AT'
        assert sent["meta"]["footer"] == ""
        assert sent["meta"]["at"].startswith(str(datetime.now().year))
        assert sent["n"] == 1

    def test_it_rejects_a_template_that_is_not_json_once_filled(self):
        with pytest.raises(OptionsError) as info:
            WebhookTransport.clean_options({"body_template": '{"text": $TEXT}'})
        assert "option 'body_template' for webhook is not valid JSON" in str(info.value)
        assert "inside quotes" in str(info.value)

    def test_it_sends_extra_headers(self, receiver):
        self.make(
            receiver.url, options={"headers": {"Authorization": "Bearer abc", "X-Env": "prod"}}
        ).send(Message(text="hi"))
        request = receiver.requests[0]
        assert request.header("Authorization") == "Bearer abc"
        assert request.header("X-Env") == "prod"

    @pytest.mark.parametrize(
        "headers, complaint",
        [
            ({"webhook-signature": "v1,x"}, "may not set webhook-signature"),
            ({"Bad Header": "x"}, "invalid header name"),
            ({"X-A": "one\ntwo"}, "single-line string"),
            ({"X-A": 5}, "single-line string"),
        ],
    )
    def test_it_rejects_bad_headers(self, headers, complaint):
        with pytest.raises(OptionsError, match=complaint):
            WebhookTransport.clean_options({"headers": headers})

    def test_it_signs_with_a_whsec_secret(self, receiver):
        self.make(receiver.url).send(Message(text="hi"))
        verify(receiver.requests[0], RAW_KEY)

    def test_it_signs_with_a_raw_secret(self, receiver):
        self.make(receiver.url, secret="plain secret").send(Message(text="hi"))
        verify(receiver.requests[0], b"plain secret")

    def test_it_sends_id_and_timestamp_but_no_signature_without_a_secret(self, receiver):
        self.make(receiver.url, secret="").send(Message(text="hi"))
        request = receiver.requests[0]
        assert request.header("webhook-id").startswith("msg_")
        assert request.header("webhook-timestamp")
        assert request.header("webhook-signature") is None

    def test_it_reuses_the_webhook_id_when_a_part_is_retried(self, receiver):
        transport = self.make(receiver.url)
        [part] = transport.build(Message(text="hi"))
        receiver.answer("unavailable")
        with pytest.raises(TransportError):
            transport.post(part)
        transport.post(part)
        first, second = receiver.requests
        assert first.header("webhook-id") == second.header("webhook-id") == part["webhook_id"]
        verify(second, RAW_KEY)
        assert "webhook_id" not in second.json

    def test_it_gives_each_message_its_own_id(self):
        transport = WebhookTransport(URL)
        ids = {transport.build(Message(text="same"))[0]["webhook_id"] for _ in range(3)}
        assert len(ids) == 3

    def test_it_rejects_a_broken_whsec_secret(self):
        with pytest.raises(OptionsError, match="whsec_"):
            WebhookTransport(URL, secret="whsec_not base64!")

    def test_it_accepts_any_2xx(self, receiver):
        receiver.answer("no_content")
        [reply] = self.make(receiver.url).send(Message(text="hi"))
        assert reply.status == 204

    def test_it_passes_on_retry_after(self, receiver):
        assert self.failure(receiver, "rate_limited").retry_after == 120.0

    def test_it_keeps_the_query_token_out_of_errors(self, receiver):
        error = self.failure(receiver, "unauthorized")
        assert "Wh7kQ2xR9mTs4Lp1" not in str(error)
        assert json.loads(error.body) == {"error": "invalid signature"}
