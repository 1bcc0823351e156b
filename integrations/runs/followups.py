"""What happens around a run, per kind: preparing its inputs before Dify is called, and what
follows a success. Registered here, in one place."""

from __future__ import annotations

from django.utils.module_loading import import_string

from integrations.models import Run

# kind -> function(run) -> inputs for Dify; may raise runs.steps.StepError/NotReady/RunEnded.
PREPARERS: dict[str, str] = {
    Run.Kind.MERGE_REQUEST_REVIEW: "integrations.gitlab.review.prepare",
}
# kind -> function(run), called inside the transaction that marked the run succeeded.
FOLLOWUPS: dict[str, str] = {
    Run.Kind.DIGEST: "integrations.digests.delivery.start_deliveries",
    Run.Kind.MERGE_REQUEST_REVIEW: "integrations.gitlab.review.start_deliveries",
}


def prepare(run: Run) -> dict:
    """The inputs to send to Dify for this attempt."""
    path = PREPARERS.get(run.kind)
    return import_string(path)(run) if path else run.inputs


def after_success(run: Run) -> None:
    path = FOLLOWUPS.get(run.kind)
    if path:
        import_string(path)(run)
