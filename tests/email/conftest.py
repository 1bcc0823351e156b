"""The email kind's fixtures: a real local SMTP server (tests/fakes/smtp_server.py) and the
hub's EMAIL_* settings pointed at it, through the same reader hub/settings.py uses."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.test import override_settings

from integrations.email.settings import email_settings
from tests.fakes.chat_server import self_signed_cert
from tests.fakes.smtp_server import SmtpServer

USER = "hub@example.com"
# Characters that must be percent-encoded in EMAIL_URL, and that must never show in an error.
PASSWORD = "Zq7$pa:ss/w#rd%40"
FROM = "dify-hub Ünïcode <hub@example.com>"


@contextmanager
def configured(email_url: str, from_email: str = FROM, **extra) -> Iterator[None]:
    """The hub's settings as EMAIL_URL and EMAIL_FROM would make them (plus `extra`)."""
    with override_settings(**{**email_settings(email_url, from_email), **extra}):
        yield


@pytest.fixture
def smtp():
    """A plain SMTP server (no login), with settings pointing at it."""
    with SmtpServer() as server, configured(server.email_url):
        yield server


@pytest.fixture
def auth_smtp():
    """A server that wants AUTH with USER and PASSWORD, and settings that log in."""
    with SmtpServer(auth=(USER, PASSWORD)) as server, configured(server.email_url):
        yield server


@pytest.fixture(scope="session")
def certificate(tmp_path_factory) -> tuple[str, str]:
    """A throw-away certificate for 127.0.0.1 (certfile, keyfile)."""
    return self_signed_cert(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def trusted(certificate, monkeypatch) -> tuple[str, str]:
    """The certificate, trusted by this process: OpenSSL reads SSL_CERT_FILE whenever
    ssl.create_default_context() (Django's backend) loads the default CAs."""
    monkeypatch.setenv("SSL_CERT_FILE", certificate[0])
    return certificate
