"""Gitea and Forgejo deliveries -> "does this ask for a review?" (pure: no Django, no I/O).

Their payloads are GitHub's shape (read by the GitHub package's payload module), their rules
are not (docs/forges.md, "Gitea and Forgejo"):

* the exact event is the *event type* (``X-Forgejo-Event-Type`` / ``X-Gitea-Event-Type``):
  new commits, labels, milestones, assignees and review requests all come as the coarse
  ``pull_request`` event. And one string means two things: ``pull_request_comment`` as the
  *event* is a review submission, as the *event type* an ordinary comment on the PR, so the
  payload (``review`` or ``comment``) decides;
* a review starts on ``opened``, ``reopened`` and ``synchronized`` (not GitHub's
  ``synchronize``) when not a draft, and on the title losing its draft prefix (``WIP:``,
  ``[WIP]``), since Gitea has no ready-for-review action;
* ``/review`` comments carry no author association: whether the commenter may ask is read
  from the API when the review starts;
* there is no ping: "Test delivery" sends a push.
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
from integrations.forges.github.payload import (
    Missing,
    PullRequestEvent,
    from_comment,
    from_pull_request,
)
from integrations.http import header

__all__ = ["GiteaRules", "classify", "delivery_id", "event_name", "has_draft_prefix", "server_of"]

# Gitea's default [repository.pull-request] WORK_IN_PROGRESS_PREFIXES, compared upper-case.
DRAFT_PREFIXES = ("WIP:", "[WIP]")
_ACTIONS = {"opened": "open", "reopened": "reopen", "synchronized": "new_commits"}
_SAID = {"open": "opened", "reopen": "reopened"}
_NOT_REVIEWED = (
    "label_updated",
    "label_cleared",
    "milestoned",
    "demilestoned",
    "assigned",
    "unassigned",
    "review_requested",
    "review_request_removed",
)


@dataclass(frozen=True)
class GiteaRules:
    triggers: frozenset[str] = frozenset(TRIGGERS)
    target_branches: tuple[str, ...] = ()
    bot_login: str = ""  # the token's user: Gitea's users have no "Bot" type


def _first(headers: Mapping[str, Any], *names: str) -> str:
    for name in names:
        if value := header(headers, name):
            return value
    return ""


def event_name(headers: Mapping[str, Any], payload: Any = None) -> str:
    """The exact event type when the server sends it, else the coarse event."""
    return _first(
        headers,
        "X-Forgejo-Event-Type",
        "X-Gitea-Event-Type",
        "X-Forgejo-Event",
        "X-Gitea-Event",
        "X-Gogs-Event",
    )


def delivery_id(headers: Mapping[str, Any]) -> str:
    """A new id on every delivery, Replay included: the review key dedupes what matters."""
    return _first(headers, "X-Forgejo-Delivery", "X-Gitea-Delivery", "X-Gogs-Delivery")


def server_of(headers: Mapping[str, Any]) -> str:
    return "Forgejo" if header(headers, "X-Forgejo-Event") else "Gitea"


def has_draft_prefix(title: str) -> bool:
    return title.lstrip().upper().startswith(DRAFT_PREFIXES)


def classify(name: str, payload: Any, rules: GiteaRules) -> Classification:
    """Decide whether a delivery asks for a review; never raises."""
    if not isinstance(payload, Mapping):
        return ignored("payload is not a JSON object")
    if isinstance(payload.get("review"), Mapping) or payload.get("action") == "reviewed":
        return ignored(
            "a review was submitted; reviews do not request a review (comment /review instead)"
        )
    if isinstance(payload.get("comment"), Mapping) and isinstance(payload.get("issue"), Mapping):
        return _classify_comment(payload, rules)
    if name.startswith("pull_request") and isinstance(payload.get("pull_request"), Mapping):
        return _classify_pull_request(payload, rules)
    if name == "push":
        return ignored(
            "push events are not reviewed (the webhook's Test delivery sends one, so the "
            "webhook works); tick Pull Request and Pull Request Comment events"
        )
    if not name:
        return ignored("the delivery has no X-Gitea-Event or X-Forgejo-Event header")
    return ignored(
        f"{name} events are not reviewed; only pull request events and comments on pull "
        "requests are (choose them under the webhook's Trigger On: Custom Events)"
    )


def _classify_pull_request(payload: Mapping, rules: GiteaRules) -> Classification:
    try:
        event = from_pull_request(payload)
    except Missing as missing:
        return ignored(missing.reason)
    event = replace(event, draft=event.draft or has_draft_prefix(event.title))
    trigger, reason = _pull_request_decision(payload, event)
    if not trigger:
        return ignored(reason, event)
    return _apply_rules(trigger, reason, event, rules)


def _pull_request_decision(payload: Mapping, event: PullRequestEvent) -> tuple[str, str]:
    action, ref = event.action, event.ref
    if action == "closed":
        done = "merged" if event.merged else "closed"
        return "", f"{ref} was {done}; that does not request a review"
    if action == "edited":
        return _edited(payload, event)
    if action in _NOT_REVIEWED:
        return "", f"pull request action '{action}' does not request a review"
    trigger = _ACTIONS.get(action)
    if trigger is None:
        return "", f"pull request action '{action or '(none)'}' does not request a review"
    if event.state and event.state != "open":
        return "", f"{ref} is {event.state}; only open ones are reviewed"
    if event.draft:
        return (
            "",
            f"{ref} is a draft; it is reviewed once its title loses the WIP prefix (or on /review)",
        )
    if trigger == "new_commits":
        return trigger, f"new commits on {ref} (head {event.head_sha[:8] or '?'})"
    return trigger, f"{ref} was {_SAID[trigger]}"


def _edited(payload: Mapping, event: PullRequestEvent) -> tuple[str, str]:
    """Gitea's "ready for review": the title lost its draft prefix."""
    changes = payload.get("changes")
    title = changes.get("title") if isinstance(changes, Mapping) else None
    before = title.get("from") if isinstance(title, Mapping) else None
    if isinstance(before, str) and has_draft_prefix(before) and not event.draft:
        return "ready", f"{event.ref} was marked ready (the title lost its draft prefix)"
    changed = ", ".join(changes) if isinstance(changes, Mapping) and changes else "nothing listed"
    return "", f"{event.ref} was edited ({changed}); that does not request a review"


