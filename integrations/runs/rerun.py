"""On request: retrying a finished run (a new run with the same inputs, linked to the old
one), or sending its output again to the targets it did not reach."""

from __future__ import annotations

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from integrations.models import Delivery, Run
from integrations.runs import dispatch, kinds
from integrations.runs.outputs import OutputError

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
    "review_endpoint_id",
    "context",
    "merge_request_key",
    "head_sha",
)


class RunNotFinal(Exception):
    """Only a run that has ended can be retried."""


def retry_run(run: Run, *, inputs: dict | None = None, query: str | None = None) -> Run:
    """Queue a new run with `run`'s app and inputs (or these `inputs` and `query`: "run again
    with other inputs"); raise RunNotFinal if `run` has not ended (or has no app to run: an
    alert, which is sent again with `redeliver`)."""
    if run.app_id is None:
        raise RunNotFinal(
            f"Run #{run.pk} is the hub's own alert, not an app run: send it again instead."
        )
    if run.parent_id is not None:
        raise RunNotFinal(
            f"Run #{run.pk} is part {run.part} of the review run #{run.parent_id}: retry that "
            "review instead. Its parts that succeeded are reused, so only the others run again."
        )
    if not run.is_final:
        raise RunNotFinal(
            f"Run #{run.pk} is {run.get_status_display().lower()}; only a run that has ended "
            f"({', '.join(str(status) for status in Run.FINAL)}) can be retried."
        )
    fields = {field: getattr(run, field) for field in COPIED_FIELDS}
    if inputs is not None:
        fields["inputs"] = inputs
    if query is not None:
        fields["query"] = query
    with transaction.atomic():
        retry = Run.objects.create(retry_of=run, **fields)
        dispatch.execute(retry.pk)
    return retry


class NotRedeliverable(Exception):
    """The run has nothing to send again, or the output still cannot be picked."""


def redeliver(run: Run, *, only: int | None = None) -> int:
    """Send a finished run's output again to the targets it failed to reach (or to the one
    delivery `only`, whatever became of it), without running Dify again. The message is
    composed anew when there was none (no output could be picked before: the settings may be
    fixed now). Returns how many deliveries were queued."""
    if not run.is_final:
        raise NotRedeliverable(
            f"Run #{run.pk} is {run.get_status_display().lower()}; wait until it has ended."
        )
    chosen = run.deliveries.filter(
        **(
            {"pk": only, "status__in": Delivery.FINAL}
            if only
            else {"status": Delivery.Status.FAILED}
        )
    )
    failed = list(chosen.values_list("pk", flat=True))
    if only and not failed:
        raise NotRedeliverable(f"Delivery #{only} of run #{run.pk} has not ended yet.")
    if not failed:
        hint = " Retry runs the app again." if run.outputs is None else ""
        raise NotRedeliverable(f"Run #{run.pk} has no failed delivery to send again.{hint}")
    message = run.message
    if not message:
        try:
            message = kinds.compose(run)
        except OutputError as exc:
            raise NotRedeliverable(f"The hub: still nothing to send: {exc}.") from None
    now = timezone.now()
    with transaction.atomic():
        if not Run.objects.filter(pk=run.pk, status__in=Run.FINAL).update(
            status=Run.Status.DELIVERING,
            message=message,
            error_code="",
            error_message="",
            error_source="",
            finished_at=None,
            updated_at=now,
        ):
            raise NotRedeliverable(f"Run #{run.pk} changed meanwhile; look at it again.")
        # One that was delivered and is sent again on request goes out whole again.
        Delivery.objects.filter(pk__in=failed, status=Delivery.Status.DELIVERED).update(
            parts_sent=0
        )
        Delivery.objects.filter(pk__in=failed, status__in=Delivery.FINAL).update(
            status=Delivery.Status.PENDING,
            error="",
            error_source="",
            attempts_before=F("attempts"),
            finished_at=None,
            next_attempt_at=None,
            holder="",
            updated_at=now,
        )
        for delivery_id in failed:
            dispatch.deliver(delivery_id)
    run.status, run.message = Run.Status.DELIVERING, message
    return len(failed)
