"""GitHub pull requests reviewed end to end, in-process: a signed delivery through Django's
request stack, the run against a fake Dify, the sticky comment on a fake GitHub."""

from __future__ import annotations

import json
import uuid

import pytest

from integrations.forges.github.payload import from_pull_request
from integrations.forges.github.signing import signature
from integrations.forges.pull_comment import marker
from integrations.models import ReviewEndpoint, Run, WebhookEvent
from integrations.runs import engine
from tests.fakes import dify as fd
from tests.fakes.github_server import file_entry
from tests.github.support import HEAD, NEWER, REPO, SECRET, payload
from tests.reviews.support import REVIEW_TEXT, as_django_headers, deliver_all, execute

pytestmark = pytest.mark.django_db


@pytest.fixture
def send(client, github_endpoint):
    def post(event: str, body: dict, *, delivery: str | None = None, secret: str = SECRET, **extra):
        raw = json.dumps(body).encode()
        headers = {
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
            "X-Hub-Signature-256": signature(secret, raw),
            "User-Agent": "GitHub-Hookshot/044aadd",
            **extra,
        }
        return client.post(
            f"/hooks/github/{github_endpoint.slug}/",
            data=raw,
            content_type="application/json",
            **as_django_headers(headers),
        )

    return post


def test_ping_answers_200_and_is_kept(send):
    response = send("ping", payload("ping.payload"))
    assert response.status_code == 200
    assert "ping: GitHub checked that the webhook answers" in response.json()["reason"]
    event = WebhookEvent.objects.get()
    assert (event.event_name, event.outcome) == ("ping", "ignored")
    assert "x-hub-signature-256" not in event.headers  # never kept


def test_an_opened_pull_request_is_reviewed_into_one_sticky_comment(
    send, review_dify, fake_github, github_endpoint
):
    review_dify.script("run", fd.success({"review": REVIEW_TEXT}))
    standard = "{{ forge }} {{ repository }} {{ number }} {{ mr_iid }} {{ action }}"
    github_endpoint.input_mapping = {"language": standard, "focus": "{{ omitted_files }}"}
    github_endpoint.save()
    response = send("pull_request", payload("pull_request.opened"))
    assert response.status_code == 202, response.json()
    run = Run.objects.get(pk=response.json()["run"])
    assert run.source == "oss-reviews: Codertocat/Hello-World#2 (open)"
    assert run.head_sha == HEAD and run.review_endpoint == github_endpoint

    assert execute(run) == engine.DONE
    (sent,) = review_dify.requests_to("/workflows/run")
    inputs = sent.json["inputs"]
    assert inputs["title"] == "Update the README with new information."[:40]
    assert "+++ b/README.md" in inputs["diff"] and "+Hello, World!" in inputs["diff"]
    assert inputs["changed_files"] == "M README.md\nA logo.png"
    # The standard names, and the GitLab ones kept as aliases (mr_iid).
    assert inputs["language"] == f"github {REPO} 2 2 open"
    assert inputs["focus"].startswith("logo.png (no patch from GitHub")

    (comment_delivery,) = run.deliveries.all()
    assert comment_delivery.kind == "pr_comment"
    deliver_all(run)
    assert run.status == Run.Status.SUCCEEDED
    (comment,) = fake_github.comments(REPO, 2)
    event = from_pull_request(payload("pull_request.opened"))
    assert comment["body"].startswith(marker("oss", event))
    assert REVIEW_TEXT in comment["body"]
    assert f"commit {HEAD[:8]} · dify-hub run #{run.pk}" in comment["body"]
    github_endpoint.refresh_from_db()
    assert github_endpoint.bot_username == "dify-hub-bot"  # learnt from GET /user

    # New commits: a second review edits the same comment.
    fake_github.repos[REPO.lower()].pulls[2]["head"]["sha"] = NEWER
    pushed = payload("pull_request.synchronize")
    pushed["pull_request"]["head"]["sha"] = NEWER
    review_dify.script("run", fd.success({"review": "Second pass: all good."}))
    again = Run.objects.get(pk=send("pull_request", pushed).json()["run"])
    execute(again)
    deliver_all(again)
    (comment,) = fake_github.comments(REPO, 2)
    assert "Second pass: all good." in comment["body"] and REVIEW_TEXT not in comment["body"]


def test_a_redelivery_answers_duplicate_and_starts_nothing(send):
    first = send("pull_request", payload("pull_request.opened"), delivery="72d3162e-cc78-11e3")
    again = send("pull_request", payload("pull_request.opened"), delivery="72d3162e-cc78-11e3")
    assert first.status_code == 202
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    assert again.json()["run"] == first.json()["run"]
    assert Run.objects.count() == 1
    assert WebhookEvent.objects.get().duplicate_count == 1


