"""A pull-request review run on GitHub, Gitea or Forgejo: read the pull request from the
forge before Dify is called, then send the review to the pull request (one comment, edited in
place) and to chat recipients.

Gitea and Forgejo shape their payloads and API after GitHub's, so one module serves all
three: each forge's client answers the same calls (``pull_request``, ``files``, the comment
calls) with the same plain values. The delivery only triggers the review: what the review
reads and what the comment says come from the forge's API, read fresh on every attempt. A
``/review`` comment's delivery names no head commit (GitHub's never does), so the head the
review reads is the one it reviews.
"""

from __future__ import annotations

import logging

from django.conf import settings

from integrations.checks.gitlab_endpoint import remember_bot, whoami
from integrations.errors import HubError
from integrations.forges.common import branch_matches
from integrations.forges.gitea.errors import GiteaError
from integrations.forges.github.errors import GitHubError
from integrations.forges.github.payload import PullRequestEvent
from integrations.forges.github.types import FileDiff as GitHubFile
from integrations.forges.github.types import PullRequest
from integrations.forges.parts import split_if_large
from integrations.forges.review_comments import inline_comments, with_inline_section
from integrations.forges.rounds import add_round_inputs, who_reviews_the_newer_head
from integrations.gitlab.review_inputs import (
    build_diff,
    change_line,
    diff_budget_for,
    fit_inputs,
)
from integrations.gitlab.types import FileDiff
from integrations.models import ReviewEndpoint, Run
from integrations.runs.backoff import retry_delay
from integrations.runs.delivery import Target, begin, recipient_targets, settle_now, undeliverable
from integrations.runs.dify_call import ensure_form
from integrations.runs.kinds import NotReady, RunEnded
from integrations.runs.outputs import OutputError, select_output

log = logging.getLogger(__name__)

COMMENT_KIND = "pr_comment"
INLINE_KIND = "pr_inline"
OUTPUT_SETTING = "Output with the review"
# The error class of each forge's "not ready yet", so the run says who said it.
ERRORS: dict[str, type[HubError]] = {"github": GitHubError, "gitea": GiteaError}


def pull_request_of(run: Run) -> PullRequestEvent:
    return PullRequestEvent.from_dict((run.context or {})["pull_request"])


def prepare(run: Run) -> dict:
    """The Dify inputs for this review, read fresh from the forge on every attempt."""
    endpoint = _endpoint(run)
    event = pull_request_of(run)
    trigger = (run.context or {}).get("trigger", "")
    who = endpoint.get_forge_display()
    with endpoint.client(event.installation_id) as forge:
        _learn_bot_identity(endpoint, forge)
        pr = forge.pull_request(event.repository, event.number)
        if event.before_sha and pr.head_sha == event.before_sha:
            # The delivery can arrive before the API shows the push it announces.
            raise _not_ready(
                run,
                endpoint,
                f"{who}'s API does not show {event.short_ref} at {event.head_sha[:8]} yet",
            )
        _check_commenter(endpoint, forge, event, trigger)
        _check_still_wanted(run, endpoint, pr, event, trigger)
        files = [as_file_diff(f, who) for f in forge.files(event.repository, event.number)]
    form = ensure_form(run.app)
    budget = diff_budget_for(form, endpoint.input_mapping or {}, endpoint.diff_budget)
    diff = build_diff(files, budget)
    _remember_what_was_read(run, event, pr)
    values = {
        "forge": endpoint.forge,
        "repository": event.repository,
        "number": str(event.number),
        "project_path": event.repository,
        "project_id": str(event.repository_id),
        "mr_iid": str(event.number),
        "title": pr.title,
        "description": pr.body,
        "url": pr.url or event.url,
        "source_branch": pr.source_branch,
        "target_branch": pr.target_branch,
        "author": pr.author or event.author,
        "action": trigger,
        "head_sha": pr.head_sha,
        "changed_files": "\n".join(change_line(f) for f in files),
        "diff": diff.text,
        "omitted_files": "\n".join(f"{path} ({why})" for path, why in diff.omitted),
        "focus": event.focus,
    }
    compare = _comparer(endpoint, event, pr.head_sha, who)
    add_round_inputs(run, values, diff, pr.head_sha, compare, budget, files)
    split_if_large(run, endpoint, files, diff, budget, values, form)
    return fit_inputs(values, form, endpoint.input_mapping or {})


def _comparer(endpoint: ReviewEndpoint, event: PullRequestEvent, head: str, who: str):
    """``compare(base)``: the files changed since ``base``, as the diff builder reads them."""
    if endpoint.is_gitea:  # its compare API lists commits and names, no patches
        return None

    def compare(base: str) -> list[FileDiff]:
        with endpoint.client(event.installation_id) as forge:
            return [as_file_diff(f, who) for f in forge.compare(event.repository, base, head)]

    return compare


def as_file_diff(item: GitHubFile, who: str = "GitHub") -> FileDiff:
    """A changed file as the shared diff builder reads it."""
    no_patch = f"no patch from {who} (a binary file, or a diff too large for {who} to show)"
    return FileDiff(
        old_path=item.old_path,
        new_path=item.path,
        diff=item.patch or "",
        new_file=item.status == "added",
        renamed_file=item.status == "renamed",
        deleted_file=item.status == "removed",
        left_out=no_patch if item.patch is None and item.status != "renamed" else "",
    )


