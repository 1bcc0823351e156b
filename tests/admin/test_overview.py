"""The admin's home page is the overview (issue 17 §1): "did this morning's digest reach
grandma, and if not, why?" is answered on it, with a link to the run; each block shows only
to who may view its model; celery-beat's models are out of the menu and read-only; the
page's queries do not grow with the number of runs."""

from __future__ import annotations

import re
from collections import Counter
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from integrations.models import Delivery, Recipient, Run, WebhookEvent
from integrations.overview import minutely, stats
from integrations.overview.charts import nice_ceiling
from integrations.overview.page import build_overview

pytestmark = pytest.mark.django_db

ALL_BLOCKS = {
    "overview-failures",
    "overview-runs-chart",
    "overview-tokens-chart",
    "overview-next",
    "overview-digests",
    "overview-apps",
    "overview-endpoints",
    "overview-recipients",
    "overview-events",
}


def aged(run: Run, ago: timedelta, took: float | None = 2.0) -> Run:
    """Back-date a run (created_at is auto_now_add), started and finished `took` s apart."""
    created = timezone.now() - ago
    finished = created + timedelta(seconds=took) if took is not None else None
    Run.objects.filter(pk=run.pk).update(
        created_at=created, started_at=created, finished_at=finished
    )
    run.refresh_from_db()
    return run


@pytest.fixture
def recipients(db):
    grandma = Recipient.objects.create(
        name="grandma",
        kind="rocketchat",
        webhook_url="https://chat.example/hooks/grandma",
        consecutive_failures=3,
        last_error="Rocket.Chat answered 404: room not found",
        last_error_at=timezone.now() - timedelta(hours=2),
    )
    family = Recipient.objects.create(
        name="family",
        kind="rocketchat",
        webhook_url="https://chat.example/hooks/family",
        last_success_at=timezone.now() - timedelta(hours=2),
    )
    Recipient.objects.create(
        name="old-room",
        kind="rocketchat",
        webhook_url="https://chat.example/hooks/old",
        enabled=False,
        disabled_at=timezone.now() - timedelta(days=1),
        disabled_reason="10 failed deliveries in a row",
    )
    return grandma, family


@pytest.fixture
def morning(make_digest, make_run, recipients):
    """This morning's digest: it reached family, not grandma."""
    grandma, family = recipients
    digest = make_digest(recipients=[grandma, family])
    run = make_run(
        kind=Run.Kind.DIGEST,
        digest=digest,
        source="digest 'Morning weather', slot",
        status=Run.Status.PARTIALLY_DELIVERED,
        total_tokens=120,
    )
    aged(run, timedelta(hours=2), took=4.0)
    Delivery.objects.create(
        run=run, recipient=family, recipient_name="family", kind="rocketchat", status="delivered"
    )
    Delivery.objects.create(
        run=run,
        recipient=grandma,
        recipient_name="grandma",
        kind="rocketchat",
        status="failed",
        error="Rocket.Chat answered 404: room not found",
    )
    return digest, run


def page(client: Client):
    response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    return response, response.content.decode()


def block(html: str, block_id: str) -> str:
    """The HTML of one block of the overview (up to the next block)."""
    start = html.index(f'id="{block_id}"')
    following = [html.find('class="module hub-block"', start + 1), html.find("</svg>", start)]
    ends = [end for end in following if end > 0]
    return html[start : min(ends) if ends else len(html)]


def blocks_on(html: str) -> set[str]:
    return {name for name in ALL_BLOCKS if f'id="{name}"' in html}


def test_this_mornings_failed_recipient_is_on_the_home_page_with_a_link(admin_client, morning):
    _, run = morning
    _, html = page(admin_client)
    failures = block(html, "overview-failures")
    assert "Failed in the last 24 hours: 1" in failures
    assert f'href="{reverse("admin:integrations_run_change", args=[run.pk])}"' in failures
    assert "Partially delivered" in failures and "digest Morning weather" in failures
    assert "✗ grandma</span>: Rocket.Chat answered 404: room not found" in failures
    assert "family" not in failures  # it arrived: not a failure
    # The digest's row says the same about its last run: who got it, who did not, why.
    digests = block(html, "overview-digests")
    assert f"#{run.pk} Partially delivered" in digests
    assert "✓ family" in digests
    assert "✗ grandma</span>: Rocket.Chat answered 404: room not found" in digests


def test_a_failed_run_shows_its_own_error(admin_client, make_run):
    run = make_run(status=Run.Status.FAILED, error_source="dify", error_message="Dify said 502")
    aged(run, timedelta(minutes=5))
    failures = block(page(admin_client)[1], "overview-failures")
    assert "Dify said 502" in failures and "dify: Dify said 502" not in failures
    assert "5\xa0minutes ago" in failures and "data-hub-when" in failures


def test_old_failures_are_not_listed(admin_client, make_run):
    aged(make_run(status=Run.Status.FAILED), timedelta(hours=30))
    failures = block(page(admin_client)[1], "overview-failures")
    assert "Failed in the last 24 hours: 0" in failures
    assert "Nothing failed in the last 24 hours." in failures


