"""GitHub delivery in over HTTP, a real worker on the real broker, the review out as one
comment on the pull request, edited on the next push."""

from __future__ import annotations

import json
import uuid

import pytest
import requests

from integrations.forges.github.signing import signature
from integrations.models import Delivery, Run
from tests.e2e.processes import wait_for
from tests.fakes import dify as fd
from tests.github.support import NEWER, REPO, SECRET, payload

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def post(live_server, endpoint, event: str, body: dict, delivery: str) -> requests.Response:
    raw = json.dumps(body).encode()
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": signature(SECRET, raw),
    }
    url = f"{live_server.url}/hooks/github/{endpoint.slug}/"
    return requests.post(url, data=raw, headers=headers, timeout=10)


def test_a_pull_request_gets_one_comment_edited_on_the_next_push(
    live_server, github_endpoint, fake_github, review_dify, worker
):
    review_dify.script(
        "run",
        fd.success({"review": "First look: **fine**."}),
        fd.success({"review": "After the push: still fine."}),
    )
    first = str(uuid.uuid4())
    response = post(
        live_server, github_endpoint, "pull_request", payload("pull_request.opened"), first
    )
    assert response.status_code == 202
    run_id = response.json()["run"]

    comments = wait_for(lambda: fake_github.comments(REPO, 2), 60, worker, "the review comment")
    assert "First look: **fine**." in comments[0]["body"]
    wait_for(lambda: Run.objects.get(pk=run_id).is_final, 30, worker, "the run to finish")
    run = Run.objects.get(pk=run_id)
    assert (
        run.status == Run.Status.SUCCEEDED
        and run.deliveries.get().status == Delivery.Status.DELIVERED
    )

    again = post(
        live_server, github_endpoint, "pull_request", payload("pull_request.opened"), first
    )
    assert again.status_code == 200 and again.json()["status"] == "duplicate"

    fake_github.repos[REPO.lower()].pulls[2]["head"]["sha"] = NEWER
    pushed = payload("pull_request.synchronize")
    pushed["pull_request"]["head"]["sha"] = NEWER
    second = post(live_server, github_endpoint, "pull_request", pushed, str(uuid.uuid4()))
    assert second.status_code == 202

    def edited():
        comments = fake_github.comments(REPO, 2)
        return len(comments) == 1 and "After the push" in comments[0]["body"]

    wait_for(edited, 60, worker, "the comment to be edited")
