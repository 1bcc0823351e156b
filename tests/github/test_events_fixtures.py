"""One test per GitHub webhook fixture (tests/fixtures/github/webhooks/*.json).

The event name is the file name's first part (what GitHub sends as X-GitHub-Event); each
fixture's expected answer is listed here: accepted with its trigger, or ignored with a piece
of the reason.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from integrations.forges.github.events import GitHubRules, classify

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "github" / "webhooks"
RULES = GitHubRules(bot_login="dify-hub[bot]")

# (accepted, trigger, a piece of the reason); listed by hand so a lost fixture fails.
EXPECTED = {
    "pull_request.opened": (True, "open", "Codertocat/Hello-World#2 was opened"),
    "pull_request.opened.with-null-body": (True, "open", "was opened"),
    "pull_request.reopened": (True, "reopen", "Codertocat/Hello-World#2 was reopened"),
    "pull_request.synchronize": (True, "new_commits", "new commits on Codertocat/Hello-World#2"),
    "pull_request.ready_for_review": (True, "ready", "was marked ready"),
    "pull_request.ready_for_review.with-installation": (True, "ready", "was marked ready"),
    "pull_request.closed": (False, "", "#2 was closed; that does not request a review"),
    "pull_request.converted_to_draft": (False, "", "converted to a draft"),
    "pull_request.labeled": (False, "", "action 'labeled' does not request a review"),
    "pull_request.unlabeled": (False, "", "action 'unlabeled'"),
    "pull_request.assigned": (False, "", "action 'assigned'"),
    "pull_request.unassigned": (False, "", "action 'unassigned'"),
    "pull_request.locked": (False, "", "action 'locked'"),
    "pull_request.unlocked": (False, "", "action 'unlocked'"),
    "pull_request.review_requested": (False, "", "action 'review_requested'"),
    "pull_request.review_request_removed": (False, "", "action 'review_request_removed'"),
    "issue_comment.created": (False, "", "comment on issue #1, not on a pull request"),
    "issue_comment.created.1": (False, "", "not on a pull request"),
    "issue_comment.created.with-installation": (False, "", "not on a pull request"),
    "issue_comment.created.with-organization": (False, "", "not on a pull request"),
    "issue_comment.edited": (False, "", "not on a pull request"),
    "issue_comment.edited.with-organization": (False, "", "not on a pull request"),
    "issue_comment.deleted": (False, "", "not on a pull request"),
    "issue_comment.deleted.with-organization": (False, "", "not on a pull request"),
    "issue_comment.created.review-command": (
        True,
        "review_command",
        "@Codertocat asked for a review of Codertocat/Hello-World#1 with /review",
    ),
    "issue_comment.created.review-command-by-contributor": (
        False,
        "review_command",
        "@drive-by (CONTRIBUTOR) may not ask for a review",
    ),
    "issue_comment.created.on-pull-request": (False, "", "is not a /review command"),
    "ping.payload": (False, "", "ping: GitHub checked that the webhook answers"),
    "push.payload": (False, "", "push events are not reviewed"),
    "check_run.completed": (False, "", "check_run events are not reviewed"),
    "pull_request_review.submitted": (False, "", "pull_request_review events are not reviewed"),
}
ON_DISK = sorted(p.stem for p in FIXTURES.glob("*.json"))


def test_every_fixture_on_disk_has_an_expected_answer():
    assert sorted(EXPECTED) == ON_DISK


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture(name):
    payload = json.loads((FIXTURES / f"{name}.json").read_text())
    result = classify(name.split(".")[0], payload, RULES)
    accepted, trigger, reason = EXPECTED[name]
    assert (result.accepted, result.trigger) == (accepted, trigger), result.reason
    assert reason in result.reason
    if name.startswith("pull_request."):
        event = result.event
        assert (event.repository, event.number, event.author) == (
            "Codertocat/Hello-World",
            2,
            "Codertocat",
        )
        assert (event.source_branch, event.target_branch) == ("changes", "master")
        assert event.head_sha == "ec26c3e57ca3a959ca5aad62de7213c562f8c821"
    if accepted and trigger == "review_command":
        assert result.event.focus == "please look at the error handling"
        assert result.event.comment_id == payload["comment"]["id"]
        assert result.event.head_sha == ""  # a comment's payload has no head: read from the API
    if name == "pull_request.ready_for_review.with-installation":
        assert result.event.installation_id == payload["installation"]["id"]
