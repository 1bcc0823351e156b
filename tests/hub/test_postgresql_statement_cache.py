"""A webhook's run-and-event INSERT, longer than psycopg caches by default, is parsed once per
process, not on every webhook (hub/postgresql/base.py)."""

from __future__ import annotations

import pytest
from django.db import connection
from psycopg import _queries

from integrations.models import ReviewEndpoint, Run, WebhookEvent
from integrations.runs import combined

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="hub/postgresql is the PostgreSQL backend"
    ),
    pytest.mark.django_db,
]


def linked_rows(endpoint: ReviewEndpoint, n: int) -> tuple[Run, WebhookEvent]:
    run = Run(
        app=endpoint.app,
        kind=Run.Kind.MERGE_REQUEST_REVIEW,
        source=f"review {n}",
        inputs={},
        dify_user="gitlab:group/project!1",
        review_endpoint=endpoint,
        context={"trigger": "opened"},
        merge_request_key="7!1",
        dedupe_key=f"gitlab:{endpoint.pk}:7!1:{n}",
    )
    event = WebhookEvent(
        endpoint=endpoint,
        event_name="Merge Request Hook",
        idempotency_key=f"delivery-{n}",
        headers={},
        payload={"object_kind": "merge_request", "n": n},
        outcome=WebhookEvent.Outcome.ACCEPTED,
    )
    return run, event


def test_the_run_and_event_insert_is_parsed_once(dify_app):
    endpoint = ReviewEndpoint.objects.create(
        name="MRs", slug="mrs", app=dify_app, base_url="https://gitlab.example", access_token="t"
    )
    run, event = linked_rows(endpoint, 0)
    # More parameters than psycopg caches the parse of by default (50): the reason for the
    # limit. (The event's link to the run is a sub-select in the statement, not a parameter.)
    parameters = [combined._insert_sql(row, "default")[1] for row in (run, event)]
    assert sum(map(len, parameters)) - 1 > 50
    combined.insert_linked(*linked_rows(endpoint, 1), "run")
    before = _queries._query2pg_client.cache_info()
    combined.insert_linked(*linked_rows(endpoint, 2), "run")
    after = _queries._query2pg_client.cache_info()
    assert after.hits == before.hits + 1 and after.misses == before.misses
    assert _queries.MAX_CACHED_STATEMENT_PARAMS >= 52
    assert Run.objects.filter(review_endpoint=endpoint).count() == 2
