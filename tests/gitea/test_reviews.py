"""Gitea and Forgejo pull requests reviewed end to end, in-process: a signed delivery through
Django's request stack, the run against a fake Dify, the sticky comment on a fake Gitea."""

from __future__ import annotations

import json
import uuid

import pytest

from integrations.forges.gitea.signing import signature
from integrations.models import Run, WebhookEvent
from integrations.runs import engine
from tests.fakes import dify as fd
from tests.fakes.gitea_server import DIFF
from tests.gitea.support import HEAD, NEWER, REPO, SECRET, payload
from tests.reviews.support import REVIEW_TEXT, as_django_headers, deliver_all, execute

pytestmark = pytest.mark.django_db

GITEA = "Gitea"
FORGEJO = "Forgejo"


@pytest.fixture
def send(client, gitea_endpoint):
    def post(event_type: str, body: dict, *, server: str = GITEA, secret: str = SECRET, url=None):
        raw = json.dumps(body).encode()
        coarse = "pull_request" if event_type.startswith("pull_request_") else event_type
        coarse = "issue_comment" if event_type == "pull_request_comment" else coarse
        delivery = str(uuid.uuid4())
        headers = {  # what Gitea's deliver.go sends; Forgejo adds its own in front
            "X-Gitea-Delivery": delivery,
            "X-Gitea-Event": coarse,
            "X-Gitea-Event-Type": event_type,
            "X-Gitea-Signature": signature(secret, raw),
            "X-GitHub-Event": coarse,
            "X-Hub-Signature-256": "sha256=" + signature(secret, raw),
        }
        if server == FORGEJO:
            headers |= {
                "X-Forgejo-Delivery": delivery,
                "X-Forgejo-Event": coarse,
                "X-Forgejo-Event-Type": event_type,
                "X-Forgejo-Signature": signature(secret, raw),
            }
        return client.post(
            url or f"/hooks/gitea/{gitea_endpoint.slug}/",
            data=raw,
            content_type="application/json",
            **as_django_headers(headers),
        )

    return post


@pytest.mark.parametrize("server", [GITEA, FORGEJO])
def test_new_commits_get_one_comment_edited_on_the_next_push(
    send, review_dify, fake_gitea, gitea_endpoint, server
):
    review_dify.script("run", fd.success({"review": REVIEW_TEXT}))
    gitea_endpoint.input_mapping = {"language": "{{ forge }} {{ repository }} {{ number }}"}
    gitea_endpoint.save()
    url = "/hooks/forgejo/home/" if server == FORGEJO else None
    response = send(
        "pull_request_sync", payload("gitea.HookPullRequestUpdated"), server=server, url=url
    )
    assert response.status_code == 202, response.json()
    run = Run.objects.get(pk=response.json()["run"])
    assert run.source == f"home-reviews: {REPO}#2 (new_commits)" and run.head_sha == HEAD

    assert execute(run) == engine.DONE
    (sent,) = review_dify.requests_to("/workflows/run")
    inputs = sent.json["inputs"]
    assert "+++ b/README.md" in inputs["diff"] and "+Hello, World!" in inputs["diff"]
    assert inputs["changed_files"] == "M README.md\nA logo.png"
    assert inputs["language"] == f"gitea {REPO} 2"
    deliver_all(run)
    assert run.status == Run.Status.SUCCEEDED
    (comment,) = fake_gitea.comments(REPO, 2)
    assert REVIEW_TEXT in comment["body"] and f"commit {HEAD[:8]}" in comment["body"]
    event = WebhookEvent.objects.get(run=run)
    assert event.event_name == "pull_request_sync"
    assert ("x-forgejo-event" in event.headers) is (server == FORGEJO)

    fake_gitea.repos[REPO.lower()].pulls[2]["head"]["sha"] = NEWER
    pushed = payload("gitea.HookPullRequestUpdated")
    pushed["pull_request"]["head"]["sha"] = NEWER
    review_dify.script("run", fd.success({"review": "Second pass."}))
    again = Run.objects.get(pk=send("pull_request_sync", pushed, server=server).json()["run"])
    execute(again)
    deliver_all(again)
    (comment,) = fake_gitea.comments(REPO, 2)
    assert "Second pass." in comment["body"] and REVIEW_TEXT not in comment["body"]


def test_a_replay_has_a_new_delivery_id_but_reviews_nothing_twice(send):
    first = send("pull_request_sync", payload("gitea.HookPullRequestUpdated"))
    replay = send("pull_request_sync", payload("gitea.HookPullRequestUpdated"))
    assert first.status_code == 202 and replay.status_code == 200
    assert "is being reviewed" in replay.json()["reason"]
    assert Run.objects.count() == 1 and WebhookEvent.objects.count() == 2


def review_comment() -> dict:
    """A /review comment on PR #2 of the fixtures' repository, by `dana`."""
    body = payload("derived.pull_request_comment_review")
    body["repository"] = payload("gitea.HookPullRequestUpdated")["repository"]
    body["issue"]["number"] = 2
    body["comment"]["user"]["login"] = body["sender"]["login"] = "dana"
    return body


