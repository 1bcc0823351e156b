"""What a succeeded digest run sends, and to whom."""

from __future__ import annotations

from integrations.digests import schedule
from integrations.digests.messages import OutputError, select_output
from integrations.models import Run
from integrations.runs.delivery import begin, recipient_targets, settle_now


def start_deliveries(run: Run) -> None:
    """Follow-up of a succeeded digest run; called inside the run's final transaction."""
    digest = run.digest
    if digest is None:
        settle_now(run, Run.Status.FAILED, "no_digest", "The digest was deleted; output kept here.")
        return
    try:
        text = select_output(run.outputs, digest.output_key)
    except OutputError as exc:
        settle_now(run, Run.Status.FAILED, "no_output", f"Digest '{digest.name}': {exc}")
        return
    context = schedule.slot_context(run.slot or run.created_at, digest.timezone, digest.name)
    message = {
        "title": schedule.render(digest.title, context),
        "text": text,
        "footer": schedule.render(digest.footer, context),
    }
    recipients = list(digest.recipients.filter(enabled=True))
    if not recipients:
        Run.objects.filter(pk=run.pk).update(message=message)
        settle_now(
            run,
            Run.Status.FAILED,
            "no_recipients",
            f"Digest '{digest.name}' has no enabled recipients; the output is kept in this run.",
        )
        return
    begin(run, message, recipient_targets(recipients))
