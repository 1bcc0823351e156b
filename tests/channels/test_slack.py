from __future__ import annotations

import pytest

from integrations.channels import Message, TransportError
from integrations.channels.slack import SlackTransport
from tests.fakes.chat_server import Answer, SlackReceiver

from .contract import SplittingContract, paragraphs


class TestSlack(SplittingContract):
    transport_class = SlackTransport
    receiver_class = SlackReceiver
    permanent_answers = (
        "invalid_payload",
        "user_not_found",
        "action_prohibited",
        "invalid_token",
        "channel_not_found",
        "no_service",
        "channel_is_archived",
    )
    transient_answers = ("rate_limited", "server_error")
    long_message = Message(text=paragraphs(60), title="Digest")

    def test_it_sends_the_exact_body(self, receiver):
        self.make(receiver.url).send(
            Message(
                text="Deploy **done** & see [log](https://ci.example.com/1?a=1&b=2)",
                title="CI <prod>",
                footer="dify-hub",
            )
        )
        assert receiver.requests[0].json == {
            "text": "*CI &lt;prod&gt;*\n\n"
            "Deploy *done* &amp; see <https://ci.example.com/1?a=1&amp;b=2|log>\n\n"
            "_dify-hub_"
        }

    def test_it_converts_markdown_to_mrkdwn(self):
        transport = SlackTransport("https://hooks.slack.com/services/T/B/x")
        text = (
            "# Release\n**bold** and *italic* and __strong__ and ~~gone~~\n"
            "- one\n* two\n`a<b`\n```\nif a < b && c: **x**\n```"
        )
        [payload] = transport.build(Message(text=text))
        assert payload["text"] == (
            "*Release*\n*bold* and _italic_ and *strong* and ~gone~\n"
            "• one\n• two\n`a&lt;b`\n```\nif a &lt; b &amp;&amp; c: **x**\n```"
        )

    def test_it_splits_at_4000_characters_on_paragraphs(self):
        transport = SlackTransport("https://hooks.slack.com/services/T/B/x")
        parts = transport.build(Message(text=paragraphs(60), title="Digest", footer="end"))
        assert len(parts) == 4
        assert all(len(p["text"]) <= 4000 for p in parts)
        assert parts[0]["text"].startswith("*Digest*\n\nP0 ")
        assert all(p["text"].split("\n\n")[-1].startswith(("P", "_end_")) for p in parts)
        assert parts[-1]["text"].endswith("_end_")

    def test_it_keeps_code_blocks_closed_across_parts(self):
        transport = SlackTransport("https://hooks.slack.com/services/T/B/x")
        code = "```python\n" + "\n".join(f"print({i})" for i in range(800)) + "\n```"
        parts = [p["text"] for p in transport.build(Message(text=code))]
        assert len(parts) == 3
        assert all(p.startswith("```python\n") and p.endswith("\n```") for p in parts)

    def test_it_explains_slack_error_codes(self, receiver):
        error = self.failure(receiver, "channel_is_archived")
        assert error.message == (
            "Slack answered HTTP 410 (channel_is_archived): "
            "the webhook's channel is archived; unarchive it or create a new webhook"
        )
        assert error.body == "channel_is_archived"

    def test_it_passes_on_retry_after(self, receiver):
        error = self.failure(receiver, "rate_limited")
        assert (error.retryable, error.retry_after) == (True, 30.0)

    def test_it_fails_on_200_that_is_not_ok(self, receiver):
        receiver.answer(Answer(200, b"<html>sign in</html>", (("Content-Type", "text/html"),)))
        with pytest.raises(TransportError) as info:
            self.make(receiver.url).send(Message(text="hi"))
        assert info.value.retryable is False
