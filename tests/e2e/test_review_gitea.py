"""A Forgejo delivery in over HTTP, a real worker on the real broker, the review out as one
comment on the pull request, edited on the next push."""

from __future__ import annotations

import json
import uuid

import pytest
import requests

from integrations.forges.gitea.signing import signature
from integrations.models import Run
from tests.e2e.processes import wait_for
from tests.fakes import dify as fd
from tests.gitea.support import NEWER, REPO, SECRET, payload

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def post(live_server, endpoint, body: dict) -> requests.Response:
    raw = json.dumps(body).encode()
    delivery = str(uuid.uuid4())
    headers = {
        "Content-Type": "application/json",
        "X-Forgejo-Delivery": delivery,
        "X-Forgejo-Event": "pull_request",
        "X-Forgejo-Event-Type": "pull_request_sync",
        "X-Forgejo-Signature": signature(SECRET, raw),
        "X-Gitea-Delivery": delivery,
        "X-Gitea-Event": "pull_request",
        "X-Gitea-Event-Type": "pull_request_sync",
        "X-Gitea-Signature": signature(SECRET, raw),
    }
    url = f"{live_server.url}/hooks/forgejo/{endpoint.slug}/"
    return requests.post(url, data=raw, headers=headers, timeout=10)


def test_new_commits_get_one_comment_edited_on_the_next_push(
    live_server, gitea_endpoint, fake_gitea, review_dify, worker
):
    review_dify.script(
        "run",
        fd.success({"review": "First look: **fine**."}),
        fd.success({"review": "After the push: still fine."}),
    )
    response = post(live_server, gitea_endpoint, payload("gitea.HookPullRequestUpdated"))
    assert response.status_code == 202
    run_id = response.json()["run"]
    comments = wait_for(lambda: fake_gitea.comments(REPO, 2), 60, worker, "the review comment")
    assert "First look: **fine**." in comments[0]["body"]
    wait_for(lambda: Run.objects.get(pk=run_id).is_final, 30, worker, "the run to finish")
    assert Run.objects.get(pk=run_id).status == Run.Status.SUCCEEDED

    fake_gitea.repos[REPO.lower()].pulls[2]["head"]["sha"] = NEWER
    pushed = payload("gitea.HookPullRequestUpdated")
    pushed["pull_request"]["head"]["sha"] = NEWER
    assert post(live_server, gitea_endpoint, pushed).status_code == 202

    def edited():
        comments = fake_gitea.comments(REPO, 2)
        return len(comments) == 1 and "After the push" in comments[0]["body"]

    wait_for(edited, 60, worker, "the comment to be edited")
