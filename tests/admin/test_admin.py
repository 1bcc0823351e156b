"""The admin as a user drives it: forms, actions, pages, and no secret ever rendered."""

from __future__ import annotations

import pytest
from django.urls import reverse

from integrations.models import DifyApp, Digest, Recipient, Run
from tests.fakes import dify as fd
from tests.fakes.chat_server import RocketChatReceiver

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(admin_client):
    return admin_client


def app_form(fake, **overrides) -> dict:
    return {
        "name": "echo",
        "base_url": fake.url,
        "api_key": fake.api_key,
        "enabled": "on",
        "response_mode": "streaming",
        "connect_timeout": 2,
        "read_timeout": 5,
        "first_event_timeout": 2,
        "run_timeout": 1500,
        "max_concurrent_runs": 2,
        "ca_bundle": "",
        **overrides,
    }


def add_app(admin, fake, **overrides):
    url = reverse("admin:integrations_difyapp_add")
    return admin.post(url, app_form(fake, **overrides), follow=True)


def test_adding_an_app_checks_the_connection_and_caches_its_form(admin, fake_dify):
    response = add_app(admin, fake_dify)
    assert response.status_code == 200
    app = DifyApp.objects.get()
    assert app.mode == "workflow"
    assert [f.variable for f in app.fields] == ["query", "count", "color"]
    text = response.content.decode()
    assert "a Workflow app; input variables: query (text-input, required)" in text
    assert fake_dify.api_key not in text


def test_a_wrong_key_shows_difys_exact_error(admin, fake_dify):
    response = add_app(admin, fake_dify, api_key="app-wrongkeywrongkey")
    text = response.content.decode()
    assert "Access token is invalid" in text
    assert "app-wrongkeywrongkey" not in text
    assert DifyApp.objects.get().check_error
    # One message: saved, but the check failed; no green "added successfully" beside it.
    said = [(m.level_tag, str(m)) for m in response.context["messages"]]
    assert len(said) == 1 and said[0][0] == "warning", said
    assert said[0][1].startswith("“echo” was saved, but the connection check failed: ")


def test_the_key_is_never_rendered_and_is_kept_when_left_empty(admin, dify_app, fake_dify):
    url = reverse("admin:integrations_difyapp_change", args=[dify_app.pk])
    page = admin.get(url).content.decode()
    assert dify_app.api_key not in page
    assert "app-••••••••" in page
    form = app_form(fake_dify, name="renamed", api_key="", response_mode="blocking")
    assert admin.post(url, form).status_code == 302
    dify_app.refresh_from_db()
    assert dify_app.name == "renamed" and dify_app.api_key == fake_dify.api_key


def test_the_key_is_encrypted_in_the_database(dify_app, fake_dify):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT api_key FROM integrations_difyapp WHERE id = %s", [dify_app.pk])
        (stored,) = cursor.fetchone()
    assert fake_dify.api_key not in stored
    assert stored.startswith("gAAAA")  # a Fernet token


def test_run_now_checks_inputs_before_sending(admin, dify_app, fake_dify):
    url = reverse(
        "admin:integrations_difyapp_actions", kwargs={"pk": dify_app.pk, "tool": "run_now"}
    )
    page = admin.post(url, {"inputs": "{not json"}).content.decode()
    assert "Not valid JSON" in page
    page = admin.post(url, {"inputs": '{"count": "abc"}'}).content.decode()
    assert "query" in page and "abc" in page
    assert not Run.objects.exists()
    assert fake_dify.requests_to("/workflows/run") == []


def test_run_now_queues_a_run_and_shows_it(admin, dify_app, django_capture_on_commit_callbacks):
    url = reverse(
        "admin:integrations_difyapp_actions", kwargs={"pk": dify_app.pk, "tool": "run_now"}
    )
    with django_capture_on_commit_callbacks() as callbacks:
        response = admin.post(url, {"inputs": '{"query": "hi"}'})
    run = Run.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:integrations_run_change", args=[run.pk])
    assert run.kind == Run.Kind.MANUAL and run.inputs == {"query": "hi"}
    assert len(callbacks) == 1  # the worker is told once the run is committed


def test_a_run_page_shows_inputs_outputs_error_and_deliveries(admin, make_run, fake_dify):
    from integrations.runs import engine

    fake_dify.script("run", fd.node_failed("Node LLM failed: quota"))
    run = make_run(inputs={"query": "ünïcode <b>"})
    engine.execute(run.pk)
    page = admin.get(reverse("admin:integrations_run_change", args=[run.pk])).content.decode()
    assert "Failed" in page
    assert "Node LLM failed: quota" in page
    assert "ünïcode &lt;b&gt;" in page
    listing = admin.get(reverse("admin:integrations_run_changelist") + "?status__exact=failed")
    assert listing.status_code == 200 and f">{run.pk}<" in listing.content.decode()


