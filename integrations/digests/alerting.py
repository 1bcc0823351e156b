"""A digest run that ended in trouble raises an alert: failed, or delivered to only some of
its recipients or none (see runs/alerts.py for who is told, and how often)."""

from __future__ import annotations

from django.conf import settings

from integrations.models import Run
from integrations.runs import alerts


def digest_trouble(run_id: int) -> None:
    run = Run.objects.select_related("digest").filter(pk=run_id).first()
    if run is None:
        return
    name = run.digest.name if run.digest else "(deleted)"
    what = {
        Run.Status.FAILED: "failed",
        Run.Status.PARTIALLY_DELIVERED: "reached only some recipients",
    }.get(run.status, "sent nothing")
    line = f"Run #{run.pk} {what}: {run.error_message or 'no reason recorded'}"
    if settings.HUB_PUBLIC_URL:
        line += f" {settings.HUB_PUBLIC_URL}/admin/integrations/run/{run.pk}/change/"
    alerts.report(f"digest:{run.digest_id or 'deleted'}", f"digest '{name}' is in trouble", line)