def test_the_next_digests_are_written_in_their_zones(admin_client, make_digest, recipients):
    make_digest(name="Morning weather", cron="0 8 * * *", timezone="Europe/Berlin")
    make_digest(name="Tokyo news", cron="30 7 * * *", timezone="Asia/Tokyo")
    make_digest(name="Paused", enabled=False, recipients=recipients)
    next_block = block(page(admin_client)[1], "overview-next")
    assert "Europe/Berlin" in next_block and "Asia/Tokyo" in next_block
    assert re.search(r"08:00 CES?T", next_block)
    assert "07:30 JST" in next_block
    assert "Paused" not in next_block
    assert re.search(r"from now</time>", next_block)


def test_per_app_rows_count_runs_success_and_tokens(admin_client, make_run, dify_app):
    for took in (1.0, 2.0, 3.0):
        aged(make_run(status=Run.Status.SUCCEEDED, total_tokens=100), timedelta(hours=1), took)
    aged(make_run(status=Run.Status.FAILED, total_tokens=50), timedelta(hours=3), 2.0)
    aged(make_run(status=Run.Status.CANCELLED), timedelta(hours=3), None)  # not settled
    aged(make_run(status=Run.Status.SUCCEEDED, total_tokens=400), timedelta(days=3), 2.0)
    aged(make_run(status=Run.Status.SUCCEEDED, total_tokens=999), timedelta(days=9), 2.0)
    response, html = page(admin_client)
    (row,) = [row for row in response.context["overview"].apps if row.name == dify_app.name]
    day, week = row.cells[:4], row.cells[4:]
    assert day[0] == "5" and day[1] == "75%" and day[3] == "350"
    assert week[0] == "6" and week[1] == "80%" and week[3] == "750"
    assert day[2].startswith("2.0 s / ")  # the median of 1, 2, 2, 3 s
    assert dify_app.name in block(html, "overview-apps")


def test_the_weeks_figures_are_counted_once_a_minute_per_zone(admin_user, make_run, dify_app):
    def apps_row(now):
        overview = build_overview(admin_user, now)
        (row,) = [r for r in overview.apps if r.name == dify_app.name]
        return row.cells[4], overview.figures_at.at

    aged(make_run(status=Run.Status.SUCCEEDED, total_tokens=10), timedelta(hours=1))
    now = timezone.now().replace(second=5)
    with CaptureQueriesContext(connection) as first:
        assert apps_row(now) == ("1", now.replace(second=0, microsecond=0))
    aged(make_run(status=Run.Status.SUCCEEDED, total_tokens=10), timedelta(hours=1))
    # Later in the same minute: the same figures, without grouping the week again.
    with CaptureQueriesContext(connection) as again:
        assert apps_row(now.replace(second=50))[0] == "1"
    assert len(again) == len(first) - 1
    # The next minute counts afresh, and says of when.
    later = now + timedelta(minutes=1)
    assert apps_row(later) == ("2", later.replace(second=0, microsecond=0))
    # Another zone has its own day boundaries, so its own figures.
    with timezone.override(ZoneInfo("Asia/Shanghai")), CaptureQueriesContext(connection) as other:
        build_overview(admin_user, later)
    assert len(other) == len(first)


def test_recipients_show_their_health_trouble_first(admin_client, recipients):
    response, html = page(admin_client)
    names = [row.recipient.name for row in response.context["overview"].recipients]
    assert names == ["old-room", "grandma", "family"]
    table = block(html, "overview-recipients")
    assert "⏻ turned off by the hub: 10 failed deliveries in a row" in table
    assert "✗ Rocket.Chat answered 404: room not found" in table
    assert "✓ delivered" in table


def test_webhook_events_are_counted_by_outcome(admin_client, endpoint):
    for number, outcome in enumerate(["accepted", "accepted", "ignored", "invalid", "ignored"]):
        WebhookEvent.objects.create(endpoint=endpoint, idempotency_key=str(number), outcome=outcome)
    old = WebhookEvent.objects.create(endpoint=endpoint, idempotency_key="old", outcome="accepted")
    WebhookEvent.objects.filter(pk=old.pk).update(received_at=timezone.now() - timedelta(days=3))
    response, html = page(admin_client)
    counts = {
        row["outcome"]: (row["day"], row["week"]) for row in response.context["overview"].events
    }
    assert counts == {"accepted": (2, 3), "ignored": (2, 2), "invalid": (1, 1)}
    assert "?outcome__exact=ignored" in block(html, "overview-events")


def test_the_charts_are_svg_with_one_bar_per_hour_and_per_day(admin_client, make_run):
    aged(make_run(status=Run.Status.SUCCEEDED, total_tokens=10), timedelta(0))
    aged(make_run(status=Run.Status.FAILED), timedelta(0))
    aged(make_run(status=Run.Status.SUCCEEDED, total_tokens=30), timedelta(days=2))
    _, html = page(admin_client)
    runs = block(html, "overview-runs-chart")
    tokens = block(html, "overview-tokens-chart")
    assert runs.count('<g class="hub-col">') == 24
    assert tokens.count('<g class="hub-col">') == 7
    # The current hour's bar is the last one, stacked: one succeeded and one failed segment.
    last = runs.split('<g class="hub-col">')[-1]
    assert "hub-bar-succeeded" in last and "hub-bar-failed" in last
    assert tokens.count("hub-bar-tokens") == 2
    assert "style=" not in runs + tokens


