"""A merge-request review run: read the MR from GitLab before Dify is called, then send the
review to the MR (one note, edited in place) and to any chat recipients.

The webhook payload only triggers the review: what the review reads and what the note says
(title, link, reference) come from GitLab's API, read fresh on every attempt.
"""

from __future__ import annotations

import logging

from django.conf import settings

from integrations.checks.gitlab_endpoint import remember_bot
from integrations.forges.parts import split_if_large
from integrations.forges.review_comments import inline_comments, with_inline_section
from integrations.forges.rounds import add_round_inputs, who_reviews_the_newer_head
from integrations.gitlab.api import GitLabClient
from integrations.gitlab.errors import GitLabError
from integrations.gitlab.events import OPEN_STATES, MergeRequestEvent
from integrations.gitlab.review_inputs import (
    build_diff,
    diff_budget_for,
    fit_inputs,
    standard_inputs,
)
from integrations.gitlab.types import MergeRequest
from integrations.models import ReviewEndpoint, Run
from integrations.runs.backoff import retry_delay
from integrations.runs.delivery import (
    Target,
    begin,
    recipient_targets,
    settle_now,
    undeliverable,
)
from integrations.runs.dify_call import ensure_form
from integrations.runs.kinds import NotReady, RunEnded
from integrations.runs.outputs import OutputError, select_output

log = logging.getLogger(__name__)

NOTE_KIND = "gitlab_note"
LINES_KIND = "gitlab_lines"  # the line comments (integrations/gitlab/line_comments.py)
OUTPUT_SETTING = "Output with the review"


def merge_request_of(run: Run) -> MergeRequestEvent:
    return MergeRequestEvent.from_dict((run.context or {})["merge_request"])


def prepare(run: Run) -> dict:
    """The Dify inputs for this review, read fresh from GitLab on every attempt."""
    endpoint = _endpoint(run)
    event = merge_request_of(run)
    trigger = (run.context or {}).get("trigger", "")
    with endpoint.client() as gitlab:
        _learn_bot_identity(endpoint, gitlab)
        if trigger == "review_command":
            _check_commenter(endpoint, gitlab, event)
        mr = gitlab.merge_request(event.project_id, event.iid)
        if event.oldrev and mr.sha == event.oldrev:
            # The hook can arrive before GitLab's API shows the push it announces.
            raise _not_ready(run, f"GitLab's API does not show {_short(event)} yet")
        _check_still_wanted(run, mr, event, trigger)
        if not _diff_ready(mr, event.head_sha):
            raise _not_ready(run, f"GitLab is still preparing the diff of {_short(event)}")
        files = gitlab.diffs(event.project_id, event.iid)
    if not files and run.waits < settings.HUB_GITLAB_DIFF_WAITS:
        # Right after a push GitLab can list the new head before its file diffs exist.
        raise _not_ready(run, f"GitLab lists no changed files for {_short(event)} yet")
    _remember_what_was_read(run, event, mr)
    form = ensure_form(run.app)
    budget = diff_budget_for(form, endpoint.input_mapping or {}, endpoint.diff_budget)
    diff = build_diff(files, budget)
    run.context["old_paths"] = {f.new_path: f.old_path for f in files if f.renamed_file}
    values = standard_inputs(event, mr, diff, files)
    head = mr.sha or event.head_sha

    def compare(base: str) -> list:
        with endpoint.client() as gitlab:
            return gitlab.compare(event.project_id, base, head)

    add_round_inputs(run, values, diff, head, compare, budget, files)
    split_if_large(run, endpoint, files, diff, budget, values, form)
    return fit_inputs(values, form, endpoint.input_mapping or {})


def _remember_what_was_read(run: Run, event: MergeRequestEvent, mr: MergeRequest) -> None:
    context = dict(run.context or {})
    context["read"] = {
        "reference": mr.reference or f"{event.project_path}!{mr.iid}",
        "title": mr.title,
        "url": mr.web_url or event.url,
        "head_sha": mr.sha or event.head_sha,
        # The diff refs a line comment's position names (GitLab checks them).
        "base_sha": mr.base_sha,
        "start_sha": mr.start_sha,
    }
    run.context = context  # stored with the inputs (runs/engine.py), in one UPDATE


def send_note(run: Run) -> None:
    """Follow-up of a succeeded review; called inside the run's final transaction."""
    endpoint = run.review_endpoint
    if endpoint is None:
        settle_now(
            run, Run.Status.FAILED, "no_endpoint", "The hub: the GitLab endpoint was deleted."
        )
        return
    event = merge_request_of(run)
    targets = []
    if endpoint.post_note:
        targets.append(Target(name=f"Note on {event.project_path}!{event.iid}", kind=NOTE_KIND))
        if inline_comments(run)[0]:
            ref = f"{event.project_path}!{event.iid}"
            targets.append(Target(name=f"Line comments on {ref}", kind=LINES_KIND))
    targets += recipient_targets(endpoint.recipients.filter(enabled=True))
    try:
        message = compose(run)
    except OutputError as exc:
        undeliverable(run, targets, f"GitLab endpoint '{endpoint.name}': {exc}")
        return
    if not targets:
        Run.objects.filter(pk=run.pk).update(message=message)
        return  # succeeded; the review is kept on the run
    begin(run, message, targets)


