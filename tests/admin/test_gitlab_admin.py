"""The GitLab merge-request review admin as a user drives it: adding and editing endpoints,
the one-time secret token, the connection check, webhook events and review runs."""

from __future__ import annotations

import json
import re

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission, User
from django.urls import reverse

from integrations.gitlab.signing import token_matches
from integrations.models import ReviewEndpoint, Run, WebhookEvent
from tests.reviews.support import FIRST_HEAD, SECRET, delivery

pytestmark = pytest.mark.django_db

TOKEN = re.compile(r"dhgl_[A-Za-z0-9_-]+")
ALL_TRIGGERS = ["open", "reopen", "new_commits", "ready", "review_command"]


@pytest.fixture
def admin(admin_client):
    return admin_client


def endpoint_form(app, gitlab, **overrides) -> dict:
    data = {
        "name": "Payments reviews",
        "slug": "payments",
        "enabled": "on",
        "app": app.pk,
        "forge": "gitlab",
        "base_url": gitlab.url,
        "access_token": gitlab.token,
        "ca_bundle": "",
        "secret_token": "",
        "signing_secret": "",
        "triggers": ALL_TRIGGERS,
        "target_branches": "main, release/*",
        "input_mapping": '{"language": "en", "focus": "{{ target_branch }}"}',
        "output_key": "review",
        "diff_budget": 60000,
        "max_parts": 5,
        "post_note": "on",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def add_url() -> str:
    return reverse("admin:integrations_reviewendpoint_add")


def change_url(endpoint) -> str:
    return reverse("admin:integrations_reviewendpoint_change", args=[endpoint.pk])


def page_of(response) -> str:
    return response.content.decode()


def tokens_in(page: str) -> list[str]:
    return TOKEN.findall(page)


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


# --- adding an endpoint ----------------------------------------------------------------------


def test_it_adds_an_endpoint_and_shows_the_generated_token_once(
    admin, review_app, fake_gitlab, post_hook
):
    response = admin.post(add_url(), endpoint_form(review_app, fake_gitlab), follow=True)

    assert response.status_code == 200
    endpoint = ReviewEndpoint.objects.get()
    assert endpoint.slug == "payments" and endpoint.app == review_app
    assert endpoint.triggers == ALL_TRIGGERS
    assert endpoint.target_branches == ["main", "release/*"]
    assert endpoint.input_mapping == {"language": "en", "focus": "{{ target_branch }}"}
    assert endpoint.access_token == fake_gitlab.token
    assert response.redirect_chain == []  # the token page is the POST's own answer
    assert "no-store" in response["Cache-Control"]
    page = page_of(response)
    assert 'value="http://testserver/hooks/gitlab/payments/"' in page
    [token] = tokens_in(page)
    assert "not shown again" in page
    # The token was never put in a message (which would travel in a cookie).
    assert all(token not in message for message in messages_of(response))
    assert token_matches(endpoint.secret_token_hash, token)
    assert fake_gitlab.token not in page
    # The add flow checked the connection: the bot user is known from GitLab's GET /user.
    assert endpoint.bot_user_id == fake_gitlab.user["id"]
    assert endpoint.bot_username == fake_gitlab.user["username"]
    assert endpoint.checked_at is not None and endpoint.check_error == ""
    assert f"connected to {fake_gitlab.url} as @{fake_gitlab.user['username']}" in page
    assert len(fake_gitlab.requests_to("/api/v4/user", "GET")) == 1

    # GitLab configured with the shown token gets in.
    assert post_hook(endpoint, *delivery("mr_open", token=token)).status_code == 202

    # Later visits to the change page never show the token or the access token again.
    page = page_of(admin.get(change_url(endpoint)))
    assert token not in page and tokens_in(page) == []
    assert fake_gitlab.token not in page
    assert "••••••••" + fake_gitlab.token[-4:] in page


def test_it_keeps_a_secret_token_typed_into_the_add_form_and_shows_no_token(
    admin, review_app, fake_gitlab, post_hook
):
    chosen = "my-own-secret-token-1234"
    form = endpoint_form(review_app, fake_gitlab, secret_token=chosen)
    page = page_of(admin.post(add_url(), form, follow=True))

    endpoint = ReviewEndpoint.objects.get()
    assert token_matches(endpoint.secret_token_hash, chosen)
    assert chosen not in page and tokens_in(page) == []
    assert post_hook(endpoint, *delivery("mr_open", token=chosen)).status_code == 202


def test_it_requires_an_access_token_when_adding(admin, review_app, fake_gitlab):
    response = admin.post(add_url(), endpoint_form(review_app, fake_gitlab, access_token=""))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["access_token"] == ["An access token is required."]
    assert not ReviewEndpoint.objects.exists()
    assert fake_gitlab.requests == []


# --- the change page ---------------------------------------------------------------------------


def setup_box(page: str) -> str:
    start = page.index("<h2>Set up in GitLab</h2>")
    return page[start : page.index("</fieldset>", start)]


def test_it_shows_the_set_up_in_gitlab_box_with_the_absolute_webhook_url(admin, endpoint):
    page = page_of(admin.get(change_url(endpoint)))
    box = setup_box(page)
    assert 'value="http://testserver/hooks/gitlab/team-a/"' in box
    assert "Merge request events" in box and "Comments" in box
    assert "Regenerate secret token" in page and "Check connection" in page
    events = reverse("admin:integrations_webhookevent_changelist")
    assert f"{events}?endpoint__id__exact={endpoint.pk}" in page
    assert SECRET not in page


def test_it_builds_the_webhook_url_from_hub_public_url(admin, endpoint, settings):
    settings.HUB_PUBLIC_URL = "https://hub.example.com"
    box = setup_box(page_of(admin.get(change_url(endpoint))))
    assert 'value="https://hub.example.com/hooks/gitlab/team-a/"' in box
    assert "testserver" not in box
    # The one-time token page names the same public URL.
    url = reverse(
        "admin:integrations_reviewendpoint_actions",
        kwargs={"pk": endpoint.pk, "tool": "regenerate_token"},
    )
    assert 'value="https://hub.example.com/hooks/gitlab/team-a/"' in page_of(admin.post(url))


def test_it_has_no_set_up_box_on_the_add_page(admin, review_app):
    page = page_of(admin.get(add_url()))
    assert "Set up in GitLab" not in page
    assert "Regenerate secret token" not in page


def test_it_keeps_the_stored_secrets_when_their_boxes_are_left_empty(
    admin, endpoint, fake_gitlab, review_app, post_hook
):
    endpoint.signing_secret = "whsec_" + "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
    endpoint.save()
    stored_hash = endpoint.secret_token_hash
    form = endpoint_form(
        review_app,
        fake_gitlab,
        name="renamed",
        slug=endpoint.slug,
        access_token="",
        triggers=["open", "review_command"],
        target_branches="main",
        input_mapping='{"language": "de"}',
    )

    response = admin.post(change_url(endpoint), form)

    assert response.status_code == 302, page_of(response)
    endpoint.refresh_from_db()
    assert endpoint.name == "renamed"
    # Empty boxes are not a change: no connection check, no "Changed access token" in history.
    assert fake_gitlab.requests == []
    [entry] = LogEntry.objects.filter(object_id=str(endpoint.pk))
    assert "token" not in entry.get_change_message() and "secret" not in entry.get_change_message()
    assert endpoint.triggers == ["open", "review_command"]
    assert endpoint.target_branches == ["main"]
    assert endpoint.input_mapping == {"language": "de"}
    assert endpoint.secret_token_hash == stored_hash
    assert endpoint.access_token == fake_gitlab.token
    assert endpoint.signing_secret.startswith("whsec_MDEy")
    page = page_of(admin.get(change_url(endpoint)))
    assert 'value="main"' in page  # the branches list shown back as text
    assert SECRET not in page and fake_gitlab.token not in page


def test_it_replaces_the_access_token_when_a_new_one_is_typed(admin, endpoint, fake_gitlab):
    data = endpoint_form(endpoint.app, fake_gitlab, name=endpoint.name, slug=endpoint.slug)
    data["access_token"] = "glpat-a-new-token-value"
    page = page_of(admin.post(change_url(endpoint), data, follow=True))

    endpoint.refresh_from_db()
    assert endpoint.access_token == "glpat-a-new-token-value"
    # The new token was checked at once; the fake GitLab only knows the old one.
    assert "401" in page and "the access token is wrong, expired or revoked" in page
    assert "glpat-a-new-token-value" not in page
    assert "the access token is wrong" in endpoint.check_error


# --- validation -------------------------------------------------------------------------------


def field_errors(response, field: str) -> list[str]:
    form = response.context["adminform"].form
    return [str(message) for message in form.errors.get(field, [])]


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        (
            {"input_mapping": '{"focus": "{{ nme }}"}'},
            "input_mapping",
            "focus: unknown placeholder {{ nme }}; available: forge, repository, number",
        ),
        (
            {"input_mapping": '{"tone": "friendly"}'},
            "input_mapping",
            "tone: the Dify app has no input of that name (its inputs: title, diff, "
            "changed_files, focus, language)",
        ),
        (
            {"signing_secret": "not-a-signing-token"},
            "signing_secret",
            "a GitLab signing token starts with whsec_ followed by base64",
        ),
        ({"triggers": None}, "triggers", "Choose at least one trigger"),
        (
            {"secret_token": "too-short"},
            "secret_token",
            "Use at least 16 characters, or leave it empty.",
        ),
    ],
    ids=["unknown-placeholder", "undeclared-input", "signing-secret", "no-trigger", "short-token"],
)
def test_it_shows_form_errors_on_the_right_field_and_saves_nothing(
    admin, review_app, fake_gitlab, overrides, field, message
):
    response = admin.post(add_url(), endpoint_form(review_app, fake_gitlab, **overrides))

    assert response.status_code == 200
    errors = field_errors(response, field)
    assert any(message in error for error in errors), errors
    assert message.split(" {{")[0] in page_of(response)
    assert not ReviewEndpoint.objects.exists()
    assert fake_gitlab.requests == []  # nothing checked while the form is wrong
    assert tokens_in(page_of(response)) == []