def test_a_viewer_sees_runs_and_events_only(make_run, morning, endpoint):
    user = User.objects.create_user("viewer", password="pw", is_staff=True)
    user.groups.add(Group.objects.get(name="Viewers"))
    client = Client()
    client.force_login(user)
    response, html = page(client)
    assert blocks_on(html) == {
        "overview-failures",
        "overview-runs-chart",
        "overview-tokens-chart",
        "overview-events",
    }
    assert "✗ grandma" in block(html, "overview-failures")  # a Viewer may see deliveries
    assert "Morning weather</a>" not in html  # no link to a digest it may not open
    assert 'id="content-main"' in html  # Django's app list is still there


def test_superusers_see_every_block_and_the_app_list(admin_client, morning, endpoint):
    _, html = page(admin_client)
    assert blocks_on(html) == ALL_BLOCKS
    assert 'id="content-main"' in html and "/admin/integrations/run/" in html


def test_celery_beats_models_are_not_in_the_menu(admin_client, morning):
    response, html = page(admin_client)
    labels = {app["app_label"] for app in response.context["app_list"]}
    assert "django_celery_beat" not in labels and "integrations" in labels
    assert "Periodic tasks" not in html and "Crontabs" not in html
    assert admin_client.get("/admin/django_celery_beat/").status_code == 404
    assert admin_client.get("/admin/django_celery_beat/crontabschedule/").status_code == 404


def test_a_digests_periodic_task_cannot_be_changed_in_the_admin(admin_client, morning):
    digest, _ = morning
    task = PeriodicTask.objects.get(pk=digest.periodic_task_id)
    url = reverse("admin:django_celery_beat_periodictask_change", args=[task.pk])
    shown = admin_client.get(url)
    assert shown.status_code == 200 and "change the schedule there" in shown.content.decode()
    response = admin_client.post(url, {"name": task.name, "task": task.task, "enabled": ""})
    assert response.status_code == 403
    task.refresh_from_db()
    assert task.enabled is True
    add = reverse("admin:django_celery_beat_periodictask_add")
    assert admin_client.post(add, {"name": "x", "task": "x"}).status_code == 403
    delete = reverse("admin:django_celery_beat_periodictask_delete", args=[task.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert PeriodicTask.objects.filter(pk=task.pk).exists()
    assert CrontabSchedule.objects.filter(pk=task.crontab_id).exists()


def test_only_superusers_see_the_beat_schedule(morning):
    user = User.objects.create_user("operator", password="pw", is_staff=True)
    user.groups.add(Group.objects.get(name="Operators"))
    client = Client()
    client.force_login(user)
    listing = reverse("admin:django_celery_beat_periodictask_changelist")
    assert client.get(listing).status_code == 403
    assert "see it (read-only)" not in page(client)[1]


def test_the_page_makes_as_many_queries_for_200_runs_as_for_10(admin_client, make_run, morning):
    def queries_for_page() -> int:
        with CaptureQueriesContext(connection) as captured:
            page(admin_client)
        return len(captured)

    for number in range(10):
        aged(make_run(status=Run.Status.FAILED, total_tokens=number), timedelta(minutes=number))
    few = queries_for_page()
    runs = [make_run(status=Run.Status.SUCCEEDED, total_tokens=5) for _ in range(190)]
    Run.objects.filter(pk__in=[r.pk for r in runs]).update(
        started_at=timezone.now(), finished_at=timezone.now() + timedelta(seconds=3)
    )
    for run in runs[:40]:
        Delivery.objects.create(run=run, recipient_name="x", kind="rocketchat", status="failed")
    minutely.forget()  # the week's figures afresh, not those kept from the first page
    many = queries_for_page()
    assert many == few
    assert few <= 20


# --- The pure parts -------------------------------------------------------------------------


def test_percentiles_from_the_histogram_are_within_a_few_percent():
    durations = [0.3 + (i % 97) * 0.41 + (i % 7) ** 2 for i in range(5000)]
    histogram = Counter(stats.bucket_of(value) for value in durations)
    ordered = sorted(durations)
    for q in (0.5, 0.95):
        exact = ordered[int(q * len(ordered))]
        assert stats.percentile(histogram, q) == pytest.approx(exact, rel=0.07)
    assert stats.percentile(Counter(), 0.5) is None


def test_a_tally_counts_only_settled_runs_in_its_success_rate():
    tally = stats.Tally()
    tally.count("succeeded", 3, 30)
    tally.count("failed", 1, None)
    tally.count("cancelled", 5, 0)
    assert (tally.runs, tally.tokens, tally.success_rate) == (9, 30, 0.75)


def test_chart_scales_are_round_numbers():
    assert [nice_ceiling(v) for v in (0, 1, 7, 10, 11, 230, 5001)] == [1, 1, 10, 10, 20, 500, 10000]


def test_the_home_page_still_asks_for_a_login(client):
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