def test_the_run_page_shows_delivery_progress_not_the_payload(
    admin, make_digest, rocketchat_recipient, fake_dify
):
    from django.utils import timezone

    from integrations.digests.firing import run_now
    from integrations.runs import engine
    from integrations.runs.delivery import deliver_one

    fake_dify.script("run", fd.success({"text": "A secretly long payload"}))
    run = run_now(
        make_digest(recipients=[rocketchat_recipient]), requested_by="t", now=timezone.now()
    )
    engine.execute(run.pk)
    deliver_one(run.deliveries.get().pk)
    page = admin.get(reverse("admin:integrations_run_change", args=[run.pk])).content.decode()
    assert "1/1" in page
    assert "Delivered" in page
    # the message as sent, the outputs and the message JSON; not the delivery parts
    assert page.count("A secretly long payload") == 3


def test_adding_an_app_requires_a_key(admin, fake_dify):
    page = add_app(admin, fake_dify, api_key="").content.decode()
    assert "This field is required." in page
    assert not DifyApp.objects.exists()


def test_recipient_options_are_checked_and_the_url_is_hidden(admin, db):
    with RocketChatReceiver() as rocketchat:
        add = reverse("admin:integrations_recipient_add")
        base = {
            "name": "family",
            "kind": "rocketchat",
            "webhook_url": rocketchat.url,
            "enabled": "on",
        }
        page = admin.post(add, {**base, "options": '{"colour": "red"}'}).content.decode()
        assert "unknown option &#x27;colour&#x27; for rocketchat" in page
        assert admin.post(add, {**base, "options": '{"alias": "Weather"}'}).status_code == 302
        recipient = Recipient.objects.get()
        page = admin.get(reverse("admin:integrations_recipient_change", args=[recipient.pk]))
        token = rocketchat.url.rsplit("/", 1)[1]
        assert token not in page.content.decode()


def test_send_test_message_shows_the_services_answer(admin, db):
    with RocketChatReceiver() as rocketchat:
        recipient = Recipient.objects.create(
            name="family", kind="rocketchat", webhook_url=rocketchat.url
        )
        url = reverse(
            "admin:integrations_recipient_actions", kwargs={"pk": recipient.pk, "tool": "send_test"}
        )
        page = admin.post(url, follow=True).content.decode()
        assert "amily: sent. The service answered: HTTP 200 {&quot;success&quot;:true}" in page
        assert len(rocketchat.requests) == 1
        assert "dify-hub test message" in rocketchat.requests[0].json["text"]

        rocketchat.answer("invalid_channel")
        page = admin.post(url, follow=True).content.decode()
        assert "failed (permanent error)" in page and "HTTP 400" in page
        assert len(rocketchat.requests) == 2  # no retry


def test_the_digest_page_shows_the_schedule_in_words_and_next_times(admin, dify_app):
    recipient = Recipient.objects.create(
        name="r", kind="rocketchat", webhook_url="https://chat.example.com/hooks/a/b"
    )
    data = {
        "name": "Morning weather",
        "app": dify_app.pk,
        "inputs": '{"query": "Weather for {{ weekday }}"}',
        "query": "",
        "output_key": "echo",
        "title": "",
        "footer": "",
        "recipients": [recipient.pk],
        "cron": "0 8 * * *",
        "timezone": "Europe/Berlin",
        "language": "en",
        "catchup_grace": 3600,
        "enabled": "on",
    }
    response = admin.post(reverse("admin:integrations_digest_add"), data)
    assert response.status_code == 302
    digest = Digest.objects.get()
    page = admin.get(reverse("admin:integrations_digest_change", args=[digest.pk])).content.decode()
    assert "At 08:00" in page
    assert page.count(" 08:00 CET") + page.count(" 08:00 CEST") == 3
    assert page.count(":00 UTC") == 3


def test_digest_form_errors_name_the_problem(admin, dify_app):
    data = {
        "name": "bad",
        "app": dify_app.pk,
        "inputs": '{"query": "{{ dat }}", "count": "lots"}',
        "cron": "0 25 * * *",
        "timezone": "Mars/Base",
        "catchup_grace": 3600,
        "enabled": "on",
    }
    page = admin.post(reverse("admin:integrations_digest_add"), data).content.decode()
    assert "is not a valid cron expression" in page
    assert "not an IANA time zone" in page
    assert "An enabled digest needs at least one recipient" in page
    assert "count" in page
    assert not Digest.objects.exists()


