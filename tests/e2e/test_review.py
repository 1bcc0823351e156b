"""GitLab webhook in over HTTP, a real worker on the real broker, the review out as a note."""

from __future__ import annotations

import pytest
import requests

from integrations.models import Delivery, Run, WebhookEvent
from tests.e2e.processes import wait_for
from tests.fakes import dify as fd
from tests.reviews.support import IID, PROJECT_ID, SECOND_HEAD, delivery

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def post(live_server, endpoint, name: str) -> requests.Response:
    headers, body = delivery(name)
    return requests.post(
        f"{live_server.url}/hooks/gitlab/{endpoint.slug}/", json=body, headers=headers, timeout=10
    )


def test_a_webhook_becomes_a_note_on_the_merge_request(
    live_server, endpoint, fake_gitlab, review_dify, worker
):
    # GitLab has not generated the diff when the hook arrives ("empty diff at first").
    fake_gitlab.diff_not_ready(PROJECT_ID, IID, times=2)
    review_dify.script(
        "run",
        fd.slow(1.0, ping_interval=0.2, outputs={"review": "First look: **fine**."}),
        fd.success({"review": "After the second push: still fine."}),
    )

    response = post(live_server, endpoint, "mr_open")
    assert response.status_code == 202
    run_id = response.json()["run"]

    notes = wait_for(lambda: fake_gitlab.notes_of(PROJECT_ID, IID), 60, worker, "the review note")
    assert "First look: **fine**." in notes[0]["body"]
    wait_for(lambda: Run.objects.get(pk=run_id).is_final, 30, worker, "the run to finish")
    run = Run.objects.get(pk=run_id)
    assert run.status == Run.Status.SUCCEEDED and run.attempts == 1
    assert run.waits == 2  # it waited for the diff twice, without spending attempts
    assert run.deliveries.get().status == Delivery.Status.DELIVERED
    assert WebhookEvent.objects.get(run=run).outcome == "accepted"

    # GitLab retries the same delivery: nothing new.
    again = post(live_server, endpoint, "mr_open")
    assert again.status_code == 200 and again.json()["status"] == "duplicate"

    # A new push: a second review, and the same note edited in place.
    fake_gitlab.push(PROJECT_ID, IID, SECOND_HEAD)
    second = post(live_server, endpoint, "mr_update_new_commits")
    assert second.status_code == 202

    def edited():
        notes = fake_gitlab.notes_of(PROJECT_ID, IID)
        return len(notes) == 1 and "After the second push" in notes[0]["body"]

    wait_for(edited, 60, worker, "the note to be edited")
    wait_for(
        lambda: Run.objects.get(pk=second.json()["run"]).is_final, 30, worker, "the second run"
    )
    assert Run.objects.get(pk=second.json()["run"]).status == Run.Status.SUCCEEDED
