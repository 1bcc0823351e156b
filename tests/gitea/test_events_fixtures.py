"""One test per Gitea/Forgejo webhook fixture (tests/fixtures/gitea/webhooks/*.json).

Each entry names the event type the server sends the payload with (X-Gitea-Event-Type, from
Gitea's modules/webhook/type.go) and the answer it must get.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from integrations.forges.gitea.events import GiteaRules, classify

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "gitea" / "webhooks"
RULES = GiteaRules(bot_login="dify-hub-bot")
LABEL, MILE, ASSIGN = "pull_request_label", "pull_request_milestone", "pull_request_assign"

# name: (event type, accepted, trigger, a piece of the reason)
EXPECTED = {
    "gitea.HookPullRequest": ("pull_request", True, "open", "was opened"),
    "gitea.HookPullRequestReopened": ("pull_request", True, "reopen", "was reopened"),
    "gitea.HookPullRequestUpdated": ("pull_request_sync", True, "new_commits", "new commits on"),
    "gitea.HookPullRequestClosed": ("pull_request", False, "", "was closed"),
    "gitea.HookPullRequestMerged": ("pull_request", False, "", "was merged"),
    "gitea.HookPullRequestChangeTitle": ("pull_request", False, "", "was edited (title)"),
    "gitea.HookPullRequestChangeBody": ("pull_request", False, "", "was edited (body)"),
    "gitea.HookPullRequestAddLabel": (LABEL, False, "", "action 'label_updated'"),
    "gitea.HookPullRequestChangeLabel": (LABEL, False, "", "action 'label_updated'"),
    "gitea.HookPullRequestRemoveLabel": (LABEL, False, "", "action 'label_cleared'"),
    "gitea.HookPullRequestAddMile": (MILE, False, "", "action 'milestoned'"),
    "gitea.HookPullRequestChangeMile": (MILE, False, "", "action 'milestoned'"),
    "gitea.HookPullRequestRemoveMile": (MILE, False, "", "action 'demilestoned'"),
    "gitea.HookPullRequestAddReviewRequest": (
        "pull_request_review_request",
        False,
        "",
        "action 'review_requested'",
    ),
    "gitea.HookPullRequestAssigneesAdded": (ASSIGN, False, "", "action 'assigned'"),
    "gitea.HookPullRequestAssigneesRemoved": (ASSIGN, False, "", "action 'unassigned'"),
    "gitea.HookPullRequestReviewAck": (
        "pull_request_review_approved",
        False,
        "",
        "a review was submitted",
    ),
    "gitea.HookPullRequestReviewDeny": (
        "pull_request_review_rejected",
        False,
        "",
        "a review was submitted",
    ),
    "gitea.HookPullRequestReviewComment": (
        "pull_request_review_comment",
        False,
        "",
        "a review was submitted",
    ),
    "gitea.HookPush": ("push", False, "", "Test delivery sends one"),
    "gitea.HookPushBranch": ("push", False, "", "push events are not reviewed"),
    "gitea.HookPushMulti": ("push", False, "", "push events are not reviewed"),
    "gitea.HookTag": ("create", False, "", "create events are not reviewed"),
    "gitea.HookRelease": ("release", False, "", "release events are not reviewed"),
    "forgejo.HookPullRequest": ("pull_request", True, "open", "was opened"),
    "forgejo.HookPullRequestReopened": ("pull_request", True, "reopen", "was reopened"),
    "forgejo.HookPullRequestUpdated": ("pull_request_sync", True, "new_commits", "new commits on"),
    "forgejo.HookPullRequestClosed": ("pull_request", False, "", "was closed"),
    "forgejo.HookPullRequestMerged": ("pull_request", False, "", "was merged"),
    "forgejo.HookPullRequestEdited": ("pull_request", False, "", "was edited"),
    "forgejo.HookPullRequestLabelAdded": (LABEL, False, "", "action 'label_updated'"),
    "forgejo.HookPullRequestLabelsUpdated": (LABEL, False, "", "action 'label_updated'"),
    "forgejo.HookPullRequestLabelsCleared": (LABEL, False, "", "action 'label_cleared'"),
    "forgejo.HookPullRequestMilestoneAdded": (MILE, False, "", "action 'milestoned'"),
    "forgejo.HookPullRequestMilestoneChanged": (MILE, False, "", "action 'milestoned'"),
    "forgejo.HookPullRequestMilestoneCleared": (MILE, False, "", "action 'demilestoned'"),
    "forgejo.HookPullRequestAssigneesAdded": (ASSIGN, False, "", "action 'assigned'"),
    "forgejo.HookPullRequestAssigneeCleared": (ASSIGN, False, "", "action 'unassigned'"),
    "forgejo.HookPush": ("push", False, "", "push events are not reviewed"),
    "forgejo.HookPushBranch": ("push", False, "", "push events are not reviewed"),
    "forgejo.HookPushMulti": ("push", False, "", "push events are not reviewed"),
    "forgejo.HookTag": ("create", False, "", "create events are not reviewed"),
    "forgejo.HookRelease": ("release", False, "", "release events are not reviewed"),
    "go-scm.pull_request_opened": ("pull_request", True, "open", "jcitizen/my-repo#1 was opened"),
    "go-scm.pull_request_synchronized": ("pull_request_sync", True, "new_commits", "new commits"),
    "go-scm.pull_request_comment_created": (
        "pull_request_comment",
        False,
        "",
        "comment on gogits/hello-world#2 is not a /review command",
    ),
    "go-scm.pull_request_comment_edited": ("pull_request_comment", False, "", "only new comments"),
    "go-scm.issue_comment_created": (
        "issue_comment",
        False,
        "",
        "comment on issue #1, not on a pull request",
    ),
    "derived.pull_request_comment_review": (
        "pull_request_comment",
        True,
        "review_command",
        "@unknwon asked for a review of gogits/hello-world#2 with /review",
    ),
    "derived.pull_request_wip_removed": (
        "pull_request",
        True,
        "ready",
        "the title lost its draft prefix",
    ),
}


def test_every_fixture_on_disk_has_an_expected_answer():
    assert sorted(EXPECTED) == sorted(p.stem for p in FIXTURES.glob("*.json"))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture(name):
    payload = json.loads((FIXTURES / f"{name}.json").read_text())
    event_type, accepted, trigger, reason = EXPECTED[name]
    result = classify(event_type, payload, RULES)
    assert (result.accepted, result.trigger) == (accepted, trigger), result.reason
    assert reason in result.reason
    if accepted and trigger != "review_command":
        assert result.event.head_sha == payload["pull_request"]["head"]["sha"]
        assert result.event.number == (payload["pull_request"].get("number") or payload["number"])
    if trigger == "review_command":
        assert result.event.focus == "check the error paths" and result.event.head_sha == ""


def test_the_coarse_event_alone_classifies_the_same_on_old_servers():
    # Servers before event types sent only X-Gitea-Event: pull_request for new commits.
    payload = json.loads((FIXTURES / "gitea.HookPullRequestUpdated.json").read_text())
    assert classify("pull_request", payload, RULES).trigger == "new_commits"
