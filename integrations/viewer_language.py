"""The admin in the viewer's language: theirs if they chose one (Preferences), else their
browser's (Accept-Language, which Django's LocaleMiddleware reads just before this), else
English. Like viewer_zone.py: no query per request, the choice is kept in the session when it
is saved and at login. Everything outside the admin (the API, webhooks, metrics, health)
answers in English whatever the caller's Accept-Language: programs read those answers."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils import translation

SESSION_KEY = "hub_language"
ADMIN_PREFIX = "/admin/"


def chosen_language(request: HttpRequest) -> str:
    """The language the person chose, if it is still one the hub speaks; else ""."""
    session = getattr(request, "session", None)
    code = (session or {}).get(SESSION_KEY) or ""
    return code if code in dict(settings.LANGUAGES) else ""


class ViewerLanguage:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        if not request.path_info.startswith(ADMIN_PREFIX):
            code = settings.LANGUAGE_CODE
        else:
            code = chosen_language(request)
        if code:
            translation.activate(code)
            request.LANGUAGE_CODE = translation.get_language()
        return self.get_response(request)


def remember(request: HttpRequest, code: str) -> None:
    """After the person saved a language (or "" for the browser's)."""
    request.session[SESSION_KEY] = code


@receiver(user_logged_in)
def _load_choice(sender, request, user, **kwargs) -> None:
    if request is None or not hasattr(request, "session"):
        return
    choice = getattr(getattr(user, "hub_preference", None), "language", "")
    request.session[SESSION_KEY] = choice
