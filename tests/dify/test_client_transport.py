"""Network-level failures and TLS, with real sockets."""

from __future__ import annotations

import socket
import ssl
import time

import pytest

from integrations.dify import DifyClient, DifyPermanentError, DifyRetryableError
from tests.fakes.dify import FakeDify


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("response_mode", ["blocking", "streaming"])
def test_it_reports_a_refused_connection_as_retryable(response_mode):
    client = DifyClient(f"http://127.0.0.1:{closed_port()}/v1", "app-x", connect_timeout=1)

    with pytest.raises(DifyRetryableError) as info:
        client.run_app("workflow", {"query": "q"}, user="u", response_mode=response_mode)

    assert info.value.code == "connection_failed"
    assert "nothing was sent" in info.value.message


def test_it_reports_a_connect_timeout_as_retryable():
    # A listening socket whose accept queue is full drops new SYNs, so connect() hangs.
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    fillers = []
    for _ in range(4):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
        fillers.append(s)
    time.sleep(0.05)
    client = DifyClient(f"http://127.0.0.1:{port}/v1", "app-x", connect_timeout=0.3)
    try:
        started = time.monotonic()
        with pytest.raises(DifyRetryableError) as info:
            client.run_app("workflow", {"query": "q"}, user="u")
        assert info.value.code == "connection_failed"
        assert time.monotonic() - started < 3
    finally:
        for s in fillers:
            s.close()
        server.close()


@pytest.fixture
def tls_fake(tls_files):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tls_files["cert"], tls_files["key"])
    with FakeDify(ssl_context=context, ping_interval=0.2) as fake:
        yield fake


def test_it_verifies_tls_against_the_given_ca_bundle(tls_fake, tls_files):
    client = DifyClient(tls_fake.url, tls_fake.api_key, ca_bundle=tls_files["ca"])

    assert tls_fake.url.startswith("https://")
    assert client.info().name == "echo-workflow"
    assert client.run_app("workflow", {"query": "over tls"}, user="u").outputs["echo"] == "over tls"


def test_it_rejects_an_unknown_ca_with_a_hint_about_the_ca_bundle(tls_fake, monkeypatch):
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    client = DifyClient(tls_fake.url, tls_fake.api_key)

    with pytest.raises(DifyPermanentError) as info:
        client.info()

    assert info.value.code == "tls_error"
    assert "CA bundle" in info.value.message
    assert tls_fake.requests == []  # nothing got through


def test_it_rejects_a_non_http_base_url():
    with pytest.raises(ValueError):
        DifyClient("ftp://dify.example.com/v1", "app-x")
