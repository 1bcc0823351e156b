from __future__ import annotations

import pytest

from integrations.channels import Message, OptionsError, TransportError
from integrations.channels.rocketchat import RocketChatTransport
from integrations.channels.sizing import utf16_units
from tests.fakes.chat_server import Answer, RocketChatReceiver

from .contract import SplittingContract, paragraphs


class TestRocketChat(SplittingContract):
    transport_class = RocketChatTransport
    receiver_class = RocketChatReceiver
    options = {"alias": "Dify", "emoji": ":robot:"}
    permanent_answers = (
        "invalid_channel",
        "override_disabled",
        "unauthorized",
        "disabled",
        "not_a_webhook",
    )
    transient_answers = ("rate_limited", "server_error")
    long_message = Message(text=paragraphs(300), title="Digest")

    def test_it_sends_the_exact_body(self, receiver):
        transport = RocketChatTransport(
            receiver.url,
            {
                "alias": " Dify bot ",
                "avatar": "https://example.com/a.png",
                "channel": "#ops",
                "emoji": "",
            },
        )
        transport.send(
            Message(text="Build **green** on `main`.", title="CI", footer="sent by dify-hub")
        )
        assert receiver.requests[0].json == {
            "text": "*CI*\n\nBuild *green* on `main`.\n\n_sent by dify-hub_",
            "alias": "Dify bot",
            "avatar": "https://example.com/a.png",
            "channel": "#ops",
        }

    def test_it_converts_markdown_to_rocketchat_emphasis(self):
        transport = RocketChatTransport("https://chat.example.com/hooks/a/b")
        text = "## Summary\n**bold**, *italic*, ~~old~~, [docs](https://x.y)\n* item\n```\n**kept**\n```"
        [payload] = transport.build(Message(text=text))
        assert payload["text"] == (
            "*Summary*\n*bold*, _italic_, ~old~, [docs](https://x.y)\n- item\n```\n**kept**\n```"
        )

    def test_it_splits_at_5000_javascript_characters(self):
        transport = RocketChatTransport("https://chat.example.com/hooks/a/b")
        # 😀 counts 2 in JavaScript, so 3000 of them are 6000 units
        parts = transport.build(Message(text="😀 " * 3000))
        assert len(parts) == 2
        assert all(utf16_units(p["text"]) <= 5000 for p in parts)
        assert "".join(p["text"] for p in parts).replace(" ", "") == "😀" * 3000

    def test_it_puts_the_title_first_and_the_footer_last(self):
        transport = RocketChatTransport("https://chat.example.com/hooks/a/b", {"alias": "Dify"})
        parts = transport.build(Message(text=paragraphs(300), title="Digest", footer="bye"))
        assert parts[0]["text"].startswith("*Digest*\n\nP0 ")
        assert parts[-1]["text"].endswith("_bye_")
        assert all(p["alias"] == "Dify" for p in parts)

    def test_it_fails_on_200_without_success_true(self, receiver):
        receiver.answer(Answer.json(200, {"success": False}))
        with pytest.raises(TransportError) as info:
            self.make(receiver.url).send(Message(text="hi"))
        assert info.value.retryable is False
        assert "success:true" in info.value.message

    def test_it_accepts_a_script_response_with_success_true(self, receiver):
        receiver.answer(Answer.json(200, {"custom": "yes", "success": True}))
        [reply] = self.make(receiver.url).send(Message(text="hi"))
        assert reply.status == 200

    def test_it_says_when_the_integration_is_disabled(self, receiver):
        error = self.failure(receiver, "disabled")
        assert error.retryable is False
        assert "disabled in Rocket.Chat administration" in error.message

    def test_it_retries_a_503_that_is_not_rocketchat_answering(self, receiver):
        proxy = Answer(
            503, b"<html>Service Temporarily Unavailable</html>", (("Content-Type", "text/html"),)
        )
        error = self.failure(receiver, proxy)
        assert (error.status, error.retryable) == (503, True)

    def test_it_reports_the_rocketchat_error_text(self, receiver):
        error = self.failure(receiver, "invalid_channel")
        assert (
            error.message
            == "Rocket.Chat answered HTTP 400 (invalid-channel): Rocket.Chat refused the message"
        )

    def test_it_reads_the_rate_limit_reset_header(self, receiver):
        error = self.failure(receiver, "rate_limited")
        assert 8 < error.retry_after <= 10

    def test_it_lists_the_allowed_options(self):
        with pytest.raises(OptionsError) as info:
            RocketChatTransport.clean_options({"colour": "red"})
        assert str(info.value) == (
            "unknown option 'colour' for rocketchat (allowed: alias, avatar, channel, emoji)"
        )
