from __future__ import annotations

from datetime import UTC, datetime

import pytest

from integrations.models import Digest, Recipient
from tests.fakes.chat_server import RocketChatReceiver, SlackReceiver


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def rocketchat():
    with RocketChatReceiver() as server:
        yield server


@pytest.fixture
def slack():
    with SlackReceiver() as server:
        yield server


@pytest.fixture
def rocketchat_recipient(db, rocketchat) -> Recipient:
    return Recipient.objects.create(
        name="family", kind="rocketchat", webhook_url=rocketchat.url, options={"alias": "Weather"}
    )


@pytest.fixture
def make_digest(dify_app):
    def make(recipients=(), **fields) -> Digest:
        fields.setdefault("name", "Morning weather")
        fields.setdefault("cron", "0 8 * * *")
        fields.setdefault("timezone", "Europe/Berlin")
        fields.setdefault("inputs", {"query": "Weather for {{ weekday }} {{ date }} at {{ time }}"})
        fields.setdefault("active_since", utc(2026, 1, 1))
        digest = Digest(app=dify_app, **fields)
        digest.full_clean()
        digest.save()
        digest.recipients.set(recipients)
        return digest

    return make
