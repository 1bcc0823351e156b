from __future__ import annotations

import base64
import hashlib
import hmac
import time
from urllib.parse import quote_plus

import pytest

from integrations.channels import Message, OptionsError
from integrations.channels.dingtalk import DingTalkTransport
from integrations.channels.sizing import TRUNCATED
from tests.fakes.chat_server import DingTalkReceiver

from .contract import TransportContract, paragraphs

SECRET = "SEC7c1d9e3f5a7b9c1d3e5f7a9b1c3d5e7f9a1b3c5d7e9f1a3b5c7d9e1f3a5b7"
URL = "https://oapi.dingtalk.com/robot/send?access_token=abc123def456"


class TestDingTalk(TransportContract):
    transport_class = DingTalkTransport
    receiver_class = DingTalkReceiver
    secret = SECRET
    permanent_answers = ("keyword_missing", "sign_mismatch", "ip_not_allowed", "token_missing")
    transient_answers = ("rate_limited", "server_error")

    def test_it_sends_the_exact_body(self, receiver):
        self.make(receiver.url, secret="").send(
            Message(
                text="**Build** ok\nall tests passed\n\n- a\n- b", title="CI", footer="dify-hub"
            )
        )
        assert receiver.requests[0].json == {
            "msgtype": "markdown",
            "markdown": {
                "title": "CI",
                "text": "### CI\n\n**Build** ok  \nall tests passed\n\n- a  \n- b\n\n> dify-hub",
            },
        }
        assert receiver.requests[0].raw_query == receiver.query  # unsigned: URL untouched

    def test_it_uses_the_first_line_as_preview_without_a_title(self):
        [payload] = DingTalkTransport(URL).build(Message(text="## **Sales** up 5%\nmore"))
        assert payload["markdown"]["title"] == "Sales up 5%"

    def test_it_signs_the_url_with_a_fresh_millisecond_timestamp(self, receiver):
        self.make(receiver.url).send(Message(text="hi"))
        request = receiver.requests[0]
        query = {k: v[0] for k, v in request.query.items()}
        assert query["access_token"] == receiver.query.split("=", 1)[1]
        timestamp = query["timestamp"]
        assert abs(int(timestamp) / 1000 - time.time()) < 5
        digest = hmac.new(
            SECRET.encode(), f"{timestamp}\n{SECRET}".encode(), hashlib.sha256
        ).digest()
        expected = base64.b64encode(digest).decode()
        assert query["sign"] == expected
        assert f"sign={quote_plus(expected)}" in request.raw_query  # URL-encoded on the wire

    def test_it_truncates_instead_of_splitting(self, receiver):
        message = Message(text=paragraphs(200, words=30, word="钉钉"), title="Digest", footer="end")
        replies = self.make(receiver.url).send(message)
        assert len(replies) == len(receiver.requests) == 1
        assert len(receiver.requests[0].body) <= 19_000
        text = receiver.requests[0].json["markdown"]["text"]
        assert text.startswith("### Digest\n\nP0 ")
        assert text.endswith(f"{TRUNCATED}\n\n> end")

    def test_it_treats_send_too_fast_as_transient_for_ten_minutes(self, receiver):
        error = self.failure(receiver, "rate_limited")
        assert (error.retryable, error.retry_after, error.status) == (True, 600.0, 200)
        assert "throttled for 10 minutes" in error.message

    def test_it_explains_security_setting_failures(self, receiver):
        error = self.failure(receiver, "keyword_missing")
        assert error.message.startswith(
            "DingTalk refused the message: code 310000 (keywords not in content"
        )
        assert "keyword, signing secret or IP allow-list" in error.message

    def test_it_needs_the_access_token_in_the_url(self):
        with pytest.raises(OptionsError, match="access_token"):
            DingTalkTransport.clean_url("https://oapi.dingtalk.com/robot/send")
