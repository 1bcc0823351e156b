"""What the hub writes itself to recipients (alerts, the test message, the email cut note) is
in HUB_LANGUAGE: English by default, 简体中文 or 日本語 when set, whatever language the admin
happens to be in; a value the hub does not speak stops start-up naming the choices."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse
from django.utils import timezone, translation

from hub.env import env_language
from integrations.admin.recipients import make_test_message
from integrations.digests.firing import claim_slot
from integrations.email.transport import MAX_TEXT_BYTES, fit_text
from integrations.models import Alert, Recipient, Run
from integrations.runs import alerts, engine, health
from tests.digests.conftest import utc
from tests.fakes import dify as fd
from tests.fakes.chat_server import RocketChatReceiver, refused_url
from tests.hub.test_settings import GOOD, start
from tests.reviews.support import delivery as hook_delivery

CODES = ["en", "zh-hans", "ja"]


@pytest.fixture
def pager(db):
    """An alert recipient; the alert runs are looked at, not delivered."""
    return Recipient.objects.create(
        name="on-call", kind="webhook", webhook_url=refused_url(), receives_alerts=True
    )


def failed_digest_alert(make_digest, fake_dify, capture) -> tuple[Run, Run]:
    """A digest run that failed, and the alert run it raised."""
    digest = make_digest(name="Morning weather")
    fake_dify.script("run", fd.node_failed())
    slot = utc(2026, 11, 21, 7)
    with capture(execute=True):
        run, _ = claim_slot(digest, slot, slot)
        engine.execute(run.pk)
    run.refresh_from_db()
    assert run.status == Run.Status.FAILED
    (alert_run,) = Run.objects.filter(kind=Run.Kind.ALERT)
    return run, alert_run


def test_a_failed_digests_alert_is_english_by_default(
    make_digest, fake_dify, pager, django_capture_on_commit_callbacks
):
    run, alert_run = failed_digest_alert(make_digest, fake_dify, django_capture_on_commit_callbacks)
    message = alert_run.message
    assert message["title"] == "dify-hub: digest 'Morning weather' is in trouble"
    assert message["text"].startswith(f"- Run #{run.pk} failed: Dify")
    assert message["footer"] == (
        "dify-hub alert. The same problem is told at most once every 15 min."
    )


def test_a_failed_digests_alert_in_chinese(
    make_digest, fake_dify, pager, settings, django_capture_on_commit_callbacks
):
    settings.HUB_LANGUAGE = "zh-hans"
    with translation.override("ja"):  # whatever the admin's language, the hub's wins
        run, alert_run = failed_digest_alert(
            make_digest, fake_dify, django_capture_on_commit_callbacks
        )
    message = alert_run.message
    assert message["title"] == "dify-hub：摘要“Morning weather”出现问题"
    assert message["text"].startswith(f"- 运行 #{run.pk} 失败：Dify")
    assert message["footer"] == "dify-hub 告警。同一问题最多每 15 分钟通知一次。"
    assert Alert.objects.get().title == "摘要“Morning weather”出现问题"
    # What is stored about the run itself stays as it was written.
    assert run.error_message.startswith("Dify")


def test_a_failed_digests_alert_in_japanese(
    make_digest, fake_dify, pager, settings, django_capture_on_commit_callbacks
):
    settings.HUB_LANGUAGE = "ja"
    run, alert_run = failed_digest_alert(make_digest, fake_dify, django_capture_on_commit_callbacks)
    message = alert_run.message
    assert message["title"] == "dify-hub: ダイジェスト「Morning weather」に問題が発生しています"
    assert message["text"].startswith(f"- 実行 #{run.pk} が失敗しました: Dify")
    assert message["footer"] == "dify-hub のアラート。同じ問題の通知は 15 分に 1 回までです。"


def test_a_bundle_counts_the_lines_left_out_in_the_hubs_language(pager, settings):
    settings.HUB_LANGUAGE = "ja"
    for number in range(alerts.MAX_LINES + 3):  # the first goes at once, the rest wait
        alerts.report("test:bundle", "問題", f"line {number}")
    alert = Alert.objects.get(key="test:bundle")
    assert len(alert.pending) == alerts.MAX_LINES and alert.dropped == 2
    Alert.objects.filter(pk=alert.pk).update(due_at=timezone.now() - timedelta(minutes=1))
    assert alerts.send_due(timezone.now()) == 1
    bundle = Run.objects.filter(kind=Run.Kind.ALERT).order_by("pk").last()
    assert bundle.message["text"].endswith("\n- … ほかに同様のものが 2 件。")
    assert "- line 1\n" in bundle.message["text"]


def test_a_recipient_turned_off_is_told_in_the_hubs_language_and_stored_in_english(pager, settings):
    settings.HUB_LANGUAGE = "zh-hans"
    dead = Recipient.objects.create(
        name="grandma",
        kind="rocketchat",
        webhook_url=refused_url(),
        consecutive_failures=10,
        last_error="connection refused.",
    )
    assert health.turn_off_if_failing(dead.pk, dead.name)
    dead.refresh_from_db()
    assert not dead.enabled
    assert dead.disabled_reason == "10 deliveries in a row failed; the last: connection refused"
    (alert_run,) = Run.objects.filter(kind=Run.Kind.ALERT)
    assert alert_run.message["title"] == "dify-hub：接收方“grandma”已被停用"
    assert alert_run.message["text"] == (
        "- 中心已停用接收方“grandma”：连续 10 次投递失败；最近一次：connection refused。"
        "请先修复问题，再到管理后台（接收方）中重新启用。"
    )


def test_an_endpoint_rejecting_requests_is_told_in_japanese(endpoint, post_hook, pager, settings):
    settings.HUB_LANGUAGE = "ja"
    settings.HUB_ALERT_REJECTIONS = 2
    for _ in range(2):
        response = post_hook(endpoint, *hook_delivery("mr_open", token="wrong-token-value"))
        assert response.status_code == 401
    (alert_run,) = Run.objects.filter(kind=Run.Kind.ALERT)
    title = alert_run.message["title"]
    assert title == "dify-hub: GitLab のエンドポイント「team-reviews」がリクエストを拒否しています"
    assert "がリクエストを拒否しました: " in alert_run.message["text"]
    assert (
        "Webhook シークレットとエンドポイントのシークレットが一致しなくなっています"
        in (alert_run.message["text"])
    )


@pytest.mark.parametrize(
    ("language", "title", "words"),
    [
        ("en", "dify-hub test message", "If you can read this, **dify-hub** can post"),
        ("zh-hans", "dify-hub 测试消息", "说明 **dify-hub** 可以向此接收方发送消息"),
        ("ja", "dify-hub テストメッセージ", "**dify-hub** はこの送信先に投稿できます"),
    ],
)
def test_the_test_message_is_written_when_sent_in_the_hubs_language(
    settings, language, title, words
):
    settings.HUB_LANGUAGE = language
    with translation.override("zh-hans" if language == "ja" else "ja"):  # the admin's
        message = make_test_message()
    assert message.title == title and words in message.text


def test_send_test_message_from_a_japanese_admin_sends_the_hubs_chinese(admin_client, settings):
    settings.HUB_LANGUAGE = "zh-hans"
    with RocketChatReceiver() as rocketchat:
        recipient = Recipient.objects.create(
            name="family", kind="rocketchat", webhook_url=rocketchat.url
        )
        url = reverse(
            "admin:integrations_recipient_actions", kwargs={"pk": recipient.pk, "tool": "send_test"}
        )
        page = admin_client.post(url, follow=True, HTTP_ACCEPT_LANGUAGE="ja")
        assert "Family: 送信しました。" in page.content.decode()  # the admin speaks its own
        (sent,) = rocketchat.requests
    assert "dify-hub 测试消息" in sent.json["text"]
    assert "通过 dify-hub 管理后台的“发送测试消息”发送。" in sent.json["text"]
    assert "test message" not in sent.json["text"]


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("en", "[… cut by dify-hub: the text was 6.0 MB, more than mail servers accept"),
        ("zh-hans", "[… 已被 dify-hub 截断：正文有 6.0 MB"),
        ("ja", "[… dify-hub により省略: 本文は 6.0 MB あり"),
    ],
)
def test_the_email_cut_note_is_in_the_hubs_language(settings, language, words):
    settings.HUB_LANGUAGE = language
    cut = fit_text("x" * 99 + "\n" + "y" * 6_000_000)
    assert words in cut and len(cut.encode()) < MAX_TEXT_BYTES + 1000
    assert f"{MAX_TEXT_BYTES / 1e6:g} MB" in cut


@pytest.mark.parametrize("given", ["", "en", "zh-hans", "zh-Hans", "JA", " ja "])
def test_hub_language_takes_the_codes_the_hub_speaks_in_any_case(monkeypatch, given):
    monkeypatch.setenv("HUB_LANGUAGE", given)
    expected = given.strip().lower() or "en"
    assert env_language("HUB_LANGUAGE", "en", CODES) == expected


@pytest.mark.parametrize("given", ["fr", "zh", "zh-cn", "english", "ja_JP"])
def test_a_language_the_hub_does_not_speak_is_refused_naming_the_choices(monkeypatch, given):
    monkeypatch.setenv("HUB_LANGUAGE", given)
    with pytest.raises(ImproperlyConfigured) as raised:
        env_language("HUB_LANGUAGE", "en", CODES)
    assert str(raised.value) == (
        f"HUB_LANGUAGE={given!r} is not a language the hub speaks; use one of en, zh-hans, ja."
    )


def test_start_up_stops_on_an_unknown_hub_language(tmp_path):
    result = start(tmp_path, **GOOD, HUB_LANGUAGE="de")
    assert result.returncode != 0
    assert "HUB_LANGUAGE='de' is not a language the hub speaks; use one of en, zh-hans, ja." in (
        result.stderr
    )
