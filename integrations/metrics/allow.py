"""HUB_METRICS_ALLOW: the client addresses that may scrape /metrics without a key."""

from __future__ import annotations

import ipaddress

from django.core.exceptions import ImproperlyConfigured

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def allowed_networks(text: str) -> tuple[Network, ...]:
    """Comma-separated addresses or networks ("10.0.0.5, 192.168.1.0/24, ::1"); "" for none.

    No "*": an open /metrics should be a choice written out (0.0.0.0/0,::/0), not a
    wildcard copied from FORWARDED_ALLOW_IPS.
    """
    parts = [part.strip() for part in text.split(",") if part.strip()]
    try:
        return tuple(ipaddress.ip_network(part, strict=False) for part in parts)
    except ValueError as exc:
        raise ImproperlyConfigured(
            f"HUB_METRICS_ALLOW={text!r}: {exc}. Use addresses or networks, comma-separated "
            "(e.g. 10.0.0.5,192.168.1.0/24), or leave it empty to require a key."
        ) from None


def is_allowed(address: str | None, networks: tuple[Network, ...]) -> bool:
    if not address or not networks:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    # An IPv4 client seen through an IPv6 socket (::ffff:10.0.0.5) is still 10.0.0.5.
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return any(ip.version == net.version and ip in net for net in networks)
