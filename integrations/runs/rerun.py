"""Retrying a finished run on request: a new run with the same inputs, linked to the old one."""

from __future__ import annotations

from django.db import transaction

from integrations.models import Run
from integrations.runs import dispatch

# What a retry takes over. Not the digest slot (unique per digest: the retry is a manual run
# outside the schedule) and not the dedupe key (unique: the old run holds it).
COPIED_FIELDS = (
    "app_id",
    "kind",
    "source",
    "inputs",
    "query",
    "dify_user",
    "digest_id",
    "gitlab_endpoint_id",
    "context",
    "merge_request_key",
    "head_sha",
)


class RunNotFinal(Exception):
    """Only a run that has ended can be retried."""


def retry_run(run: Run) -> Run:
    """Queue a new run with `run`'s app and inputs; raise RunNotFinal if `run` has not ended."""
    if not run.is_final:
        raise RunNotFinal(
            f"Run #{run.pk} is {run.get_status_display().lower()}; only a run that has ended "
            f"({', '.join(str(status) for status in Run.FINAL)}) can be retried."
        )
    with transaction.atomic():
        retry = Run.objects.create(
            retry_of=run, **{field: getattr(run, field) for field in COPIED_FIELDS}
        )
        dispatch.execute(retry.pk)
    return retry
