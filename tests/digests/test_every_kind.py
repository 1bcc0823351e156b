"""One digest to every kind people read at once: an email inbox (a real local SMTP server), a
Telegram chat, a LINE user, an ntfy topic, a Matrix room (their fakes) and an Apprise URL (to a
local JSON receiver). Each recipient gets its own delivery, formatted in its own dialect."""

from __future__ import annotations

import pytest
from django.test import override_settings

from integrations.digests.firing import claim_slot
from integrations.email.settings import email_settings
from integrations.models import Delivery, Recipient, Run
from integrations.runs import engine
from integrations.runs.delivery import deliver_one
from tests.digests.conftest import utc
from tests.fakes import dify as fd
from tests.fakes.chat_server import ChatServer
from tests.fakes.line_server import LineReceiver
from tests.fakes.matrix_server import MatrixReceiver
from tests.fakes.ntfy_server import NtfyReceiver
from tests.fakes.smtp_server import SmtpServer
from tests.fakes.telegram_server import TelegramReceiver

pytestmark = pytest.mark.django_db

TEXT = "Sunny, **18 °C** & dry. <b>not markup</b>"


def test_a_digest_reaches_every_kind_in_its_own_dialect(make_digest, fake_dify):
    with (
        SmtpServer() as smtp,
        TelegramReceiver() as telegram,
        LineReceiver() as line,
        NtfyReceiver() as ntfy,
        MatrixReceiver() as matrix,
        ChatServer() as apprise_target,
        override_settings(**email_settings(smtp.email_url, "dify-hub <hub@example.com>")),
    ):
        recipients = [
            Recipient(name="inbox", kind="email", options={"to": ["mum@example.com"]}),
            Recipient(
                name="chat",
                kind="telegram",
                webhook_url=telegram.url,
                secret=telegram.secret,
                options=TelegramReceiver.options,
            ),
            Recipient(
                name="line",
                kind="line",
                webhook_url=line.url,
                secret=line.secret,
                options=LineReceiver.options,
            ),
            Recipient(name="phone", kind="ntfy", webhook_url=ntfy.url, secret=ntfy.secret),
            Recipient(
                name="room",
                kind="matrix",
                webhook_url=matrix.url,
                secret=matrix.secret,
                options=MatrixReceiver.options,
            ),
            Recipient(
                name="long-tail",
                kind="apprise",
                webhook_url=apprise_target.url.replace("http://", "json://", 1),
            ),
        ]
        for recipient in recipients:
            recipient.full_clean()
            recipient.save()
        digest = make_digest(recipients=recipients, title="Weather, {{ weekday }}")
        fake_dify.script("run", fd.success({"text": TEXT}))
        run, _ = claim_slot(digest, utc(2026, 11, 21, 7), utc(2026, 11, 21, 7))
        engine.execute(run.pk)
        for delivery in Delivery.objects.filter(run=run):
            assert deliver_one(delivery.pk) is None, delivery.recipient_name

        run.refresh_from_db()
        failed = {d.recipient_name: d.error for d in run.deliveries.exclude(status="delivered")}
        assert failed == {} and run.status == Run.Status.SUCCEEDED

        (mail,) = smtp.messages
        assert mail.message["Subject"].startswith("Weather, Saturday")
        html = mail.message.get_body(("html",)).get_content()
        assert "<strong>18 °C</strong>" in html and "&lt;b&gt;not markup" in html

        assert telegram.requests[0].json["text"].startswith("<b>Weather, Saturday</b>")
        assert (
            "<b>18 °C</b> &amp; dry. &lt;b&gt;not markup&lt;/b&gt;"
            in (telegram.requests[0].json["text"])
        )
        (message,) = line.requests[0].json["messages"]
        assert "18 °C & dry." in message["text"] and "**" not in message["text"]
        assert line.requests[0].header("X-Line-Retry-Key")

        assert ntfy.requests[0].text.startswith(TEXT)
        assert ntfy.requests[0].header("X-Markdown") == "yes"
        sent = matrix.requests[-1].json
        assert sent["msgtype"] == "m.notice"
        assert "<strong>18 °C</strong>" in sent["formatted_body"]

        (apprise_request,) = apprise_target.requests
        assert "18 °C" in apprise_request.json["message"]
        assert apprise_request.json["title"] == "Weather, Saturday"
