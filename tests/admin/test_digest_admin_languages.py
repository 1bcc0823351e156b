"""The digest admin, the recipients' kinds and a review endpoint's set-up steps in the viewer's
language (Accept-Language, or the person's choice under Preferences), like the rest of the
admin; English stays as it was."""

from __future__ import annotations

import pytest
from django.urls import reverse

from integrations.models import Preference, Recipient

pytestmark = pytest.mark.django_db

JAPANESE = "ja,en-US;q=0.9,en;q=0.8"
CHINESE = "zh-CN,zh;q=0.9,en;q=0.8"


def page(client, url: str, accept: str = "", **query) -> str:
    headers = {"HTTP_ACCEPT_LANGUAGE": accept} if accept else {}
    response = client.get(url, query, **headers)
    assert response.status_code == 200
    return " ".join(response.content.decode().split())


@pytest.fixture
def family(db):
    return Recipient.objects.create(
        name="family", kind="rocketchat", webhook_url="https://chat.example.com/hooks/a/b"
    )


def test_a_new_digests_boxes_in_japanese(admin_client, dify_app):
    url = reverse("admin:integrations_digest_add")
    text = page(admin_client, url, JAPANESE, app=dify_app.pk)
    assert (
        "変数 query（text-input、必須）。 {{ weekday }} などのプレースホルダーを使えます。" in text
    )
    assert "変数 color（select、選択肢: red, green, blue）。" in text
    assert "JSON で入力（上級者向け）" in text
    assert "入力した場合は、上の各欄の代わりにこちらが使われます。 アプリへの入力。" in text
    assert 'class="fieldset-heading">実行する内容</h2>' in text
    assert 'class="fieldset-heading">送信する内容</h2>' in text
    assert "Placeholders such as" not in text and "What to run" not in text


def test_a_digests_change_page_in_japanese_by_the_persons_choice(
    client, admin_user, make_digest, family
):
    admin_user.refresh_from_db()
    Preference.objects.create(user=admin_user, language="ja")
    client.force_login(admin_user)
    digest = make_digest(recipients=[family], inputs={"query": "Weather for {{ weekday }}"})
    url = reverse("admin:integrations_digest_change", args=[digest.pk])
    text = page(client, url, CHINESE)  # the person's choice wins over the browser's
    assert "変数 query（text-input、必須）。" in text
    assert "今後 3 回の実行" in text  # the read-only schedule, labelled
    assert "次において実施 08:00" in text  # and the schedule itself in words
    assert (
        "キャッチアップ猶予（秒）" in text
        and "IANA のタイムゾーン名（例: Europe/Berlin）。" in text
    )
    assert "今すぐ実行" in text  # the button


def test_the_digest_page_in_english_is_unchanged(admin_client, make_digest, family):
    digest = make_digest(recipients=[family])
    url = reverse("admin:integrations_digest_change", args=[digest.pk])
    text = page(admin_client, url)
    assert (
        "Variable query (text-input, required). Placeholders such as {{ weekday }} may be used."
        in text
    )
    assert "Variable color (select; one of red, green, blue)." in text
    assert (
        "Inputs as JSON (advanced)" in text and 'class="fieldset-heading">What to run</h2>' in text
    )


def test_a_digests_form_errors_in_chinese(admin_client, dify_app):
    url = reverse("admin:integrations_digest_add")
    data = {
        "name": "Morning",
        "app": dify_app.pk,
        "inputs": "[1, 2]",
        "language": "en",
        "cron": "0 8 * * *",
        "timezone": "UTC",
        "catchup_grace": "3600",
        "enabled": "on",
    }
    response = admin_client.post(url, data, HTTP_ACCEPT_LANGUAGE=CHINESE)
    text = response.content.decode()
    assert response.status_code == 200
    assert "输入必须是 JSON 对象，例如 {&quot;city&quot;: &quot;Berlin&quot;}。" in text
    assert "启用的摘要至少需要一个接收方。" in text


def test_the_recipient_kinds_in_japanese_keep_the_product_names(admin_client):
    text = page(admin_client, reverse("admin:integrations_recipient_add"), JAPANESE)
    assert '<option value="webhook">汎用 Webhook</option>' in text
    assert '<option value="email">メール</option>' in text
    assert '<option value="slack">Slack</option>' in text
    assert '<option value="rocketchat">Rocket.Chat</option>' in text


def test_a_gitlab_endpoints_set_up_steps_in_chinese(admin_client, endpoint):
    url = reverse("admin:integrations_reviewendpoint_change", args=[endpoint.pk])
    text = page(admin_client, url, CHINESE)
    assert "在 GitLab 中打开项目（或群组）→ <b>Settings → Webhooks → Add new webhook</b>。" in text
    assert "<b>URL</b>：上面的 Webhook URL。" in text
    assert "In GitLab, open the project" not in text
