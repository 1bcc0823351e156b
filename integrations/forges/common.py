"""What every forge's review shares: triggers, the /review command, the hub's marker.

Pure Python (no Django, no I/O). The forge packages classify their own payloads and answer
with a :class:`Classification`; the words and rules a user meets are the same on every forge.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from typing import Any

__all__ = [
    "FOCUS_LIMIT",
    "REVIEW_MARKER",
    "TRIGGERS",
    "TRIGGER_LABELS",
    "Classification",
    "apply_pull_rules",
    "branch_matches",
    "ignored",
    "parse_review_command",
]

TRIGGERS = ("open", "reopen", "new_commits", "ready", "review_command")
TRIGGER_LABELS = {
    "open": "Merge request opened",
    "reopen": "Merge request reopened",
    "new_commits": "New commits pushed",
    "ready": "Draft marked as ready",
    "review_command": "/review comment",
}
# Every comment the hub posts carries this marker, so its own comments are never read as
# commands and the sticky comment can be found again.
REVIEW_MARKER = "<!-- dify-hub:review"
FOCUS_LIMIT = 2000

_COMMAND = re.compile(
    r"^(?:@(?P<mention>[\w.\[\]-]+)\s+)?/review(?=\s|$)(?P<rest>.*)\Z", re.IGNORECASE | re.DOTALL
)


@dataclass(frozen=True)
class Classification:
    """Whether a delivery asks for a review, and why (kept on the event's record)."""

    accepted: bool
    trigger: str  # the trigger the event matched, "" if none; kept when rules turned it away
    reason: str
    event: Any = None  # the forge's event dataclass, whenever the payload is about a PR/MR


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


def branch_matches(branch: str, globs: tuple[str, ...]) -> bool:
    """Whether a target branch is one the endpoint reviews (no globs: every branch)."""
    return not globs or any(fnmatch.fnmatchcase(branch, glob) for glob in globs)


def ignored(reason: str, event: Any = None, trigger: str = "") -> Classification:
    return Classification(False, trigger, reason, event)


def apply_pull_rules(
    trigger: str,
    reason: str,
    event: Any,
    triggers: frozenset[str],
    target_branches: tuple[str, ...],
) -> Classification:
    """The endpoint's rules for a GitHub-shaped pull request event (GitHub, Gitea)."""
    if trigger not in triggers:
        return ignored(f"trigger '{trigger}' is turned off for this endpoint", event, trigger)
    # A comment's payload names no branch; the review checks it once it has read the PR.
    if event.target_branch and not branch_matches(event.target_branch, target_branches):
        return ignored(
            f"target branch '{event.target_branch}' of {event.ref} matches none of: "
            f"{', '.join(target_branches)}",
            event,
            trigger,
        )
    if trigger != "review_command" and not event.head_sha:
        return ignored("payload has no valid pull_request.head.sha", event, trigger)
    return Classification(True, trigger, reason, event)
