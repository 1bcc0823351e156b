"""`manage.py hub runs | check | apikey`, and `run-digest --wait` printing the run."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from django.core.management import CommandError, call_command

from integrations.models import DifyApp, HubAPIKey, Recipient, Run
from integrations.runs.present import present_run

pytestmark = pytest.mark.django_db


def hub(*args) -> tuple[str, str]:
    """Run the command; (stdout, stderr). CommandError propagates, as call_command does."""
    from io import StringIO

    out, err = StringIO(), StringIO()
    try:
        call_command("hub", *args, stdout=out, stderr=err, skip_checks=False)  # as from a shell
    except CommandError as exc:
        exc.out, exc.err = out.getvalue(), err.getvalue()
        raise
    return out.getvalue(), err.getvalue()


# --- hub runs -------------------------------------------------------------------------------


@pytest.fixture
def three_runs(make_run, make_digest):
    digest = make_digest(name="Morning weather")
    runs = [
        make_run(kind=Run.Kind.DIGEST, digest=digest, status=Run.Status.SUCCEEDED),
        make_run(status=Run.Status.FAILED, source="admin: run now by alice"),
        make_run(),
    ]
    for minute, run in enumerate(runs):
        Run.objects.filter(pk=run.pk).update(created_at=datetime(2026, 5, 1, 8, minute, tzinfo=UTC))
    return runs


def test_runs_prints_a_table_newest_first(three_runs):
    out, _ = hub("runs")
    lines = out.splitlines()
    assert lines[0].split() == [
        "ID",
        "CREATED",
        "(UTC)",
        "STATUS",
        "KIND",
        "APP",
        "DELIVERED",
        "SOURCE",
    ]
    assert [int(line.split()[0]) for line in lines[1:]] == [run.pk for run in reversed(three_runs)]
    assert lines[2].split()[1:] == [
        "2026-05-01",
        "08:01:00",
        "failed",
        "manual",
        "echo",
        "—",
        "admin:",
        "run",
        "now",
        "by",
        "alice",
    ]


def test_runs_json_is_the_presented_runs(three_runs):
    out, _ = hub("runs", "--json", "--limit", "2")
    expected = [present_run(Run.objects.get(pk=run.pk)) for run in reversed(three_runs[1:])]
    assert json.loads(out) == expected


def test_runs_filters(three_runs):
    def ids(*args):
        return [run["id"] for run in json.loads(hub("runs", "--json", *args)[0])]

    digest_run, failed, queued = three_runs
    assert ids("--status", "failed") == [failed.pk]
    assert ids("--kind", "digest") == [digest_run.pk]
    assert ids("--source", "Morning weather") == [digest_run.pk]
    assert ids("--source", "admin: run now by alice") == [failed.pk]
    assert ids("--status", "queued", "--kind", "manual") == [queued.pk]


def test_runs_says_so_when_there_are_none(db):
    assert hub("runs")[0] == "No runs.\n"
    assert json.loads(hub("runs", "--json")[0]) == []


@pytest.mark.parametrize("args", [("--limit", "0"), ("--status", "done"), ("--kind", "cron")])
def test_runs_rejects_bad_arguments(db, args):
    with pytest.raises(CommandError):
        hub("runs", *args)


# --- hub run-digest --wait ------------------------------------------------------------------


def test_run_digest_wait_prints_the_run_as_json(make_digest, monkeypatch):
    from integrations.digests import firing
    from integrations.management.commands import hub as command

    def run_now_and_finish(digest, **kwargs):
        run = firing.run_now(digest, **kwargs)
        Run.objects.filter(pk=run.pk).update(status=Run.Status.SUCCEEDED, outputs={"text": "Sun"})
        return run

    monkeypatch.setattr(command, "run_now", run_now_and_finish)
    make_digest(name="Morning")
    out, err = hub("run-digest", "Morning", "--wait", "--timeout", "5")
    run = Run.objects.get()
    assert json.loads(out) == present_run(run)
    assert f"Run #{run.pk} queued for digest 'Morning'." in err
    assert f"Run #{run.pk} succeeded." in err


def test_run_digest_wait_fails_and_still_prints_the_run_on_timeout(make_digest):
    make_digest(name="Morning")
    with pytest.raises(CommandError, match="is still queued after 1 s; is a worker running"):
        try:
            hub("run-digest", "Morning", "--wait", "--timeout", "1")
        except CommandError as exc:
            assert json.loads(exc.out)["status"] == "queued"
            raise


# --- hub check ------------------------------------------------------------------------------


def test_check_passes_when_all_is_well(dify_app, rocketchat_recipient):
    out, err = hub("check")
    assert "ok       app 'echo': connected to" in out
    assert "ok       recipient 'family' (rocketchat): configuration complete" in out
    assert "Everything checks out." in out
    assert err == ""


def test_check_lists_each_problem_on_its_own_line(dify_app, fake_dify, rocketchat_recipient):
    DifyApp.objects.create(name="wrong-key", base_url=fake_dify.url, api_key="app-wrongwrongwrong")
    Recipient.objects.create(name="no-url", kind="slack", webhook_url="")
    Recipient.objects.create(
        name="odd-options",
        kind="rocketchat",
        webhook_url="https://chat.example/hooks/x/y",
        options={"colour": "red"},
    )
    with pytest.raises(CommandError, match=r"3 problem\(s\) found"):
        try:
            hub("check")
        except CommandError as exc:
            problems = exc.err.splitlines()
            assert "ok       app 'echo'" in exc.out
            raise
    assert len(problems) == 3
    assert problems[0].startswith("PROBLEM  app 'wrong-key': connection check failed: ")
    assert "Access token is invalid" in problems[0]
    assert problems[1] == (
        "PROBLEM  recipient 'no-url' (slack): no webhook URL; set one in the admin"
    )
    assert problems[2].startswith(
        "PROBLEM  recipient 'odd-options' (rocketchat): unknown option 'colour'"
    )


def test_check_covers_gitlab_endpoints_and_learns_the_bot(
    endpoint, fake_gitlab, rocketchat_recipient
):
    from integrations.models import ReviewEndpoint

    out, _ = hub("check")
    assert (
        f"ok       GitLab endpoint 'team-reviews': connected to {fake_gitlab.url} as "
        f"@{fake_gitlab.user['username']}, a bot user." in out
    )
    assert ReviewEndpoint.objects.get().bot_user_id == fake_gitlab.user["id"]

    fake_gitlab.fail_next("GET", "/user", 401)
    with pytest.raises(CommandError, match=r"1 problem\(s\) found"):
        try:
            hub("check")
        except CommandError as exc:
            problem = exc.err.strip()
            raise
    assert problem.startswith("PROBLEM  GitLab endpoint 'team-reviews': GitLab answered 401")
    assert fake_gitlab.token not in problem


def test_check_reports_a_digest_whose_output_cannot_be_chosen(
    dify_app, make_digest, rocketchat_recipient
):
    digest = make_digest(name="Morning weather", recipients=[rocketchat_recipient])
    out, _ = hub("check")
    assert "ok       digest 'Morning weather': settings fit app 'echo'" in out
    # The app has since returned two outputs (its last successful run says so).
    DifyApp.objects.filter(pk=dify_app.pk).update(output_names=["echo", "http_body"])
    with pytest.raises(CommandError, match=r"1 problem\(s\) found"):
        try:
            hub("check")
        except CommandError as exc:
            problem = exc.err.strip()
            raise
    assert problem == (
        "PROBLEM  digest 'Morning weather': output: The app returns `echo` and `http_body`; "
        "set 'Output to send' to the one to send (outputs of its last successful run)."
    )
    digest.output_key = "echo"
    digest.save()
    hub("check")


# --- hub stop | retry | redeliver -----------------------------------------------------------


def test_hub_stop_cancels_a_queued_run(make_run):
    run = make_run()
    out, _ = hub("stop", str(run.pk))
    assert f"Run #{run.pk} cancelled; it had not started." in out
    run.refresh_from_db()
    assert run.status == Run.Status.CANCELLED
    assert run.stop_requested_by.startswith("`hub stop` (")


def test_hub_stop_on_a_running_run_says_the_stop_was_requested(make_run):
    run = make_run(status=Run.Status.RUNNING, dify_task_id="task-1")
    out, _ = hub("stop", str(run.pk))
    assert "stop requested; Dify was asked to stop it" in out
    run.refresh_from_db()
    assert run.status == Run.Status.RUNNING and run.stop_requested_at is not None


def test_hub_stop_refuses_an_ended_or_unknown_run(make_run):
    run = make_run(status=Run.Status.SUCCEEDED)
    with pytest.raises(CommandError, match="is succeeded; only queued and running runs"):
        hub("stop", str(run.pk))
    with pytest.raises(CommandError, match="No run #4242."):
        hub("stop", "4242")


def test_hub_retry_and_redeliver(make_run):
    run = make_run(status=Run.Status.FAILED, error_code="workflow_failed")
    out, _ = hub("retry", str(run.pk))
    retry = Run.objects.get(retry_of=run)
    assert out.strip() == f"Run #{run.pk} retried as run #{retry.pk} (queued)."
    with pytest.raises(CommandError, match="has no failed delivery to send again"):
        hub("redeliver", str(run.pk))


# --- hub apikey -----------------------------------------------------------------------------


def test_apikey_create_prints_the_key_once_and_stores_a_hash(client):
    out, _ = hub("apikey", "create", "ci", "--scope", "trigger")
    key = next(word for word in out.split() if word.startswith("dhk_"))
    api_key = HubAPIKey.objects.get(name="ci")
    assert api_key.scope == "trigger" and api_key.matches(key)
    assert key not in api_key.key_hash and "shown" in out
    response = client.get("/api/v1/runs/", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 200

    out, _ = hub("apikey", "revoke", "ci")
    assert out == "Revoked the API key 'ci'.\n"
    response = client.get("/api/v1/runs/", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 401
    assert "was revoked already" in hub("apikey", "revoke", "ci")[0]


def test_apikey_names_are_unique_and_revoke_names_the_known_keys(db):
    hub("apikey", "create", "ci", "--scope", "read")
    with pytest.raises(CommandError, match="An API key named 'ci' exists already"):
        hub("apikey", "create", "ci", "--scope", "read")
    with pytest.raises(CommandError, match="No API key named 'cd'. Keys: ci."):
        hub("apikey", "revoke", "cd")


def test_apikey_create_needs_a_known_scope(db):
    with pytest.raises(CommandError):
        hub("apikey", "create", "ci", "--scope", "admin")
    assert not HubAPIKey.objects.exists()
