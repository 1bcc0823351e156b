"""Clients share one connection pool per process: a run or a delivery makes its own client,
and must not pay a TCP (and TLS) handshake for each."""

from __future__ import annotations

from integrations.dify import DifyClient
from tests.fakes.dify import FakeDify


def test_clients_made_one_after_another_reuse_one_connection():
    with FakeDify() as dify:
        for _ in range(5):
            with DifyClient(dify.url, dify.api_key) as client:
                client.parameters()
        assert len(dify.requests_to("/parameters")) == 5
        assert dify.connections_accepted == 1


def test_a_closed_client_leaves_the_pool_to_the_others():
    with FakeDify() as dify:
        first = DifyClient(dify.url, dify.api_key)
        first.parameters()
        first.close()
        with DifyClient(dify.url, dify.api_key) as second:
            second.parameters()
        assert dify.connections_accepted == 1
