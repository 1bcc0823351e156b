"""The client address a failed login is counted against (AXES_CLIENT_IP_CALLABLE).

Directly on the internet that is the TCP peer, REMOTE_ADDR, which no client can change.
Behind a reverse proxy REMOTE_ADDR is the proxy's own address, so every client would share
one lock; there the address is the *last* entry of X-Forwarded-For, the one the proxy
appended itself. Entries before it are whatever the client sent, so they are never used.

The peer counts as that proxy when gunicorn would believe its forwarded headers too: its
address is in FORWARDED_ALLOW_IPS (gunicorn's own setting, 127.0.0.1 unless set), or
HUB_TRUSTED_PROXY says every peer is the proxy. The same rule as for X-Forwarded-Proto
(README, "HTTPS").
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest

from integrations.networks import Network, contains, parse_networks


def trusted_peers(forwarded_allow_ips: str) -> tuple[Network, ...] | None:
    """FORWARDED_ALLOW_IPS as gunicorn reads it: comma-separated addresses or networks, "*"
    for any (None here). Its default is gunicorn's: 127.0.0.1 and ::1."""
    if "*" in [part.strip() for part in forwarded_allow_ips.split(",")]:
        return None
    try:
        return parse_networks(forwarded_allow_ips)
    except ValueError as exc:
        raise ImproperlyConfigured(
            f"FORWARDED_ALLOW_IPS={forwarded_allow_ips!r}: {exc}. Use the proxy's addresses "
            "or networks, comma-separated (e.g. 10.0.0.2,192.168.1.0/24), or * for any."
        ) from None


def client_address(request: HttpRequest) -> str | None:
    peer = request.META.get("REMOTE_ADDR") or None
    if peer is None or not _is_proxy(peer):
        return peer
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    appended = forwarded.rsplit(",", 1)[-1].strip()
    return _address(appended) or peer


def _is_proxy(peer: str) -> bool:
    if settings.HUB_TRUSTED_PROXY:
        return True
    networks = settings.HUB_FORWARDED_ALLOW_IPS
    return networks is None or contains(networks, peer)


def _address(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None
