"""The rules behind GitHub classification, beyond what the fixtures show."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from integrations.forges.common import REVIEW_MARKER
from integrations.forges.github.events import GitHubRules, classify, delivery_id, event_name

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "github" / "webhooks"
RULES = GitHubRules(bot_login="dify-hub[bot]")


def fixture(name: str) -> dict:
    return copy.deepcopy(json.loads((FIXTURES / f"{name}.json").read_text()))


def command(body: str = "/review", **comment) -> dict:
    payload = fixture("issue_comment.created.review-command")
    payload["comment"]["body"] = body
    payload["comment"].update(comment)
    return payload


@pytest.mark.parametrize("action", ["opened", "reopened", "synchronize"])
def test_a_draft_is_not_reviewed_until_ready(action):
    payload = fixture("pull_request.opened")
    payload["action"] = action
    payload["pull_request"]["draft"] = True
    result = classify("pull_request", payload, RULES)
    assert not result.accepted and "is a draft" in result.reason


def test_a_merged_pull_request_says_merged():
    payload = fixture("pull_request.closed")
    payload["pull_request"]["merged"] = True
    assert "was merged" in classify("pull_request", payload, RULES).reason


def test_edited_is_ignored_with_its_reason():
    payload = fixture("pull_request.opened")
    payload["action"] = "edited"
    assert "was edited" in classify("pull_request", payload, RULES).reason


def test_a_turned_off_trigger_and_a_branch_outside_the_globs_are_ignored():
    payload = fixture("pull_request.synchronize")
    off = GitHubRules(triggers=frozenset({"open"}))
    result = classify("pull_request", payload, off)
    assert (result.accepted, result.trigger) == (False, "new_commits")
    assert "turned off" in result.reason
    release = GitHubRules(target_branches=("release/*",))
    result = classify("pull_request", payload, release)
    assert "target branch 'master'" in result.reason and "release/*" in result.reason
    assert classify("pull_request", payload, GitHubRules(target_branches=("mas*",))).accepted


def test_an_invalid_head_sha_is_not_reviewed():
    payload = fixture("pull_request.opened")
    payload["pull_request"]["head"]["sha"] = "not-a-sha"
    result = classify("pull_request", payload, RULES)
    assert not result.accepted and "head.sha" in result.reason


def test_a_widened_setting_honours_a_contributor():
    payload = fixture("issue_comment.created.review-command-by-contributor")
    wide = GitHubRules(associations=frozenset({"OWNER", "MEMBER", "COLLABORATOR", "CONTRIBUTOR"}))
    assert classify("issue_comment", payload, wide).accepted
    refused = classify("issue_comment", payload, RULES)
    assert "honoured from OWNER, MEMBER, COLLABORATOR" in refused.reason


def test_the_bots_own_comments_are_never_commands():
    by_bot = command(user={"login": "dify-hub[bot]", "type": "Bot"})
    assert "written by the review bot" in classify("issue_comment", by_bot, RULES).reason
    marked = command(f"/review\n\n{REVIEW_MARKER} pr=1 -->")
    assert "written by the review bot" in classify("issue_comment", marked, RULES).reason


def test_a_mention_of_someone_else_is_not_for_the_hub():
    result = classify("issue_comment", command("@dana /review"), RULES)
    assert not result.accepted and "not a /review command" in result.reason
    assert classify("issue_comment", command("@dify-hub[bot] /review security"), RULES).accepted


def test_edited_comments_and_closed_pull_requests_are_not_commands():
    edited = command()
    edited["action"] = "edited"
    assert "only new comments" in classify("issue_comment", edited, RULES).reason
    closed = command()
    closed["issue"]["state"] = "closed"
    assert "works on open ones" in classify("issue_comment", closed, RULES).reason


@pytest.mark.parametrize("payload", [[], "text", 3, None])
def test_a_payload_that_is_not_an_object_is_ignored(payload):
    assert classify("pull_request", payload, RULES).reason == "payload is not a JSON object"


def test_a_payload_without_its_objects_is_ignored_with_what_is_missing():
    assert "no pull_request" in classify("pull_request", {"action": "opened"}, RULES).reason
    payload = fixture("pull_request.opened")
    del payload["repository"]
    assert "no repository" in classify("pull_request", payload, RULES).reason


def test_headers_are_read_whatever_their_case():
    headers = {"x-github-event": "ping", "X-GITHUB-DELIVERY": "72d3162e-cc78-11e3-81ab"}
    assert event_name(headers) == "ping"
    assert delivery_id(headers) == "72d3162e-cc78-11e3-81ab"
    assert "no X-GitHub-Event" in classify("", {}, RULES).reason
