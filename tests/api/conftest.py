"""API keys and a client that sends one."""

from __future__ import annotations

import pytest


@pytest.fixture
def make_key(db):
    from integrations.models import HubAPIKey

    def make(name: str = "ci", scope: str = "read") -> tuple[HubAPIKey, str]:
        return HubAPIKey.create_key(name, scope)

    return make


@pytest.fixture
def read_key(make_key) -> str:
    return make_key("reader", "read")[1]


@pytest.fixture
def trigger_key(make_key) -> str:
    return make_key("trigger", "trigger")[1]


@pytest.fixture
def api(client, read_key):
    """GET/POST with the read key; pass key=... for another one (or None for no header)."""

    class Api:
        def get(self, path: str, key: str | None = read_key, **params):
            return client.get(path, params, **headers(key))

        def post(self, path: str, key: str | None = read_key):
            return client.post(path, **headers(key))

    return Api()


def headers(key: str | None) -> dict:
    return {} if key is None else {"HTTP_AUTHORIZATION": f"Bearer {key}"}
