"""Clients share one connection pool per process: a run or a delivery makes its own client,
and must not pay a TCP (and TLS) handshake for each."""

from __future__ import annotations

import pytest

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


def test_a_hook_runs_before_every_request_even_one_that_fails():
    from integrations.dify.errors import DifyError
    from integrations.http import client as http

    calls = []

    def hook() -> None:
        calls.append(len(calls))

    http.before_each_request(hook)
    http.before_each_request(hook)  # registered once, however often asked
    try:
        with FakeDify() as dify:
            with DifyClient(dify.url, dify.api_key) as client:
                client.parameters()
                client.parameters()
            dead = f"http://127.0.0.1:{dify.port}/v1"
        assert len(calls) == 2
        with DifyClient(dead, "app-x", connect_timeout=1) as client, pytest.raises(DifyError):
            client.parameters()
        assert len(calls) == 3  # the refused connection was still preceded by the hook
    finally:
        http._BEFORE_REQUEST.remove(hook)


def _hold_at_once(url: str, api_key: str, threads: int) -> None:
    """`threads` clients, each with a request open until all of them have one, then read."""
    import threading

    from integrations.http.client import HeaderAuth, HttpClient

    all_open = threading.Barrier(threads, timeout=30)
    failures: list[BaseException] = []

    def one() -> None:
        try:
            auth = HeaderAuth("Authorization", f"Bearer {api_key}")
            client = HttpClient(url, auth=auth)
            with client, client.stream("GET", "/parameters") as answer:
                all_open.wait()  # every connection is in use at this moment
                for _ in answer.chunks():
                    pass
        except BaseException as exc:  # noqa: BLE001 - reported below, in the test's thread
            failures.append(exc)

    workers = [threading.Thread(target=one) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert failures == []


@pytest.mark.parametrize(("kept", "accepted"), [(0, 2 * 140 - 128), (160, 140)])
def test_as_many_connections_are_kept_as_a_worker_has_threads(kept, accepted):
    from integrations.http import client as http

    http.keep_connections(kept)  # 0: the default of 128 per host
    try:
        with FakeDify() as dify:
            _hold_at_once(dify.url, dify.api_key, 140)
            _hold_at_once(dify.url, dify.api_key, 140)
            # 140 at once, twice: the second round reuses what the first round kept.
            assert dify.connections_accepted == accepted
    finally:
        http.keep_connections(0)
