"""Who may scrape: a key with the metrics scope, or an address in HUB_METRICS_ALLOW."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from integrations.metrics.allow import allowed_networks
from integrations.models import HubAPIKey

pytestmark = pytest.mark.django_db


def assert_401(response) -> str:
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="dify-hub"'
    assert response["Content-Type"].startswith("text/plain")
    body = response.content.decode()
    assert body.startswith("dify-hub refused the scrape of /metrics: ")
    return body


def test_a_metrics_key_scrapes_and_its_use_is_recorded(scrape):
    response = scrape()
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert "no-cache" in response["Cache-Control"]
    assert HubAPIKey.objects.get(name="prometheus").last_used_at is not None


def test_without_a_key_it_says_who_refused_and_what_to_do(scrape):
    body = assert_401(scrape(key=None, REMOTE_ADDR="10.1.2.3"))
    assert "Authorization: Bearer <hub API key>" in body
    assert "the scraper's address (10.1.2.3) in HUB_METRICS_ALLOW" in body
    assert "manage.py hub apikey create prometheus --scope metrics" in body


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer a b"])
def test_a_malformed_header_is_refused(client, header):
    body = assert_401(client.get("/metrics", HTTP_AUTHORIZATION=header))
    assert "send `Authorization: Bearer <hub API key>`" in body


def test_an_unknown_key_is_refused_and_not_echoed(scrape, metrics_key):
    wrong = metrics_key[:-4] + ("AAAA" if not metrics_key.endswith("AAAA") else "BBBB")
    for key in ("nonsense", wrong):
        body = assert_401(scrape(key=key))
        assert "not one of this hub's API keys" in body
        assert key not in body


def test_a_revoked_key_is_refused(scrape, metrics_key):
    HubAPIKey.objects.get(name="prometheus").revoke()
    body = assert_401(scrape())
    assert "the API key 'prometheus' was revoked on" in body
    assert metrics_key not in body


@pytest.mark.parametrize("scope", ["read", "trigger"])
def test_a_key_of_another_scope_is_forbidden(scrape, scope):
    _, key = HubAPIKey.create_key(f"api-{scope}", scope)
    response = scrape(key=key)
    assert response.status_code == 403
    body = response.content.decode()
    assert f"the API key 'api-{scope}' has the {scope} scope; /metrics needs the metrics" in body
    assert key not in body


def test_a_metrics_key_reads_nothing_of_the_api(client, metrics_key):
    response = client.get("/api/v1/runs/", HTTP_AUTHORIZATION=f"Bearer {metrics_key}")
    assert response.status_code == 403
    assert "has the metrics scope; this needs read" in response.json()["message"]


def test_an_allowed_address_scrapes_without_a_key(scrape, settings):
    settings.HUB_METRICS_ALLOW = allowed_networks("192.168.7.0/24, 10.0.0.5")
    assert scrape(key=None, REMOTE_ADDR="192.168.7.40").status_code == 200
    assert scrape(key=None, REMOTE_ADDR="10.0.0.5").status_code == 200
    assert_401(scrape(key=None, REMOTE_ADDR="10.0.0.6"))
    assert_401(scrape(key=None, REMOTE_ADDR="192.168.8.1"))


def test_behind_a_trusted_proxy_the_address_it_appended_counts(scrape, settings):
    settings.HUB_METRICS_ALLOW = allowed_networks("10.0.0.5")
    # 127.0.0.1 is a proxy gunicorn trusts by default (FORWARDED_ALLOW_IPS).
    proxied = {"REMOTE_ADDR": "127.0.0.1"}
    assert scrape(key=None, HTTP_X_FORWARDED_FOR="10.0.0.5", **proxied).status_code == 200
    # What a client put before the proxy's entry is not believed.
    assert_401(scrape(key=None, HTTP_X_FORWARDED_FOR="10.0.0.5, 203.0.113.9", **proxied))
    # A peer that is not a trusted proxy cannot claim an address.
    assert_401(scrape(key=None, REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR="10.0.0.5"))


def test_a_wrong_key_is_refused_even_from_an_allowed_address(scrape, settings):
    settings.HUB_METRICS_ALLOW = allowed_networks("10.0.0.0/8")
    assert_401(scrape(key="nonsense", REMOTE_ADDR="10.0.0.5"))


def test_only_get_and_head(client, metrics_key):
    auth = {"HTTP_AUTHORIZATION": f"Bearer {metrics_key}"}
    assert client.head("/metrics", **auth).status_code == 200
    assert client.post("/metrics", **auth).status_code == 405


def test_the_cli_creates_a_metrics_key(capsys):
    call_command("hub", "apikey", "create", "prom", "--scope", "metrics")
    out = capsys.readouterr().out
    assert "Created the API key 'prom' (scope metrics)" in out
    key = next(word for word in out.split() if word.startswith("dhk_"))
    api_key = HubAPIKey.find(key)
    assert api_key.scope == "metrics" and api_key.has_scope("metrics")
    assert not api_key.has_scope("read") and not api_key.has_scope("trigger")


def test_it_answers_plain_http_when_https_mode_redirects_the_rest(scrape, client, settings):
    settings.SECURE_SSL_REDIRECT = True
    assert scrape().status_code == 200
    assert client.get("/admin/").status_code == 301
