"""The security headers on every kind of answer, the HTTPS redirect and its exemptions, and
admin pages that the Content-Security-Policy does not break (no inline style or script)."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.urls import reverse

from integrations.models import HubAPIKey, Recipient, Run
from tests.reviews.support import delivery

pytestmark = pytest.mark.django_db

POLICY = {
    "default-src": {"'self'"},
    "script-src": {"'self'"},
    "style-src": {"'self'"},
    "img-src": {"'self'"},
    "object-src": {"'none'"},
    "base-uri": {"'none'"},
    "form-action": {"'self'"},
    "frame-ancestors": {"'none'"},
}


def policy_of(response) -> dict[str, set[str]]:
    directives = [part.split() for part in response["Content-Security-Policy"].split(";")]
    return {name: set(sources) for name, *sources in directives}


def assert_security_headers(response) -> None:
    assert policy_of(response) == POLICY
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def test_an_admin_page_carries_the_headers(admin_client):
    response = admin_client.get("/admin/")
    assert response.status_code == 200
    assert_security_headers(response)


def test_the_login_page_carries_the_headers(client):
    response = client.get("/admin/login/")
    assert response.status_code == 200
    assert_security_headers(response)


def test_an_api_answer_carries_the_headers(client):
    _, key = HubAPIKey.create_key("reader", "read")
    response = client.get("/api/v1/runs/", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert_security_headers(response)


def test_a_webhook_answer_carries_the_headers(endpoint, post_hook):
    response = post_hook(endpoint, *delivery("push_hook"))
    assert response.status_code == 200 and response.json()["status"] == "ignored"
    assert_security_headers(response)


# --- HTTPS mode ---------------------------------------------------------------------------------


@pytest.fixture
def https_mode(settings):
    """What HUB_PUBLIC_URL=https://… sets (tests/hub/test_security.py checks that it does)."""
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 3600
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = True
    return settings


def test_plain_http_is_redirected_to_https(client, https_mode):
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 301
    assert response["Location"] == "https://testserver/admin/login/?next=/admin/"


def test_over_https_the_answer_has_hsts_and_secure_cookies(client, https_mode):
    response = client.get("/admin/login/", secure=True)
    assert response.status_code == 200
    assert response["Strict-Transport-Security"] == "max-age=3600"
    assert response.cookies["csrftoken"]["secure"] is True


def test_the_health_check_answers_over_plain_http(client, https_mode):
    response = client.get("/healthz")
    assert response.status_code in (200, 503)
    assert "Location" not in response


def test_webhooks_answer_over_plain_http(endpoint, post_hook, https_mode):
    """GitLab does not follow redirects and counts a 301 as a failed delivery."""
    response = post_hook(endpoint, *delivery("push_hook"))
    assert response.status_code == 200 and response.json()["status"] == "ignored"


def test_a_forged_forwarded_proto_is_not_trusted_without_hub_trusted_proxy(client, https_mode):
    response = client.get("/admin/login/", HTTP_X_FORWARDED_PROTO="https")
    assert response.status_code == 301


def test_a_trusted_proxy_says_the_request_was_https(client, https_mode):
    https_mode.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    response = client.get("/admin/login/", HTTP_X_FORWARDED_PROTO="https")
    assert response.status_code == 200
    assert response["Strict-Transport-Security"] == "max-age=3600"
    assert client.get("/admin/login/", HTTP_X_FORWARDED_PROTO="http").status_code == 301


# --- admin pages the policy does not break ---------------------------------------------------------


class InlineCode(HTMLParser):
    """What the policy blocks: style= and on…= attributes, javascript: links, <style> and
    <script> elements without a src (a type="application/json" data block is not run)."""

    def __init__(self) -> None:
        super().__init__()
        self.blocked: list[str] = []
        self.assets: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name, value in attrs:
            if name == "style" or name.startswith("on"):
                self.blocked.append(f"<{tag} {name}={value!r}>")
            if name == "href" and (value or "").strip().lower().startswith("javascript:"):
                self.blocked.append(f"<{tag} href={value!r}>")
        if tag == "style":
            self.blocked.append("<style> element")
        if tag == "script" and "src" not in values and values.get("type") != "application/json":
            self.blocked.append("<script> element without src")
        self.assets.add(values.get("src") or values.get("href") or "")


def inline_code(response) -> InlineCode:
    assert response.status_code == 200, response.status_code
    parser = InlineCode()
    parser.feed(response.content.decode())
    return parser


@pytest.fixture
def full_pages(admin_client, make_run, endpoint):
    """Objects whose pages show every coloured state and button the admin has."""
    run = make_run(status=Run.Status.FAILED, error_code="dify_error", error_message="boom")
    make_run(status=Run.Status.SUCCEEDED, outputs={"text": "hi"})
    Recipient.objects.create(
        name="family",
        kind="rocketchat",
        webhook_url="https://chat.example/hooks/x",
        last_error="502",
    )
    revoked, _ = HubAPIKey.create_key("old", "read")
    HubAPIKey.objects.filter(pk=revoked.pk).update(revoked_at=run.created_at)
    HubAPIKey.create_key("ci", "read")
    run.app.check_error = "Dify answered 401"
    run.app.notice = "Switched to blocking mode"
    run.app.save()
    return {"run": run, "app": run.app, "endpoint": endpoint}


@pytest.mark.parametrize(
    ("page", "args"),
    [
        ("admin:index", None),
        ("admin:integrations_run_changelist", None),
        ("admin:integrations_run_change", "run"),
        ("admin:integrations_difyapp_changelist", None),
        ("admin:integrations_difyapp_change", "app"),
        ("admin:integrations_recipient_changelist", None),
        ("admin:integrations_recipient_add", None),
        ("admin:integrations_digest_add", None),
        ("admin:integrations_reviewendpoint_add", None),
        ("admin:integrations_reviewendpoint_change", "endpoint"),
        ("admin:integrations_hubapikey_changelist", None),
        ("admin:integrations_webhookevent_changelist", None),
    ],
)
def test_admin_pages_have_no_inline_style_or_script(admin_client, full_pages, page, args):
    url = reverse(page, args=[full_pages[args].pk] if args else None)
    found = inline_code(admin_client.get(url))
    assert found.blocked == []
    assert {"/static/integrations/hub.css", "/static/integrations/hub-admin.js"} <= found.assets


def test_the_run_now_form_has_no_inline_style(admin_client, full_pages):
    app = full_pages["app"]
    url = reverse("admin:integrations_difyapp_actions", kwargs={"pk": app.pk, "tool": "run_now"})
    assert inline_code(admin_client.get(url)).blocked == []


def test_the_one_time_token_page_has_no_inline_style_or_script(admin_client, endpoint):
    url = reverse(
        "admin:integrations_reviewendpoint_actions",
        kwargs={"pk": endpoint.pk, "tool": "regenerate_token"},
    )
    response = admin_client.post(url)
    page = response.content.decode()
    assert "not shown again" in page
    assert inline_code(response).blocked == []
    # The boxes still select themselves on a click (hub-admin.js), ready to copy.
    assert page.count("data-select-on-click") == 2


def test_a_button_that_asks_first_carries_its_question(admin_client, endpoint):
    page = admin_client.get(reverse("admin:integrations_reviewendpoint_change", args=[endpoint.pk]))
    assert 'data-confirm="The forge keeps sending the old secret' in page.content.decode()
