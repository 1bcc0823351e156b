"""The login page with the single sign-on button, and the library's two views made to end
every failure on that page with a message saying who said no and what to do.

Failures the library would answer with a 400 or a 500: an unknown `state` (an old tab, a
replayed callback: SuspiciousOperation), an IdP that cannot be reached while the login starts
(discovery), and everything the backend turns into LoginRefused or ProviderFailed.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.views.generic import View
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from integrations.sso import discovery
from integrations.sso.errors import ProviderFailed

log = logging.getLogger(__name__)


def admin_login(request: HttpRequest) -> HttpResponse:
    """The admin's login page (routed before the admin's own URLs), with the button when SSO
    is on and without the password form when HUB_LOCAL_LOGIN=false."""
    if request.method == "POST" and not settings.HUB_LOCAL_LOGIN:
        messages.error(
            request,
            "The hub refused the password: password login is switched off on this hub "
            f"(HUB_LOCAL_LOGIN=false). Log in with {settings.HUB_OIDC_NAME}.",
        )
        return HttpResponseRedirect(request.get_full_path())
    context = {
        "sso_enabled": settings.HUB_OIDC_ENABLED,
        "sso_name": settings.HUB_OIDC_NAME,
        "password_login_off": not settings.HUB_LOCAL_LOGIN,
    }
    return admin.site.login(request, extra_context=context)


def is_sso_attempt(request: HttpRequest, credentials: dict | None) -> bool:
    """AXES_WHITELIST_CALLABLE while SSO is on: a refused callback is not a failed login to
    count. Nothing there can be guessed (the code is bound to this session's state and PKCE
    verifier; the IdP guards its own passwords), and the attempts carry no username, so
    counting them would lock everyone behind one address out of SSO. Only the callback view
    passes a nonce to authenticate(); password logins are counted as before."""
    return bool(credentials) and "nonce" in credentials


def back_to_login(request: HttpRequest, message: str) -> HttpResponse:
    messages.error(request, message)
    return HttpResponseRedirect(reverse("admin:login"))


def _require_sso() -> None:
    if not settings.HUB_OIDC_ENABLED:
        raise Http404("Single sign-on is not configured (HUB_OIDC_ISSUER).")


class SSOStart(OIDCAuthenticationRequestView):
    """/oidc/authenticate/: to the IdP's authorization endpoint, found by discovery."""

    def __init__(self, **kwargs) -> None:
        # Skips the library's __init__, which reads the endpoint from settings: it is
        # discovered in get(), where a failure can still be shown on the login page.
        View.__init__(self, **kwargs)

    def get(self, request: HttpRequest) -> HttpResponse:
        _require_sso()
        try:
            self.OIDC_OP_AUTH_ENDPOINT = discovery.provider().authorization_endpoint
        except ProviderFailed as exc:
            log.warning("single sign-on could not start: %s", exc)
            return back_to_login(request, str(exc))
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
        return super().get(request)


class SSOCallback(OIDCAuthenticationCallbackView):
    """/oidc/callback/: where the IdP sends the browser back with a code, or an error."""

    def get(self, request: HttpRequest) -> HttpResponse:
        _require_sso()
        try:
            return super().get(request)
        except SuspiciousOperation:
            return back_to_login(request, self._stale())

    @property
    def success_url(self) -> str:
        return self.request.session.get("oidc_login_next") or reverse("admin:index")

    def login_failure(self) -> HttpResponse:
        failure = getattr(self.request, "sso_failure", None)
        return back_to_login(self.request, str(failure) if failure else self._why())

    def _why(self) -> str:
        name, query = settings.HUB_OIDC_NAME, self.request.GET
        if error := query.get("error"):
            # RFC 6749 §4.1.2.1: error, and maybe error_description, on the redirect.
            said = (
                f"{error}: {query['error_description']}"
                if query.get("error_description")
                else error
            )
            return (
                f"{name} refused the login ({said}). Nobody was logged in. If you should have "
                f"access, ask whoever manages {name} to let you use the hub."
            )
        if "oidc_states" not in self.request.session:
            return self._stale()
        return f"The login through {name} did not complete. Nobody was logged in; try again."

    def _stale(self) -> str:
        return (
            f"The hub did not accept the answer from {settings.HUB_OIDC_NAME}: it belongs to "
            "no login started in this browser (an old tab, or the session expired). Nobody "
            "was logged in; start again with the button."
        )