def test_it_normalises_an_api_v4_url_to_the_instance_url(admin, review_app, fake_gitlab):
    form = endpoint_form(review_app, fake_gitlab, base_url=fake_gitlab.url + "/api/v4/")
    assert admin.post(add_url(), form).status_code == 200  # the one-time token page
    endpoint = ReviewEndpoint.objects.get()
    assert endpoint.base_url == fake_gitlab.url
    assert endpoint.bot_user_id == fake_gitlab.user["id"]  # the check used the right API URL


def test_it_refuses_a_gitlab_url_with_credentials_in_it(admin, review_app, fake_gitlab):
    url_with_password = fake_gitlab.url.replace("://", "://root:hunter2@")
    form = endpoint_form(review_app, fake_gitlab, base_url=url_with_password)

    response = admin.post(add_url(), form)

    assert response.status_code == 200
    assert "must not contain credentials" in page_of(response)
    assert not ReviewEndpoint.objects.exists()
    assert fake_gitlab.requests == []


# --- regenerating the secret token -----------------------------------------------------------


def test_it_regenerates_the_secret_token_and_shows_it_once(admin, endpoint, post_hook):
    url = reverse(
        "admin:integrations_reviewendpoint_actions",
        kwargs={"pk": endpoint.pk, "tool": "regenerate_token"},
    )

    response = admin.post(url, follow=True)

    assert response.redirect_chain == []
    page = page_of(response)
    [token] = tokens_in(page)
    assert token != SECRET
    assert 'value="http://testserver/hooks/gitlab/team-a/"' in page
    endpoint.refresh_from_db()
    assert token_matches(endpoint.secret_token_hash, token)
    assert post_hook(endpoint, *delivery("mr_open", token=SECRET)).status_code == 401
    assert post_hook(endpoint, *delivery("mr_open", token=token)).status_code == 202
    assert token not in page_of(admin.get(change_url(endpoint)))


