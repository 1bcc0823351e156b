from __future__ import annotations

from integrations.channels import Message
from integrations.channels.base import encode_json
from integrations.channels.sizing import TRUNCATED
from integrations.channels.teams import TeamsTransport
from tests.fakes.chat_server import TeamsReceiver

from .contract import TransportContract, paragraphs

URL = "https://prod-00.westeurope.logic.azure.com/workflows/abc/triggers/manual/paths/invoke?sig=x"


class TestTeams(TransportContract):
    transport_class = TeamsTransport
    receiver_class = TeamsReceiver
    permanent_answers = ("schema_mismatch", "bad_signature", "not_found", "too_large")
    transient_answers = ("rate_limited", "server_error")

    def test_it_sends_the_exact_body(self, receiver):
        self.make(receiver.url).send(
            Message(text="# Head\n**All** green", title="Digest", footer="dify-hub")
        )
        assert receiver.requests[0].json == {
            "type": "message",
            "attachments": [
                {
                    "contentType": "application/vnd.microsoft.card.adaptive",
                    "content": {
                        "type": "AdaptiveCard",
                        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                        "version": "1.4",
                        "body": [
                            {
                                "type": "TextBlock",
                                "text": "Digest",
                                "weight": "Bolder",
                                "size": "Medium",
                                "wrap": True,
                            },
                            {"type": "TextBlock", "text": "**Head**\n**All** green", "wrap": True},
                            {
                                "type": "TextBlock",
                                "text": "dify-hub",
                                "isSubtle": True,
                                "size": "Small",
                                "wrap": True,
                            },
                        ],
                        "msteams": {"width": "Full"},
                    },
                }
            ],
        }
        assert receiver.requests[0].query["sig"] == ["Qx7Zp2Lk9Vb4Nm1Rt8Yw3Hs6Jd0Fg5Ca2Ue7Io4Pa9"]

    def test_it_leaves_out_empty_title_and_footer(self):
        [payload] = TeamsTransport(URL, {"full_width": False}).build(Message(text="hi"))
        card = payload["attachments"][0]["content"]
        assert card["body"] == [{"type": "TextBlock", "text": "hi", "wrap": True}]
        assert "msteams" not in card

    def test_it_accepts_200_as_well_as_202(self, receiver):
        receiver.answer("ok")
        [reply] = self.make(receiver.url).send(Message(text="hi"))
        assert reply.status == 200

    def test_it_truncates_to_fit_28_kb(self):
        message = Message(text=paragraphs(120, words=60, word="数据"), title="Digest", footer="end")
        [payload] = TeamsTransport(URL).build(message)
        size = len(encode_json(payload))
        assert 26 * 1024 < size <= 27 * 1024
        body = payload["attachments"][0]["content"]["body"]
        assert body[1]["text"].endswith(TRUNCATED)
        assert (body[0]["text"], body[2]["text"]) == ("Digest", "end")

    def test_it_explains_a_bad_signature(self, receiver):
        error = self.failure(receiver, "bad_signature")
        assert "DirectApiInvalidAuthorizationSignature" in error.message
        assert "copy the URL again" in error.message

    def test_it_passes_on_retry_after(self, receiver):
        assert self.failure(receiver, "rate_limited").retry_after == 25.0
