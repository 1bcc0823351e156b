"""GitLab webhook payloads -> "does this ask for a review?" (pure: no Django, no I/O).

``classify()`` reads a Merge Request Hook or Note Hook payload and answers with a
``Classification``: accepted or ignored, the trigger, a reason in plain words and the
``MergeRequestEvent`` the review task needs. It never raises on a JSON object: GitLab counts
every non-2xx answer toward disabling the hook, so a surprising payload has to become an
"ignored" record with a readable reason rather than a 500.

Payload shapes: GitLab's ``webhook_events`` docs; docs/research.md ("GitLab webhooks") holds
the classification table and the note command rules, with their sources.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from integrations.forges.common import (
    FOCUS_LIMIT,
    REVIEW_MARKER,
    TRIGGER_LABELS,
    TRIGGERS,
    Classification,
    parse_review_command,
)
from integrations.http import header

from .payload import MergeRequestEvent, Missing, as_int, event_from, has_draft_prefix

__all__ = [
    "FOCUS_LIMIT",
    "MR_HOOK",
    "NOTE_HOOK",
    "REVIEW_MARKER",
    "TRIGGERS",
    "TRIGGER_LABELS",
    "Classification",
    "MergeRequestEvent",
    "ReviewRules",
    "classify",
    "event_name",
    "has_draft_prefix",
    "parse_review_command",
]

# GitLab before about 10.x sent state "reopened" for a re-opened MR (a 2017 gitlab.com
# capture in tests/fixtures/gitlab does); it is as open as "opened".
OPEN_STATES = ("opened", "reopened")

MR_HOOK = "Merge Request Hook"
NOTE_HOOK = "Note Hook"
_APPROVAL_ACTIONS = frozenset({"approved", "unapproved", "approval", "unapproval"})
# Fields GitLab lists in `changes` on nearly every update; naming them explains nothing.
_NOISE_CHANGES = frozenset({"updated_at", "updated_by_id", "last_edited_at", "last_edited_by_id"})


@dataclass(frozen=True)
class ReviewRules:
    triggers: frozenset[str] = frozenset(TRIGGERS)
    target_branches: tuple[str, ...] = ()  # fnmatch globs; empty = any branch
    bot_user_id: int | None = None
    bot_username: str = ""


# --- Headers and event names ----------------------------------------------------------------


def event_name(headers: Mapping[str, Any], payload: Any) -> str:
    """``X-Gitlab-Event`` (e.g. "Merge Request Hook"), else derived from ``object_kind``.

    Group and system hooks say "System Hook" for everything, so that also falls back to
    ``object_kind``.
    """
    name = header(headers, "X-Gitlab-Event") or ""
    if name and name != "System Hook":
        return name
    kind = payload.get("object_kind") if isinstance(payload, Mapping) else None
    if not isinstance(kind, str) or not kind.strip():
        return name
    if kind == "build":
        return "Job Hook"
    return kind.strip().replace("_", " ").title() + " Hook"


# --- Classification -------------------------------------------------------------------------


def classify(event_name: str, payload: Any, rules: ReviewRules) -> Classification:
    """Decide whether a webhook delivery asks for a review; never raises."""
    if not isinstance(payload, Mapping):
        return _ignored("payload is not a JSON object")
    if event_name == MR_HOOK:
        return _classify_merge_request(payload, rules)
    if event_name == NOTE_HOOK:
        return _classify_note(payload, rules)
    return _ignored(_not_reviewed(event_name))


def _not_reviewed(name: str) -> str:
    label = name.removesuffix(" Hook").strip() if isinstance(name, str) else ""
    if not label:
        return (
            "deliveries without an X-Gitlab-Event header or object_kind are not reviewed; "
            "only Merge Request and Note (comment) events are"
        )
    return (
        f"{label} events are not reviewed; only Merge Request and Note (comment) events are "
        "(you can untick the others in the GitLab webhook settings)"
    )


def _classify_merge_request(payload: Mapping, rules: ReviewRules) -> Classification:
    try:
        event = event_from(payload, "object_attributes")
    except Missing as missing:
        return _ignored(missing.reason)
    trigger, reason = _merge_request_decision(payload, event)
    if not trigger:
        return _ignored(reason, event)
    return _apply_rules(trigger, reason, event, rules, "object_attributes.last_commit.id")


def _merge_request_decision(payload: Mapping, event: MergeRequestEvent) -> tuple[str, str]:
    """(trigger or "", reason) following the table in docs/research.md (GitLab webhooks)."""
    action, ref = event.action, event.ref
    if action == "close":
        return "", f"{ref} was closed; closing does not request a review"
    if action == "merge":
        return "", f"{ref} was merged; merging does not request a review"
    if action in _APPROVAL_ACTIONS:
        return "", f"approval events do not request a review ({ref}: {action})"
    if action not in ("open", "reopen", "update"):
        if not action:
            return "", "payload has no object_attributes.action"
        return "", f"merge request action '{action}' does not request a review"
    if event.state not in OPEN_STATES:
        if not event.state:
            return "", "payload has no object_attributes.state"
        return "", f"{ref} is {event.state}; only open merge requests are reviewed"
    if action in ("open", "reopen"):
        if event.draft:
            return "", f"{ref} is a draft; it is reviewed once marked ready (or on /review)"
        return action, f"{ref} was {action}ed"
    return _update_decision(payload, event)


def _update_decision(payload: Mapping, event: MergeRequestEvent) -> tuple[str, str]:
    ref = event.ref
    changes = payload.get("changes")
    changes = changes if isinstance(changes, Mapping) else {}
    if event.oldrev:
        if event.draft:
            return "", f"{ref} is a draft; new commits on a draft are not reviewed"
        return "new_commits", (
            f"new commits on {ref} ({event.oldrev[:8]} -> {event.head_sha[:8] or '?'})"
        )
    flip = _draft_flip(changes)
    if flip == "ready" and not event.draft:
        return "ready", f"{ref} was marked ready (no longer a draft)"
    if flip == "draft":
        return "", f"{ref} was marked as a draft; drafts are not reviewed"
    names = [str(k) for k in changes if k not in _NOISE_CHANGES]
    listed = ", ".join(names) if names else "nothing listed"
    return "", f"{ref}: update without new commits (changed: {listed})"


def _draft_flip(changes: Mapping) -> str:
    """Which way the draft flag flipped: "ready", "draft" or "" (no flip).

    Read from ``changes.draft`` or, on servers that predate it, the title's prefix.
    """
    for key in ("draft", "work_in_progress"):
        change = changes.get(key)
        if isinstance(change, Mapping):
            before, after = change.get("previous"), change.get("current")
            if before is True and after is False:
                return "ready"
            if before is False and after is True:
                return "draft"
            return ""
    title = changes.get("title")
    if isinstance(title, Mapping):
        before, after = title.get("previous"), title.get("current")
        if isinstance(before, str) and isinstance(after, str):
            if has_draft_prefix(before) and not has_draft_prefix(after):
                return "ready"
            if has_draft_prefix(after) and not has_draft_prefix(before):
                return "draft"
    return ""


def _classify_note(payload: Mapping, rules: ReviewRules) -> Classification:
    attrs = payload.get("object_attributes")
    if not isinstance(attrs, Mapping):
        return _ignored("payload has no object_attributes")
    noteable = attrs.get("noteable_type")
    if noteable != "MergeRequest":
        if isinstance(noteable, str) and noteable:
            return _ignored(f"comment on {_article(noteable)}, not on a merge request")
        if not isinstance(payload.get("merge_request"), Mapping):
            return _ignored("payload has no object_attributes.noteable_type")
    if not isinstance(payload.get("merge_request"), Mapping):
        return _ignored("payload has no merge_request")
    try:
        event = event_from(payload, "merge_request", note_id=as_int(attrs.get("id")))
    except Missing as missing:
        return _ignored(missing.reason)
    body = attrs.get("note")
    reason = _note_refusal(payload, attrs, body, event, rules)
    if reason:
        return _ignored(reason, event)
    focus = parse_review_command(body, rules.bot_username)
    if focus is None:
        return _ignored(f"comment on {event.ref} is not a /review command", event)
    event = replace(event, focus=focus)
    if event.state not in OPEN_STATES:
        state = event.state or "in an unknown state"
        return _ignored(f"{event.ref} is {state}; /review works on open merge requests", event)
    who = f"@{event.actor_username}" if event.actor_username else "someone"
    reason = f"{who} asked for a review of {event.ref} with /review"
    return _apply_rules("review_command", reason, event, rules, "merge_request.last_commit.id")


def _note_refusal(
    payload: Mapping, attrs: Mapping, body: Any, event: MergeRequestEvent, rules: ReviewRules
) -> str:
    """Why this note cannot be a command ("" if it might be one)."""
    action = attrs.get("action")
    # Absent before GitLab 16.11, when only new comments fired the hook.
    if action is not None and action != "create":
        return (
            f"comment on {event.ref} was edited (action {action!r}); "
            "only new comments are read as commands"
        )
    if attrs.get("system") is True:
        first = body.strip().splitlines()[0][:80] if isinstance(body, str) and body.strip() else ""
        return f"system note on {event.ref} ({first!r}) is not a command"
    if _written_by_bot(payload, attrs, body, rules):
        return f"comment on {event.ref} was written by the review bot"
    if not isinstance(body, str):
        return "payload has no object_attributes.note"
    return ""


def _written_by_bot(payload: Mapping, attrs: Mapping, body: Any, rules: ReviewRules) -> bool:
    user = payload.get("user")
    user = user if isinstance(user, Mapping) else {}
    if rules.bot_user_id is not None:
        ids = (as_int(user.get("id")), as_int(attrs.get("author_id")))
        if rules.bot_user_id in ids:
            return True
    username = user.get("username")
    name = rules.bot_username.casefold()
    if name and isinstance(username, str) and username.casefold() == name:
        return True
    return isinstance(body, str) and REVIEW_MARKER in body


def _apply_rules(
    trigger: str, reason: str, event: MergeRequestEvent, rules: ReviewRules, sha_path: str
) -> Classification:
    if trigger not in rules.triggers:
        return _ignored(f"trigger '{trigger}' is turned off for this endpoint", event, trigger)
    globs = rules.target_branches
    if globs and not any(fnmatch.fnmatchcase(event.target_branch, g) for g in globs):
        branch = event.target_branch or "(none)"
        return _ignored(
            f"target branch '{branch}' of {event.ref} matches none of: {', '.join(globs)}",
            event,
            trigger,
        )
    if not event.head_sha:
        return _ignored(f"payload has no valid {sha_path}", event, trigger)
    return Classification(True, trigger, reason, event)


def _ignored(
    reason: str, event: MergeRequestEvent | None = None, trigger: str = ""
) -> Classification:
    return Classification(False, trigger, reason, event)


def _article(noteable_type: str) -> str:
    known = {"Issue": "an issue", "Commit": "a commit", "Snippet": "a snippet"}
    return known.get(noteable_type, f"a {noteable_type}")