def test_it_does_not_regenerate_on_get(admin, endpoint, post_hook):
    stored_hash = endpoint.secret_token_hash
    url = reverse(
        "admin:integrations_reviewendpoint_actions",
        kwargs={"pk": endpoint.pk, "tool": "regenerate_token"},
    )

    response = admin.get(url)

    assert response.status_code == 405  # a button is a POST form; a link changes nothing
    assert tokens_in(page_of(response)) == []
    endpoint.refresh_from_db()
    assert endpoint.secret_token_hash == stored_hash
    assert post_hook(endpoint, *delivery("mr_open", token=SECRET)).status_code == 202


def test_it_needs_a_staff_login_to_regenerate(client, endpoint):
    stored_hash = endpoint.secret_token_hash
    url = reverse(
        "admin:integrations_reviewendpoint_actions",
        kwargs={"pk": endpoint.pk, "tool": "regenerate_token"},
    )
    response = client.post(url)
    assert response.status_code == 302 and "/login/" in response["Location"]
    endpoint.refresh_from_db()
    assert endpoint.secret_token_hash == stored_hash


# --- checking the connection -----------------------------------------------------------------


def test_it_checks_the_connection_and_names_the_bot_user(admin, endpoint, fake_gitlab):
    url = reverse(
        "admin:integrations_reviewendpoint_actions",
        kwargs={"pk": endpoint.pk, "tool": "check_connection"},
    )

    response = admin.post(url, follow=True)

    page = page_of(response)
    username = fake_gitlab.user["username"]
    assert messages_of(response) == [
        f"team-reviews: connected to {fake_gitlab.url} as @{username}, a bot user."
    ]
    assert f"connected to {fake_gitlab.url} as @{username}, a bot user." in page
    assert f"@{username} (id {fake_gitlab.user['id']})" in page  # the "Bot user" field
    [request] = fake_gitlab.requests_to("/api/v4/user", "GET")
    assert request.headers["private-token"] == fake_gitlab.token
    endpoint.refresh_from_db()
    assert endpoint.bot_user_id == fake_gitlab.user["id"] and endpoint.check_error == ""
    assert fake_gitlab.token not in page and SECRET not in page


