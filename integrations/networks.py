"""Lists of addresses and networks from settings ("10.0.0.5, 192.168.1.0/24, ::1"), and
whether a client address is in one. Pure: settings.py parses with it."""

from __future__ import annotations

import ipaddress

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(text: str) -> tuple[Network, ...]:
    """Comma-separated addresses or networks; ValueError naming the one that is neither."""
    parts = [part.strip() for part in text.split(",") if part.strip()]
    return tuple(ipaddress.ip_network(part, strict=False) for part in parts)


def contains(networks: tuple[Network, ...], address: str | None) -> bool:
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
