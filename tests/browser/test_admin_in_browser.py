"""The admin as a person uses it, in headless Chromium at 1440 and 390 px: logging in, the
home page, adding an app, a recipient and a digest, a run's page and its buttons. Against the
real fakes (tests/fakes/) on real sockets; every page is checked for console errors and
Content-Security-Policy violations (conftest.py)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.browser.conftest import BROWSER_ZONE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_logging_in_through_the_form(page, superuser):
    page.open("/admin/")
    assert page.path().startswith("/admin/login/")  # sent to the login page first
    page.fill("username", "ops")
    page.fill("password", "wrong-password")
    page.press("Log in")
    assert "Please enter the correct username and password" in page.text(".errornote")
    page.log_in("ops")
    assert page.path() == "/admin/"
    assert "Log out" in page.text("#user-tools")


def test_the_home_page_loads_without_console_errors(logged_in):
    page = logged_in
    assert page.driver.title.endswith("dify-hub")
    assert page.text("#site-name") == "dify-hub"
    assert page.find_all("#content")
    page.check_console()
    assert not page.problems, page.problems
    # Nothing on the page pushes it sideways, at either size.
    widths = page.widths()
    assert widths["page"] <= widths["viewport"] + 1, (widths, page.wider_than_viewport())


def test_adding_an_app_checks_the_connection(logged_in, fake_dify):
    page = logged_in
    page.open(reverse("admin:integrations_difyapp_add"))
    page.fill("name", "echo")
    page.fill("base_url", fake_dify.url)
    page.fill("api_key", fake_dify.api_key)
    page.save()
    said = page.messages()
    assert any(
        "success" in level
        and "a Workflow app; input variables: query (text-input, required)" in text
        for level, text in said
    ), said
    assert fake_dify.api_key not in page.driver.page_source
    from integrations.models import DifyApp

    assert DifyApp.objects.get().mode == "workflow"


def test_a_wrong_key_shows_difys_error(logged_in, fake_dify):
    page = logged_in
    page.open(reverse("admin:integrations_difyapp_add"))
    page.fill("name", "echo")
    page.fill("base_url", fake_dify.url)
    page.fill("api_key", "app-wrongkeywrongkey")
    page.save()
    [(level, text)] = page.messages()
    assert "warning" in level and "the connection check failed" in text, (level, text)
    assert "Access token is invalid" in text


def test_adding_a_recipient_and_sending_a_test_message(logged_in, rocketchat):
    page = logged_in
    page.open(reverse("admin:integrations_recipient_add"))
    page.fill("name", "family")
    page.choose("kind", "Rocket.Chat")
    page.fill("webhook_url", rocketchat.url)
    page.press("Save and continue editing")
    assert any("was added successfully" in text for _, text in page.messages()), page.messages()
    assert "/change/" in page.path()
    page.press("Send test message")
    said = page.messages()
    assert ("info", 'Family: sent. The service answered: HTTP 200 {"success":true}') in said, said
    assert len(rocketchat.requests) == 1
    assert "can post to this recipient" in rocketchat.requests[0].json["text"]


def test_adding_a_digest_starts_in_the_browsers_zone(logged_in, dify_app, rocketchat_recipient):
    page = logged_in
    page.open(reverse("admin:integrations_digest_add"))
    zone = page.find("input[name='timezone']")
    assert zone.get_attribute("list") == "hub-zones"
    assert page.find_all("datalist#hub-zones option[value='Asia/Shanghai']")
    assert zone.get_property("value") == BROWSER_ZONE  # hub-admin.js replaced the default
    page.fill("name", "Morning weather")
    assert not page.find_all("[name='var_query']")  # no app yet, so no boxes for its inputs
    # Choosing the app shows the page again with one box per input, keeping the name.
    old = page.find("html")
    page.choose("app", dify_app.name)
    page.wait_for_new_page(old)
    assert page.find("[name='name']").get_property("value") == "Morning weather"
    assert "Variable query (text-input, required)" in page.text(".field-var_query")
    page.fill("var_query", "Weather for {{ weekday }}")
    page.fill("output_key", "echo")
    # filter_horizontal: a double click moves a recipient to the chosen side.
    from selenium.webdriver.common.action_chains import ActionChains

    option = page.find("#id_recipients_from option")
    page.scroll_to(option)
    ActionChains(page.driver).double_click(option).perform()
    assert [o.text for o in page.find_all("#id_recipients_to option")] == ["family (Rocket.Chat)"]
    page.fill("cron", "30 7 * * 1-5")
    page.press("Save and continue editing")
    assert any("was added successfully" in text for _, text in page.messages()), (
        page.messages(),
        page.text("#content"),
    )
    from integrations.models import Digest

    digest = Digest.objects.get()
    assert (digest.timezone, digest.cron) == (BROWSER_ZONE, "30 7 * * 1-5")
    assert list(digest.recipients.all()) == [rocketchat_recipient]
    assert digest.inputs == {"query": "Weather for {{ weekday }}"}
    # An existing digest keeps its own zone: the script only fills a new one.
    assert page.find("input[name='timezone']").get_property("value") == BROWSER_ZONE
    assert "Next three runs" in page.text("#content") and "CST" in page.text("#content")


def test_run_now_and_the_run_page(
    logged_in, make_digest, fake_dify, rocketchat_recipient, rocketchat
):
    from integrations.models import Run
    from integrations.runs import engine
    from integrations.runs.delivery import deliver_one
    from tests.fakes import dify as fd

    page = logged_in
    digest = make_digest(recipients=[rocketchat_recipient], output_key="text")
    fake_dify.script("run", fd.success({"text": "**Sunny**, 24 °C"}))
    page.open(reverse("admin:integrations_digest_change", args=[digest.pk]))
    page.press("Run now")
    run = Run.objects.get()
    assert page.path() == reverse("admin:integrations_run_change", args=[run.pk])
    assert any(f"run #{run.pk} queued" in text for _, text in page.messages()), page.messages()

    engine.execute(run.pk)
    for delivery in run.deliveries.all():
        deliver_one(delivery.pk)
    run.refresh_from_db()
    assert run.status == Run.Status.SUCCEEDED, (run.status, run.error_message)

    page.open(reverse("admin:integrations_run_change", args=[run.pk]))
    summary = page.find(".hub-summary")
    assert summary.find_element("css selector", "h2").text == "What happened"
    chips = [chip.text for chip in page.find_all(".hub-summary a.hub-chip")]
    assert chips == ["family: Delivered"], chips
    assert "hub-chip-good" in page.find(".hub-summary a.hub-chip").get_attribute("class")
    assert page.find(".hub-message-body strong").text == "Sunny"
    assert "Sunny" in rocketchat.requests[-1].json["text"]
    # The summary fits the window (at 390 px too: nothing to scroll sideways to read it),
    # and so does the page (its tables of detail scroll inside their own boxes).
    widths = page.widths(".hub-summary")
    assert widths["element"] <= widths["viewport"] + 1, (widths, page.wider_than_viewport())
    assert widths["page"] <= widths["viewport"] + 1, (widths, page.wider_than_viewport())


def test_retrying_a_failed_run_opens_the_new_run(logged_in, make_run, fake_dify):
    from integrations.models import Run
    from integrations.runs import engine
    from tests.fakes import dify as fd

    page = logged_in
    fake_dify.script("run", fd.node_failed("Node LLM failed: quota exceeded"))
    run = make_run()
    engine.execute(run.pk)
    run.refresh_from_db()
    assert run.status == Run.Status.FAILED

    page.open(reverse("admin:integrations_run_change", args=[run.pk]))
    assert "Dify: the workflow failed" in page.text(".hub-summary") and "quota exceeded" in page.text(
        ".hub-summary"
    )
    assert "hub-chip" not in page.find(".hub-summary").get_attribute("innerHTML")
    page.press("Retry")
    new = Run.objects.exclude(pk=run.pk).get()
    assert new.retry_of_id == run.pk
    assert page.path() == reverse("admin:integrations_run_change", args=[new.pk])
    assert any(f"retried as run #{new.pk}" in text for _, text in page.messages())
    assert page.find(".hub-summary h2").text == "What happened"


def test_times_are_shown_in_the_browsers_zone(logged_in, make_run):
    page = logged_in
    assert page.driver.get_cookie("hub_tz") is not None  # hub-admin.js set it on login
    run = make_run()
    page.open(reverse("admin:integrations_run_change", args=[run.pk]))
    assert page.text(".field-created_at .readonly").endswith("CST"), page.text(".field-created_at")