def test_the_same_head_from_another_delivery_is_already_being_reviewed(send):
    send("pull_request", payload("pull_request.opened"))
    answer = send("pull_request", payload("pull_request.reopened")).json()
    assert "Commit ec26c3e5 of #2 is being reviewed" in answer["reason"]
    assert "comment /review on the pull request" in answer["reason"]


def test_new_commits_supersede_a_review_not_yet_started(send, fake_github):
    old = Run.objects.get(pk=send("pull_request", payload("pull_request.opened")).json()["run"])
    pushed = payload("pull_request.synchronize")
    pushed["pull_request"]["head"]["sha"] = NEWER
    new_id = send("pull_request", pushed).json()["run"]
    old.refresh_from_db()
    assert old.status == Run.Status.SUPERSEDED
    assert old.error_message == f"Superseded by run #{new_id} (commit {NEWER[:8]})."


@pytest.mark.parametrize(
    ("headers", "secret", "reason"),
    [
        ({}, "another-secret-entirely", "does not match the body"),
        ({"X-Gitea-Event": "pull_request"}, SECRET, "came from Gitea or Forgejo"),
    ],
    ids=["wrong-secret", "gitea"],
)
def test_a_delivery_that_is_not_githubs_is_refused_and_counted(
    send, github_endpoint, headers, secret, reason
):
    response = send("pull_request", payload("pull_request.opened"), secret=secret, **headers)
    assert response.status_code == 401 and reason in response.json()["error"]
    github_endpoint.refresh_from_db()
    assert github_endpoint.rejected_count == 1 and reason in github_endpoint.last_rejected_reason
    assert not WebhookEvent.objects.exists()


def test_a_github_endpoint_does_not_answer_at_the_gitlab_url(client, github_endpoint):
    response = client.post("/hooks/gitlab/oss/", data=b"{}", content_type="application/json")
    assert response.status_code == 404
    assert response.json()["error"] == "No GitLab endpoint 'oss' in this hub."


def test_a_review_command_reads_the_head_from_github(
    send, review_dify, fake_github, github_endpoint
):
    review_dify.script("run", fd.success({"review": REVIEW_TEXT}))
    response = send("issue_comment", payload("issue_comment.created.review-command"))
    assert response.status_code == 202, response.json()
    run = Run.objects.get(pk=response.json()["run"])
    assert run.head_sha == "" and run.context["trigger"] == "review_command"
    execute(run)
    (sent,) = review_dify.requests_to("/workflows/run")
    assert sent.json["inputs"]["focus"] == "please look at the error handling"
    assert run.context["read"]["head_sha"] == HEAD


def test_a_review_command_from_a_contributor_is_kept_but_starts_nothing(send):
    response = send("issue_comment", payload("issue_comment.created.review-command-by-contributor"))
    assert response.status_code == 200
    assert "@drive-by (CONTRIBUTOR) may not ask for a review" in response.json()["reason"]
    assert not Run.objects.exists()
    assert WebhookEvent.objects.get().outcome == "ignored"


def test_a_pull_request_closed_before_the_review_started_is_cancelled(send, fake_github):
    run = Run.objects.get(pk=send("pull_request", payload("pull_request.opened")).json()["run"])
    fake_github.repos[REPO.lower()].pulls[2].update(state="closed", merged=True)
    execute(run)
    assert run.status == Run.Status.CANCELLED and run.error_source == "github"
    assert run.error_message.startswith("GitHub: Codertocat/Hello-World#2 was merged")


def test_a_wrong_token_fails_the_run_saying_github_said_it(send, fake_github, github_endpoint):
    ReviewEndpoint.objects.filter(pk=github_endpoint.pk).update(access_token="ghp_revoked0000")
    run = Run.objects.get(pk=send("pull_request", payload("pull_request.opened")).json()["run"])
    execute(run)
    assert run.status == Run.Status.FAILED and run.error_source == "github"
    assert "GitHub answered 401 Unauthorized" in run.error_message
    assert "ghp_revoked0000" not in run.error_message


def test_a_push_the_api_does_not_show_yet_is_waited_for(send, review_dify, fake_github):
    pushed = payload("pull_request.synchronize")
    pushed["before"], pushed["pull_request"]["head"]["sha"] = HEAD, NEWER  # the API still at HEAD
    run = Run.objects.get(pk=send("pull_request", pushed).json()["run"])
    execute(run)
    assert run.status == Run.Status.QUEUED and (run.waits, run.attempts) == (1, 0)
    assert not review_dify.requests_to("/workflows/run")

    fake_github.repos[REPO.lower()].pulls[2]["head"]["sha"] = NEWER  # GitHub caught up
    review_dify.script("run", fd.success({"review": REVIEW_TEXT}))
    assert execute(run) == engine.DONE
    assert run.status == Run.Status.SUCCEEDED and run.context["read"]["head_sha"] == NEWER


