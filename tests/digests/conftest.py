from __future__ import annotations

from datetime import UTC, datetime

import pytest

from integrations.models import Recipient
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
