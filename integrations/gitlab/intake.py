"""Receiving a GitLab webhook: verify, store, classify, start a review; no GitLab or Dify I/O.

The answer must reach GitLab within its 10 s timeout and be a 2xx for everything we merely
do not care about: GitLab counts every 4xx, 5xx and timeout toward disabling the hook, and it
never re-sends a failed event by itself. So only misconfiguration (unknown URL, wrong token,
bad signature) and broken requests get a 4xx, and nothing raises past this module.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from integrations.gitlab.events import Classification, MergeRequestEvent, classify, event_name
from integrations.gitlab.signing import SignatureError, token_matches, verify_signature
from integrations.models import GitLabEndpoint, Run, WebhookEvent
from integrations.runs import dispatch, slots

log = logging.getLogger(__name__)

# Kept with each event: enough to trace a delivery in GitLab's "Recent events", never secrets
# (X-Gitlab-Token and webhook-signature are left out on purpose).
KEPT_HEADERS = (
    "user-agent",
    "x-gitlab-event",
    "x-gitlab-instance",
    "x-gitlab-webhook-uuid",
    "x-gitlab-event-uuid",
    "idempotency-key",
    "webhook-id",
    "webhook-timestamp",
)
# A review of these is done or under way, so the same head is not reviewed again.
LIVE_OR_DONE = (
    Run.Status.QUEUED,
    Run.Status.RUNNING,
    Run.Status.DELIVERING,
    Run.Status.SUCCEEDED,
    Run.Status.PARTIALLY_DELIVERED,
)


# GitLab's payloads nest five or six levels deep; anything past this is not a GitLab event.
MAX_DEPTH = 32


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict = field(default_factory=dict)


class Rejected(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def receive(endpoint: GitLabEndpoint, headers: Mapping[str, str], body: bytes) -> Answer:
    """Handle one POST to the endpoint. `headers` keys are lower-case."""
    try:
        authenticate(endpoint, headers, body)
    except Rejected as exc:
        _count_rejection(endpoint, exc.reason)
        return Answer(401, {"error": exc.reason})
    key = headers.get("idempotency-key", "").strip()[:200] or _body_key(body)
    name = event_name(headers, {})
    base = {
        "endpoint": endpoint,
        "event_name": name[:100],
        "idempotency_key": key,
        "headers": {h: headers[h][:500] for h in KEPT_HEADERS if h in headers},
    }
    payload, problem = _parse(headers, body)
    if problem:
        event = _store(base, outcome=WebhookEvent.Outcome.INVALID, reason=problem)
        if event is None:
            return _duplicate(endpoint, key)
        return Answer(415 if problem.startswith("Content-Type") else 400, {"error": problem})
    base["event_name"] = event_name(headers, payload)[:100]
    base["payload"] = payload
    if not endpoint.enabled:
        reason = "The endpoint is disabled in the hub; the event is kept but starts nothing."
        return _ignored(base, reason, key, endpoint)
    decision = classify(base["event_name"], payload, endpoint.review_rules())
    if not decision.accepted:
        return _ignored(base, decision.reason, key, endpoint, decision)
    return _accept(base, decision, key, endpoint)


def authenticate(endpoint: GitLabEndpoint, headers: Mapping[str, str], body: bytes) -> None:
    """The token must match; with a signing secret the signature must be valid as well."""
    token = headers.get("x-gitlab-token")
    if endpoint.signing_secret:
        try:
            verify_signature(
                endpoint.signing_secret,
                headers,
                body,
                now=time.time(),
                tolerance=settings.HUB_WEBHOOK_SIGNATURE_TOLERANCE,
            )
        except SignatureError as exc:
            raise Rejected(f"bad signature: {exc}") from None
        if token is not None and not token_matches(endpoint.secret_token_hash, token):
            raise Rejected("wrong X-Gitlab-Token")
        return
    if not token:
        raise Rejected("missing X-Gitlab-Token (set the secret token in GitLab's webhook form)")
    if not token_matches(endpoint.secret_token_hash, token):
        raise Rejected("wrong X-Gitlab-Token")


def _parse(headers: Mapping[str, str], body: bytes) -> tuple[dict, str]:
    content_type = headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        return {}, f"Content-Type must be application/json, not '{content_type or 'none'}'."
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        return {}, f"Malformed JSON: {exc}"
    except RecursionError:
        return {}, f"The JSON is nested deeper than {MAX_DEPTH} levels; GitLab never sends that."
    if not isinstance(payload, dict):
        return {}, f"The JSON body must be an object, not {type(payload).__name__}."
    if _depth(payload) > MAX_DEPTH:
        return {}, f"The JSON is nested deeper than {MAX_DEPTH} levels; GitLab never sends that."
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


def _body_key(body: bytes) -> str:
    # GitLab before 17.4 sends no Idempotency-Key; "Resend request" repeats the body byte for
    # byte, so its hash keeps a resend from starting a second review.
    return "sha256:" + hashlib.sha256(body).hexdigest()


def _store(base: dict, **fields) -> WebhookEvent | None:
    """Insert the event; None when an event with the same key is already stored."""
    try:
        with transaction.atomic():
            return WebhookEvent.objects.create(**base, **fields)
    except IntegrityError:
        return None


def _duplicate(endpoint: GitLabEndpoint, key: str) -> Answer:
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
    endpoint: GitLabEndpoint,
    decision: Classification | None = None,
    run: Run | None = None,
) -> Answer:
    event = _store(
        base,
        outcome=WebhookEvent.Outcome.IGNORED,
        reason=reason,
        run=run,
        **_mr_fields(decision.event if decision else None),
    )
    if event is None:
        return _duplicate(endpoint, key)
    body = {"status": "ignored", "event": event.pk, "reason": reason}
    if run is not None:
        body["run"] = run.pk
    return Answer(200, body)


def _accept(base: dict, decision: Classification, key: str, endpoint: GitLabEndpoint) -> Answer:
    mr = decision.event
    assert mr is not None  # an accepted classification always carries the merge request
    dedupe_key = review_key(endpoint, mr, decision.trigger)
    for _ in range(2):  # a second pass only after losing a race to a concurrent event
        existing = _existing_review(dedupe_key)
        if existing is not None:
            return _ignored(base, _already(existing, mr), key, endpoint, decision, run=existing)
        try:
            with transaction.atomic():
                run = _create_review(endpoint, mr, decision.trigger, dedupe_key)
                event = WebhookEvent.objects.create(
                    **base,
                    outcome=WebhookEvent.Outcome.ACCEPTED,
                    trigger=decision.trigger,
                    reason=decision.reason,
                    run=run,
                    **_mr_fields(mr),
                )
                superseded = supersede_older(run)
        except IntegrityError:
            if WebhookEvent.objects.filter(endpoint=endpoint, idempotency_key=key).exists():
                return _duplicate(endpoint, key)
            continue  # the same head was accepted by another request just now
        log.info(
            "gitlab %s: %s of %s at %s -> run %s%s",
            endpoint.slug,
            decision.trigger,
            mr.merge_request_key,
            mr.head_sha[:12],
            run.pk,
            f" (supersedes {', '.join(map(str, superseded))})" if superseded else "",
        )
        return Answer(202, {"status": "accepted", "event": event.pk, "run": run.pk})
    reason = "Another event started a review of this head at the same moment."
    return _ignored(base, reason, key, endpoint, decision)


def review_key(endpoint: GitLabEndpoint, mr: MergeRequestEvent, trigger: str) -> str:
    """One automatic review per endpoint, MR and head commit; every /review note is its own."""
    base = f"gitlab:{endpoint.pk}:{mr.merge_request_key}"
    if trigger == "review_command" and mr.note_id is not None:
        return f"{base}:note:{mr.note_id}"
    return f"{base}:{mr.head_sha}"


def _existing_review(dedupe_key: str) -> Run | None:
    """The live or finished review holding this key; a failed or superseded one gives it up."""
    run = Run.objects.filter(dedupe_key=dedupe_key).only("pk", "status").first()
    if run is None:
        return None
    if run.status in LIVE_OR_DONE:
        return run
    # A failed, cancelled or superseded review of this head does not block a new one.
    Run.objects.filter(pk=run.pk).update(dedupe_key=None)
    return None


def _already(run: Run, mr: MergeRequestEvent) -> str:
    verb = "was already reviewed" if run.is_final else "is being reviewed"
    return (
        f"Commit {mr.head_sha[:8]} of !{mr.iid} {verb} (run #{run.pk}, "
        f"{run.get_status_display().lower()}); comment /review on the MR to review it again."
    )


def _create_review(
    endpoint: GitLabEndpoint, mr: MergeRequestEvent, trigger: str, dedupe_key: str
) -> Run:
    run = Run.objects.create(
        app_id=endpoint.app_id,
        kind=Run.Kind.MERGE_REQUEST_REVIEW,
        source=f"{endpoint.name}: {mr.project_path}!{mr.iid} ({trigger})"[:255],
        inputs={},
        dify_user=f"gitlab:{mr.project_path}!{mr.iid}"[:255],
        gitlab_endpoint=endpoint,
        context={"trigger": trigger, "merge_request": mr.to_dict()},
        merge_request_key=mr.merge_request_key,
        head_sha=mr.head_sha,
        dedupe_key=dedupe_key,
    )
    dispatch.execute(run.pk)
    return run


def supersede_older(run: Run) -> list[int]:
    """A newer review of the same MR replaces older ones not yet finished; Dify is asked to
    stop those already running, and their slots go to the next queued runs."""
    live = (Run.Status.QUEUED, Run.Status.RUNNING)
    older = Run.objects.filter(
        gitlab_endpoint_id=run.gitlab_endpoint_id,
        merge_request_key=run.merge_request_key,
        status__in=live,
        pk__lt=run.pk,
    ).values_list("pk", "app_id")
    superseded = []
    now = timezone.now()
    for pk, app_id in list(older):
        if Run.objects.filter(pk=pk, status__in=live).update(
            status=Run.Status.SUPERSEDED,
            error_code="superseded",
            error_source="hub",
            error_message=f"Superseded by run #{run.pk} (commit {run.head_sha[:8]}).",
            finished_at=now,
            next_attempt_at=None,
            holder="",
            updated_at=now,
        ):
            superseded.append(pk)
            slots.release(Run(pk=pk, app_id=app_id))
            dispatch.stop_in_dify(pk)
    return superseded


def _mr_fields(mr: MergeRequestEvent | None) -> dict:
    if mr is None:
        return {}
    return {"merge_request_key": mr.merge_request_key[:100], "head_sha": mr.head_sha[:64]}


def _count_rejection(endpoint: GitLabEndpoint, reason: str) -> None:
    log.warning("gitlab %s: rejected a request: %s", endpoint.slug, reason)
    GitLabEndpoint.objects.filter(pk=endpoint.pk).update(
        rejected_count=F("rejected_count") + 1,
        last_rejected_at=timezone.now(),
        last_rejected_reason=reason[:200],
    )
