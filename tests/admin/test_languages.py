"""The admin in English, 简体中文 and 日本語: the browser's language (Accept-Language) unless the
person chose one under Preferences; Django's own admin strings and the hub's alike; times in
one ISO format in every language; the API and webhooks stay English."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse

from integrations.models import AuditEntry, Preference, Run

pytestmark = pytest.mark.django_db

MOMENT = datetime(2026, 12, 3, 5, 43, 7, tzinfo=UTC)  # 13:43:07 in Shanghai, 14:43:07 in Tokyo
CHINESE = "zh-CN,zh;q=0.9,en;q=0.8"  # what a browser set to Chinese (China) sends
JAPANESE = "ja,en-US;q=0.9,en;q=0.8"


@pytest.fixture
def run(make_run):
    made = make_run(status=Run.Status.FAILED, error_message="Dify answered HTTP 400")
    Run.objects.filter(pk=made.pk).update(
        created_at=MOMENT, started_at=MOMENT, finished_at=MOMENT, error_source="dify"
    )
    return made


@pytest.fixture
def recent(make_run):
    """A run that failed just now: the overview counts the last 24 hours."""
    return make_run(status=Run.Status.FAILED, error_message="Dify answered HTTP 400")


def page(client, url: str, accept: str = "") -> str:
    headers = {"HTTP_ACCEPT_LANGUAGE": accept} if accept else {}
    response = client.get(url, **headers)
    assert response.status_code == 200
    return " ".join(response.content.decode().split())


def run_page(client, run: Run, accept: str = "") -> str:
    return page(client, reverse("admin:integrations_run_change", args=[run.pk]), accept)


def overview(client, accept: str = "") -> str:
    return page(client, reverse("admin:index"), accept)


def test_english_by_default(admin_client, recent):
    Run.objects.filter(pk=recent.pk).update(error_source="dify")
    text = run_page(admin_client, recent)
    assert '<html lang="en"' in text
    assert "<h2>What happened</h2>" in text and "Dify said" in text
    assert "<h2>Failed in the last 24 hours: 1</h2>" in overview(admin_client)


def test_a_language_the_hub_does_not_speak_falls_back_to_english(admin_client, run):
    text = run_page(admin_client, run, "fr-FR,fr;q=0.9")
    assert "<h2>What happened</h2>" in text


def test_the_overview_in_chinese(admin_client, recent):
    text = overview(admin_client, CHINESE)
    assert '<html lang="zh-hans"' in text
    assert "<h2>过去 24 小时内失败：1</h2>" in text
    assert "<h2>每小时运行数，过去 24 小时</h2>" in text
    assert "<th>原因</th>" in text and ">失败</td>" in text  # the run's status, in Chinese
    assert "Dify 应用、摘要、接收方和运行记录" in text  # the page's title
    assert "最近动作" in text  # Django's own "Recent actions"
    assert "What happened" not in text and "Failed in the last 24 hours" not in text


def test_the_overview_in_japanese(admin_client, recent):
    text = overview(admin_client, JAPANESE)
    assert '<html lang="ja"' in text
    assert "<h2>過去 24 時間の失敗: 1</h2>" in text
    assert "<h2>1 時間ごとの実行数（過去 24 時間）</h2>" in text
    assert "最近行った操作" in text  # Django's own "Recent actions"
    assert "Failed in the last 24 hours" not in text


def test_the_run_page_in_chinese(admin_client, run):
    text = run_page(admin_client, run, CHINESE)
    assert "<h2>发生了什么</h2>" in text
    assert '<span class="hub-summary-label">Dify 说</span>' in text
    assert '<span class="hub-summary-label">时间</span>' in text and "等待开始" in text
    assert ">失败</strong>" in text  # the status chip
    assert ">历史</a>" in text  # Django's own History button
    # What was stored stays as it was written: English, read in any language.
    assert "Dify answered HTTP 400" in text


def test_the_run_page_in_japanese(admin_client, run):
    text = run_page(admin_client, run, JAPANESE)
    assert "<h2>何が起きたか</h2>" in text
    assert '<span class="hub-summary-label">Dify の応答</span>' in text
    assert "開始待ち" in text and ">失敗</strong>" in text
    assert ">履歴</a>" in text  # Django's own History button
    assert "Dify answered HTTP 400" in text


def test_the_run_list_columns_and_buttons_in_japanese(admin_client, run):
    text = page(admin_client, reverse("admin:integrations_run_changelist"), JAPANESE)
    assert "所要時間" in text and "作成日時" in text and "ソース" in text  # columns
    assert "<title>表示する実行を選択 | dify-hub</title>" in text  # Django's, with our model name


def test_a_persons_chosen_language_wins_over_the_browsers(client, admin_user, run):
    admin_user.refresh_from_db()
    Preference.objects.create(user=admin_user, language="ja")
    client.force_login(admin_user)  # the choice is read at login, kept in the session
    assert "<h2>何が起きたか</h2>" in run_page(client, run, CHINESE)


def test_choosing_english_wins_over_a_chinese_browser(client, admin_user, run):
    admin_user.refresh_from_db()
    Preference.objects.create(user=admin_user, language="en")
    client.force_login(admin_user)
    assert "<h2>What happened</h2>" in run_page(client, run, CHINESE)


def test_saving_a_language_applies_at_once_and_empty_follows_the_browser(
    admin_client, admin_user, run
):
    url = reverse("hub-preferences")
    form = page(admin_client, url, CHINESE)
    assert '<option value="ja">日本語</option>' in form and "跟随浏览器" in form
    saved = admin_client.post(url, {"language": "ja", "time_zone": ""}, follow=True)
    assert "時刻を ブラウザのタイムゾーン で表示するようにしました。" in saved.content.decode()
    assert Preference.objects.get(user=admin_user).language == "ja"
    assert "<h2>何が起きたか</h2>" in run_page(admin_client, run, CHINESE)  # no new login
    admin_client.post(url, {"language": "", "time_zone": ""})
    assert "<h2>发生了什么</h2>" in run_page(admin_client, run, CHINESE)


def test_a_language_the_hub_no_longer_speaks_is_ignored(client, admin_user, run):
    client.force_login(admin_user)
    session = client.session
    session["hub_language"] = "fr"
    session.save()
    assert "<h2>What happened</h2>" in run_page(client, run)


@pytest.mark.parametrize("accept", ["", CHINESE, JAPANESE])
def test_times_keep_one_iso_format_in_every_language(admin_client, run, accept):
    admin_client.cookies["hub_tz"] = "Asia/Shanghai"
    assert "2026-12-03 13:43:07 CST" in run_page(admin_client, run, accept)
    listing = page(admin_client, reverse("admin:integrations_run_changelist"), accept)
    assert 'title="2026-12-03 13:43:07 CST" data-hub-when>' in listing


def test_the_lockout_page_in_japanese(client):
    User.objects.create_superuser("alice", password="right")
    data = {"username": "alice", "password": "wrong", "next": "/admin/"}
    for _ in range(5):
        locked = client.post("/admin/login/", data, HTTP_ACCEPT_LANGUAGE=JAPANESE)
    assert locked.status_code == 429
    text = " ".join(locked.content.decode().split())
    assert "ログイン失敗が多すぎます" in text and "あと約 15 分停止されます" in text
    assert re.search(r"\d\d:\d\d（\w+）まで", text)  # the time, as everywhere: 24 h


def test_the_not_allowed_page_in_chinese(client, run):
    viewer = User.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.groups.add(Group.objects.get(name="Viewers"))
    client.force_login(viewer)
    url = f"/admin/integrations/run/{run.pk}/actions/retry/"
    refused = client.post(url, HTTP_ACCEPT_LANGUAGE=CHINESE)
    assert refused.status_code == 403
    text = " ".join(refused.content.decode().split())
    assert "“重试”需要权限“Can retry a run”（integrations.retry_run）" in text
    assert "返回管理后台首页" in text


def test_the_login_page_in_chinese_is_djangos_own(client):
    assert "用户名" in page(client, reverse("admin:login"), CHINESE)


def test_the_api_stays_english_whatever_the_callers_language(client):
    response = client.get(reverse("api-runs"), HTTP_ACCEPT_LANGUAGE=CHINESE)
    assert response.status_code == 401
    assert "Authentication credentials were not provided" in response.json()["message"]
    assert response.headers["Content-Language"] == "en-us"


def test_a_press_in_chinese_is_written_down_in_english(admin_client, make_run):
    queued = make_run(status=Run.Status.QUEUED)
    url = f"/admin/integrations/run/{queued.pk}/actions/stop/"
    pressed = admin_client.post(url, HTTP_ACCEPT_LANGUAGE=CHINESE, follow=True)
    assert f"运行 #{queued.pk} 已取消；它尚未开始。" in pressed.content.decode()
    entry = AuditEntry.objects.filter(object_type="run", object_id=str(queued.pk)).get()
    assert (entry.action, entry.object_repr) == ("Stop", f"Run #{queued.pk} Manual (Queued)")
