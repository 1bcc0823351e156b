"""Classification rules beyond the fixtures, and robustness against odd payloads."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from integrations.gitlab.events import (
    FOCUS_LIMIT,
    MR_HOOK,
    NOTE_HOOK,
    REVIEW_MARKER,
    TRIGGER_LABELS,
    TRIGGERS,
    Classification,
    MergeRequestEvent,
    ReviewRules,
    classify,
    event_name,
    parse_review_command,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "gitlab"
ALL = sorted(p.stem for p in FIXTURES.glob("*.json"))
BOT = ReviewRules(bot_user_id=9001, bot_username="dify-review")


def body(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))["body"]


def note(text: str, **attrs) -> dict:
    payload = body("note_review_command")
    payload["object_attributes"]["note"] = text
    payload["object_attributes"].update(attrs)
    return payload


def classify_note(text: str, rules: ReviewRules = BOT, **attrs) -> Classification:
    return classify(NOTE_HOOK, note(text, **attrs), rules)


def test_every_trigger_has_a_label():
    assert set(TRIGGER_LABELS) == set(TRIGGERS)


# --- Rules ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, trigger",
    [
        ("mr_open", "open"),
        ("mr_reopen", "reopen"),
        ("mr_update_new_commits", "new_commits"),
        ("mr_update_draft_to_ready", "ready"),
        ("note_review_command", "review_command"),
    ],
)
def test_a_trigger_that_is_turned_off_is_ignored(name, trigger):
    payload = body(name)
    event = MR_HOOK if name.startswith("mr_") else NOTE_HOOK
    rules = ReviewRules(triggers=frozenset(TRIGGERS) - {trigger})

    result = classify(event, payload, rules)

    assert not result.accepted
    assert result.reason == f"trigger '{trigger}' is turned off for this endpoint"
    assert result.trigger == trigger  # kept, so the log says what was turned away
    assert result.event is not None and result.event.iid == 342
    assert classify(event, payload, ReviewRules(triggers=frozenset({trigger}))).accepted


def test_target_branch_globs_filter_the_review():
    payload = body("mr_open")  # target branch: main

    refused = classify(MR_HOOK, payload, ReviewRules(target_branches=("release/*", "develop")))

    assert not refused.accepted
    assert refused.trigger == "open"
    assert "'main'" in refused.reason
    assert "release/*, develop" in refused.reason
    assert classify(MR_HOOK, payload, ReviewRules(target_branches=("release/*", "ma*"))).accepted
    assert classify(MR_HOOK, payload, ReviewRules(target_branches=("main",))).accepted
    # Globs are case-sensitive, like Git branch names.
    assert not classify(MR_HOOK, payload, ReviewRules(target_branches=("Main",))).accepted


def test_release_branch_glob_matches_nested_names():
    payload = body("mr_open")
    payload["object_attributes"]["target_branch"] = "release/2026.03/hotfix"

    assert classify(MR_HOOK, payload, ReviewRules(target_branches=("release/*",))).accepted


def test_a_note_by_the_bot_user_id_is_ignored():
    payload = note("/review again please")
    payload["user"].update(id=9001, username="someone-else")

    result = classify(NOTE_HOOK, payload, BOT)

    assert not result.accepted
    assert "written by the review bot" in result.reason


def test_a_note_by_the_bot_username_is_ignored_whatever_the_case():
    payload = note("/review again please")
    payload["user"].update(id=5, username="Dify-Review")

    assert "review bot" in classify(NOTE_HOOK, payload, BOT).reason


def test_a_note_carrying_the_hub_marker_is_ignored():
    text = f"/review\n\n{REVIEW_MARKER} mr=342 sha=c41e0d2f -->"

    assert "review bot" in classify_note(text).reason
    assert "review bot" in classify_note(text, ReviewRules()).reason  # even with no bot known


def test_without_a_known_bot_only_the_marker_identifies_it():
    payload = note("/review")
    payload["user"].update(id=9001, username="dify-review")

    assert classify(NOTE_HOOK, payload, ReviewRules()).accepted


def test_a_mention_of_the_bot_before_review_counts():
    result = classify_note("@dify-review /review security of the retry loop")

    assert result.accepted
    assert result.event.focus == "security of the retry loop"


def test_a_mention_of_someone_else_is_not_a_command_once_the_bot_is_known():
    assert "not a /review command" in classify_note("@dkowalski /review this please").reason
    # Without a known bot username any single mention is accepted.
    assert classify_note("@anyone /review", ReviewRules()).accepted


@pytest.mark.parametrize(
    "text",
    [
        "/reviewer please",
        "/reviewing now",
        "/review-all",
        "/reviews",
        "please /review",
        "review",
        "//review",
        "`/review`",
        "",
    ],
)
def test_text_that_is_not_the_review_command(text):
    result = classify_note(text)

    assert not result.accepted
    assert result.reason == "comment on MR !342 is not a /review command"
    assert parse_review_command(text) is None


@pytest.mark.parametrize(
    "text, focus",
    [
        ("/review", ""),
        ("/review   ", ""),
        ("  \n\t/review focus on error handling", "focus on error handling"),
        ("/REVIEW naming", "naming"),
        ("/review\tthe SQL", "the SQL"),
        ("/review first line\nsecond line\n\n- a list\n", "first line\nsecond line\n\n- a list"),
        ("/review\nonly on the next line", "only on the next line"),
        ("@dify-review   /review  x ", "x"),
    ],
)
def test_the_focus_is_the_text_after_the_command(text, focus):
    result = classify_note(text)

    assert result.accepted, result.reason
    assert result.trigger == "review_command"
    assert result.event.focus == focus


def test_the_focus_is_capped():
    result = classify_note("/review " + "x" * (FOCUS_LIMIT + 500))

    assert result.event.focus == "x" * FOCUS_LIMIT


def test_a_note_without_action_is_a_new_comment_before_gitlab_16_11():
    payload = note("/review")
    del payload["object_attributes"]["action"]

    assert classify(NOTE_HOOK, payload, BOT).accepted


def test_an_explicit_review_of_a_draft_is_fine():
    payload = note("/review")
    payload["merge_request"].update(draft=True, title="Draft: " + payload["merge_request"]["title"])

    result = classify(NOTE_HOOK, payload, BOT)

    assert result.accepted
    assert result.event.draft is True


def test_review_on_a_closed_mr_is_ignored():
    payload = note("/review")
    payload["merge_request"]["state"] = "closed"

    result = classify(NOTE_HOOK, payload, BOT)

    assert not result.accepted
    assert result.reason == "MR !342 is closed; /review works on open merge requests"
    assert result.event.focus == ""


def test_a_note_on_a_commit_is_ignored():
    payload = note("/review")
    payload["object_attributes"]["noteable_type"] = "Commit"
    del payload["merge_request"]

    result = classify(NOTE_HOOK, payload, BOT)

    assert result.reason == "comment on a commit, not on a merge request"
    assert result.event is None


@pytest.mark.parametrize("prefix", ["Draft: ", "[Draft] ", "(Draft) ", "WIP: ", "draft:", "[WIP] "])
def test_old_servers_without_a_draft_flag_use_the_title_prefix(prefix):
    payload = body("mr_open")
    attrs = payload["object_attributes"]
    del attrs["draft"], attrs["work_in_progress"]
    attrs["title"] = prefix + attrs["title"]

    result = classify(MR_HOOK, payload, BOT)

    assert not result.accepted
    assert "is a draft" in result.reason


def test_a_title_that_merely_mentions_draft_is_not_a_draft():
    payload = body("mr_open")
    attrs = payload["object_attributes"]
    del attrs["draft"], attrs["work_in_progress"]
    attrs["title"] = "Drafting rules for invoices: add WIP: tags"

    assert classify(MR_HOOK, payload, BOT).accepted


def test_marking_an_mr_as_draft_is_named():
    payload = body("mr_update_draft_to_ready")
    payload["changes"]["draft"] = {"previous": False, "current": True}
    payload["object_attributes"]["draft"] = True

    result = classify(MR_HOOK, payload, BOT)

    assert not result.accepted
    assert result.reason == "MR !342 was marked as a draft; drafts are not reviewed"


def test_an_update_with_an_empty_changes_object():
    payload = body("mr_update_labels")
    payload["changes"] = {}

    result = classify(MR_HOOK, payload, BOT)

    assert result.reason == "MR !342: update without new commits (changed: nothing listed)"


def test_new_commits_on_a_closed_mr_are_ignored():
    payload = body("mr_update_new_commits")
    payload["object_attributes"]["state"] = "closed"

    result = classify(MR_HOOK, payload, BOT)

    assert result.reason == "MR !342 is closed; only open merge requests are reviewed"


def test_an_unknown_merge_request_action_is_named():
    payload = body("mr_open")
    payload["object_attributes"]["action"] = "unapproval"
    assert "approval events" in classify(MR_HOOK, payload, BOT).reason

    payload["object_attributes"]["action"] = "time_tracked"
    assert classify(MR_HOOK, payload, BOT).reason == (
        "merge request action 'time_tracked' does not request a review"
    )


def test_a_missing_head_sha_refuses_an_otherwise_good_event():
    payload = body("mr_open")
    payload["object_attributes"]["last_commit"] = None

    result = classify(MR_HOOK, payload, BOT)

    assert not result.accepted
    assert result.reason == "payload has no valid object_attributes.last_commit.id"
    assert result.trigger == "open"
    assert result.event.head_sha == ""


def test_a_head_sha_that_is_no_sha_is_not_used():
    payload = body("note_review_command")
    payload["merge_request"]["last_commit"]["id"] = "main"

    result = classify(NOTE_HOOK, payload, BOT)

    assert result.reason == "payload has no valid merge_request.last_commit.id"


def test_a_missing_iid_is_named():
    payload = body("mr_open")
    del payload["object_attributes"]["iid"]

    result = classify(MR_HOOK, payload, BOT)

    assert result == Classification(False, "", "payload has no object_attributes.iid", None)


def test_a_wrongly_typed_iid_is_named():
    payload = body("mr_open")
    payload["object_attributes"]["iid"] = "342"

    assert classify(MR_HOOK, payload, BOT).reason == (
        "payload has no valid object_attributes.iid (found str '342')"
    )


def test_a_boolean_is_not_a_number():
    payload = body("mr_open")
    payload["object_attributes"]["iid"] = True

    assert "object_attributes.iid" in classify(MR_HOOK, payload, BOT).reason


def test_the_project_id_falls_back_to_the_target_project():
    payload = body("mr_open")
    del payload["project"]

    result = classify(MR_HOOK, payload, BOT)

    assert result.accepted
    assert result.event.project_id == 1187
    assert result.event.project_path == "payments/billing-service"
    assert result.event.project_url == "https://gitlab.acme.internal/payments/billing-service"


def test_the_mr_url_is_built_when_missing():
    payload = body("note_review_command")
    del payload["merge_request"]["url"]

    result = classify(NOTE_HOOK, payload, BOT)

    assert result.event.url.endswith("/payments/billing-service/-/merge_requests/342")


@pytest.mark.parametrize("payload", [None, [], "x", 1, True])
@pytest.mark.parametrize("name", [MR_HOOK, NOTE_HOOK, "Push Hook", ""])
def test_a_payload_that_is_not_an_object(name, payload):
    result = classify(name, payload, BOT)

    assert not result.accepted
    assert result.reason == "payload is not a JSON object"


def test_other_hooks_name_themselves():
    result = classify("Issue Hook", {"object_kind": "issue"}, BOT)

    assert result.reason.startswith("Issue events are not reviewed; ")
    assert "untick" in result.reason
    assert "X-Gitlab-Event" in classify("", {}, BOT).reason


# --- Event names and headers ----------------------------------------------------------------


def test_event_name_prefers_the_header_and_falls_back_to_object_kind():
    assert event_name({"X-Gitlab-Event": "Note Hook"}, {"object_kind": "note"}) == "Note Hook"
    assert event_name({"x-gitlab-event": "Push Hook"}, {}) == "Push Hook"
    assert event_name({}, {"object_kind": "merge_request"}) == "Merge Request Hook"
    assert event_name({}, {"object_kind": "build"}) == "Job Hook"
    assert event_name({}, {"object_kind": "wiki_page"}) == "Wiki Page Hook"
    assert event_name({}, {}) == ""
    assert event_name({}, ["not", "an", "object"]) == ""
    assert event_name({"X-Gitlab-Event": " "}, {"object_kind": 5}) == ""


def test_system_hooks_are_named_by_object_kind():
    headers = {"X-Gitlab-Event": "System Hook"}

    assert event_name(headers, {"object_kind": "merge_request"}) == "Merge Request Hook"
    assert event_name(headers, {}) == "System Hook"


# --- MergeRequestEvent ----------------------------------------------------------------------


def test_event_round_trips_through_json():
    event = classify(NOTE_HOOK, body("note_review_command"), BOT).event

    data = json.loads(json.dumps(event.to_dict()))

    assert MergeRequestEvent.from_dict(data) == event
    assert event.merge_request_key == "1187!342"


def test_event_from_dict_tolerates_missing_and_extra_keys():
    event = MergeRequestEvent.from_dict({"project_id": 7, "iid": 3, "later_field": "x"})

    assert event.merge_request_key == "7!3"
    assert event.title == "" and event.author_id is None and event.draft is False
    with pytest.raises(ValueError, match="iid"):
        MergeRequestEvent.from_dict({"project_id": 7})


# --- Robustness -----------------------------------------------------------------------------

REPLACEMENTS = (None, 1, [], "x", {}, True, -1)
EVENT_TYPES = {
    "str": str,
    "int": int,
    "bool": bool,
    "int | None": (int, type(None)),
}


def paths(value, prefix=()):
    """Every key/index path inside a JSON value."""
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return
    for key, item in list(items):
        yield (*prefix, key)
        yield from paths(item, (*prefix, key))


def variants(payload):
    """The payload with each path deleted or replaced, one at a time (mutated in place)."""
    for path in list(paths(payload)):
        parent = payload
        for key in path[:-1]:
            parent = parent[key]
        key = path[-1]
        original = parent[key]
        if isinstance(parent, dict):
            del parent[key]
            yield path, "deleted"
        for value in REPLACEMENTS:
            parent[key] = copy.copy(value)
            yield path, value
        parent[key] = original


def check_invariants(result: Classification) -> None:
    assert isinstance(result, Classification)
    assert isinstance(result.reason, str) and result.reason
    assert result.trigger in ("", *TRIGGERS)
    event = result.event
    if result.accepted:
        assert result.trigger
        assert event is not None and event.head_sha and event.iid is not None
    if event is not None:
        for name, field in MergeRequestEvent.__dataclass_fields__.items():
            value = getattr(event, name)
            assert isinstance(value, EVENT_TYPES[field.type]), (name, value)
            assert not (field.type != "bool" and isinstance(value, bool)), (name, value)
        json.dumps(event.to_dict())


@pytest.mark.parametrize("name", ALL)
def test_no_payload_mutation_makes_classify_raise(name):
    payload = copy.deepcopy(body(name))
    checked = 0
    for path, change in variants(payload):
        for hook in (MR_HOOK, NOTE_HOOK):
            try:
                check_invariants(classify(hook, payload, BOT))
            except Exception as exc:  # pragma: no cover - the message is the point
                raise AssertionError(f"{name}: {hook} with {path} -> {change!r}: {exc!r}") from exc
            checked += 1
    assert checked > 100
    assert payload == body(name)  # the walk restored everything; classify mutates nothing


MR_BLOCKS = {MR_HOOK: "object_attributes", NOTE_HOOK: "merge_request"}
ABOUT_AN_MR = [n for n in ALL if MR_BLOCKS.get(event_name({}, body(n))) in body(n)]


@pytest.mark.parametrize("name", ABOUT_AN_MR)
@pytest.mark.parametrize("value", ["deleted", None, 0, -3, "342", 3.0])
def test_a_missing_or_unusable_iid_is_named_in_the_reason(name, value):
    payload = body(name)
    hook = event_name({}, payload)
    block = MR_BLOCKS[hook]
    if value == "deleted":
        del payload[block]["iid"]
    else:
        payload[block]["iid"] = value

    result = classify(hook, payload, BOT)

    assert not result.accepted
    assert result.event is None
    assert result.reason.startswith(
        (f"payload has no {block}.iid", f"payload has no valid {block}.iid")
    )


# --- Old servers -----------------------------------------------------------------------------


def test_a_review_command_on_an_mr_in_the_old_reopened_state_is_honoured():
    # GitLab before 11.x kept state "reopened" on a re-opened MR; it is open.
    payload = note("/review")
    payload["merge_request"]["state"] = "reopened"
    result = classify(NOTE_HOOK, payload, BOT)
    assert result.accepted and result.trigger == "review_command"


@pytest.mark.parametrize("state", ["closed", "merged", "locked"])
def test_a_review_command_on_an_mr_that_is_not_open_is_ignored(state):
    payload = note("/review")
    payload["merge_request"]["state"] = state
    result = classify(NOTE_HOOK, payload, BOT)
    assert not result.accepted and f"is {state}" in result.reason
