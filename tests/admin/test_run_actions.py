"""The buttons on a run's page: Stop, Retry, Retry delivery, as a user presses them."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User

from integrations.models import Delivery, Run

pytestmark = pytest.mark.django_db


def page(client, run: Run) -> str:
    return client.get(f"/admin/integrations/run/{run.pk}/change/").content.decode()


def press(client, run: Run, tool: str):
    return client.post(f"/admin/integrations/run/{run.pk}/actions/{tool}/", follow=True)


def test_a_queued_run_has_a_stop_button_that_cancels_it(admin_client, make_run):
    run = make_run()
    html = page(admin_client, run)
    assert f'action="/admin/integrations/run/{run.pk}/actions/stop/"' in html
    assert "/actions/retry/" not in html
    response = press(admin_client, run, "stop")
    assert f"Run #{run.pk} cancelled; it had not started." in response.content.decode()
    run.refresh_from_db()
    assert run.status == Run.Status.CANCELLED and run.stop_requested_by == "admin"


def test_a_running_run_shows_stop_requested_until_dify_confirms(admin_client, make_run):
    run = make_run(status=Run.Status.RUNNING, dify_task_id="task-1")
    response = press(admin_client, run, "stop")
    html = response.content.decode()
    assert "Stop requested: Dify was asked to stop run" in html
    assert "Running, stop requested" in html
    assert "/actions/stop/" not in html  # asked once; nothing more to press
    assert Run.objects.get(pk=run.pk).status == Run.Status.RUNNING


def test_stop_is_a_post_form_not_a_link(admin_client, make_run):
    run = make_run()
    assert admin_client.get(f"/admin/integrations/run/{run.pk}/actions/stop/").status_code == 405
    assert Run.objects.get(pk=run.pk).status == Run.Status.QUEUED


def test_an_ended_run_with_a_failed_delivery_offers_retry_delivery(admin_client, make_run):
    run = make_run(
        status=Run.Status.FAILED,
        error_code="delivery_failed",
        outputs={"text": "hi"},
        message={"title": "", "text": "hi", "footer": ""},
    )
    Delivery.objects.create(run=run, recipient_name="family", kind="slack", status="failed")
    html = page(admin_client, run)
    assert "/actions/redeliver/" in html and "/actions/retry/" in html
    assert "/actions/stop/" not in html
    html = press(admin_client, run, "redeliver").content.decode()
    assert f"1 failed delivery of run #{run.pk} queued again." in html
    assert Run.objects.get(pk=run.pk).status == Run.Status.DELIVERING


def test_retry_opens_the_new_run(admin_client, make_run):
    run = make_run(status=Run.Status.FAILED)
    response = press(admin_client, run, "retry")
    retry = Run.objects.get(retry_of=run)
    assert response.redirect_chain[-1][0] == f"/admin/integrations/run/{retry.pk}/change/"


def test_staff_without_the_stop_permission_see_no_button_and_cannot_press(client, make_run):
    user = User.objects.create_user("viewer", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_run"))
    client.force_login(user)
    run = make_run()
    assert "/actions/stop/" not in page(client, run)
    response = press(client, run, "stop")
    assert response.status_code == 403
    assert "“Stop” needs the permission “Can stop a run” (integrations.stop_run)" in (
        response.content.decode()
    )
    assert Run.objects.get(pk=run.pk).status == Run.Status.QUEUED


@pytest.mark.parametrize("model", ["difyapp", "recipient", "digest", "reviewendpoint", "run"])
def test_staff_who_may_only_view_get_every_page_and_no_buttons(
    client, model, make_run, make_digest, rocketchat_recipient, endpoint
):
    objects = {
        "difyapp": make_run().app,
        "recipient": rocketchat_recipient,
        "digest": make_digest(),
        "reviewendpoint": endpoint,
        "run": make_run(status=Run.Status.FAILED),
    }
    user = User.objects.create_user("viewer", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename=f"view_{model}"))
    client.force_login(user)

    response = client.get(f"/admin/integrations/{model}/{objects[model].pk}/change/")

    assert response.status_code == 200
    assert "/actions/" not in response.content.decode()