def _remember_what_was_read(run: Run, event: PullRequestEvent, pr: PullRequest) -> None:
    context = dict(run.context or {})
    context["read"] = {
        "reference": event.reference,
        "title": pr.title,
        "url": pr.url or event.url,
        "head_sha": pr.head_sha,
    }
    run.context = context  # stored with the inputs (runs/engine.py), in one UPDATE


def _check_commenter(
    endpoint: ReviewEndpoint, forge, event: PullRequestEvent, trigger: str
) -> None:
    """Gitea's comment payloads carry no author association: ask the API (GitHub's do)."""
    if trigger != "review_command" or not hasattr(forge, "may_ask_for_review"):
        return
    if forge.may_ask_for_review(event.repository, event.actor, endpoint.review_command_from or ()):
        return
    raise RunEnded(
        Run.Status.CANCELLED,
        "not_trusted",
        f"The hub: @{event.actor} is neither the owner nor a collaborator of {event.repository}, "
        "so their /review is not honoured (the endpoint's 'who may ask' setting can widen it).",
    )


def _check_still_wanted(
    run: Run, endpoint: ReviewEndpoint, pr: PullRequest, event: PullRequestEvent, trigger: str
) -> None:
    ref = event.reference
    who, source = endpoint.get_forge_display(), endpoint.forge
    if pr.state != "open":
        done = "merged" if pr.merged else "closed"
        raise RunEnded(
            Run.Status.CANCELLED,
            f"pull_request_{done}",
            f"{who}: {ref} was {done} before the review started; nothing to review.",
            source=source,
        )
    if event.head_sha and pr.head_sha != event.head_sha:
        raise RunEnded(
            Run.Status.SUPERSEDED,
            "head_moved",
            f"{who}: {ref} moved on to commit {pr.head_sha[:8]} before the review of "
            f"{event.head_sha[:8]} started, so that review would be out of date; "
            + who_reviews_the_newer_head(run, pr.head_sha),
            source=source,
        )
    if pr.draft and trigger != "review_command":
        raise RunEnded(
            Run.Status.CANCELLED,
            "pull_request_draft",
            f"{who}: {ref} was converted to a draft before the review started; comment "
            "/review to review a draft.",
            source=source,
        )
    globs = tuple(endpoint.target_branches or ())
    if not branch_matches(pr.target_branch, globs):  # a comment's delivery names no branch
        raise RunEnded(
            Run.Status.CANCELLED,
            "target_branch",
            f"The hub: {ref} goes into '{pr.target_branch}', which matches none of the "
            f"endpoint's target branches ({', '.join(globs)}).",
        )


def _not_ready(run: Run, endpoint: ReviewEndpoint, message: str) -> Exception:
    waits = run.waits + 1
    if waits > settings.HUB_GITLAB_DIFF_WAITS:
        return ERRORS[endpoint.forge](
            f"{endpoint.get_forge_display()}: {message} after {waits - 1} looks; comment /review on the pull request to "
            "try again.",
            code="head_not_ready",
        )
    delay = retry_delay(waits, base=settings.HUB_GITLAB_DIFF_WAIT_SECONDS, cap=30)
    return NotReady(message, waits=waits, delay=delay)


def send_comment(run: Run) -> None:
    """Follow-up of a succeeded review; called inside the run's final transaction."""
    endpoint = run.review_endpoint
    if endpoint is None:
        settle_now(run, Run.Status.FAILED, "no_endpoint", "The hub: the endpoint was deleted.")
        return
    event = pull_request_of(run)
    targets = []
    if endpoint.post_note:
        targets.append(Target(name=f"Comment on {event.reference}", kind=COMMENT_KIND))
        if inline_comments(run)[0]:
            targets.append(Target(name=f"Line comments on {event.reference}", kind=INLINE_KIND))
    targets += recipient_targets(endpoint.recipients.filter(enabled=True))
    try:
        message = compose(run)
    except OutputError as exc:
        undeliverable(
            run, targets, f"{endpoint.get_forge_display()} endpoint '{endpoint.name}': {exc}"
        )
        return
    if not targets:
        Run.objects.filter(pk=run.pk).update(message=message)
        return
    begin(run, message, targets)


def compose(run: Run) -> dict:
    endpoint = run.review_endpoint
    if endpoint is None:
        raise OutputError("the endpoint was deleted")
    text = select_output(run.outputs, endpoint.output_key, setting=OUTPUT_SETTING)
    text = with_inline_section(run, text, posted_inline=endpoint.post_note)
    event = pull_request_of(run)
    read = (run.context or {}).get("read") or {}
    head = read.get("head_sha") or event.head_sha
    return {
        "title": f"Review of {event.reference}: {read.get('title') or event.title}"[:300],
        "text": text,
        "footer": f"{read.get('url') or event.url} · commit {head[:8]}",
    }


def _endpoint(run: Run) -> ReviewEndpoint:
    endpoint = run.review_endpoint
    if endpoint is None:
        raise RunEnded(Run.Status.FAILED, "no_endpoint", "The hub: the endpoint was deleted.")
    if not endpoint.enabled:
        raise RunEnded(
            Run.Status.CANCELLED,
            "endpoint_disabled",
            f"The hub: the {endpoint.get_forge_display()} endpoint '{endpoint.name}' was disabled before the review "
            "started.",
        )
    return endpoint


def _learn_bot_identity(endpoint: ReviewEndpoint, forge) -> None:
    if endpoint.bot_username:
        return
    # An installation token cannot call GET /user; the App's bot is read as the App.
    remember_bot(endpoint, whoami(endpoint) if endpoint.uses_github_app else forge.current_user())