LINE_COMMENTS = [
    {"path": "README.md", "line": 1, "severity": "high", "body": "Keep the comma out."},
    {"path": "README.md", "line": 9, "body": "Nowhere near the change."},
    {"path": "logo.png", "line": 1, "body": "A binary file."},
]


def test_line_comments_go_on_their_lines_once_and_the_rest_into_the_summary(
    send, review_dify, fake_github
):
    review_dify.script("run", fd.success({"review": REVIEW_TEXT, "comments": LINE_COMMENTS}))
    run = Run.objects.get(pk=send("pull_request", payload("pull_request.opened")).json()["run"])
    execute(run)
    assert sorted(d.kind for d in run.deliveries.all()) == ["pr_comment", "pr_inline"]
    deliver_all(run)
    assert run.status == Run.Status.SUCCEEDED
    (summary,) = fake_github.comments(REPO, 2)
    assert "**Inline comments:** 1 high." in summary["body"]
    assert (
        "line 9: Nowhere near the change. _(line 9 is not an added or unchanged line"
        in summary["body"]
    )
    assert "A binary file. _(the file is not in the diff the review saw)_" in summary["body"]
    (line,) = fake_github.line_comments(REPO, 2)
    assert (line["path"], line["line"], line["side"]) == ("README.md", 1, "RIGHT")
    assert line["body"].startswith("**high** · Keep the comma out.")

    # A re-review after a push, raising the same point again: not repeated.
    fake_github.repos[REPO.lower()].pulls[2]["head"]["sha"] = NEWER
    pushed = payload("pull_request.synchronize")
    pushed["pull_request"]["head"]["sha"] = NEWER
    review_dify.script("run", fd.success({"review": "Again.", "comments": LINE_COMMENTS[:1]}))
    again = Run.objects.get(pk=send("pull_request", pushed).json()["run"])
    execute(again)
    deliver_all(again)
    assert len(fake_github.line_comments(REPO, 2)) == 1
    assert len(fake_github.comments(REPO, 2)) == 1  # the summary, edited
    attempt = again.deliveries.get(kind="pr_inline").attempt_rows.get()
    assert (
        attempt.response_body == "1 line comment already on the pull request; nothing new to post"
    )


@pytest.mark.parametrize("force_pushed", [False, True])
def test_a_re_review_gets_what_changed_since_the_reviewed_head(
    send, review_dify, fake_github, github_endpoint, force_pushed
):
    github_endpoint.input_mapping = {
        "language": "{{ review_round }} | {{ previous_review }} | {{ new_diff }}"
    }
    github_endpoint.save()
    review_dify.script(
        "run", fd.success({"review": "First pass."}), fd.success({"review": "Second."})
    )
    first = Run.objects.get(pk=send("pull_request", payload("pull_request.opened")).json()["run"])
    execute(first)
    deliver_all(first)
    repo = fake_github.repos[REPO.lower()]
    repo.pulls[2]["head"]["sha"] = NEWER
    if not force_pushed:  # after a force-push GitHub no longer has the reviewed head: 404
        repo.compares[(HEAD, NEWER)] = [
            file_entry("README.md", "@@ -1 +1 @@\n-Hello, World!\n+Hello, World!!")
        ]
    pushed = payload("pull_request.synchronize")
    pushed["pull_request"]["head"]["sha"] = NEWER
    second = Run.objects.get(pk=send("pull_request", pushed).json()["run"])
    execute(second)
    round_, previous, new_diff = second.inputs["language"].split(" | ", 2)
    assert (round_, previous) == ("2", "First pass.")
    if force_pushed:
        assert "+Hello, World!" in new_diff and "+Hello, World!!" not in new_diff  # the whole diff
    else:
        assert "+Hello, World!!" in new_diff and "logo.png" not in new_diff


def test_a_large_pull_request_is_reviewed_in_parts_into_one_comment(
    send, review_dify, fake_github, github_endpoint
):
    github_endpoint.review_in_parts = True
    github_endpoint.diff_budget = 1_000
    github_endpoint.save()
    patch = "@@ -1,1 +1,9 @@\n start\n" + "".join(f"+line_{i} = {i}\n" for i in range(8))
    names = [f"src/file_{n:02}.py" for n in range(12)]
    fake_github.repos[REPO.lower()].files[2] = [file_entry(name, patch) for name in names]
    review_dify.script("run", *(fd.success({"review": f"Part {n} ok."}) for n in range(1, 9)))
    run = Run.objects.get(pk=send("pull_request", payload("pull_request.opened")).json()["run"])
    execute(run)
    execute(run)
    count = run.parts.count()
    assert count > 1 and len(review_dify.requests_to("/workflows/run")) == count
    deliver_all(run)
    (summary,) = fake_github.comments(REPO, 2)
    assert f"Reviewed in {count} parts" in summary["body"]
    assert all(f"Part {n} ok." in summary["body"] for n in range(1, count + 1))
    assert all(f"`{name}`" in summary["body"] for name in names)
