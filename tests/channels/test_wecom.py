from __future__ import annotations

import pytest

from integrations.channels import Message, OptionsError
from integrations.channels.wecom import WeComTransport
from tests.fakes.chat_server import WeComReceiver

from .contract import SplittingContract

URL = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6"
CJK_LINE = "今日构建全部通过，部署已完成，请查看监控面板。"  # 23 chars, 69 bytes


class TestWeCom(SplittingContract):
    transport_class = WeComTransport
    receiver_class = WeComReceiver
    permanent_answers = ("invalid_url", "too_long")
    transient_answers = ("freq_limit", "server_error")
    long_message = Message(text="\n".join([CJK_LINE] * 150), title="日报")

    def test_it_sends_the_exact_body(self, receiver):
        self.make(receiver.url).send(Message(text="**构建** 通过", title="日报", footer="dify-hub"))
        assert receiver.requests[0].json == {
            "msgtype": "markdown",
            "markdown": {
                "content": '## 日报\n\n**构建** 通过\n\n<font color="comment">dify-hub</font>'
            },
        }

    def test_it_splits_on_a_4096_byte_budget_at_line_ends(self):
        lines = [f"{n:03d} {CJK_LINE}" for n in range(150)]
        parts = WeComTransport(URL).build(Message(text="\n".join(lines)))
        contents = [p["markdown"]["content"] for p in parts]
        assert len(contents) == 3  # 150 lines * 74 bytes = 11 100 bytes
        assert all(len(c.encode("utf-8")) <= 4096 for c in contents)
        assert all(len(c) < 4096 / 2 for c in contents)  # bytes, not characters, were counted
        assert [line for c in contents for line in c.split("\n")] == lines  # whole lines only

    def test_it_never_breaks_a_character_without_line_ends(self):
        parts = WeComTransport(URL).build(Message(text="雨" * 3000))
        contents = [p["markdown"]["content"] for p in parts]
        assert [len(c.encode("utf-8")) for c in contents] == [4095, 4095, 810]
        assert "".join(contents) == "雨" * 3000

    def test_it_retries_the_frequency_limit_after_a_minute(self, receiver):
        error = self.failure(receiver, "freq_limit")
        assert (error.retryable, error.retry_after) == (True, 60.0)

    def test_it_treats_an_invalid_webhook_url_as_permanent(self, receiver):
        error = self.failure(receiver, "invalid_url")
        assert error.retryable is False
        assert error.message.startswith(
            "WeCom refused the message: code 93000 (invalid webhook url"
        )
        assert "copy its webhook URL again" in error.message

    def test_it_needs_the_key_in_the_url(self):
        with pytest.raises(OptionsError, match="key parameter"):
            WeComTransport.clean_url("https://qyapi.weixin.qq.com/cgi-bin/webhook/send")
