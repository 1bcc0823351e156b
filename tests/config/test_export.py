"""`manage.py hub export`: the configuration as a file `hub apply` reads back unchanged."""

from __future__ import annotations

import pytest
import yaml

from integrations.models import DifyApp, Digest, Recipient, ReviewEndpoint
from tests.config.conftest import ISSUE_YAML, db_state, hub

pytestmark = pytest.mark.django_db

SIGNING_SECRET = "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="


def test_export_then_apply_changes_nothing(env, reviewer, write, monkeypatch):
    hub("apply", write(ISSUE_YAML.read_text()))
    Recipient.objects.create(
        name="Ops Bot", kind="webhook", webhook_url="https://hooks.example.com/in", secret="s3cr3t"
    )
    endpoint = ReviewEndpoint.objects.get()
    endpoint.signing_secret = SIGNING_SECRET
    endpoint.save()
    exported = hub("export")
    monkeypatch.setenv("DIFY_APP_WEATHER_API_KEY", env["WEATHER_APP_KEY"])
    monkeypatch.setenv("DIFY_APP_REVIEWER_API_KEY", "app-reviewer-key")
    monkeypatch.setenv("RECIPIENT_FAMILY_URL", env["ROCKETCHAT_HOOK_URL"])
    monkeypatch.setenv("RECIPIENT_OPS_BOT_URL", "https://hooks.example.com/in")
    monkeypatch.setenv("RECIPIENT_OPS_BOT_SECRET", "s3cr3t")
    monkeypatch.setenv("GITLAB_TEAM_REVIEWS_SECRET_TOKEN", env["GITLAB_WEBHOOK_SECRET"])
    monkeypatch.setenv("GITLAB_TEAM_REVIEWS_ACCESS_TOKEN", env["GITLAB_TOKEN"])
    monkeypatch.setenv("GITLAB_TEAM_REVIEWS_SIGNING_SECRET", SIGNING_SECRET)
    before = db_state()
    out = hub("apply", write(exported, "exported.yaml"), "--prune")
    assert "0 created, 0 changed, 6 unchanged, 0 deleted." in out
    assert db_state() == before


def test_export_writes_every_key_and_placeholders_for_secrets(env, reviewer, write):
    hub("apply", write(ISSUE_YAML.read_text()))
    data = yaml.safe_load(hub("export"))
    assert data["dify_apps"][1] == {
        "name": "weather",
        "base_url": "http://127.0.0.1:5001/v1",
        "api_key": "${DIFY_APP_WEATHER_API_KEY}",
        "enabled": True,
        "response_mode": "streaming",
        "timeout": 300,
        "connect_timeout": 10.0,
        "read_timeout": 60.0,
        "first_event_timeout": 30.0,
        "max_concurrent_runs": 10,
        "ca_bundle": "",
    }
    assert data["recipients"] == [
        {
            "name": "family",
            "kind": "rocketchat",
            "url": "${RECIPIENT_FAMILY_URL}",
            "options": {"alias": "Weather", "emoji": ":sunny:"},
            "enabled": True,
            "disable_after": None,
            "receives_alerts": False,
        }
    ]
    digest = data["digests"][0]
    assert digest["recipients"] == ["family"]
    keys = ("query", "language", "title", "footer", "catchup_grace")
    assert {key: digest[key] for key in keys} == {
        "query": "",
        "language": "en",
        "title": "Weather, {{ weekday }}",
        "footer": "",
        "catchup_grace": 3600,
    }
    endpoint = data["gitlab_endpoints"][0]
    assert endpoint["secret_token"] == "${GITLAB_TEAM_REVIEWS_SECRET_TOKEN}"
    assert endpoint["access_token"] == "${GITLAB_TEAM_REVIEWS_ACCESS_TOKEN}"
    assert endpoint["signing_secret"] == ""  # not set: nothing to ask for
    assert endpoint["ca_bundle"] == "" and endpoint["enabled"] is True
    assert endpoint["triggers"] == ["open", "reopen", "new_commits", "ready", "review_command"]


def test_export_never_contains_a_secret(env, reviewer, write):
    hub("apply", write(ISSUE_YAML.read_text()))
    Recipient.objects.create(
        name="signed", kind="feishu", webhook_url="https://open.feishu.cn/x", secret="feishu-sec"
    )
    ReviewEndpoint.objects.update(signing_secret=SIGNING_SECRET)
    exported = hub("export")
    secrets = [*env.values(), "app-reviewer-key", "feishu-sec", SIGNING_SECRET]
    secrets += ["open.feishu.cn", ReviewEndpoint.objects.get().secret_token_hash]
    assert [secret for secret in secrets if secret in exported] == []
    assert "#   RECIPIENT_SIGNED_SECRET" in exported


def test_a_literal_placeholder_in_a_value_survives_the_round_trip(dify_app, write, monkeypatch):
    recipient = Recipient.objects.create(
        name="r", kind="slack", webhook_url="https://hooks.slack.com/services/x"
    )
    digest = Digest.objects.create(
        name="Cost ${USD}", app=dify_app, cron="0 9 * * *", inputs={"query": "price in ${USD}"}
    )
    digest.recipients.set([recipient])
    exported = hub("export")
    assert "price in $${USD}" in exported
    monkeypatch.setenv("DIFY_APP_ECHO_API_KEY", dify_app.api_key)
    monkeypatch.setenv("RECIPIENT_R_URL", "https://hooks.slack.com/services/x")
    before = db_state()
    out = hub("apply", write(exported))
    assert "0 created, 0 changed, 3 unchanged" in out
    assert db_state() == before
    assert DifyApp.objects.count() == 1