@pytest.mark.parametrize(
    "name",
    ["difyapp", "recipient", "digest", "run", "delivery"],
)
def test_every_list_page_renders(admin, name, make_run):
    make_run()
    response = admin.get(reverse(f"admin:integrations_{name}_changelist"))
    assert response.status_code == 200


@pytest.mark.parametrize("language", ["en", "ja"])
def test_the_row_checkbox_and_labels_are_djangos_own(make_run, language):
    """The run and delivery lists write their rows' checkboxes and labels directly
    (integrations/admin/common.py QuickRowCheckbox, Run.kind_label/status_label): the same
    HTML and words as Django's widget and get_FOO_display, in every language."""
    from django.contrib import admin as django_admin
    from django.utils import translation

    from integrations.models import Delivery

    run = make_run(status=Run.Status.DELIVERING, source='Weather <"Tokyo"> & more')
    item = Delivery.objects.create(run=run, recipient_name="team", kind="rocketchat")
    unknown = Run(pk=99, kind="retired-kind", status="retired-status")
    with translation.override(language):
        for obj in (run, item, unknown):
            model_admin = django_admin.site._registry[type(obj)]
            assert model_admin.action_checkbox(obj) == django_admin.ModelAdmin.action_checkbox(
                model_admin, obj
            )
        for obj in (run, unknown):
            assert (obj.kind_label, obj.status_label) == (
                obj.get_kind_display(),
                obj.get_status_display(),
            )
            assert (
                str(obj) == f"Run #{obj.pk} {obj.get_kind_display()} ({obj.get_status_display()})"
            )
    with translation.override("en"):
        english = run.status_label
    with translation.override("ja"):
        assert run.status_label != english  # translated in the viewer's language


def test_the_run_list_does_not_decrypt_each_rows_app_key(admin, make_run, dify_app):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    make_run()
    with CaptureQueriesContext(connection) as queries:
        page = admin.get(reverse("admin:integrations_run_changelist")).content.decode()
    [listing] = [
        q["sql"] for q in queries if "integrations_difyapp" in q["sql"] and "JOIN" in q["sql"]
    ]
    assert '"integrations_difyapp"."api_key"' not in listing
    assert dify_app.name in page


def test_a_run_page_links_its_retry_both_ways(admin, make_run):
    from django.urls import reverse

    from integrations.models import Run

    first = make_run(status=Run.Status.FAILED)
    retry = make_run(retry_of=first)
    page = admin.get(reverse("admin:integrations_run_change", args=[first.pk])).content.decode()
    assert f'href="/admin/integrations/run/{retry.pk}/change/">#{retry.pk}</a>' in page
    page = admin.get(reverse("admin:integrations_run_change", args=[retry.pk])).content.decode()
    assert f"/admin/integrations/run/{first.pk}/change/" in page


def test_the_run_list_stops_counting_at_the_cap(admin, make_run, monkeypatch):
    from integrations.admin.common import LargeTablePaginator
    from integrations.models import Run

    monkeypatch.setattr(LargeTablePaginator, "COUNT_CAP", 3)
    for _ in range(5):
        make_run(status=Run.Status.FAILED)
    paginator = LargeTablePaginator(Run.objects.filter(status=Run.Status.FAILED), 2)
    assert paginator.count == 4  # "more than 3"; the exact number is never counted
    page = admin.get("/admin/integrations/run/?status__exact=failed").content.decode()
    assert "4 runs" in page


def test_the_run_search_matches_a_phrase_of_the_source_or_an_exact_id(admin, make_run):
    wanted = make_run(source="Morning weather (beat)", merge_request_key="1187!342")
    other = make_run(source="weather morning")
    page = admin.get("/admin/integrations/run/?q=morning+weather").content.decode()
    assert f"/admin/integrations/run/{wanted.pk}/change/" in page
    assert f"/admin/integrations/run/{other.pk}/change/" not in page
    page = admin.get("/admin/integrations/run/?q=1187!342").content.decode()
    assert f"/admin/integrations/run/{wanted.pk}/change/" in page
    assert f"/admin/integrations/run/{other.pk}/change/" not in page


def test_the_app_page_shows_its_outputs_and_what_the_hub_changed(admin, dify_app):
    url = reverse("admin:integrations_difyapp_change", args=[dify_app.pk])
    html = admin.get(url).content.decode()
    assert "known after the app&#x27;s first successful run" in html
    assert 'action="/admin/integrations/difyapp/' in html and "check_connection" in html
    DifyApp.objects.filter(pk=dify_app.pk).update(
        output_names=["echo", "http_body"],
        notice="Switched to blocking mode on 2026-12-02 10:00 UTC: Dify refused a streaming run",
    )
    html = admin.get(url).content.decode()
    assert "`echo` and `http_body`" in html
    assert "Switched to blocking mode on 2026-12-02 10:00 UTC" in html


