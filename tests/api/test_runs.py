"""GET /api/v1/runs/ and /api/v1/runs/{id}/: filters, pagination, and the `hub runs --json` shape."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from integrations.models import Delivery, DeliveryAttempt, Run

pytestmark = pytest.mark.django_db

RUNS = "/api/v1/runs/"


def at(run: Run, when: datetime) -> Run:
    Run.objects.filter(pk=run.pk).update(created_at=when)
    run.refresh_from_db()
    return run


def deliver(run: Run, name: str, statuses: list[int | None], **fields) -> Delivery:
    delivery = Delivery.objects.create(
        run=run, recipient_name=name, kind="slack", attempts=len(statuses), **fields
    )
    for number, status in enumerate(statuses, 1):
        DeliveryAttempt.objects.create(
            delivery=delivery, number=number, started_at=timezone.now(), http_status=status
        )
    return delivery


@pytest.fixture
def finished_run(make_run):
    run = make_run(
        status=Run.Status.PARTIALLY_DELIVERED,
        outputs={"text": "Sunny"},
        dify_workflow_run_id="wf-1",
        attempts=2,
        error_code="delivery_failed",
        error_message="1 of 2 recipients failed",
        error_source="chat",
        total_tokens=1234,
        elapsed=6.5,
        started_at=datetime(2026, 5, 1, 8, 0, 1, tzinfo=UTC),
        finished_at=datetime(2026, 5, 1, 8, 0, 9, tzinfo=UTC),
    )
    deliver(run, "family", [500, 200], status=Delivery.Status.DELIVERED)
    deliver(run, "team", [404], status=Delivery.Status.FAILED, error="the webhook is gone")
    deliver(run, "later", [], status=Delivery.Status.PENDING)
    return at(run, datetime(2026, 5, 1, 8, 0, tzinfo=UTC))


def test_a_run_has_every_field(api, finished_run):
    response = api.get(f"{RUNS}{finished_run.pk}/")
    assert response.status_code == 200
    assert response.json() == {
        "id": finished_run.pk,
        "kind": "manual",
        "source": "test",
        "app": "echo",
        "status": "partially_delivered",
        "inputs": {"query": "hello"},
        "outputs": {"text": "Sunny"},
        "error": {
            "code": "delivery_failed",
            "source": "chat",
            "message": "1 of 2 recipients failed",
        },
        "workflow_run_id": "wf-1",
        "attempts": 2,
        "total_tokens": 1234,
        "elapsed": 6.5,
        "duration": 8.0,
        "stop_requested_at": None,
        "retry_of": None,
        "created_at": "2026-05-01T08:00:00Z",
        "started_at": "2026-05-01T08:00:01Z",
        "finished_at": "2026-05-01T08:00:09Z",
        "deliveries": [
            {
                "recipient": "family",
                "kind": "slack",
                "status": "delivered",
                "attempts": 2,
                "last_http_status": 200,
                "error": None,
            },
            {
                "recipient": "team",
                "kind": "slack",
                "status": "failed",
                "attempts": 1,
                "last_http_status": 404,
                "error": "the webhook is gone",
            },
            {
                "recipient": "later",
                "kind": "slack",
                "status": "pending",
                "attempts": 0,
                "last_http_status": None,
                "error": None,
            },
        ],
    }


def test_a_queued_run_has_nulls(api, make_run):
    run = make_run()
    body = api.get(f"{RUNS}{run.pk}/").json()
    assert body["error"] is None and body["outputs"] is None
    assert body["workflow_run_id"] is None and body["started_at"] is None
    assert body["deliveries"] == []


def test_the_list_is_what_hub_runs_json_prints(api, finished_run, make_run, capsys):
    make_run(status=Run.Status.FAILED, error_message="Dify said no")
    listed = api.get(RUNS).json()["results"]
    call_command("hub", "runs", "--json")
    assert json.loads(capsys.readouterr().out) == listed
    assert [run["id"] for run in listed] == [
        run.pk for run in Run.objects.order_by("-created_at", "-id")
    ]


@pytest.mark.parametrize("missing", [987654, 2**63 - 1, 2**63, 10**30])
def test_an_unknown_run_is_404(api, missing):
    response = api.get(f"{RUNS}{missing}/")
    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "message": f"No run #{missing}."}


def test_filters_by_status_and_kind(api, make_run):
    failed = make_run(status=Run.Status.FAILED)
    digest_run = make_run(kind=Run.Kind.DIGEST, status=Run.Status.SUCCEEDED)
    make_run()

    def ids(**params):
        return [run["id"] for run in api.get(RUNS, **params).json()["results"]]

    assert ids(status="failed") == [failed.pk]
    assert ids(kind="digest") == [digest_run.pk]
    assert ids(kind="digest", status="failed") == []


def test_source_is_a_digest_or_endpoint_name_or_the_exact_source(api, make_run, make_digest):
    digest = make_digest(name="Morning weather")
    from_digest = make_run(kind=Run.Kind.DIGEST, digest=digest, source="digest 'Morning…'")
    exact = make_run(source="admin: run now by alice")
    make_run(source="something else")

    def ids(source):
        return [run["id"] for run in api.get(RUNS, source=source).json()["results"]]

    assert ids("Morning weather") == [from_digest.pk]
    assert ids("admin: run now by alice") == [exact.pk]
    assert ids("admin") == []


def test_source_matches_a_gitlab_endpoint_name(api, make_run, endpoint):
    review = make_run(kind=Run.Kind.MERGE_REQUEST_REVIEW, review_endpoint=endpoint, source="x")
    make_run()
    results = api.get(RUNS, source=endpoint.name).json()["results"]
    assert [run["id"] for run in results] == [review.pk]


def test_since_takes_iso_8601(api, make_run):
    old = at(make_run(), datetime(2026, 5, 1, 7, 59, tzinfo=UTC))
    new = at(make_run(), datetime(2026, 5, 1, 8, 0, tzinfo=UTC))

    def ids(since):
        response = api.get(RUNS, since=since)
        assert response.status_code == 200, response.json()
        return [run["id"] for run in response.json()["results"]]

    assert ids("2026-05-01T08:00:00Z") == [new.pk]
    assert ids("2026-05-01T16:00:00+08:00") == [new.pk]
    assert ids("2026-05-01T08:00") == [new.pk]  # no offset: UTC
    assert ids("2026-05-01") == [new.pk, old.pk]


@pytest.mark.parametrize(
    "since, hint",
    [
        ("yesterday", "is not an ISO 8601 date or date-time"),
        ("2026-05-01T16:00:00 08:00", "write the offset as %2B08:00"),
        ("2026-13-01", "is not an ISO 8601"),
        ("0001-01-01T00:00:00+05:00", "is out of range"),
    ],
)
def test_a_malformed_since_is_400(api, since, hint):
    response = api.get(RUNS, since=since)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert body["message"].startswith("since: ") and hint in body["message"]
    assert list(body["fields"]) == ["since"]


def test_an_unknown_status_is_400_and_unknown_params_are_ignored(api, make_run):
    response = api.get(RUNS, status="done")
    assert response.status_code == 400
    assert response.json()["message"] == 'status: "done" is not a valid choice.'
    assert api.get(RUNS, colour="blue").status_code == 200


def test_pages_follow_the_cursor_without_gaps_or_repeats(api, make_run):
    now = timezone.now()
    runs = [at(make_run(), now - timedelta(minutes=i // 2)) for i in range(7)]  # ties in pairs
    expected = [run.pk for run in sorted(runs, key=lambda r: (r.created_at, r.pk), reverse=True)]

    seen, url, params = [], RUNS, {"page_size": 2}
    while url:
        page = api.get(url, **params).json()
        assert len(page["results"]) <= 2
        seen += [run["id"] for run in page["results"]]
        url, params = page["next"], {}
    assert seen == expected


def test_the_page_size_is_capped(api, dify_app):
    Run.objects.bulk_create(
        Run(app=dify_app, kind="manual", source="bulk", dify_user="u") for _ in range(205)
    )
    assert len(api.get(RUNS).json()["results"]) == 50
    page = api.get(RUNS, page_size=1000).json()
    assert len(page["results"]) == 200 and page["next"]
    assert len(api.get(RUNS, page_size="many").json()["results"]) == 50


def test_a_bad_cursor_is_400(api, make_run):
    response = api.get(RUNS, cursor="not-a-cursor")
    assert response.status_code == 400
    assert response.json()["fields"] == {
        "cursor": ["Invalid cursor: use the next or previous link of a page as given."]
    }
    import base64

    forged = base64.b64encode(b"p=yesterday").decode()
    assert api.get(RUNS, cursor=forged).status_code == 400


def test_listing_does_not_query_per_run(api, make_run, django_assert_max_num_queries):
    def add_runs(count):
        for _ in range(count):
            run = make_run(status=Run.Status.SUCCEEDED)
            deliver(run, "a", [500, 200])
            deliver(run, "b", [200])

    add_runs(2)
    api.get(RUNS)  # the key's last use is written once a minute: not part of the count below
    with django_assert_max_num_queries(4) as few:
        api.get(RUNS)
    add_runs(10)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(api.get(RUNS).json()["results"]) == 12
