"""Times as the overview shows them, in the admin's one format (integrations/admin/common.py,
`when`): "3 minutes ago" on the page, the exact time in the viewer's zone (the hub's
TIME_ZONE unless they chose or their browser says another), with its abbreviation, on hover."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo

from django.contrib.humanize.templatetags.humanize import naturaltime


@dataclass(frozen=True)
class Moment:
    at: datetime
    relative: str  # "3 minutes ago", "2 hours from now"
    exact: str  # "2026-05-04 08:00:00 CEST"

    @property
    def iso(self) -> str:
        return self.at.isoformat()


def moment(at: datetime | None, zone: tzinfo) -> Moment | None:
    if at is None:
        return None
    return Moment(at, str(naturaltime(at)), f"{at.astimezone(zone):%Y-%m-%d %H:%M:%S %Z}")
