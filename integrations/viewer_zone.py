"""Times in the viewer's zone: theirs if they chose one (Preferences), else their browser's
(hub-admin.js keeps it in the `hub_tz` cookie), else the hub's TIME_ZONE. No query per
request: a chosen zone is kept in the session when it is saved and at login."""

from __future__ import annotations

from urllib.parse import unquote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils import timezone

COOKIE = "hub_tz"
SESSION_KEY = "hub_time_zone"


def zone_for(request: HttpRequest) -> ZoneInfo | None:
    session = getattr(request, "session", None)
    # The script writes the cookie URL-encoded (Asia%2FShanghai), as cookies must be.
    cookie = unquote(request.COOKIES.get(COOKIE) or "")
    for name in ((session or {}).get(SESSION_KEY), cookie):
        if name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue  # a cookie anyone can set: only a real zone counts
    return None


class ViewerTimeZone:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        zone = zone_for(request)
        if zone is not None:
            timezone.activate(zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


def remember(request: HttpRequest, name: str) -> None:
    """After the person saved a zone (or "" for the browser's)."""
    request.session[SESSION_KEY] = name


@receiver(user_logged_in)
def _load_choice(sender, request, user, **kwargs) -> None:
    if request is None or not hasattr(request, "session"):
        return
    choice = getattr(getattr(user, "hub_preference", None), "time_zone", "")
    request.session[SESSION_KEY] = choice