def test_staff_who_may_only_view_an_endpoint_cannot_press_its_buttons(
    client, endpoint, fake_gitlab
):
    viewer = User.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_reviewendpoint"))
    client.force_login(viewer)
    stored_hash = endpoint.secret_token_hash
    for tool, permission in (
        ("check_connection", "integrations.check_connection"),
        ("regenerate_token", "integrations.regenerate_secret"),
    ):
        url = reverse(
            "admin:integrations_reviewendpoint_actions", kwargs={"pk": endpoint.pk, "tool": tool}
        )

        response = client.post(url, follow=True)

        assert response.status_code == 403
        assert f"({permission}), which your account does not have" in page_of(response)
    assert fake_gitlab.requests == []
    endpoint.refresh_from_db()
    assert endpoint.secret_token_hash == stored_hash


def test_it_reports_a_refused_token_in_plain_words(admin, endpoint, fake_gitlab):
    fake_gitlab.fail_next("GET", "/user", 401)
    url = reverse(
        "admin:integrations_reviewendpoint_actions",
        kwargs={"pk": endpoint.pk, "tool": "check_connection"},
    )

    response = admin.post(url, follow=True)

    page = page_of(response)
    [message] = messages_of(response)
    assert message.startswith("team-reviews: ") and "401" in message
    assert "the access token is wrong, expired or revoked" in message
    assert '<li class="error">' in page
    assert "the access token is wrong, expired or revoked" in page
    endpoint.refresh_from_db()
    assert "the access token is wrong, expired or revoked" in endpoint.check_error
    assert "401" in endpoint.check_error
    assert endpoint.checked_at is not None and endpoint.bot_user_id is None
    assert "✗" in page  # the "Last check" field shows the failure
    assert fake_gitlab.token not in page and SECRET not in page
    assert fake_gitlab.token not in endpoint.check_error


def test_it_does_not_check_on_get(admin, endpoint, fake_gitlab):
    url = reverse(
        "admin:integrations_reviewendpoint_actions",
        kwargs={"pk": endpoint.pk, "tool": "check_connection"},
    )
    assert admin.get(url).status_code == 405
    assert fake_gitlab.requests == []


def test_the_check_action_checks_every_selected_endpoint(admin, endpoint, fake_gitlab):
    changelist = reverse("admin:integrations_reviewendpoint_changelist")
    data = {"action": "check_connection_action", "_selected_action": [endpoint.pk]}
    page = page_of(admin.post(changelist, data, follow=True))
    assert f"as @{fake_gitlab.user['username']}" in page
    assert len(fake_gitlab.requests_to("/api/v4/user")) == 1


# --- webhook events ------------------------------------------------------------------------


@pytest.fixture
def three_events(endpoint, post_hook):
    assert post_hook(endpoint, *delivery("mr_open")).status_code == 202
    assert post_hook(endpoint, *delivery("mr_close")).status_code == 200
    headers, _ = delivery("mr_open", Idempotency_Key="malformed-delivery-key")
    raw = b'{"object_kind": "merge_request",'
    assert post_hook(endpoint, headers, None, raw=raw).status_code == 400
    return {event.outcome: event for event in WebhookEvent.objects.all()}