def _classify_comment(payload: Mapping, rules: GiteaRules) -> Classification:
    issue = payload["issue"]
    if not isinstance(issue.get("pull_request"), Mapping) and issue.get("is_pull") is not True:
        return ignored(f"comment on issue #{issue.get('number')}, not on a pull request")
    try:
        event = from_comment(payload)
    except Missing as missing:
        return ignored(missing.reason)
    comment = payload["comment"]
    body = comment.get("body")
    if event.action != "created":
        return ignored(
            f"comment on {event.ref} was {event.action or 'changed'}; only new comments are "
            "read as commands",
            event,
        )
    if not isinstance(body, str):
        return ignored("payload has no comment.body", event)
    user = comment.get("user")
    login = user.get("login") if isinstance(user, Mapping) else None
    bot = rules.bot_login.casefold()
    if (bot and isinstance(login, str) and login.casefold() == bot) or REVIEW_MARKER in body:
        return ignored(f"comment on {event.ref} was written by the review bot", event)
    focus = parse_review_command(body, rules.bot_login)
    if focus is None:
        return ignored(f"comment on {event.ref} is not a /review command", event)
    event = replace(event, focus=focus)
    if event.state != "open":
        return ignored(
            f"{event.ref} is {event.state or 'not open'}; /review works on open ones", event
        )
    reason = f"@{event.actor or '?'} asked for a review of {event.ref} with /review"
    return _apply_rules("review_command", reason, event, rules)


def _apply_rules(
    trigger: str, reason: str, event: PullRequestEvent, rules: GiteaRules
) -> Classification:
    return apply_pull_rules(trigger, reason, event, rules.triggers, rules.target_branches)
