"""Bearer hub API keys: 401 without a good key, 403 without the scope, last use recorded."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from integrations.models import HubAPIKey

pytestmark = pytest.mark.django_db

RUNS = "/api/v1/runs/"


def assert_401(response, code: str) -> None:
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="dify-hub"'
    assert response.json()["code"] == code


def test_it_answers_401_without_a_header(api):
    response = api.get(RUNS, key=None)
    assert_401(response, "not_authenticated")
    assert "Authentication credentials were not provided" in response.json()["message"]


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer   ", "Bearer a b"])
def test_it_answers_401_to_a_malformed_header(client, header):
    response = client.get(RUNS, HTTP_AUTHORIZATION=header)
    assert_401(response, "malformed_authorization")
    assert 'send "Authorization: Bearer <hub API key>"' in response.json()["message"]


def test_it_answers_401_to_an_unknown_key(api, make_key):
    _, key = make_key("real")
    wrong_secret = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    for bad in ("nonsense", "dhk_00000000_" + "x" * 43, wrong_secret):
        assert_401(api.get(RUNS, key=bad), "invalid_key")


def test_a_revoked_key_answers_401(api, make_key):
    api_key, key = make_key("old")
    assert api.get(RUNS, key=key).status_code == 200
    api_key.revoke()
    response = api.get(RUNS, key=key)
    assert_401(response, "revoked_key")
    assert "The API key 'old' was revoked on" in response.json()["message"]


@pytest.mark.parametrize("path", ["/api/v1/digests/Morning%20weather/run", "/api/v1/runs/1/retry"])
def test_a_read_key_may_not_trigger(api, path):
    response = api.post(path)
    assert response.status_code == 403
    assert response.json() == {
        "code": "missing_scope",
        "message": "The API key 'reader' has the read scope; this needs trigger. "
        "Create a key with --scope trigger.",
    }


def test_a_trigger_key_may_read(api, trigger_key):
    assert api.get(RUNS, key=trigger_key).status_code == 200


def test_the_key_is_stored_hashed(make_key):
    api_key, key = make_key("ci")
    assert key.startswith(api_key.prefix + "_")
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM integrations_hubapikey WHERE id = %s", [api_key.pk])
        row = cursor.fetchone()
    assert not any(key[len(api_key.prefix) :] in str(value) for value in row)
    assert api_key.key_hash.startswith("sha256$")
    assert HubAPIKey.find(key) == api_key


def test_last_use_is_recorded_at_most_once_a_minute(api, make_key):
    api_key, key = make_key("ci")
    assert api_key.last_used_at is None
    api.get(RUNS, key=key)
    first = HubAPIKey.objects.get(pk=api_key.pk).last_used_at
    assert first is not None and timezone.now() - first < timedelta(seconds=5)

    api.get(RUNS, key=key)
    assert HubAPIKey.objects.get(pk=api_key.pk).last_used_at == first

    HubAPIKey.objects.filter(pk=api_key.pk).update(last_used_at=first - timedelta(minutes=2))
    api.get(RUNS, key=key)
    assert HubAPIKey.objects.get(pk=api_key.pk).last_used_at > first


def test_the_schema_needs_no_key(client):
    response = client.get("/api/v1/schema/", HTTP_AUTHORIZATION="Bearer wrong")
    assert response.status_code == 200


def test_an_unknown_api_url_answers_json_404(api):
    response = api.get("/api/v1/nope/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert "/api/v1/schema/" in response.json()["message"]
