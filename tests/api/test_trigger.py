"""POST /api/v1/digests/{name}/run and /api/v1/runs/{id}/retry (scope trigger)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from integrations.models import Run

pytestmark = pytest.mark.django_db


def test_running_a_digest_answers_202_with_the_run(api, trigger_key, make_digest):
    digest = make_digest(name="Morning weather")
    response = api.post("/api/v1/digests/Morning%20weather/run", key=trigger_key)
    assert response.status_code == 202
    run = Run.objects.get(digest=digest)
    url = f"http://testserver/api/v1/runs/{run.pk}/"
    assert response.json() == {"run": run.pk, "status": "queued", "url": url}
    assert response["Location"] == url
    assert run.kind == Run.Kind.DIGEST and run.slot is None
    assert run.source == "digest 'Morning weather', run now by API key 'trigger'"
    assert api.get(url).json()["id"] == run.pk


def test_a_digest_name_may_hold_a_slash(api, trigger_key, make_digest):
    make_digest(name="team/daily")
    response = api.post("/api/v1/digests/team%2Fdaily/run", key=trigger_key)
    assert response.status_code == 202


def test_an_unknown_digest_is_404(api, trigger_key, make_digest):
    make_digest(name="Morning weather")
    response = api.post("/api/v1/digests/Evening/run", key=trigger_key)
    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "message": "No digest named 'Evening'."}
    assert api.post("/api/v1/digests/a%00b/run", key=trigger_key).status_code == 404
    assert not Run.objects.exists()


def test_a_read_key_cannot_run_a_digest(api, make_digest):
    make_digest(name="Morning weather")
    assert api.post("/api/v1/digests/Morning%20weather/run").status_code == 403
    assert not Run.objects.exists()


def test_retrying_a_run_makes_a_new_linked_run(api, trigger_key, make_run, make_digest):
    digest = make_digest()
    old = make_run(
        kind=Run.Kind.DIGEST,
        digest=digest,
        slot=datetime(2026, 5, 1, 6, tzinfo=UTC),
        source="digest 'Morning weather', slot 2026-05-01 08:00 Europe/Berlin",
        inputs={"query": "Weather for Friday"},
        query="hi",
        context={"why": "test"},
        merge_request_key="7!3",
        head_sha="abc",
        dedupe_key="k1",
        status=Run.Status.FAILED,
        error_message="Dify was down",
        attempts=5,
    )
    response = api.post(f"/api/v1/runs/{old.pk}/retry", key=trigger_key)
    assert response.status_code == 202
    new = Run.objects.get(retry_of=old)
    assert response.json() == {
        "run": new.pk,
        "retry_of": old.pk,
        "status": "queued",
        "url": f"http://testserver/api/v1/runs/{new.pk}/",
    }
    assert (new.app, new.kind, new.source, new.digest) == (old.app, old.kind, old.source, digest)
    assert (new.inputs, new.query, new.dify_user) == (old.inputs, "hi", old.dify_user)
    assert (new.context, new.merge_request_key, new.head_sha) == ({"why": "test"}, "7!3", "abc")
    assert new.slot is None and new.dedupe_key is None
    assert (new.status, new.attempts, new.error_message) == (Run.Status.QUEUED, 0, "")
    assert api.get(f"/api/v1/runs/{new.pk}/").json()["retry_of"] == old.pk
    # A run may be retried again; each retry is its own run.
    assert api.post(f"/api/v1/runs/{old.pk}/retry", key=trigger_key).status_code == 202
    assert old.retries.count() == 2


@pytest.mark.parametrize("status", [Run.Status.QUEUED, Run.Status.RUNNING, Run.Status.DELIVERING])
def test_a_run_that_has_not_ended_cannot_be_retried(api, trigger_key, make_run, status):
    run = make_run(status=status)
    response = api.post(f"/api/v1/runs/{run.pk}/retry", key=trigger_key)
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "run_not_final"
    assert body["message"].startswith(f"Run #{run.pk} is {run.get_status_display().lower()};")
    assert "only a run that has ended" in body["message"]
    assert not run.retries.exists()


def test_retrying_an_unknown_run_is_404(api, trigger_key):
    response = api.post("/api/v1/runs/424242/retry", key=trigger_key)
    assert response.status_code == 404
    assert response.json()["message"] == "No run #424242."


def test_a_get_on_a_trigger_url_is_405(api, trigger_key, make_run):
    response = api.get(f"/api/v1/runs/{make_run().pk}/retry", key=trigger_key)
    assert response.status_code == 405
    assert response.json() == {"code": "method_not_allowed", "message": 'Method "GET" not allowed.'}


def test_stopping_a_queued_run_cancels_it(api, trigger_key, make_run):
    run = make_run()
    response = api.post(f"/api/v1/runs/{run.pk}/stop", key=trigger_key)
    assert response.status_code == 202
    assert response.json() == {
        "run": run.pk,
        "status": "cancelled",
        "outcome": "cancelled",
        "url": f"http://testserver/api/v1/runs/{run.pk}/",
    }
    run.refresh_from_db()
    assert run.stop_requested_by == "API key 'trigger'"
    body = api.get(f"/api/v1/runs/{run.pk}/").json()
    assert body["error"]["source"] == "hub" and body["stop_requested_at"] is not None


def test_stopping_a_running_run_asks_dify(api, trigger_key, make_run):
    run = make_run(status=Run.Status.RUNNING, dify_task_id="task-1")
    response = api.post(f"/api/v1/runs/{run.pk}/stop", key=trigger_key)
    assert response.status_code == 202
    assert response.json()["outcome"] == "stop requested"
    assert response.json()["status"] == "running"


def test_an_ended_run_cannot_be_stopped_409(api, trigger_key, make_run):
    run = make_run(status=Run.Status.FAILED)
    response = api.post(f"/api/v1/runs/{run.pk}/stop", key=trigger_key)
    assert response.status_code == 409
    assert response.json()["code"] == "run_not_stoppable"
    assert "only queued and running runs can be stopped" in response.json()["message"]


def test_stop_and_redeliver_need_the_trigger_scope(api, make_run):
    run = make_run()
    assert api.post(f"/api/v1/runs/{run.pk}/stop").status_code == 403
    assert api.post(f"/api/v1/runs/{run.pk}/redeliver").status_code == 403
    assert api.post("/api/v1/runs/999999/stop", key=None).status_code == 401
    run.refresh_from_db()
    assert run.status == Run.Status.QUEUED


def test_redelivering_a_run_without_failed_deliveries_is_409(api, trigger_key, make_run):
    run = make_run(status=Run.Status.FAILED, error_code="workflow_failed")
    response = api.post(f"/api/v1/runs/{run.pk}/redeliver", key=trigger_key)
    assert response.status_code == 409
    assert response.json() == {
        "code": "run_not_redeliverable",
        "message": f"Run #{run.pk} has no failed delivery to send again. Retry runs the app again.",
    }
    assert api.post("/api/v1/runs/424242/redeliver", key=trigger_key).status_code == 404


def test_redelivering_queues_the_failed_deliveries(api, trigger_key, make_run):
    from integrations.models import Delivery

    run = make_run(
        status=Run.Status.FAILED,
        error_code="delivery_failed",
        outputs={"text": "hi"},
        message={"title": "", "text": "hi", "footer": ""},
    )
    Delivery.objects.create(run=run, recipient_name="a", kind="slack", status="failed")
    Delivery.objects.create(run=run, recipient_name="b", kind="slack", status="delivered")
    response = api.post(f"/api/v1/runs/{run.pk}/redeliver", key=trigger_key)
    assert response.status_code == 202
    assert response.json()["deliveries"] == 1 and response.json()["status"] == "delivering"
    assert sorted(run.deliveries.values_list("status", flat=True)) == ["delivered", "pending"]
    body = api.get(f"/api/v1/runs/{run.pk}/").json()
    assert [d["kind"] for d in body["deliveries"]] == ["slack", "slack"]
