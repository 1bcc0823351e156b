"""Adding GitHub and Gitea endpoints in the admin: the secret shown once, the forge's own
set-up words, the connection checked against its fake, a delivery signed with the secret."""

from __future__ import annotations

import json
import re
import uuid

import pytest
from django.urls import reverse

from integrations.forges.github.signing import signature
from integrations.models import ReviewEndpoint
from tests.fakes.github_server import DEFAULT_TOKEN, FakeGitHub

pytestmark = pytest.mark.django_db


@pytest.fixture
def fake_github():
    with FakeGitHub() as server:
        yield server


def test_a_github_endpoint_is_added_checked_and_receives_signed_deliveries(
    admin_client, client, review_app, fake_github
):
    form = {
        "name": "OSS reviews",
        "forge": "github",
        "slug": "oss",
        "enabled": "on",
        "app": review_app.pk,
        "base_url": fake_github.url,
        "access_token": DEFAULT_TOKEN,
        "ca_bundle": "",
        "secret_token": "",
        "signing_secret": "",
        "triggers": ["open", "reopen", "new_commits", "ready", "review_command"],
        "review_command_from": ["OWNER", "MEMBER"],
        "target_branches": "",
        "input_mapping": "{}",
        "output_key": "review",
        "diff_budget": 60000,
        "max_parts": 5,
        "post_note": "on",
    }
    response = admin_client.post(reverse("admin:integrations_reviewendpoint_add"), form)
    assert response.status_code == 200, response.context["adminform"].form.errors
    page = response.content.decode()
    assert "Paste these into GitHub" in page and "Issue comments" in page
    assert 'value="http://testserver/hooks/github/oss/"' in page
    secret = re.search(r'value="([^"]+)" size="80" id="secret-token"', page).group(1)
    assert DEFAULT_TOKEN not in page

    endpoint = ReviewEndpoint.objects.get()
    assert endpoint.forge == "github" and endpoint.signing_secret == secret
    assert endpoint.review_command_from == ["OWNER", "MEMBER"]
    assert endpoint.bot_username == "dify-hub-bot"  # the add flow checked the connection
    assert f"connected to {fake_github.url} as @dify-hub-bot" in page
    assert fake_github.requests[-1].header("authorization") == f"Bearer {DEFAULT_TOKEN}"

    body = json.dumps({"zen": "Keep it logically awesome.", "hook_id": 1}).encode()
    ping = client.post(
        "/hooks/github/oss/",
        data=body,
        content_type="application/json",
        HTTP_X_GITHUB_EVENT="ping",
        HTTP_X_GITHUB_DELIVERY=str(uuid.uuid4()),
        HTTP_X_HUB_SIGNATURE_256=signature(secret, body),
    )
    assert ping.status_code == 200 and ping.json()["status"] == "ignored"

    change = admin_client.get(
        reverse("admin:integrations_reviewendpoint_change", args=[endpoint.pk])
    )
    text = change.content.decode()
    assert "Set up in GitHub" in text and "Let me select individual events" in text
    assert secret not in text and DEFAULT_TOKEN not in text


def test_a_github_app_endpoint_is_checked_as_the_app(admin_client, review_app, fake_github):
    from tests.github.support import PRIVATE_KEY, PUBLIC_KEY

    fake_github.enable_app(424242, "dify-hub-reviews", PUBLIC_KEY, {1})
    form = {
        "name": "App reviews",
        "forge": "github",
        "slug": "app",
        "enabled": "on",
        "app": review_app.pk,
        "base_url": fake_github.url,
        "access_token": "",
        "github_app_id": "424242",
        "github_app_private_key": PRIVATE_KEY,
        "github_installation_id": "",
        "ca_bundle": "",
        "secret_token": "",
        "signing_secret": "",
        "triggers": ["open", "new_commits", "review_command"],
        "review_command_from": ["OWNER", "MEMBER", "COLLABORATOR"],
        "target_branches": "",
        "input_mapping": "{}",
        "output_key": "",
        "diff_budget": 60000,
        "max_parts": 5,
        "post_note": "on",
    }
    response = admin_client.post(reverse("admin:integrations_reviewendpoint_add"), form)
    assert response.status_code == 200, response.context["adminform"].form.errors
    page = response.content.decode()
    assert f"connected to {fake_github.url} as @dify-hub-reviews[bot], a bot." in page
    assert "the GitHub App's settings" in page and "Issues: Read and write" in page
    assert "BEGIN PRIVATE KEY" not in page
    endpoint = ReviewEndpoint.objects.get()
    assert endpoint.uses_github_app and endpoint.bot_username == "dify-hub-reviews[bot]"

    change = admin_client.get(
        reverse("admin:integrations_reviewendpoint_change", args=[endpoint.pk])
    )
    assert "BEGIN PRIVATE KEY" not in change.content.decode()  # never shown again


def test_a_gitea_endpoint_is_added_with_giteas_words_and_checked(
    admin_client, review_app, fake_gitea
):
    from tests.fakes.gitea_server import DEFAULT_TOKEN as GITEA_TOKEN

    form = {
        "name": "Home reviews",
        "forge": "gitea",
        "slug": "home",
        "enabled": "on",
        "app": review_app.pk,
        "base_url": fake_gitea.url + "/api/v1",
        "access_token": GITEA_TOKEN,
        "ca_bundle": "",
        "secret_token": "",
        "signing_secret": "",
        "triggers": ["open", "reopen", "new_commits", "ready", "review_command"],
        "review_command_from": ["OWNER", "MEMBER", "COLLABORATOR"],
        "target_branches": "",
        "input_mapping": "{}",
        "output_key": "",
        "diff_budget": 60000,
        "max_parts": 5,
        "post_note": "on",
    }
    response = admin_client.post(reverse("admin:integrations_reviewendpoint_add"), form)
    assert response.status_code == 200, response.context["adminform"].form.errors
    page = response.content.decode()
    assert "Paste these into Gitea or Forgejo" in page and "Pull request synchronized" in page
    assert 'value="http://testserver/hooks/gitea/home/"' in page
    endpoint = ReviewEndpoint.objects.get()
    assert endpoint.base_url == fake_gitea.url  # the /api/v1 typed is dropped
    assert endpoint.bot_username == "dify-hub-bot"
    assert fake_gitea.requests[-1].header("authorization") == f"token {GITEA_TOKEN}"
    assert GITEA_TOKEN not in page
