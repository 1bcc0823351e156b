"""GitHub webhook deliveries -> "does this ask for a review?" (pure: no Django, no I/O).

``classify()`` reads a delivery's event name (``X-GitHub-Event``) and JSON payload and answers
with a :class:`~integrations.forges.common.Classification`. It never raises on a JSON object:
whatever GitHub sends becomes an accepted review or an "ignored" record with a readable
reason. The rules (GitHub's docs, in docs/forges.md):

* ``pull_request`` ``opened`` / ``reopened`` / ``synchronize`` (new commits) /
  ``ready_for_review`` on an open, non-draft pull request starts a review;
* ``issue_comment`` ``created`` on a pull request, starting with ``/review``, by someone whose
  ``author_association`` the endpoint trusts (by default OWNER, MEMBER or COLLABORATOR: on a
  public repository anyone can comment, and every review costs LLM tokens);
* everything else (closed, edited, labels, review requests, plain issues, pushes, check runs)
  is ignored, with the reason kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from integrations.forges.common import (
    REVIEW_MARKER,
    TRIGGERS,
    Classification,
    apply_pull_rules,
    ignored,
    parse_review_command,
)
from integrations.http import header

from .payload import Missing, PullRequestEvent, from_comment, from_pull_request

__all__ = [
    "ASSOCIATIONS",
    "DEFAULT_ASSOCIATIONS",
    "PING",
    "GitHubRules",
    "classify",
    "delivery_id",
    "event_name",
]

PING = "ping"
PULL_REQUEST = "pull_request"
ISSUE_COMMENT = "issue_comment"
# GitHub's author_association values, most trusted first.
ASSOCIATIONS = (
    "OWNER",
    "MEMBER",
    "COLLABORATOR",
    "CONTRIBUTOR",
    "FIRST_TIME_CONTRIBUTOR",
    "FIRST_TIMER",
    "MANNEQUIN",
    "NONE",
)
DEFAULT_ASSOCIATIONS = ("OWNER", "MEMBER", "COLLABORATOR")
_ACTIONS = {
    "opened": "open",
    "reopened": "reopen",
    "synchronize": "new_commits",
    "ready_for_review": "ready",
}
_SAID = {"open": "opened", "reopen": "reopened", "new_commits": "", "ready": "marked ready"}


@dataclass(frozen=True)
class GitHubRules:
    triggers: frozenset[str] = frozenset(TRIGGERS)
    target_branches: tuple[str, ...] = ()  # fnmatch globs; empty = any branch
    bot_login: str = ""  # the token's user (``name[bot]`` for a GitHub App)
    associations: frozenset[str] = frozenset(DEFAULT_ASSOCIATIONS)  # who may ask with /review


def event_name(headers: Mapping[str, Any]) -> str:
    return header(headers, "X-GitHub-Event") or ""


def delivery_id(headers: Mapping[str, Any]) -> str:
    """``X-GitHub-Delivery``: a redelivery from GitHub's UI keeps it, so it dedupes."""
    return header(headers, "X-GitHub-Delivery") or ""


def classify(name: str, payload: Any, rules: GitHubRules) -> Classification:
    """Decide whether a delivery asks for a review; never raises."""
    if not isinstance(payload, Mapping):
        return ignored("payload is not a JSON object")
    if name == PING:
        zen = payload.get("zen")
        said = f' (GitHub says: "{zen}")' if isinstance(zen, str) and zen else ""
        return ignored(f"ping: GitHub checked that the webhook answers{said}")
    if name == PULL_REQUEST:
        return _classify_pull_request(payload, rules)
    if name == ISSUE_COMMENT:
        return _classify_comment(payload, rules)
    if not name:
        return ignored("the delivery has no X-GitHub-Event header")
    return ignored(
        f"{name} events are not reviewed; only pull_request and issue_comment events are "
        "(in GitHub's webhook settings choose 'Let me select individual events': Pull "
        "requests and Issue comments)"
    )


