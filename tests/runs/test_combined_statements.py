"""runs/combined.py: an INSERT and an UPDATE, or two linked INSERTs, in one statement on
PostgreSQL (two, in one transaction, elsewhere), with the ORM's own conversions."""

from __future__ import annotations

from datetime import datetime

import pytest
from django.db import IntegrityError, connection
from django.utils import timezone

from integrations.models import Delivery, DeliveryAttempt, Run, WebhookEvent
from integrations.runs.combined import insert_and_update, insert_linked
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
        delivery=delivery,
        number=1,
        part=1,
        started_at=timezone.now(),
        duration_ms=12,
        http_status=200,
        response_body=body,
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
    writes = [
        s for s in sql if not s.lstrip().upper().startswith(("BEGIN", "SAVEPOINT", "RELEASE"))
    ]
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


def review_and_event(endpoint, key: str) -> tuple[Run, WebhookEvent]:
    run = Run(
        app_id=endpoint.app_id,
        kind=Run.Kind.MERGE_REQUEST_REVIEW,
        source="review: !1",
        review_endpoint=endpoint,
        context={"trigger": "opened", "note": "レビュー ✓"},
        merge_request_key="7!1",
        dedupe_key=f"gitlab:{endpoint.pk}:7!1:{key}",
    )
    event = WebhookEvent(
        endpoint=endpoint,
        event_name="Merge Request Hook",
        idempotency_key=key,
        payload={"object_kind": "merge_request", "title": "天气"},
        outcome=WebhookEvent.Outcome.ACCEPTED,
    )
    return run, event


def test_linked_rows_are_inserted_in_one_statement_pointing_at_each_other(endpoint):
    run, event = review_and_event(endpoint, "a")
    _, sql = counted(lambda: insert_linked(run, event, "run"))
    writes = [
        s for s in sql if not s.lstrip().upper().startswith(("BEGIN", "SAVEPOINT", "RELEASE"))
    ]
    assert len(writes) == (1 if connection.vendor == "postgresql" else 2), sql
    assert run.pk and event.pk and event.run_id == run.pk
    stored = WebhookEvent.objects.select_related("run").get(pk=event.pk)
    assert stored.run.context == {"trigger": "opened", "note": "レビュー ✓"}
    assert stored.payload == {"object_kind": "merge_request", "title": "天气"}
    assert stored.received_at is not None  # the model's defaults, as save() gives them


def test_when_the_second_row_breaks_a_constraint_neither_is_stored(endpoint):
    insert_linked(*review_and_event(endpoint, "a"), "run")
    run, event = review_and_event(endpoint, "b")
    event.idempotency_key = "a"  # the same delivery again: the event's unique key
    with pytest.raises(IntegrityError):
        insert_linked(run, event, "run")
    assert not Run.objects.filter(dedupe_key=run.dedupe_key).exists()
    assert run.pk is None and event.pk is None and event.run_id is None


def plain(params) -> list:
    """The values, each unwrapped (psycopg's Jsonb has no __eq__) and datetimes as 'now':
    auto_now_add sets the time again on every compile."""
    values = [getattr(p, "obj", p) for p in params]
    return ["now" if isinstance(v, datetime) else v for v in values]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the combined SQL is PostgreSQL's")
def test_an_insert_whose_sql_is_kept_gets_the_same_statement_and_values_as_djangos(endpoint):
    from django.db.models.expressions import RawSQL

    from integrations.runs import combined

    def event(n: int, link=None) -> WebhookEvent:
        row = WebhookEvent(
            endpoint=endpoint,
            event_name="Merge Request Hook",
            idempotency_key=f"key-{n}",
            headers={"x-gitlab-event": "Merge Request Hook"},
            payload={"n": n, "text": "天气 ☀", "nested": {"list": [1, None, True]}},
            outcome=WebhookEvent.Outcome.ACCEPTED,
        )
        if link is not None:
            row.run_id = link
        return row

    link = RawSQL('(SELECT "id" FROM parent_row)', ())
    for n, linked in enumerate((None, None, link, link, None)):
        row = event(n, linked)
        fields = [f for f in WebhookEvent._meta.local_concrete_fields if not f.primary_key]
        sql, params = combined._insert_sql(row, "default")
        expected_sql, expected_params = combined._compiled_insert(row, fields, "default")
        assert sql == expected_sql
        assert plain(params) == plain(expected_params)
        assert len(params) == sql.count("%s")
    assert '(SELECT "id" FROM parent_row)' in combined._insert_sql(event(9, link), "default")[0]
    assert "parent_row" not in combined._insert_sql(event(10), "default")[0]
