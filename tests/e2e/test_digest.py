"""Real beat + real worker: a digest's crontab fires and its output reaches Rocket.Chat."""

from __future__ import annotations

import pytest

from integrations.digests.firing import FIRED_BY_BEAT
from integrations.models import Digest, Recipient, Run
from tests.e2e.processes import wait_for
from tests.fakes.chat_server import RocketChatReceiver

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_scheduled_digest_reaches_rocketchat_and_the_history(fake_dify, dify_app, worker, beat):
    with RocketChatReceiver() as rocketchat:
        family = Recipient.objects.create(
            name="family",
            kind="rocketchat",
            webhook_url=rocketchat.url,
            options={"alias": "Weather"},
        )
        # Created while beat is already running: beat must pick it up without a restart.
        # Every minute, in a zone with a half-hour offset, so the test waits at most a minute.
        digest = Digest(
            name="Morning weather",
            app=dify_app,
            cron="* * * * *",
            timezone="Asia/Kolkata",
            inputs={"query": "Weather at {{ time }} on {{ weekday }}"},
            output_key="echo",
        )
        digest.full_clean()
        digest.save()
        digest.recipients.set([family])

        # Beat fires on the minute: 150 s always holds two minute marks after it has seen the
        # new digest, even on a loaded machine.
        received = wait_for(
            lambda: rocketchat.requests, 150, [worker, beat], "a message in Rocket.Chat"
        )
        # Beat's own fire, not the catch-up sweep stepping in a minute later: the run's
        # source records which path created it.
        run = wait_for(
            lambda: Run.objects.filter(
                digest=digest, status=Run.Status.SUCCEEDED, source__endswith=FIRED_BY_BEAT
            ).first(),
            90,
            [worker, beat],
            "a run fired by beat to be recorded as succeeded",
        )

    assert received[0].json["alias"] == "Weather"
    assert received[0].json["text"].startswith("Weather at ")
    assert run.slot.second == 0 and run.slot.microsecond == 0
    by_text = {r.json["text"]: r for r in rocketchat.requests}
    assert run.inputs["query"] in by_text
    delivery = run.deliveries.get()
    assert delivery.status == "delivered"
    assert delivery.attempt_rows.get().http_status == 200
    assert "Sending due task digest:" in beat.output()
