"""GitLab webhook payloads -> "does this ask for a review?" (pure: no Django, no I/O).

``classify()`` reads a Merge Request Hook or Note Hook payload and answers with a
``Classification``: accepted or ignored, the trigger, a reason in plain words and the
``MergeRequestEvent`` the review task needs. It never raises on a JSON object: GitLab counts
every non-2xx answer toward disabling the hook, so a surprising payload has to become an
"ignored" record with a readable reason rather than a 500.

Payload shapes: GitLab's ``webhook_events`` docs and /work/shared/research/gitlab-webhooks.md
(sections 2.3 and 2.4 hold the classification table and the note command rules).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

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
    "get_header",
    "has_draft_prefix",
    "parse_review_command",
]

TRIGGERS = ("open", "reopen", "new_commits", "ready", "review_command")
# GitLab before about 10.x sent state "reopened" for a re-opened MR (a 2017 gitlab.com
# capture in tests/fixtures/gitlab does); it is as open as "opened".
OPEN_STATES = ("opened", "reopened")
TRIGGER_LABELS = {
    "open": "Merge request opened",
    "reopen": "Merge request reopened",
    "new_commits": "New commits pushed",
    "ready": "Draft marked as ready",
    "review_command": "/review comment",
}
# Every note the hub posts carries this marker, so its own notes are never read as commands.
REVIEW_MARKER = "<!-- dify-hub:review"
FOCUS_LIMIT = 2000

MR_HOOK = "Merge Request Hook"
NOTE_HOOK = "Note Hook"
_APPROVAL_ACTIONS = frozenset({"approved", "unapproved", "approval", "unapproval"})
# Fields GitLab lists in `changes` on nearly every update; naming them explains nothing.
_NOISE_CHANGES = frozenset({"updated_at", "updated_by_id", "last_edited_at", "last_edited_by_id"})
# GitLab's own prefixes (current "Draft:", "[Draft]", "(Draft)"; "WIP:"/"[WIP]" before 14.0).
_DRAFT_PREFIX = re.compile(r"^\s*(?:\[draft\]|\(draft\)|draft:|\[wip\]|wip:)", re.IGNORECASE)
_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")  # SHA-1, or SHA-256 repositories
_COMMAND = re.compile(
    r"^(?:@(?P<mention>[\w.-]+)\s+)?/review(?=\s|$)(?P<rest>.*)\Z", re.IGNORECASE | re.DOTALL
)
_ABSENT = object()


@dataclass(frozen=True)
class ReviewRules:
    triggers: frozenset[str] = frozenset(TRIGGERS)
    target_branches: tuple[str, ...] = ()  # fnmatch globs; empty = any branch
    bot_user_id: int | None = None
    bot_username: str = ""


@dataclass(frozen=True)
class MergeRequestEvent:
    """What the review needs from the payload; stored as JSON on the Run."""

    project_id: int
    project_path: str
    project_url: str
    iid: int
    mr_id: int  # global id; 0 when the payload lacks it
    title: str
    description: str
    url: str
    source_branch: str
    target_branch: str
    author_id: int | None
    actor_username: str  # who caused the event (pushed, opened, commented)
    action: str  # open | reopen | update | note (or the ignored action, e.g. close)
    head_sha: str  # "" when the payload has no usable last_commit.id
    oldrev: str
    draft: bool
    state: str
    focus: str  # text after "/review"
    note_id: int | None

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MergeRequestEvent:
        """Inverse of ``to_dict``; unknown keys are ignored, missing optional ones get blanks."""
        values = {}
        for f in fields(cls):
            if f.name in data:
                values[f.name] = data[f.name]
            elif f.name in ("project_id", "iid"):
                raise ValueError(f"merge request event has no {f.name}")
            else:
                values[f.name] = _BLANKS[f.type]
        return cls(**values)

    @property
    def merge_request_key(self) -> str:
        return f"{self.project_id}!{self.iid}"

    @property
    def ref(self) -> str:
        return f"MR !{self.iid}"


_BLANKS = {"str": "", "int": 0, "bool": False, "int | None": None}


@dataclass(frozen=True)
class Classification:
    accepted: bool
    trigger: str  # the trigger the event matched, "" if none; kept when rules turned it away
    reason: str
    event: MergeRequestEvent | None = None  # set whenever the payload is about an MR


# --- Headers and event names ----------------------------------------------------------------


def get_header(headers: Mapping[str, Any], name: str) -> str:
    """Header value by case-insensitive name; "" when absent or not a string."""
    value = headers.get(name)
    if value is None:
        wanted = name.lower()
        value = next((v for k, v in headers.items() if str(k).lower() == wanted), None)
    return value if isinstance(value, str) else ""


def event_name(headers: Mapping[str, Any], payload: Any) -> str:
    """``X-Gitlab-Event`` (e.g. "Merge Request Hook"), else derived from ``object_kind``.

    Group and system hooks say "System Hook" for everything, so that also falls back to
    ``object_kind``.
    """
    name = get_header(headers, "X-Gitlab-Event").strip()
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
        event = _event_from(payload, "object_attributes")
    except _Missing as missing:
        return _ignored(missing.reason)
    trigger, reason = _merge_request_decision(payload, event)
    if not trigger:
        return _ignored(reason, event)
    return _apply_rules(trigger, reason, event, rules, "object_attributes.last_commit.id")


def _merge_request_decision(payload: Mapping, event: MergeRequestEvent) -> tuple[str, str]:
    """(trigger or "", reason) following the table in the research notes, section 2.3."""
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
        event = _event_from(payload, "merge_request", note_id=_as_int(attrs.get("id")))
    except _Missing as missing:
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
        ids = (_as_int(user.get("id")), _as_int(attrs.get("author_id")))
        if rules.bot_user_id in ids:
            return True
    username = user.get("username")
    name = rules.bot_username.casefold()
    if name and isinstance(username, str) and username.casefold() == name:
        return True
    return isinstance(body, str) and REVIEW_MARKER in body


def parse_review_command(body: Any, bot_username: str = "") -> str | None:
    """The focus text of a "/review ..." comment ("" for a bare /review), or None.

    "/review" must open the comment (after whitespace, optionally after one @mention) and
    stand alone as a word: "/reviewer" and "/review-all" are not it. When the bot's username
    is known, only a mention of the bot counts: "@dana /review" asks Dana, not the hub.
    """
    if not isinstance(body, str):
        return None
    match = _COMMAND.match(body.lstrip())
    if match is None:
        return None
    mention = match.group("mention")
    if mention and bot_username and mention.casefold() != bot_username.casefold():
        return None
    return match.group("rest").strip()[:FOCUS_LIMIT].rstrip()


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


def has_draft_prefix(title: str) -> bool:
    return bool(_DRAFT_PREFIX.match(title))


# --- Reading the payload --------------------------------------------------------------------


class _Missing(Exception):
    """A key the event cannot do without is absent or has the wrong type."""

    def __init__(self, path: str, found: Any = _ABSENT) -> None:
        if found is _ABSENT or found is None:
            self.reason = f"payload has no {path}"
        else:
            self.reason = (
                f"payload has no valid {path} (found {type(found).__name__} {found!r:.40})"
            )
        super().__init__(self.reason)


def _lookup(payload: Mapping, path: str) -> Any:
    value: Any = payload
    for key in path.split("."):
        if not isinstance(value, Mapping) or key not in value:
            return _ABSENT
        value = value[key]
    return value


def _as_int(value: Any) -> int | None:
    # bool is an int in Python, never in GitLab's JSON.
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _required_int(payload: Mapping, *paths: str) -> int:
    for path in paths:
        number = _as_int(_lookup(payload, path))
        if number is not None and number > 0:  # GitLab ids and iids start at 1
            return number
    raise _Missing(paths[0], _lookup(payload, paths[0]))


def _text(payload: Mapping, *paths: str) -> str:
    for path in paths:
        value = _lookup(payload, path)
        if isinstance(value, str) and value:
            return value
    return ""


def _sha(payload: Mapping, path: str) -> str:
    value = _lookup(payload, path)
    if isinstance(value, str) and _SHA.fullmatch(value.strip().lower()):
        return value.strip().lower()
    return ""


def _draft(payload: Mapping, block: str, title: str) -> bool:
    # `draft` since 14.x, `work_in_progress` before; the oldest servers only had the prefix.
    for key in ("draft", "work_in_progress"):
        value = _lookup(payload, f"{block}.{key}")
        if isinstance(value, bool):
            return value
    return has_draft_prefix(title)


def _event_from(payload: Mapping, block: str, note_id: int | None = None) -> MergeRequestEvent:
    """Build the event from the MR block: ``object_attributes`` (MR hook) or ``merge_request``."""
    if not isinstance(payload.get(block), Mapping):
        raise _Missing(block, payload.get(block))
    project_id = _required_int(payload, "project.id", f"{block}.target_project_id", "project_id")
    iid = _required_int(payload, f"{block}.iid")
    project_url = _text(payload, "project.web_url", f"{block}.target.web_url")
    fallback_url = f"{project_url}/-/merge_requests/{iid}" if project_url else ""
    title = _text(payload, f"{block}.title")
    is_note = block == "merge_request"
    return MergeRequestEvent(
        project_id=project_id,
        project_path=_text(
            payload, "project.path_with_namespace", f"{block}.target.path_with_namespace"
        ),
        project_url=project_url,
        iid=iid,
        mr_id=_as_int(_lookup(payload, f"{block}.id")) or 0,
        title=title,
        description=_text(payload, f"{block}.description"),
        url=_text(payload, f"{block}.url") or fallback_url,
        source_branch=_text(payload, f"{block}.source_branch"),
        target_branch=_text(payload, f"{block}.target_branch"),
        author_id=_as_int(_lookup(payload, f"{block}.author_id")),
        actor_username=_text(payload, "user.username"),
        action="note" if is_note else _text(payload, f"{block}.action"),
        head_sha=_sha(payload, f"{block}.last_commit.id"),
        oldrev="" if is_note else _sha(payload, f"{block}.oldrev"),
        draft=_draft(payload, block, title),
        state=_text(payload, f"{block}.state"),
        focus="",
        note_id=note_id,
    )