def events_url() -> str:
    return reverse("admin:integrations_webhookevent_changelist")


def test_it_lists_webhook_events_with_outcome_and_reason(admin, three_events):
    assert set(three_events) == {"accepted", "ignored", "invalid"}

    page = page_of(admin.get(events_url()))

    for event in three_events.values():
        assert reverse("admin:integrations_webhookevent_change", args=[event.pk]) in page
    assert "Accepted" in page and "Ignored" in page and "Invalid" in page
    assert "MR !342 was closed; closing does not request a review" in page
    assert "Malformed JSON" in page
    run = three_events["accepted"].run
    assert f">#{run.pk}</a>" in page  # the accepted event links its run
    assert SECRET not in page


@pytest.mark.parametrize("outcome", ["accepted", "ignored", "invalid"])
def test_it_filters_webhook_events_by_outcome(admin, three_events, outcome):
    response = admin.get(events_url() + f"?outcome__exact={outcome}")

    assert response.status_code == 200
    shown = [event.pk for event in response.context["cl"].result_list]
    assert shown == [three_events[outcome].pk]
    page = page_of(response)
    for other, event in three_events.items():
        link = reverse("admin:integrations_webhookevent_change", args=[event.pk])
        assert (link in page) == (other == outcome)


def test_it_filters_webhook_events_by_endpoint(admin, three_events, endpoint):
    response = admin.get(events_url() + f"?endpoint__id__exact={endpoint.pk}")
    assert len(response.context["cl"].result_list) == 3


def test_it_shows_an_events_headers_without_the_token_and_its_payload(admin, three_events):
    event = three_events["accepted"]

    page = page_of(admin.get(reverse("admin:integrations_webhookevent_change", args=[event.pk])))

    assert "x-gitlab-event" in page and "Merge Request Hook" in page
    assert "3d5d1fe8-44bc-534f-b39a-b379434e0afa" in page  # the Idempotency-Key
    assert "x-gitlab-token" not in page.lower() and SECRET not in page
    assert "Retry failed card captures with exponential backoff" in page
    assert "&quot;object_kind&quot;: &quot;merge_request&quot;" in page
    assert FIRST_HEAD in page
    assert reverse("admin:integrations_run_change", args=[event.run_id]) in page


def test_it_shows_an_invalid_event_with_its_reason_and_no_payload(admin, three_events):
    event = three_events["invalid"]
    page = page_of(admin.get(reverse("admin:integrations_webhookevent_change", args=[event.pk])))
    assert "Malformed JSON" in page
    assert "x-gitlab-token" not in page.lower() and SECRET not in page


def test_webhook_events_cannot_be_added_or_changed(admin, three_events):
    page = page_of(admin.get(events_url()))
    add = reverse("admin:integrations_webhookevent_add")
    assert add not in page
    assert admin.get(add).status_code == 403
    assert admin.post(add, {"outcome": "accepted", "reason": "forged"}).status_code == 403

    event = three_events["ignored"]
    url = reverse("admin:integrations_webhookevent_change", args=[event.pk])
    page = page_of(admin.get(url))
    assert 'name="_save"' not in page
    response = admin.post(url, {"outcome": "accepted", "reason": "forged", "_save": "Save"})
    assert response.status_code == 403
    event.refresh_from_db()
    assert event.outcome == "ignored" and event.reason.startswith("MR !342 was closed")


# --- review runs -------------------------------------------------------------------------------


def test_a_review_runs_page_shows_the_merge_request(admin, endpoint, post_hook):
    headers, body = delivery("mr_open")
    answer = post_hook(endpoint, headers, body).json()
    run = Run.objects.get(pk=answer["run"])
    event = WebhookEvent.objects.get(pk=answer["event"])

    page = page_of(admin.get(reverse("admin:integrations_run_change", args=[run.pk])))

    assert ">Merge request</h2>" in page
    assert "field-merge_request_link" in page and "field-events" in page
    mr_url = body["object_attributes"]["url"]
    assert f'<a href="{mr_url}" rel="noreferrer">' in page
    assert "payments/billing-service!342 Retry failed card captures" in page
    assert FIRST_HEAD in page
    assert '<div class="readonly">open</div>' in page  # the trigger
    event_url = reverse("admin:integrations_webhookevent_change", args=[event.pk])
    assert f'<a href="{event_url}">#{event.pk}</a> (accepted)' in page
    assert "team-reviews" in page  # the endpoint


