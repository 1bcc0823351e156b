"""Receiving a forge's webhook: verify, store, classify, start a review; no forge or Dify I/O.

The same for every forge; what differs (how a delivery proves where it came from, which
headers are kept, the dedupe key, the event's name and classification) comes from the
forge's :class:`Forge`. The answer must reach the forge within its timeout (10 s on GitLab
and github.com) and be a 2xx for everything the hub merely does not care about: GitLab
counts every 4xx, 5xx and timeout toward disabling the hook, and neither GitLab nor GitHub
re-sends a failed event by itself. So only misconfiguration (unknown URL, wrong token, bad
signature) and broken requests get a 4xx, and nothing raises past this module.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext

from integrations.compiled import CompiledQuery
from integrations.forges.common import Classification
from integrations.hub_language import hub_language
from integrations.models import ReviewEndpoint, Run, WebhookEvent
from integrations.runs import alerts, combined, dispatch, slots

log = logging.getLogger(__name__)

# A review of these is done or under way, so the same head is not reviewed again.
LIVE_OR_DONE = (
    Run.Status.QUEUED,
    Run.Status.RUNNING,
    Run.Status.DELIVERING,
    Run.Status.SUCCEEDED,
    Run.Status.PARTIALLY_DELIVERED,
)
# Not finished yet: a newer review of the same change supersedes these.
UNFINISHED = (Run.Status.QUEUED, Run.Status.RUNNING)
# Forges' payloads nest five or six levels deep; anything past this is not a forge's event.
MAX_DEPTH = 32


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict = field(default_factory=dict)


class Rejected(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Forge:
    """What a forge plugs into the intake."""

    name: str  # "gitlab": the URL segment, the run's dedupe prefix
    who: str  # "GitLab"
    noun: str  # what a review is of: "MR", "pull request"
    context_key: str  # where the run's context keeps the event
    kept_headers: tuple[str, ...]  # enough to trace a delivery, never a secret
    authenticate: Callable[[ReviewEndpoint, Mapping[str, str], bytes], None]  # raises Rejected
    delivery_key: Callable[[Mapping[str, str], bytes], str]
    event_name: Callable[[Mapping[str, str], Any], str]
    classify: Callable[[str, Any, Any], Classification]


# The two reads of every webhook, compiled once per process (integrations/compiled.py): the
# ORM spent a third of the web server's CPU building them (docs/benchmarks.md).
_ENDPOINT = CompiledQuery(
    lambda slug, forge: ReviewEndpoint.objects.filter(slug=slug, forge=forge),
    slug=str,
    forge=str,
)
_EARLIER_REVIEWS = CompiledQuery(
    lambda dedupe_key, endpoint_id, merge_request_key: Run.objects.filter(
        Q(dedupe_key=dedupe_key)
        | Q(
            review_endpoint_id=endpoint_id,
            merge_request_key=merge_request_key,
            status__in=UNFINISHED,
        )
    ).values_list("pk", "status", "dedupe_key", "app_id"),
    dedupe_key=str,
    endpoint_id=int,
    merge_request_key=str,
)


def endpoint(forge: Forge, slug: str) -> ReviewEndpoint | None:
    """The forge's endpoint at this URL slug."""
    return _ENDPOINT.first(slug=slug, forge=forge.name)


def receive(
    forge: Forge, endpoint: ReviewEndpoint, headers: Mapping[str, str], body: bytes
) -> Answer:
    """Handle one POST to the endpoint. `headers` keys are lower-case."""
    try:
        forge.authenticate(endpoint, headers, body)
    except Rejected as exc:
        _count_rejection(forge, endpoint, exc.reason)
        return Answer(401, {"error": exc.reason})
    key = forge.delivery_key(headers, body)[:200] or body_key(body)
    base = {
        "endpoint": endpoint,
        "event_name": forge.event_name(headers, {})[:100],
        "idempotency_key": key,
        "headers": {h: headers[h][:500] for h in forge.kept_headers if h in headers},
    }
    payload, problem = _parse(forge, headers, body)
    if problem:
        event = _store(base, outcome=WebhookEvent.Outcome.INVALID, reason=problem)
        if event is None:
            return _duplicate(endpoint, key)
        return Answer(415 if problem.startswith("Content-Type") else 400, {"error": problem})
    base["event_name"] = forge.event_name(headers, payload)[:100]
    base["payload"] = payload
    if not endpoint.enabled:
        reason = "The endpoint is disabled in the hub; the event is kept but starts nothing."
        return _ignored(base, reason, key, endpoint)
    decision = forge.classify(base["event_name"], payload, endpoint.review_rules())
    if not decision.accepted:
        return _ignored(base, decision.reason, key, endpoint, decision)
    return _accept(forge, base, decision, key, endpoint)


