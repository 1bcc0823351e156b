"""HUB_METRICS_ALLOW: the client addresses that may scrape /metrics without a key."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from integrations.networks import Network, contains, parse_networks


def allowed_networks(text: str) -> tuple[Network, ...]:
    """Comma-separated addresses or networks ("10.0.0.5, 192.168.1.0/24, ::1"); "" for none.

    No "*": an open /metrics should be a choice written out (0.0.0.0/0,::/0), not a
    wildcard copied from FORWARDED_ALLOW_IPS.
    """
    try:
        return parse_networks(text)
    except ValueError as exc:
        raise ImproperlyConfigured(
            f"HUB_METRICS_ALLOW={text!r}: {exc}. Use addresses or networks, comma-separated "
            "(e.g. 10.0.0.5,192.168.1.0/24), or leave it empty to require a key."
        ) from None


def is_allowed(address: str | None, networks: tuple[Network, ...]) -> bool:
    return contains(networks, address)