def compose(run: Run) -> dict:
    """The note of a succeeded review, from its outputs and the endpoint's settings now."""
    endpoint = run.review_endpoint
    if endpoint is None:
        raise OutputError("the GitLab endpoint was deleted")
    text = select_output(run.outputs, endpoint.output_key, setting=OUTPUT_SETTING)
    return note_message(run, with_inline_section(run, text, posted_inline=endpoint.post_note))


def note_message(run: Run, text: str) -> dict:
    """Heading, review and footer, from what the review read from GitLab's API."""
    event = merge_request_of(run)
    read = (run.context or {}).get("read") or {}
    reference = read.get("reference") or f"{event.project_path}!{event.iid}"
    head = read.get("head_sha") or event.head_sha
    return {
        "title": f"Review of {reference}: {read.get('title') or event.title}"[:300],
        "text": text,
        "footer": f"{read.get('url') or event.url} · commit {head[:8]}",
    }


def _endpoint(run: Run) -> ReviewEndpoint:
    endpoint = run.review_endpoint
    if endpoint is None:
        raise RunEnded(
            Run.Status.FAILED, "no_endpoint", "The hub: the GitLab endpoint was deleted."
        )
    if not endpoint.enabled:
        raise RunEnded(
            Run.Status.CANCELLED,
            "endpoint_disabled",
            f"The hub: the GitLab endpoint '{endpoint.name}' was disabled before the review "
            "started.",
        )
    return endpoint


def _learn_bot_identity(endpoint: ReviewEndpoint, gitlab: GitLabClient) -> None:
    if endpoint.bot_user_id is None:
        remember_bot(endpoint, gitlab.current_user())


# Who may ask (the endpoint's setting, GitHub's words) -> anyone, or Developers and above.
_ANYONE = frozenset({"CONTRIBUTOR", "FIRST_TIME_CONTRIBUTOR", "FIRST_TIMER", "MANNEQUIN", "NONE"})
DEVELOPER = 30


def _check_commenter(
    endpoint: ReviewEndpoint, gitlab: GitLabClient, event: MergeRequestEvent
) -> None:
    """/review counts from project members with Developer access or more, unless widened."""
    if set(endpoint.review_command_from or ()) & _ANYONE:
        return
    level = gitlab.access_level(event.project_id, event.actor_id) if event.actor_id else None
    if level is not None and level >= DEVELOPER:
        return
    who = f"@{event.actor_username}" if event.actor_username else "the commenter"
    raise RunEnded(
        Run.Status.CANCELLED,
        "not_trusted",
        f"The hub: {who} is not a member of the project with Developer access or more, so "
        "their /review is not honoured (the endpoint's 'who may ask' setting can widen it).",
    )


def _check_still_wanted(run: Run, mr: MergeRequest, event: MergeRequestEvent, trigger: str) -> None:
    ref = f"!{event.iid}"
    if mr.state not in OPEN_STATES:
        raise RunEnded(
            Run.Status.CANCELLED,
            f"merge_request_{mr.state}",
            f"GitLab: MR {ref} was {mr.state} before the review started; nothing to review.",
            source="gitlab",
        )
    if mr.sha and mr.sha != event.head_sha:
        raise RunEnded(
            Run.Status.SUPERSEDED,
            "head_moved",
            f"GitLab: MR {ref} moved on to commit {mr.sha[:8]} before the review of "
            f"{event.head_sha[:8]} started, so that review would be out of date; "
            + who_reviews_the_newer_head(run, mr.sha),
            source="gitlab",
        )
    if mr.draft and trigger != "review_command":
        raise RunEnded(
            Run.Status.CANCELLED,
            "merge_request_draft",
            f"GitLab: MR {ref} was marked as draft before the review started; comment /review "
            "to review a draft.",
            source="gitlab",
        )


def _diff_ready(mr: MergeRequest, head_sha: str) -> bool:
    return bool(mr.prepared_at) and mr.head_sha == head_sha


def _not_ready(run: Run, message: str) -> Exception:
    waits = run.waits + 1
    if waits > settings.HUB_GITLAB_DIFF_WAITS:
        return GitLabError(
            f"GitLab: {message} after {waits - 1} looks; GitLab may be overloaded or the MR's "
            "diff exceeds the instance's diff limits. Comment /review on the MR to try again.",
            code="diff_not_ready",
            retryable=False,
        )
    delay = retry_delay(waits, base=settings.HUB_GITLAB_DIFF_WAIT_SECONDS, cap=30)
    return NotReady(message, waits=waits, delay=delay)


def _short(event: MergeRequestEvent) -> str:
    return f"!{event.iid} at {event.head_sha[:8]}"
