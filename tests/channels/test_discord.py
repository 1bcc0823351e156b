from __future__ import annotations

import pytest

from integrations.channels import Message, OptionsError
from integrations.channels.discord import DiscordTransport
from tests.fakes.chat_server import Answer, DiscordReceiver

from .contract import SplittingContract, paragraphs


class TestDiscord(SplittingContract):
    transport_class = DiscordTransport
    receiver_class = DiscordReceiver
    options = {"username": "Dify"}
    permanent_answers = ("invalid_form_body", "invalid_token", "missing_access", "unknown_webhook")
    transient_answers = ("rate_limited", "server_error")
    long_message = Message(text=paragraphs(20, words=30), title="Digest")

    def test_it_sends_the_exact_body(self, receiver):
        transport = DiscordTransport(
            receiver.url, {"username": "Dify", "avatar_url": "https://e.x/a.png"}
        )
        transport.send(Message(text="**Done** @everyone", title="CI", footer="dify-hub"))
        assert receiver.requests[0].json == {
            "content": "**CI**\n\n**Done** @everyone\n\n_dify-hub_",
            "username": "Dify",
            "avatar_url": "https://e.x/a.png",
            "allowed_mentions": {"parse": []},
        }

    def test_it_asks_discord_to_confirm_with_wait_true(self, receiver):
        self.make(receiver.url + "?thread_id=42").send(Message(text="hi"))
        assert receiver.requests[0].query == {"thread_id": ["42"], "wait": ["true"]}

    def test_it_accepts_204_without_wait(self, receiver):
        receiver.answer("no_content")
        [reply] = self.make(receiver.url).send(Message(text="hi"))
        assert (reply.status, reply.body) == (204, "")

    def test_it_splits_at_2000_characters(self):
        transport = DiscordTransport("https://discord.com/api/webhooks/1/abc")
        parts = transport.build(
            Message(text=paragraphs(30, words=30), title="Digest", footer="end")
        )
        assert len(parts) == 3
        assert all(len(p["content"]) <= 2000 for p in parts)
        assert parts[0]["content"].startswith("**Digest**")
        assert parts[-1]["content"].endswith("_end_")

    def test_it_takes_retry_after_from_the_body(self, receiver):
        error = self.failure(receiver, "rate_limited")
        assert (error.retryable, error.retry_after) == (True, 1.5)

    def test_it_falls_back_to_the_retry_after_header(self, receiver):
        error = self.failure(
            receiver, Answer.json(429, {"message": "slow"}, **{"Retry-After": "3"})
        )
        assert error.retry_after == 3.0

    def test_it_names_the_discord_error(self, receiver):
        error = self.failure(receiver, "unknown_webhook")
        assert error.message == (
            "Discord answered HTTP 404 (Unknown Webhook): "
            "the webhook was deleted; create a new one and update the URL"
        )

    def test_it_refuses_the_slack_compatible_url(self):
        with pytest.raises(OptionsError, match="ends with /slack"):
            DiscordTransport.clean_url("https://discord.com/api/webhooks/1/abc/slack")


@pytest.mark.parametrize("username", ["My Discord Bot", "clyde", "x" * 81])
def test_it_rejects_usernames_discord_refuses(username):
    with pytest.raises(OptionsError, match="option 'username' for discord"):
        DiscordTransport.clean_options({"username": username})
