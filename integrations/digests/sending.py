"""What a succeeded digest run sends, and to whom."""

from __future__ import annotations

from integrations import placeholders
from integrations.digests import schedule
from integrations.models import Run
from integrations.runs.delivery import begin, recipient_targets, settle_now, undeliverable
from integrations.runs.outputs import OutputError, select_output

SETTING = "Output to send"


def send(run: Run) -> None:
    """Follow-up of a succeeded digest run; called inside the run's final transaction."""
    digest = run.digest
    if digest is None:
        settle_now(
            run,
            Run.Status.FAILED,
            "no_digest",
            "The hub: the digest was deleted; output kept here.",
        )
        return
    recipients = list(digest.recipients.filter(enabled=True))
    try:
        message = compose(run)
    except OutputError as exc:
        undeliverable(run, recipient_targets(recipients), f"digest '{digest.name}': {exc}")
        return
    if not recipients:
        Run.objects.filter(pk=run.pk).update(message=message)
        settle_now(
            run,
            Run.Status.FAILED,
            "no_recipients",
            f"The hub: digest '{digest.name}' has no enabled recipients; the output is kept in "
            "this run.",
        )
        return
    begin(run, message, recipient_targets(recipients))


def compose(run: Run) -> dict:
    """The message of a succeeded digest run, from its outputs and the digest's settings now."""
    digest = run.digest
    if digest is None:
        raise OutputError("the digest was deleted")
    text = select_output(run.outputs, digest.output_key, setting=SETTING)
    context = schedule.slot_context(
        run.slot or run.created_at, digest.timezone, digest.name, digest.language
    )
    return {
        "title": placeholders.render(digest.title, context),
        "text": text,
        "footer": placeholders.render(digest.footer, context),
    }
