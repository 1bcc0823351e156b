from __future__ import annotations

from integrations.channels import Message
from integrations.channels.mattermost import MattermostTransport
from tests.fakes.chat_server import MattermostReceiver

from .contract import SplittingContract, paragraphs


class TestMattermost(SplittingContract):
    transport_class = MattermostTransport
    receiver_class = MattermostReceiver
    options = {"username": "dify"}
    permanent_answers = ("invalid_webhook", "channel_not_found", "payload_error", "disabled")
    transient_answers = ("rate_limited", "server_error")
    long_message = Message(text=paragraphs(80, words=90))

    def test_it_sends_the_exact_body(self, receiver):
        transport = MattermostTransport(
            receiver.url,
            {
                "channel": "town-square",
                "username": "dify",
                "icon_url": "https://e.x/i.png",
                "icon_emoji": ":robot:",
            },
        )
        transport.send(
            Message(text="**Bold** stays, # and `code` too", title="Digest", footer="by dify-hub")
        )
        assert receiver.requests[0].json == {
            "text": "#### Digest\n\n**Bold** stays, # and `code` too\n\n_by dify-hub_",
            "channel": "town-square",
            "username": "dify",
            "icon_url": "https://e.x/i.png",
            "icon_emoji": ":robot:",
        }

    def test_it_leaves_markdown_alone(self):
        text = "## Head\n**b** *i* ~~s~~ [l](https://x.y)\n| a | b |\n|---|---|"
        [payload] = MattermostTransport("https://mm.example.com/hooks/abc").build(
            Message(text=text)
        )
        assert payload["text"] == text

    def test_it_splits_itself_below_the_post_limit(self):
        parts = MattermostTransport("https://mm.example.com/hooks/abc").build(self.long_message)
        assert len(parts) == 3
        assert all(len(p["text"]) <= 16383 for p in parts)

    def test_it_hides_the_hook_id_mattermost_echoes(self, receiver):
        error = self.failure(receiver, "payload_error")
        assert "ytwzgegqs3fbbbg1m4dtjx6mxh" not in error.message
        assert "ytwzgegqs3fbbbg1m4dtjx6mxh" not in error.body
        assert "for incoming webhook ***" in error.message

    def test_it_says_webhooks_are_disabled(self, receiver):
        error = self.failure(receiver, "disabled")
        assert error.retryable is False
        assert "disabled on this Mattermost server" in error.message