def test_the_digest_page_runs_it_once_with_its_button(admin, make_digest):
    digest = make_digest(name="Morning weather")
    url = reverse("admin:integrations_digest_change", args=[digest.pk])
    assert f"/admin/integrations/digest/{digest.pk}/actions/run_once/" in (
        admin.get(url).content.decode()
    )
    response = admin.post(f"/admin/integrations/digest/{digest.pk}/actions/run_once/")
    run = Run.objects.get(digest=digest)
    assert response.status_code == 302
    assert response["Location"] == f"/admin/integrations/run/{run.pk}/change/"


def test_run_now_is_a_form_made_from_the_apps_inputs(admin, dify_app):
    url = reverse(
        "admin:integrations_difyapp_actions", kwargs={"pk": dify_app.pk, "tool": "run_now"}
    )
    form = admin.get(url).content.decode()
    # One field per variable: a text box with its maximum, a number, a select of its options.
    assert 'name="var_query"' in form and 'maxlength="256"' in form
    assert 'type="number" name="var_count"' in form
    assert '<option value="green">green</option>' in form
    assert "Variable query, required, at most 256 characters" in form

    refused = admin.post(url, {"var_count": "3"}).content.decode()
    assert "query" in refused and "required" in refused and not Run.objects.exists()
    response = admin.post(url, {"var_query": "Weather?", "var_count": "3", "var_color": "blue"})
    assert response.status_code == 302
    assert Run.objects.get().inputs == {"query": "Weather?", "count": 3, "color": "blue"}


def test_run_now_takes_json_instead_of_the_fields(admin, dify_app):
    url = reverse(
        "admin:integrations_difyapp_actions", kwargs={"pk": dify_app.pk, "tool": "run_now"}
    )
    response = admin.post(url, {"var_query": "ignored", "inputs": '{"query": "from JSON"}'})
    assert response.status_code == 302
    assert Run.objects.get().inputs == {"query": "from JSON"}


def test_a_digests_inputs_are_one_box_per_input_of_its_app(admin, make_digest, dify_app):
    recipient = Recipient.objects.create(
        name="r", kind="rocketchat", webhook_url="https://chat.example.com/hooks/a/b"
    )
    digest = make_digest(recipients=[recipient], inputs={"query": "Weather for {{ weekday }}"})
    url = reverse("admin:integrations_digest_change", args=[digest.pk])
    page = admin.get(url)
    text = page.content.decode()
    assert 'name="var_query"' in text and 'value="Weather for {{ weekday }}"' in text
    assert "one of red, green, blue" in text  # the select's options, said
    form = page.context["adminform"].form
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    data |= {"recipients": [recipient.pk], "enabled": "on"}
    assert data["inputs"] == ""  # the JSON box starts empty: the boxes hold the inputs
    data.pop("active_since", None)

    data |= {"var_query": "Weather on {{ date }}", "var_color": "blue"}
    assert admin.post(url, data).status_code == 302
    digest.refresh_from_db()
    assert digest.inputs == {"query": "Weather on {{ date }}", "color": "blue"}

    # The JSON box, when given, is used instead of the boxes.
    assert admin.post(url, {**data, "inputs": '{"query": "From JSON"}'}).status_code == 302
    digest.refresh_from_db()
    assert digest.inputs == {"query": "From JSON"}


def test_a_new_digest_gets_its_apps_boxes_once_the_app_is_chosen(admin, dify_app):
    recipient = Recipient.objects.create(
        name="r", kind="rocketchat", webhook_url="https://chat.example.com/hooks/a/b"
    )
    url = reverse("admin:integrations_digest_add")
    assert 'name="var_query"' not in admin.get(url).content.decode()  # no app chosen yet
    # hub-admin.js shows the page again with ?app= (and what was typed) when the app is chosen.
    page = admin.get(url, {"app": dify_app.pk, "name": "Morning"}).content.decode()
    assert 'name="var_query"' in page and 'value="Morning"' in page
    assert "Variable query (text-input, required)" in page
    response = admin.post(
        url,
        {
            "name": "Morning",
            "app": dify_app.pk,
            "var_query": "Weather for {{ weekday }}",
            "inputs": "",
            "language": "en",
            "output_key": "",
            "title": "",
            "footer": "",
            "recipients": [recipient.pk],
            "cron": "0 8 * * *",
            "timezone": "Asia/Shanghai",
            "catchup_grace": "3600",
            "enabled": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    digest = Digest.objects.get(name="Morning")
    assert digest.inputs == {"query": "Weather for {{ weekday }}"}
    # An app id that is not one leaves the plain form, not an error.
    assert admin.get(url, {"app": "nope"}).status_code == 200
