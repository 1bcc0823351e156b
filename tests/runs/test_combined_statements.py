"""runs/combined.py: an INSERT and an UPDATE in one statement on PostgreSQL (two, in one
transaction, elsewhere), with the ORM's own conversions."""

from __future__ import annotations

import pytest
from django.db import connection
from django.utils import timezone

from integrations.models import Delivery, DeliveryAttempt, Run
from integrations.runs.combined import insert_and_update
from tests.runs.test_query_budgets import counted

pytestmark = pytest.mark.django_db


@pytest.fixture
def sending():
    run = Run.objects.create(kind=Run.Kind.ALERT, source="alert: t", status=Run.Status.DELIVERING)
    return Delivery.objects.create(
        run=run, recipient_name="family", kind="rocketchat", status=Delivery.Status.SENDING
    )


def attempt_of(delivery: Delivery, body: str = "ok") -> DeliveryAttempt:
    return DeliveryAttempt(
        delivery=delivery, number=1, part=1, started_at=timezone.now(), duration_ms=12,
        http_status=200, response_body=body,
    )


def test_both_writes_happen_and_the_update_count_comes_back(sending):
    updated, sql = counted(
        lambda: insert_and_update(
            attempt_of(sending, '{"success": true, "text": "天气 ☀"}'),
            Delivery.objects.filter(pk=sending.pk, status=Delivery.Status.SENDING),
            status=Delivery.Status.DELIVERED,
            parts_sent=1,
        )
    )
    assert updated == 1
    sending.refresh_from_db()
    assert (sending.status, sending.parts_sent) == ("delivered", 1)
    [row] = DeliveryAttempt.objects.filter(delivery=sending)
    assert (row.number, row.http_status, row.duration_ms) == (1, 200, 12)
    assert row.response_body == '{"success": true, "text": "天气 ☀"}'
    writes = [s for s in sql if not s.lstrip().upper().startswith(("BEGIN", "SAVEPOINT", "RELEASE"))]
    assert len(writes) == (1 if connection.vendor == "postgresql" else 2), sql


def test_the_row_is_stored_even_when_the_update_matches_nothing(sending):
    Delivery.objects.filter(pk=sending.pk).update(status=Delivery.Status.FAILED)
    updated = insert_and_update(
        attempt_of(sending),
        Delivery.objects.filter(pk=sending.pk, status=Delivery.Status.SENDING),
        status=Delivery.Status.DELIVERED,
    )
    assert updated == 0
    assert Delivery.objects.get(pk=sending.pk).status == "failed"  # not overwritten
    assert DeliveryAttempt.objects.filter(delivery=sending).count() == 1
