"""`hub apply --check`: read each app's mode and form from Dify, check what is built on them."""

from __future__ import annotations

import pytest
from django.core.management import CommandError

from integrations.models import DifyApp, Digest
from tests.config.conftest import hub
from tests.fakes.dify import FakeDify

pytestmark = pytest.mark.django_db


@pytest.fixture
def chatflow():
    with FakeDify(app_mode="advanced-chat", ping_interval=0.2) as server:
        yield server


def config(dify: FakeDify, digest: str) -> str:
    return f"""
dify_apps:
  - name: assistant
    base_url: {dify.url}
    api_key: {dify.api_key}
recipients:
  - name: family
    kind: slack
    url: https://hooks.slack.com/services/T0/B0/x
digests:
  - name: morning
    app: assistant
    cron: "0 8 * * *"
    timezone: Europe/Berlin
    recipients: [family]
{digest}
"""


def test_without_check_apply_says_the_form_is_not_loaded(chatflow, write):
    out = hub("apply", write(config(chatflow, "")))
    assert "the mode and input form of 'assistant' are not loaded" in out
    assert "hub apply --check" in out
    assert chatflow.requests == []  # apply alone never calls Dify


def test_check_refuses_a_chat_digest_without_a_query_naming_the_key(chatflow, write):
    with pytest.raises(CommandError) as refused:
        hub("apply", "--check", write(config(chatflow, "")))
    message = str(refused.value)
    assert "digests[0] 'morning': key 'query': 'assistant' is a chat app: it needs a query" in (
        message
    )
    assert "Nothing was changed." in message
    assert not DifyApp.objects.exists() and not Digest.objects.exists()
    assert [r.path for r in chatflow.requests] == ["/v1/info", "/v1/parameters"]


def test_check_loads_the_form_and_keeps_it(chatflow, write):
    out = hub("apply", "--check", write(config(chatflow, '    query: "Good morning"')))
    assert "assistant (created, checked: connected to" in out
    assert "Chatflow (advanced-chat) app" in out
    assert "not loaded" not in out
    app = DifyApp.objects.get()
    assert app.mode == "advanced-chat" and app.form_loaded_at is not None
    # Dify is asked once per app, before the transaction; the plan in it reuses the answer.
    assert [r.path for r in chatflow.requests] == ["/v1/info", "/v1/parameters"]
    # Applied again, unchanged: the check is kept as well.
    DifyApp.objects.update(form_loaded_at=None)
    out = hub("apply", "--check", write(config(chatflow, '    query: "Good morning"')))
    assert "assistant (unchanged, checked:" in out
    assert DifyApp.objects.get().form_loaded_at is not None


def test_a_dry_run_with_check_stores_nothing(chatflow, write):
    out = hub("apply", "--dry-run", "--check", write(config(chatflow, '    query: "Hi"')))
    assert "checked: connected to" in out
    assert not DifyApp.objects.exists()


def test_a_wrong_key_fails_the_check_and_nothing_is_applied(chatflow, write):
    text = config(chatflow, '    query: "Hi"').replace(chatflow.api_key, "app-wrongwrongwrong")
    with pytest.raises(CommandError) as refused:
        hub("apply", "--check", write(text))
    assert "dify_apps[0] 'assistant': --check: connection check failed: Dify" in str(refused.value)
    assert not DifyApp.objects.exists()


def test_a_digest_whose_output_cannot_be_chosen_is_refused(chatflow, write):
    hub("apply", write(config(chatflow, '    query: "Hi"')))
    # The app's last successful run returned two outputs.
    DifyApp.objects.update(output_names=["answer", "sources"])
    with pytest.raises(CommandError) as refused:
        hub("apply", write(config(chatflow, '    query: "Hi"')))
    assert (
        "digests[0] 'morning': key 'output': The app returns `answer` and `sources`; set "
        "'Output to send' to the one to send" in str(refused.value)
    )
    hub("apply", write(config(chatflow, '    query: "Hi"\n    output: answer')))
    assert Digest.objects.get().output_key == "answer"