def body_key(body: bytes) -> str:
    # A delivery without an id (GitLab before 17.4) is re-sent byte for byte, so the hash of
    # its body keeps a resend from starting a second review.
    return "sha256:" + hashlib.sha256(body).hexdigest()


def _parse(forge: Forge, headers: Mapping[str, str], body: bytes) -> tuple[dict, str]:
    content_type = headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        return {}, f"Content-Type must be application/json, not '{content_type or 'none'}'."
    deep = f"The JSON is nested deeper than {MAX_DEPTH} levels; {forge.who} never sends that."
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        return {}, f"Malformed JSON: {exc}"
    except RecursionError:
        return {}, deep
    if not isinstance(payload, dict):
        return {}, f"The JSON body must be an object, not {type(payload).__name__}."
    if _depth(payload) > MAX_DEPTH:
        return {}, deep
    return payload, ""


def _depth(value: object) -> int:
    """How deeply lists and objects nest, without recursion (a hostile body must not reach
    Python's recursion limit in the code that stores or reads it)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            if level > MAX_DEPTH:
                return level
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, level + 1) for child in children)
    return deepest


def _store(base: dict, **fields) -> WebhookEvent | None:
    """Insert the event; None when an event with the same key is already stored."""
    try:
        with transaction.atomic():
            return WebhookEvent.objects.create(**base, **fields)
    except IntegrityError:
        return None


def _duplicate(endpoint: ReviewEndpoint, key: str) -> Answer:
    now = timezone.now()
    WebhookEvent.objects.filter(endpoint=endpoint, idempotency_key=key).update(
        duplicate_count=F("duplicate_count") + 1, last_duplicate_at=now
    )
    first = (
        WebhookEvent.objects.filter(endpoint=endpoint, idempotency_key=key)
        .values("pk", "run_id")
        .first()
    )
    body = {"status": "duplicate", "event": first and first["pk"], "run": first and first["run_id"]}
    return Answer(200, body)


def _ignored(
    base: dict,
    reason: str,
    key: str,
    endpoint: ReviewEndpoint,
    decision: Classification | None = None,
    run: Run | None = None,
) -> Answer:
    event = _store(
        base,
        outcome=WebhookEvent.Outcome.IGNORED,
        reason=reason,
        run=run,
        **_event_fields(decision.event if decision else None),
    )
    if event is None:
        return _duplicate(endpoint, key)
    body = {"status": "ignored", "event": event.pk, "reason": reason}
    if run is not None:
        body["run"] = run.pk
    return Answer(200, body)


def _accept(
    forge: Forge, base: dict, decision: Classification, key: str, endpoint: ReviewEndpoint
) -> Answer:
    change = decision.event
    assert change is not None  # an accepted classification always carries the change
    dedupe_key = review_key(forge, endpoint, change, decision.trigger)
    for _ in range(2):  # a second pass only after losing a race to a concurrent event
        existing, older = _earlier_reviews(dedupe_key, endpoint, change)
        if existing is not None:
            reason = _already(forge, existing, change)
            return _ignored(base, reason, key, endpoint, decision, run=existing)
        run = _new_review(forge, endpoint, change, decision.trigger, dedupe_key)
        event = WebhookEvent(
            **base,
            outcome=WebhookEvent.Outcome.ACCEPTED,
            trigger=decision.trigger,
            reason=decision.reason,
            **_event_fields(change),
        )
        try:
            combined.insert_linked(run, event, "run")
        except IntegrityError:
            if WebhookEvent.objects.filter(endpoint=endpoint, idempotency_key=key).exists():
                return _duplicate(endpoint, key)
            continue  # the same head was accepted by another request just now
        dispatch.execute(run.pk)
        # After the insert's own commit, not in one transaction with it: a process that dies
        # in between leaves the older review running beside the new one, never a lost event.
        superseded = _supersede(run, older)
        log.info(
            "%s %s: %s of %s at %s -> run %s%s",
            forge.name,
            endpoint.slug,
            decision.trigger,
            change.merge_request_key,
            change.head_sha[:12] or "(head read at review time)",
            run.pk,
            f" (supersedes {', '.join(map(str, superseded))})" if superseded else "",
        )
        return Answer(202, {"status": "accepted", "event": event.pk, "run": run.pk})
    reason = "Another event started a review of this head at the same moment."
    return _ignored(base, reason, key, endpoint, decision)


def review_key(forge: Forge, endpoint: ReviewEndpoint, change: Any, trigger: str) -> str:
    """One automatic review per endpoint, change and head commit; every /review is its own."""
    base = f"{forge.name}:{endpoint.pk}:{change.merge_request_key}"
    if trigger == "review_command" and change.note_id is not None:
        return f"{base}:note:{change.note_id}"
    return f"{base}:{change.head_sha}"


def _earlier_reviews(
    dedupe_key: str, endpoint: ReviewEndpoint, change: Any
) -> tuple[Run | None, list[tuple[int, int]]]:
    """In one query: the live or finished review holding this key (a failed or superseded
    one gives the key up), and the (pk, app id) of the change's unfinished reviews, which a
    new review supersedes."""
    rows = _EARLIER_REVIEWS.rows(
        dedupe_key=dedupe_key,
        endpoint_id=endpoint.pk,
        merge_request_key=change.merge_request_key[:100],
    )
    existing, older = None, []
    for pk, status, key, app_id in rows:
        if key == dedupe_key and status in LIVE_OR_DONE:
            existing = Run(pk=pk, status=status)
        elif key == dedupe_key:
            # A failed, cancelled or superseded review of this head does not block a new one.
            Run.objects.filter(pk=pk).update(dedupe_key=None)
        if status in UNFINISHED:
            older.append((pk, app_id))
    return existing, older


def _already(forge: Forge, run: Run, change: Any) -> str:
    verb = "was already reviewed" if run.is_final else "is being reviewed"
    return (
        f"Commit {change.head_sha[:8]} of {change.short_ref} {verb} (run #{run.pk}, "
        f"{run.get_status_display().lower()}); comment /review on the {forge.noun} to review "
        "it again."
    )


def _new_review(
    forge: Forge, endpoint: ReviewEndpoint, change: Any, trigger: str, dedupe_key: str
) -> Run:
    return Run(
        app_id=endpoint.app_id,
        kind=Run.Kind.MERGE_REQUEST_REVIEW,
        source=f"{endpoint.name}: {change.reference} ({trigger})"[:255],
        inputs={},
        dify_user=f"{forge.name}:{change.reference}"[:255],
        review_endpoint=endpoint,
        context={"trigger": trigger, forge.context_key: change.to_dict()},
        merge_request_key=change.merge_request_key[:100],
        head_sha=change.head_sha,
        dedupe_key=dedupe_key,
    )


def supersede_older(run: Run) -> list[int]:
    """A newer review of the same change replaces older ones not yet finished; Dify is asked
    to stop those already running, and their slots go to the next queued runs."""
    older = Run.objects.filter(
        review_endpoint_id=run.review_endpoint_id,
        merge_request_key=run.merge_request_key,
        status__in=UNFINISHED,
        pk__lt=run.pk,
    ).values_list("pk", "app_id")
    return _supersede(run, list(older))


def _supersede(run: Run, older: list[tuple[int, int]]) -> list[int]:
    """Supersede these (pk, app id) runs by `run`, each only if still unfinished."""
    if not older:
        return []
    superseded = []
    now = timezone.now()
    commit = f" (commit {run.head_sha[:8]})" if run.head_sha else ""
    with transaction.atomic():
        for pk, app_id in older:
            if Run.objects.filter(pk=pk, status__in=UNFINISHED).update(
                status=Run.Status.SUPERSEDED,
                error_code="superseded",
                error_source="hub",
                error_message=f"Superseded by run #{run.pk}{commit}.",
                finished_at=now,
                next_attempt_at=None,
                holder="",
                updated_at=now,
            ):
                superseded.append(pk)
                slots.release(Run(pk=pk, app_id=app_id))
                dispatch.stop_in_dify(pk)
    return superseded


def _event_fields(change: Any) -> dict:
    if change is None:
        return {}
    return {"merge_request_key": change.merge_request_key[:100], "head_sha": change.head_sha[:64]}


def _count_rejection(forge: Forge, endpoint: ReviewEndpoint, reason: str) -> None:
    log.warning("%s %s: rejected a request: %s", forge.name, endpoint.slug, reason)
    ReviewEndpoint.objects.filter(pk=endpoint.pk).update(
        rejected_count=F("rejected_count") + 1,
        last_rejected_at=timezone.now(),
        last_rejected_reason=reason[:200],
    )
    # One refused request is a stray or a scan; a burst of them is a forge whose secret no
    # longer matches (rotated on one side only), and reviews are silently not happening.
    with hub_language():  # the alert's words, written now in the hub's language
        values = {"forge": forge.who, "name": endpoint.name, "reason": reason}
        title = gettext("%(forge)s endpoint '%(name)s' is rejecting requests") % values
        line = (
            gettext(
                "%(forge)s endpoint '%(name)s' refused a request: %(reason)s. If %(forge)s is "
                "the sender, its webhook secret and the endpoint's no longer match."
            )
            % values
        )
    alerts.burst(
        f"endpoint-rejecting:{endpoint.pk}", title, line, threshold=settings.HUB_ALERT_REJECTIONS
    )
