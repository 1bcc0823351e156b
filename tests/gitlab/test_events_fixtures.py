"""One test per GitLab webhook fixture (tests/fixtures/gitlab/*.json).

Each fixture is a delivery (headers + body) with the classification it must get: accepted,
trigger, a piece of the reason and the MergeRequestEvent fields (all of them for accepted
deliveries, the MR's identity for ignored ones that are about an MR, null otherwise).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from integrations.gitlab.events import (
    MergeRequestEvent,
    ReviewRules,
    classify,
    event_name,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "gitlab"
RULES = ReviewRules(bot_user_id=9001, bot_username="project_1187_bot_5e1d2c8a")

# Listed by hand as well, so a deleted or renamed fixture fails instead of vanishing.
EXPECTED = [
    "mr_open",
    "mr_open_draft",
    "mr_reopen",
    "mr_reopen_legacy_state",
    "mr_update_new_commits",
    "mr_update_labels",
    "mr_update_reviewers",
    "mr_update_draft_to_ready",
    "mr_update_title_draft_removed",
    "mr_update_new_commits_draft",
    "mr_close",
    "mr_merge",
    "mr_approved",
    "mr_approval",
    "mr_unapproved",
    "note_review_command",
    "note_review_edited",
    "note_by_bot",
    "note_plain_comment",
    "note_reviewer_word",
    "note_system",
    "note_on_issue",
    "note_review_on_merged_mr",
    "push_hook",
    "pipeline_hook",
    "tag_push_hook",
]
ON_DISK = sorted(p.stem for p in FIXTURES.glob("*.json"))
ALL = sorted(set(EXPECTED) | set(ON_DISK))
EVENT_FIELDS = {f for f in MergeRequestEvent.__dataclass_fields__}


def load(name: str) -> dict:
    path = FIXTURES / f"{name}.json"
    assert path.exists(), f"fixture {path.name} is missing"
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", ALL)
def test_the_delivery_is_classified_as_documented(name):
    fixture = load(name)
    expect = fixture["expect"]

    result = classify(event_name(fixture["headers"], fixture["body"]), fixture["body"], RULES)

    assert result.accepted is expect["accepted"], result.reason
    assert result.trigger == expect["trigger"]
    assert expect["reason_contains"] in result.reason
    if expect["event"] is None:
        assert result.event is None
        return
    assert result.event is not None
    actual = result.event.to_dict()
    assert {key: actual[key] for key in expect["event"]} == expect["event"]
    if expect["accepted"]:
        assert set(expect["event"]) == EVENT_FIELDS, "accepted fixtures list every field"
        assert MergeRequestEvent.from_dict(json.loads(json.dumps(actual))) == result.event


@pytest.mark.parametrize("name", ALL)
def test_the_fixture_looks_like_a_real_delivery(name):
    fixture = load(name)
    headers, body = fixture["headers"], fixture["body"]

    assert set(fixture) == {"headers", "body", "expect", "source"}
    assert fixture["source"]
    assert headers["Content-Type"] == "application/json"
    assert headers["User-Agent"].startswith("GitLab/")
    assert headers["X-Gitlab-Token"] == "<secret>"
    # The header and the body's object_kind agree, so either can name the event.
    assert event_name({}, body) == headers["X-Gitlab-Event"]
    if "Idempotency-Key" in headers:  # GitLab >= 17.4 sends all of these
        for key in ("X-Gitlab-Instance", "X-Gitlab-Webhook-UUID", "X-Gitlab-Event-UUID"):
            assert headers[key]
        assert headers["Idempotency-Key"] != headers["X-Gitlab-Event-UUID"]


@pytest.mark.parametrize("name", ALL)
def test_header_names_are_matched_case_insensitively(name):
    fixture = load(name)
    lowered = {key.lower(): value for key, value in fixture["headers"].items()}

    assert event_name(lowered, fixture["body"]) == fixture["headers"]["X-Gitlab-Event"]


def test_every_fixture_on_disk_is_listed():
    assert sorted(set(ON_DISK) - set(EXPECTED)) == []
