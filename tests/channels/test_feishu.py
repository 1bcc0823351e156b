from __future__ import annotations

import base64
import hashlib
import hmac
import time

import pytest

from integrations.channels import Message, OptionsError, TransportError
from integrations.channels.feishu import FeishuTransport
from tests.fakes.chat_server import Answer, FeishuReceiver

from .contract import SplittingContract, paragraphs

SECRET = "Ks8Lm2Qp9Rt4Vw7X"
URL = "https://open.feishu.cn/open-apis/bot/v2/hook/4a6e2d1c"


def expected_sign(timestamp: str, secret: str = SECRET) -> str:
    key = f"{timestamp}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()


class TestFeishu(SplittingContract):
    transport_class = FeishuTransport
    receiver_class = FeishuReceiver
    secret = SECRET
    permanent_answers = (
        "sign_mismatch",
        "ip_not_allowed",
        "keyword_not_found",
        "bad_request",
        "invalid_token",
    )
    transient_answers = ("rate_limited", "server_error")
    long_message = Message(text=paragraphs(150, words=40, word="日报"), title="Digest")

    def received(self, request):
        data = dict(request.json)
        data.pop("timestamp"), data.pop("sign")
        return data

    def test_it_sends_the_exact_body(self, receiver):
        transport = FeishuTransport(receiver.url, {"header_color": "green"})
        transport.send(Message(text="## Sales\n**Up** 5%", title="Daily", footer="dify-hub"))
        assert receiver.requests[0].json == {
            "msg_type": "interactive",
            "card": {
                "config": {"wide_screen_mode": True},
                "elements": [
                    {"tag": "markdown", "content": "**Sales**\n**Up** 5%"},
                    {"tag": "note", "elements": [{"tag": "plain_text", "content": "dify-hub"}]},
                ],
                "header": {"title": {"tag": "plain_text", "content": "Daily"}, "template": "green"},
            },
        }

    def test_it_signs_the_body_with_a_fresh_timestamp(self, receiver):
        message = Message(text="hello", title="Daily")
        transport = self.make(receiver.url)
        transport.send(message)
        sent = dict(receiver.requests[0].json)
        timestamp, sign = sent.pop("timestamp"), sent.pop("sign")
        assert abs(int(timestamp) - time.time()) < 5
        assert sign == expected_sign(timestamp)
        assert sent == transport.build(message)[0]

    def test_it_sends_no_signature_without_a_secret(self, receiver):
        self.make(receiver.url, secret="").send(Message(text="hello"))
        assert "sign" not in receiver.requests[0].json

    def test_it_splits_cjk_text_under_20_kb_with_numbered_titles(self, receiver):
        replies = self.make(receiver.url).send(
            Message(text=paragraphs(150, words=40, word="日报"), title="日报", footer="end")
        )
        bodies = [r.body for r in receiver.requests]
        assert len(replies) == len(bodies) == 3
        assert all(len(b) <= 20 * 1024 for b in bodies)
        titles = [r.json["card"]["header"]["title"]["content"] for r in receiver.requests]
        assert titles == ["日报 (1/3)", "日报 (2/3)", "日报 (3/3)"]
        notes = [
            e for r in receiver.requests for e in r.json["card"]["elements"] if e["tag"] == "note"
        ]
        assert len(notes) == 1  # footer only on the last card

    def test_it_treats_a_200_with_nonzero_code_as_failure(self, receiver):
        error = self.failure(receiver, "keyword_not_found")
        assert error.status == 200
        assert error.message == (
            "Feishu refused the message: code 19024 (Key Words Not Found): "
            "the bot's keyword filter did not match; put a keyword in the title or drop the filter"
        )

    def test_it_retries_the_frequency_limit(self, receiver):
        error = self.failure(receiver, "rate_limited")
        assert (error.retryable, error.status) == (True, 200)

    def test_it_treats_unknown_codes_as_permanent(self, receiver):
        error = self.failure(
            receiver, Answer.json(200, {"code": 12345, "msg": "new error", "data": {}})
        )
        assert error.retryable is False
        assert "code 12345 (new error)" in error.message

    def test_it_fails_on_200_without_a_code(self, receiver):
        receiver.answer(Answer(200, b"<html>hello</html>", (("Content-Type", "text/html"),)))
        with pytest.raises(TransportError) as info:
            self.make(receiver.url).send(Message(text="hi"))
        assert info.value.retryable is False
        assert "without a result code" in info.value.message

    def test_it_rejects_an_unknown_header_color(self):
        with pytest.raises(OptionsError, match="header_color"):
            FeishuTransport(URL, {"header_color": "pink"})
