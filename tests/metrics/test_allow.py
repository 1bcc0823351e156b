"""HUB_METRICS_ALLOW: addresses and networks, parsed once at start-up (no database)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from integrations.metrics.allow import allowed_networks, is_allowed


def test_empty_allows_nobody():
    assert allowed_networks("") == ()
    assert not is_allowed("127.0.0.1", allowed_networks(" , "))


def test_addresses_and_networks_of_both_families():
    networks = allowed_networks("10.0.0.5, 192.168.1.0/24,2001:db8::/32")
    assert is_allowed("10.0.0.5", networks)
    assert not is_allowed("10.0.0.6", networks)
    assert is_allowed("192.168.1.200", networks)
    assert is_allowed("2001:db8::1", networks)
    assert not is_allowed("2001:db9::1", networks)


def test_an_ipv4_client_through_an_ipv6_socket_is_still_itself():
    assert is_allowed("::ffff:10.0.0.5", allowed_networks("10.0.0.5"))


@pytest.mark.parametrize("address", [None, "", "not-an-address"])
def test_no_or_unparsable_address_is_not_allowed(address):
    assert not is_allowed(address, allowed_networks("0.0.0.0/0"))


@pytest.mark.parametrize("text", ["*", "10.0.0.300", "prometheus.internal"])
def test_anything_else_stops_the_start_with_the_fix(text):
    with pytest.raises(ImproperlyConfigured, match="HUB_METRICS_ALLOW=.*comma-separated"):
        allowed_networks(text)
