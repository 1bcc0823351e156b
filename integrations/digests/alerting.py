"""A digest run that ended in trouble raises an alert: failed, or delivered to only some of
its recipients or none (see runs/alerts.py for who is told, and how often)."""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext

from integrations.hub_language import hub_language
from integrations.models import Run
from integrations.runs import alerts


def digest_trouble(run_id: int) -> None:
    run = Run.objects.select_related("digest").filter(pk=run_id).first()
    if run is None:
        return
    with hub_language():  # the alert's words are written now, in the hub's language
        title, line = _words(run)
    if settings.HUB_PUBLIC_URL:
        line += f" {settings.HUB_PUBLIC_URL}/admin/integrations/run/{run.pk}/change/"
    alerts.report(f"digest:{run.digest_id or 'deleted'}", title, line)


def _words(run: Run) -> tuple[str, str]:
    name = run.digest.name if run.digest else gettext("(deleted)")
    # Whole sentences, so that a language can put the run's number where it belongs.
    sentence = {
        Run.Status.FAILED: gettext("Run #%(run)s failed: %(reason)s"),
        Run.Status.PARTIALLY_DELIVERED: gettext(
            "Run #%(run)s reached only some recipients: %(reason)s"
        ),
    }.get(run.status) or gettext("Run #%(run)s sent nothing: %(reason)s")
    reason = run.error_message or gettext("no reason recorded")
    line = sentence % {"run": run.pk, "reason": reason}
    return gettext("digest '%(name)s' is in trouble") % {"name": name}, line