def test_a_manual_runs_page_has_no_merge_request_section(admin, make_run):
    run = make_run()
    page = page_of(admin.get(reverse("admin:integrations_run_change", args=[run.pk])))
    assert run.kind == Run.Kind.MANUAL
    assert ">Merge request</h2>" not in page
    assert "field-merge_request_link" not in page and "field-events" not in page


def test_a_digest_runs_page_has_no_merge_request_section(admin, make_run):
    run = make_run(kind=Run.Kind.DIGEST, source="digest: Morning weather")
    page = page_of(admin.get(reverse("admin:integrations_run_change", args=[run.pk])))
    assert ">Merge request</h2>" not in page
    assert "field-merge_request_link" not in page


# --- list pages and the index ------------------------------------------------------------------


def test_it_lists_endpoints_with_last_event_and_rejections(
    admin, endpoint, review_app, fake_gitlab, post_hook
):
    for name in ("quiet", "rejected"):
        other = ReviewEndpoint(
            name=name, slug=name, app=review_app, base_url=fake_gitlab.url, access_token="x"
        )
        other.set_secret_token(SECRET)
        other.save()
    rejected = ReviewEndpoint.objects.get(slug="rejected")
    post_hook(endpoint, *delivery("mr_open"))
    for _ in range(2):
        assert post_hook(rejected, *delivery("mr_open", token="wrong")).status_code == 401

    response = admin.get(reverse("admin:integrations_reviewendpoint_changelist"))

    assert response.status_code == 200
    assert {row.name for row in response.context["cl"].result_list} == {
        "team-reviews",
        "quiet",
        "rejected",
    }
    page = page_of(response)
    cells = re.findall(
        r'<td class="field-last_event[^"]*">([^<]*)</td><td class="field-rejections">(\d+)</td>',
        page,
    )
    # Ordered by name: quiet and rejected never got an event, team-reviews got one.
    event = WebhookEvent.objects.get()
    assert cells[:2] == [("—", "0"), ("—", "2")]
    assert str(event.received_at.year) in cells[2][0] and cells[2][1] == "0"
    assert "/hooks/gitlab/team-a/" in page and "/hooks/gitlab/quiet/" in page
    assert "Last event" in page and "Rejected" in page
    assert SECRET not in page and fake_gitlab.token not in page

    changelist = reverse("admin:integrations_reviewendpoint_changelist")
    assert admin.get(changelist + "?o=6").status_code == 200  # sortable by last event
    by_rejections = admin.get(changelist + "?o=-7").context["cl"].result_list
    assert by_rejections[0].name == "rejected"


def test_the_change_page_shows_rejected_requests(admin, endpoint, post_hook):
    post_hook(endpoint, *delivery("mr_open", token="wrong-token-value"))
    page = page_of(admin.get(change_url(endpoint)))
    assert "Requests the forge sent that the hub refused" in page
    assert "1; last at " in page and "wrong X-Gitlab-Token" in page
    assert "wrong-token-value" not in page


def test_the_admin_index_links_to_gitlab_endpoints_and_webhook_events(admin):
    page = page_of(admin.get(reverse("admin:index")))
    assert reverse("admin:integrations_reviewendpoint_changelist") in page
    assert reverse("admin:integrations_webhookevent_changelist") in page
    assert "Review endpoints" in page and "Webhook events" in page


@pytest.mark.parametrize("name", ["reviewendpoint", "webhookevent"])
def test_the_list_pages_render_empty(admin, name):
    assert admin.get(reverse(f"admin:integrations_{name}_changelist")).status_code == 200


def test_no_page_leaks_a_secret_after_a_full_flow(admin, endpoint, fake_gitlab, post_hook):
    post_hook(endpoint, *delivery("mr_open"))
    event = WebhookEvent.objects.get()
    urls = [
        change_url(endpoint),
        reverse("admin:integrations_reviewendpoint_changelist"),
        events_url(),
        reverse("admin:integrations_webhookevent_change", args=[event.pk]),
        reverse("admin:integrations_run_change", args=[event.run_id]),
    ]
    for url in urls:
        page = page_of(admin.get(url))
        assert SECRET not in page and fake_gitlab.token not in page, url
        assert json.dumps(SECRET) not in page
