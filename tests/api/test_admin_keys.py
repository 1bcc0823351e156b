"""API keys in the admin: the key is shown once on creation, listed by prefix, revocable."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from integrations.models import HubAPIKey

pytestmark = pytest.mark.django_db


def test_adding_a_key_shows_it_once(admin_client, client):
    response = admin_client.post(
        reverse("admin:integrations_hubapikey_add"), {"name": "grafana", "scope": "read"}
    )
    # The key is the POST's own answer: never a redirect with the key in a message cookie
    # (signed, not encrypted: readable by anyone who sees it), never cached.
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    assert not response.cookies.get("messages")
    text = response.content.decode()
    key = re.search(r'value="(dhk_[0-9a-f]{8}_[A-Za-z0-9_-]{43})"', text).group(1)
    assert "not shown again" in text
    api_key = HubAPIKey.objects.get(name="grafana")
    assert api_key.matches(key) and api_key.scope == "read"
    assert client.get("/api/v1/runs/", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 200

    for url in (
        reverse("admin:integrations_hubapikey_changelist"),
        reverse("admin:integrations_hubapikey_change", args=[api_key.pk]),
    ):
        page = admin_client.get(url).content.decode()
        assert f"{api_key.prefix}_…" in page
        assert key not in page


def test_the_revoke_action_stops_a_key(admin_client, client):
    api_key, key = HubAPIKey.create_key("ci", "trigger")
    response = admin_client.post(
        reverse("admin:integrations_hubapikey_changelist"),
        {"action": "revoke_action", "_selected_action": [api_key.pk]},
        follow=True,
    )
    assert "Revoked 1 key(s)." in response.content.decode()
    assert HubAPIKey.objects.get().revoked_at is not None
    assert client.get("/api/v1/runs/", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 401
    assert (
        "revoked"
        in admin_client.get(reverse("admin:integrations_hubapikey_changelist")).content.decode()
    )