def _classify_pull_request(payload: Mapping, rules: GitHubRules) -> Classification:
    try:
        event = from_pull_request(payload)
    except Missing as missing:
        return ignored(missing.reason)
    trigger, reason = _pull_request_decision(event)
    if not trigger:
        return ignored(reason, event)
    return _apply_rules(trigger, reason, event, rules)


def _pull_request_decision(event: PullRequestEvent) -> tuple[str, str]:
    action, ref = event.action, event.ref
    if action == "closed":
        done = "merged" if event.merged else "closed"
        return "", f"{ref} was {done}; that does not request a review"
    if action == "converted_to_draft":
        return "", f"{ref} was converted to a draft; drafts are not reviewed"
    if action == "edited":
        return "", f"{ref} was edited (title or description); that does not request a review"
    trigger = _ACTIONS.get(action)
    if trigger is None:
        if not action:
            return "", "payload has no action"
        return "", f"pull request action '{action}' does not request a review"
    if event.state != "open":
        return "", f"{ref} is {event.state or 'in an unknown state'}; only open ones are reviewed"
    if event.draft:
        return "", f"{ref} is a draft; it is reviewed once marked ready (or on /review)"
    if trigger == "new_commits":
        return trigger, f"new commits on {ref} (head {event.head_sha[:8] or '?'})"
    return trigger, f"{ref} was {_SAID[trigger]}"


def _classify_comment(payload: Mapping, rules: GitHubRules) -> Classification:
    issue = payload.get("issue")
    if isinstance(issue, Mapping) and not isinstance(issue.get("pull_request"), Mapping):
        number = issue.get("number")
        return ignored(f"comment on issue #{number}, not on a pull request")
    try:
        event = from_comment(payload)
    except Missing as missing:
        return ignored(missing.reason)
    comment = payload.get("comment")
    body = comment.get("body") if isinstance(comment, Mapping) else None
    reason = _comment_refusal(event, comment, body, rules)
    if reason:
        return ignored(reason, event)
    focus = parse_review_command(body, rules.bot_login)
    if focus is None:
        return ignored(f"comment on {event.ref} is not a /review command", event)
    event = replace(event, focus=focus)
    if event.state != "open":
        return ignored(
            f"{event.ref} is {event.state or 'not open'}; /review works on open ones", event
        )
    if event.association not in rules.associations:
        return ignored(_not_trusted(event, rules), event, "review_command")
    reason = f"@{event.actor or '?'} asked for a review of {event.ref} with /review"
    return _apply_rules("review_command", reason, event, rules)


def _comment_refusal(event: PullRequestEvent, comment: Any, body: Any, rules: GitHubRules) -> str:
    """Why this comment cannot be a command ("" if it might be one)."""
    if event.action != "created":
        return (
            f"comment on {event.ref} was {event.action or 'changed'}; only new comments are "
            "read as commands"
        )
    if not isinstance(body, str):
        return "payload has no comment.body"
    user = comment.get("user") if isinstance(comment, Mapping) else None
    login = user.get("login") if isinstance(user, Mapping) else None
    bot = rules.bot_login.casefold()
    if (bot and isinstance(login, str) and login.casefold() == bot) or REVIEW_MARKER in body:
        return f"comment on {event.ref} was written by the review bot"
    return ""


def _not_trusted(event: PullRequestEvent, rules: GitHubRules) -> str:
    trusted = ", ".join(a for a in ASSOCIATIONS if a in rules.associations)
    return (
        f"@{event.actor or '?'} ({event.association or 'no association'}) may not ask for a "
        f"review of {event.ref}: /review is honoured from {trusted} (the endpoint's 'who may "
        "ask' setting can widen it)"
    )


def _apply_rules(
    trigger: str, reason: str, event: PullRequestEvent, rules: GitHubRules
) -> Classification:
    return apply_pull_rules(trigger, reason, event, rules.triggers, rules.target_branches)
