"""The recipient form knows each kind's boxes (hub-admin.js shows only those), and every
duration on the app form says its unit."""

from __future__ import annotations

import html
import json
import re

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def kinds_on_the_form(client) -> dict:
    page = client.get(reverse("admin:integrations_recipient_add")).content.decode()
    found = re.search(r'data-kind-fields="([^"]+)"', page)
    assert found, "the kind box carries what each kind asks for"
    return json.loads(html.unescape(found[1]))


def test_each_kind_says_which_boxes_it_uses(admin_client):
    kinds = kinds_on_the_form(admin_client)
    assert kinds["rocketchat"] == {
        "url": "Webhook URL",
        "url_required": True,
        "url_default": "",
        "secret": "",
        "options": kinds["rocketchat"]["options"],
    }
    assert kinds["telegram"]["secret"] and not kinds["telegram"]["url_required"]
    assert kinds["telegram"]["url_default"].startswith("https://api.telegram.org")
    assert "chat_id" in kinds["telegram"]["options"]
    assert kinds["email"]["secret"] == ""


def test_durations_on_the_app_form_have_units(admin_client):
    page = admin_client.get(reverse("admin:integrations_difyapp_add")).content.decode()
    for label in ("Connect timeout (seconds)", "Read timeout (seconds)", "Run timeout (seconds)"):
        assert label in page
