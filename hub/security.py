"""HTTPS in one switch and the security headers: the rules settings.py applies.

Pure functions of the values settings.py reads from the environment, so each rule is tested
without starting Django (tests/hub/test_security.py); the README's "Putting it on the
internet" explains them to operators.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

# One hour: long enough for `check --deploy`, short enough that a mistake (a host that must
# answer plain HTTP after all, a certificate that lapses) locks browsers out for an hour, not
# a year. Raise it to 31536000 once HTTPS has worked for a while.
HSTS_DEFAULT_SECONDS = 3600

# Answered over plain HTTP as well when SECURE_SSL_REDIRECT is on (patterns match the path
# without its leading "/"). /healthz: load balancers probe it inside the network, over HTTP.
# /hooks/: GitLab does not follow redirects and counts a 301 as a failed delivery (and
# disables a hook that keeps failing); GitHub and Gitea do not follow one either. A redirect
# would not protect anything there: by the time it is answered, the token and the body have
# already crossed the network. The forge should be given the https:// URL (the admin shows
# it from HUB_PUBLIC_URL); a forge inside the same private network may call over HTTP.
# /metrics: Prometheus scrapes from inside the network, often over HTTP and often allowed by
# address (HUB_METRICS_ALLOW); with a key, the redirect would come after the key had
# crossed, as for the hooks. Scrape the https:// URL when the network is not yours.
SSL_REDIRECT_EXEMPT = [r"^healthz$", r"^hooks/", r"^metrics$"]

# Django's admin runs under this policy: it has no inline scripts (its few <script> tags have
# a src and pass data in data- attributes), and its one inline <style> (change_list.html)
# appears only when a ModelAdmin turns off both actions_on_top and actions_on_bottom, which
# none here does. The hub's own admin code uses CSS classes from
# integrations/static/integrations/hub.css and behaviour from hub-admin.js instead of style=
# and onclick= attributes (a nonce cannot allow an attribute); tests/hub/
# test_security_headers.py parses the admin's pages for inline code. NONCE is sent only on a
# page that uses `{{ request.csp_nonce }}` (none does today). A form that posts to or
# redirects through another site (a single sign-on provider) needs its origin in form-action.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "img-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}


def public_origin(public_url: str) -> str:
    """scheme://host[:port] of HUB_PUBLIC_URL ("" when it is empty)."""
    if not public_url:
        return ""
    parts = urlsplit(public_url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ImproperlyConfigured(
            f"HUB_PUBLIC_URL={public_url!r} is not an http:// or https:// address "
            "(for example https://hub.example.com)."
        )
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2].lower()}"


def check_https(https: bool, public_url: str) -> bool:
    """HTTPS mode (HUB_HTTPS, by default on when HUB_PUBLIC_URL is https://), refused when
    the public address says plain HTTP: cookies marked secure would never come back."""
    if https and public_url.startswith("http://"):
        raise ImproperlyConfigured(
            f"HUB_HTTPS is on but HUB_PUBLIC_URL={public_url!r} is http://; "
            "make HUB_PUBLIC_URL https:// or set HUB_HTTPS=false."
        )
    return https


def trusted_origins(explicit: list[str], public_url: str) -> list[str]:
    """CSRF_TRUSTED_ORIGINS: the ones given, plus the public address's origin."""
    origin = public_origin(public_url)
    return [*explicit, origin] if origin and origin not in explicit else list(explicit)


def silenced_hsts_checks(hsts_seconds: int, include_subdomains: bool, preload: bool) -> list[str]:
    """`check --deploy` warnings that only an unsafe default would satisfy, silenced while the
    operator has not opted in (README, "HSTS").

    security.W005 asks for includeSubDomains: it forces HTTPS on every name under the hub's
    host, which the hub cannot know are all served over HTTPS. security.W021 asks for
    preload: a request to be built into browsers, hard to undo and needing a year's max-age
    and includeSubDomains. Both are the operator's decision about the whole domain.
    """
    if not hsts_seconds:
        return []
    silenced = [] if include_subdomains else ["security.W005"]
    return silenced + ([] if preload else ["security.W021"])