@pytest.mark.parametrize(("permission", "status"), [("write", "succeeded"), ("read", "cancelled")])
def test_review_comments_count_from_collaborators_with_write_access(
    send, review_dify, fake_gitea, permission, status
):
    fake_gitea.permissions["dana"] = permission
    review_dify.script("run", fd.success({"review": REVIEW_TEXT}))
    response = send("pull_request_comment", review_comment())
    assert response.status_code == 202, response.json()
    run = Run.objects.get(pk=response.json()["run"])
    execute(run)
    assert run.status == status
    if status == "cancelled":
        assert run.error_code == "not_trusted"
        assert "@dana is neither the owner nor a collaborator" in run.error_message
        assert not review_dify.requests_to("/workflows/run")
    else:
        (sent,) = review_dify.requests_to("/workflows/run")
        assert sent.json["inputs"]["focus"] == "check the error paths"


def test_a_wrong_secret_and_a_github_delivery_are_refused(send, client, gitea_endpoint):
    wrong = send("pull_request_sync", payload("gitea.HookPullRequestUpdated"), secret="nope-nope")
    assert wrong.status_code == 401 and "does not match the body" in wrong.json()["error"]
    github = client.post(
        "/hooks/gitea/home/",
        data=b"{}",
        content_type="application/json",
        HTTP_X_GITHUB_EVENT="pull_request",
    )
    assert github.status_code == 401 and "no X-Gitea-Event" in github.json()["error"]
    gitea_endpoint.refresh_from_db()
    assert gitea_endpoint.rejected_count == 2


def test_the_test_delivery_push_is_kept_as_ignored(send):
    response = send("push", payload("gitea.HookPush"))
    assert response.status_code == 200
    assert "Test delivery sends one" in response.json()["reason"]


def test_line_comments_are_one_gitea_review_at_the_new_files_lines(send, review_dify, fake_gitea):
    comments = [
        {"path": "README.md", "line": 1, "severity": "medium", "body": "Keep the comma out."},
        {"path": "README.md", "line": 5, "body": "Not on the diff."},
    ]
    review_dify.script("run", fd.success({"review": REVIEW_TEXT, "comments": comments}))
    run = Run.objects.get(
        pk=send("pull_request_sync", payload("gitea.HookPullRequestUpdated")).json()["run"]
    )
    execute(run)
    deliver_all(run)
    assert run.status == Run.Status.SUCCEEDED
    (line,) = fake_gitea.repos[REPO.lower()].line_comments[2]
    assert (line["path"], line["position"]) == ("README.md", 1)
    assert line["body"].startswith("**medium** · Keep the comma out.")
    (review,) = fake_gitea.repos[REPO.lower()].reviews[2]
    assert review["commit_id"] == HEAD and review["body"] == "dify-hub: 1 line comment"
    (summary,) = fake_gitea.comments(REPO, 2)
    assert (
        "**Inline comments:** 1 medium." in summary["body"]
        and "Not on the diff." in summary["body"]
    )


def test_a_re_review_on_gitea_gets_what_changed_since_the_last_review(
    send, review_dify, fake_gitea, gitea_endpoint
):
    """Gitea's compare API has no patches: new_diff holds the files whose patch differs from
    what the last review saw (fingerprinted per file when it was read)."""
    gitea_endpoint.input_mapping = {
        "language": "{{ review_round }} | {{ previous_review }} | {{ new_diff }}"
    }
    gitea_endpoint.save()
    two_files = DIFF + (
        "diff --git a/app.py b/app.py\n--- a/app.py\n+++ b/app.py\n@@ -1 +1 @@\n-a = 1\n+a = 2\n"
    )
    fake_gitea.diffs[(REPO.lower(), 2)] = two_files
    review_dify.script(
        "run",
        fd.success({"review": "First pass."}),
        fd.success({"review": "Second."}),
        fd.success({"review": "Third."}),
    )
    first = Run.objects.get(
        pk=send("pull_request_sync", payload("gitea.HookPullRequestUpdated")).json()["run"]
    )
    execute(first)
    deliver_all(first)
    # The push changes app.py again and leaves README.md as it was.
    fake_gitea.diffs[(REPO.lower(), 2)] = two_files.replace("+a = 2", "+a = 3")
    second = push(send, fake_gitea, NEWER)
    round_, previous, new_diff = second.inputs["language"].split(" | ", 2)
    assert (round_, previous) == ("2", "First pass.")
    assert "+a = 3" in new_diff and "README.md" not in new_diff
    deliver_all(second)
    # A push that changes nothing in the files (a rebase onto the same content): nothing new.
    third = push(send, fake_gitea, "f" * 40)
    assert third.inputs["language"] == "3 | Second. | "


def push(send, fake_gitea, head: str) -> Run:
    fake_gitea.repos[REPO.lower()].pulls[2]["head"]["sha"] = head
    pushed = payload("gitea.HookPullRequestUpdated")
    pushed["pull_request"]["head"]["sha"] = head
    run = Run.objects.get(pk=send("pull_request_sync", pushed).json()["run"])
    execute(run)
    return run
