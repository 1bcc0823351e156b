"""A merge-request review run: read the MR from GitLab before Dify is called, then send the
review to the MR (one note, edited in place) and to any chat recipients."""

from __future__ import annotations

import logging

from django.conf import settings

from integrations.dify import InputField, form_to_json
from integrations.digests.messages import OutputError, select_output
from integrations.gitlab.api import GitLabClient
from integrations.gitlab.check import remember_bot
from integrations.gitlab.errors import GitLabError
from integrations.gitlab.events import MergeRequestEvent
from integrations.gitlab.inputs import build_diff, diff_budget_for, fit_inputs, standard_inputs
from integrations.gitlab.types import MergeRequest
from integrations.models import DifyApp, GitLabEndpoint, Run
from integrations.runs.backoff import retry_delay
from integrations.runs.delivery import Target, begin, recipient_targets, settle_now
from integrations.runs.steps import NotReady, RunEnded, StepError

log = logging.getLogger(__name__)

NOTE_KIND = "gitlab_note"


def merge_request_of(run: Run) -> MergeRequestEvent:
    return MergeRequestEvent.from_dict((run.context or {})["merge_request"])


def prepare(run: Run) -> dict:
    """The Dify inputs for this review, read fresh from GitLab on every attempt."""
    endpoint = _endpoint(run)
    event = merge_request_of(run)
    trigger = (run.context or {}).get("trigger", "")
    try:
        with endpoint.client() as gitlab:
            _learn_bot_identity(endpoint, gitlab)
            mr = gitlab.merge_request(event.project_id, event.iid)
            if event.oldrev and mr.sha == event.oldrev:
                # The hook can arrive before GitLab's API shows the push it announces.
                raise _not_ready(run, f"GitLab's API does not show {_short(event)} yet")
            _check_still_wanted(mr, event, trigger)
            if not _diff_ready(mr, event.head_sha):
                raise _not_ready(run, f"GitLab is still preparing the diff of {_short(event)}")
            files = gitlab.diffs(event.project_id, event.iid)
    except GitLabError as exc:
        raise StepError(
            f"gitlab_{exc.code}",
            f"GitLab endpoint '{endpoint.name}' ({endpoint.gitlab_url}): {exc}",
            retryable=exc.retryable,
            retry_after=exc.retry_after,
        ) from None
    if not files and run.waits < settings.HUB_GITLAB_DIFF_WAITS:
        # Right after a push GitLab can list the new head before its file diffs exist.
        raise _not_ready(run, f"GitLab lists no changed files for {_short(event)} yet")
    form = _input_form(run.app)
    budget = diff_budget_for(form, endpoint.input_mapping or {}, endpoint.diff_budget)
    diff = build_diff(files, budget)
    values = standard_inputs(event, mr, diff, files)
    return fit_inputs(values, form, endpoint.input_mapping or {})


def start_deliveries(run: Run) -> None:
    """Follow-up of a succeeded review; called inside the run's final transaction."""
    endpoint = run.gitlab_endpoint
    if endpoint is None:
        settle_now(run, Run.Status.FAILED, "no_endpoint", "The GitLab endpoint was deleted.")
        return
    event = merge_request_of(run)
    try:
        text = select_output(run.outputs, endpoint.output_key)
    except OutputError as exc:
        settle_now(run, Run.Status.FAILED, "no_output", f"Endpoint '{endpoint.name}': {exc}")
        return
    message = {
        "title": f"Review of {event.project_path}!{event.iid}: {event.title}"[:300],
        "text": text,
        "footer": f"{event.url} · commit {event.head_sha[:8]}",
    }
    targets = []
    if endpoint.post_note:
        targets.append(Target(name=f"Note on {event.project_path}!{event.iid}", kind=NOTE_KIND))
    targets += recipient_targets(endpoint.recipients.filter(enabled=True))
    if not targets:
        Run.objects.filter(pk=run.pk).update(message=message)
        return  # succeeded; the review is kept on the run
    begin(run, message, targets)


def _endpoint(run: Run) -> GitLabEndpoint:
    endpoint = run.gitlab_endpoint
    if endpoint is None:
        raise RunEnded(Run.Status.FAILED, "no_endpoint", "The GitLab endpoint was deleted.")
    if not endpoint.enabled:
        raise RunEnded(
            Run.Status.CANCELLED,
            "endpoint_disabled",
            f"The GitLab endpoint '{endpoint.name}' was disabled before the review started.",
        )
    return endpoint


def _learn_bot_identity(endpoint: GitLabEndpoint, gitlab: GitLabClient) -> None:
    if endpoint.bot_user_id is None:
        remember_bot(endpoint, gitlab.current_user())


def _check_still_wanted(mr: MergeRequest, event: MergeRequestEvent, trigger: str) -> None:
    ref = f"!{event.iid}"
    if mr.state != "opened":
        raise RunEnded(
            Run.Status.CANCELLED,
            f"merge_request_{mr.state}",
            f"MR {ref} was {mr.state} before the review started; nothing to review.",
        )
    if mr.sha and mr.sha != event.head_sha:
        raise RunEnded(
            Run.Status.SUPERSEDED,
            "head_moved",
            f"MR {ref} moved on to commit {mr.sha[:8]} before the review of "
            f"{event.head_sha[:8]} started; the review of the newer push replaces this one.",
        )
    if mr.draft and trigger != "review_command":
        raise RunEnded(
            Run.Status.CANCELLED,
            "merge_request_draft",
            f"MR {ref} was marked as draft before the review started; comment /review to "
            "review a draft.",
        )


def _diff_ready(mr: MergeRequest, head_sha: str) -> bool:
    return bool(mr.prepared_at) and mr.head_sha == head_sha


def _not_ready(run: Run, message: str) -> Exception:
    waits = run.waits + 1
    if waits > settings.HUB_GITLAB_DIFF_WAITS:
        return StepError(
            "diff_not_ready",
            f"{message} after {waits - 1} looks; GitLab may be overloaded or the MR's diff "
            "exceeds the instance's diff limits. Comment /review on the MR to try again.",
            retryable=False,
        )
    delay = retry_delay(waits, base=settings.HUB_GITLAB_DIFF_WAIT_SECONDS, cap=30)
    return NotReady(message, waits=waits, delay=delay)


def _input_form(app: DifyApp) -> list[InputField]:
    """The app's input form; read from Dify once if the app was never checked."""
    if app.checked_at is None and not app.input_form:
        with app.client() as client:
            parameters = client.parameters()  # DifyError propagates: the engine handles it
        app.input_form = form_to_json(parameters.input_form)
        DifyApp.objects.filter(pk=app.pk).update(input_form=app.input_form)
    return app.fields


def _short(event: MergeRequestEvent) -> str:
    return f"!{event.iid} at {event.head_sha[:8]}"
