"""The minutely sweep that beat runs (see the migration that installs it)."""

from __future__ import annotations

import logging
from datetime import datetime

from integrations.digests.firing import catch_up
from integrations.models import Digest
from integrations.runs import alerts
from integrations.runs.recovery import end_stuck_runs

log = logging.getLogger(__name__)

HOUSEKEEPING_TASK_NAME = "dify-hub housekeeping"
RECOVERY_TASK_NAME = "dify-hub recovery"


def sweep(now: datetime) -> dict:
    """Catch up missed digest slots; end runs past their app's run timeout; send the
    alerts bundled since their last message."""
    summary: dict = {"caught_up": 0}
    for digest in Digest.objects.filter(enabled=True).select_related("app"):
        summary["caught_up"] += len(catch_up(digest, now))
    summary["ended"] = end_stuck_runs(now)
    summary["alerts"] = alerts.send_due(now)
    if any(summary.values()):
        log.info("housekeeping: %s", summary)
    return summary
