"""Times in the viewer's zone, one format everywhere: the zone chosen under Preferences, else
the browser's (the hub_tz cookie hub-admin.js sets), else TIME_ZONE; with seconds and the
zone's name, and "… ago" with the exact time on hover in the run list."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from integrations.models import Preference, Run

pytestmark = pytest.mark.django_db

MOMENT = datetime(2026, 12, 3, 5, 43, 7, tzinfo=UTC)  # 13:43:07 in Shanghai


@pytest.fixture
def run(make_run):
    made = make_run(status=Run.Status.SUCCEEDED)
    Run.objects.filter(pk=made.pk).update(created_at=MOMENT, started_at=MOMENT)
    return made


def shown(client, run: Run) -> str:
    page = client.get(reverse("admin:integrations_run_change", args=[run.pk]))
    return " ".join(page.content.decode().split())


def test_without_a_choice_times_are_in_the_hubs_zone_with_seconds_and_zone(admin_client, run):
    assert "2026-12-03 05:43:07 UTC" in shown(admin_client, run)


def test_the_browsers_zone_from_its_cookie(admin_client, run):
    admin_client.cookies["hub_tz"] = "Asia%2FShanghai"  # as hub-admin.js writes it
    assert "2026-12-03 13:43:07 CST" in shown(admin_client, run)


def test_a_cookie_that_is_no_zone_is_ignored(admin_client, run):
    admin_client.cookies["hub_tz"] = "Mars/Olympus<script>"
    assert "2026-12-03 05:43:07 UTC" in shown(admin_client, run)


def test_the_persons_choice_wins_over_the_browser(client, admin_user, run):
    admin_user.refresh_from_db()
    Preference.objects.create(user=admin_user, time_zone="Asia/Tokyo")
    client.force_login(admin_user)  # the choice is read once, at login
    client.cookies["hub_tz"] = "Asia/Shanghai"
    assert "2026-12-03 14:43:07 JST" in shown(client, run)


def test_preferences_save_a_zone_and_say_did_you_mean(admin_client, admin_user, run):
    url = reverse("hub-preferences")
    assert 'list="hub-zones"' in admin_client.get(url).content.decode()
    refused = admin_client.post(url, {"time_zone": "Shanghai"}).content.decode()
    assert "did you mean Asia/Shanghai?" in refused
    assert admin_client.post(url, {"time_zone": "Asia/Shanghai"}).status_code == 302
    assert Preference.objects.get(user=admin_user).time_zone == "Asia/Shanghai"
    assert "2026-12-03 13:43:07 CST" in shown(admin_client, run)  # at once, no new login


def test_the_run_list_says_how_long_ago_with_the_exact_time_on_hover(admin_client, run):
    admin_client.cookies["hub_tz"] = "Asia/Shanghai"
    listing = admin_client.get(reverse("admin:integrations_run_changelist")).content.decode()
    assert (
        f'<time datetime="{MOMENT.isoformat()}" title="2026-12-03 13:43:07 CST" data-hub-when>'
        in listing
    )


def test_a_new_digests_zone_box_offers_every_zone_and_the_browsers(admin_client):
    page = admin_client.get(reverse("admin:integrations_digest_add")).content.decode()
    assert (
        'data-browser-zone="replace-default"' in page and '<option value="Asia/Shanghai">' in page
    )
