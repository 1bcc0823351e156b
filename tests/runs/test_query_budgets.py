"""How many SQL statements the hub's units of work cost, against the real fakes.

`make bench` measures the same units on PostgreSQL (benchmarks/units.py); these tests keep
a change from quietly adding round trips. Transaction control (BEGIN, SAVEPOINT…) is left
out: the test's own transaction adds savepoints a worker does not have.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.utils import timezone

from integrations.digests.firing import run_now
from integrations.models import Delivery, DifyApp, Digest, Recipient, ReviewEndpoint, Run
from integrations.runs import delivery, engine, slots
from tests.fakes import dify as fd
from tests.fakes.chat_server import RocketChatReceiver
from tests.reviews.support import REVIEW_TEXT
from tests.reviews.support import delivery as hook_delivery

pytestmark = pytest.mark.django_db

CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


class Statements:
    def __init__(self) -> None:
        self.sql: list[str] = []

    def __call__(self, execute, sql, params, many, context):
        if not sql.lstrip().upper().startswith(CONTROL):
            self.sql.append(sql)
        return execute(sql, params, many, context)


def counted(work) -> tuple[object, list[str]]:
    statements = Statements()
    with connection.execute_wrapper(statements):
        result = work()
    return result, statements.sql


def test_a_webhook_is_accepted_in_three_statements(endpoint, post_hook):
    # The endpoint, the change's earlier reviews, and the run with its event (one statement
    # on PostgreSQL, runs/combined.py; two elsewhere). The budget was six.
    response, sql = counted(lambda: post_hook(endpoint, *hook_delivery("mr_open")))
    assert response.status_code == 202
    assert len(sql) == (3 if connection.vendor == "postgresql" else 4), sql


def test_a_review_from_claim_to_note_takes_at_most_twenty(
    endpoint, post_hook, review_dify, fake_gitlab
):
    review_dify.script("run", fd.success({"review": REVIEW_TEXT}))
    # What the hub does once, not per review, done already: the app's slot rows, the bot's
    # identity, the app's output names.
    slots.ensure_slots(endpoint.app)
    ReviewEndpoint.objects.filter(pk=endpoint.pk).update(bot_user_id=fake_gitlab.user["id"])
    DifyApp.objects.filter(pk=endpoint.app_id).update(output_names=["review"])
    run_id = post_hook(endpoint, *hook_delivery("mr_open")).json()["run"]

    # The worker's thread runs the review and posts its note (runs/delivery.posted_here).
    _, sql = counted(lambda: engine.execute(run_id))

    assert Run.objects.get(pk=run_id).status == Run.Status.SUCCEEDED
    assert Delivery.objects.get(run_id=run_id).status == Delivery.Status.DELIVERED
    assert len(sql) <= 20, sql


def test_a_digest_delivery_takes_four_statements_with_its_settle(dify_app, fake_dify):
    fake_dify.script("run", fd.success({"echo": "Sunny"}))
    with RocketChatReceiver() as chat:
        room = Recipient.objects.create(name="family", kind="rocketchat", webhook_url=chat.url)
        digest = Digest(name="weather", app=dify_app, inputs={"query": "hi"}, output_key="echo")
        digest.full_clean()
        digest.save()
        digest.recipients.set([room])
        run = run_now(digest, requested_by="test", now=timezone.now())
        engine.execute(run.pk)
        item = Delivery.objects.get(run=run)

        _, sql = counted(lambda: delivery.deliver_one(item.pk))

    assert chat.requests and Delivery.objects.get(pk=item.pk).status == "delivered"
    run.refresh_from_db()
    room.refresh_from_db()
    assert run.status == Run.Status.SUCCEEDED and room.last_success_at is not None
    # The claim, one read (delivery, run, recipient), the attempt row with the delivery's
    # end, the run's settle with the recipients' last success. PostgreSQL sends each pair as
    # one statement (runs/combined.py); SQLite, which has no data-modifying CTEs, as two.
    pairs = 2 if connection.vendor == "postgresql" else 4
    assert len(sql) == 2 + pairs, sql
