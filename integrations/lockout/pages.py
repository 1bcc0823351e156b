"""The page a locked-out login gets (AXES_LOCKOUT_CALLABLE)."""

from __future__ import annotations

from axes.helpers import get_cool_off
from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone


def lockout_response(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict | None = None,
) -> HttpResponse:
    """429 with when to try again. The same page whether the username exists or not (axes
    counts failures for any name typed), so it tells an attacker nothing about accounts.

    Every failed attempt during the pause starts the cool-off again
    (AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT), so "now + cool-off" is exact."""
    cool_off = get_cool_off(request)
    minutes = round(cool_off.total_seconds() / 60)
    context = {
        **admin.site.each_context(request),
        "title": "Too many failed logins",
        "until": timezone.localtime(timezone.now() + cool_off),
        "minutes": minutes,
    }
    response = render(
        request, "admin/locked_out.html", context, status=settings.AXES_HTTP_RESPONSE_CODE
    )
    response["Retry-After"] = str(int(cool_off.total_seconds()))
    return response
