"""`manage.py hub apply`: upsert by name, in one transaction, idempotent."""

from __future__ import annotations

import pytest
import yaml
from django.core.management import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from integrations.gitlab.signing import token_matches
from integrations.models import DifyApp, Digest, Recipient, ReviewEndpoint, Run
from tests.config.conftest import ISSUE_YAML, db_state, hub
from tests.digests.conftest import utc

pytestmark = pytest.mark.django_db


@pytest.fixture
def issue_file(write):
    return write(ISSUE_YAML.read_text())


def edited(change) -> str:
    """The issue's file with `change(data)` applied (placeholders left for the environment)."""
    data = yaml.safe_load(ISSUE_YAML.read_text())
    change(data)
    return yaml.safe_dump(data, sort_keys=False)


def test_it_applies_the_issue_file(env, reviewer, issue_file, no_network):
    out = hub("apply", issue_file)
    assert f"Applied {issue_file}: 4 created, 0 changed, 0 unchanged, 0 deleted" in out
    app = DifyApp.objects.get(name="weather")
    assert (app.base_url, app.api_key, app.response_mode) == (
        "http://127.0.0.1:5001/v1",
        env["WEATHER_APP_KEY"],
        "streaming",
    )
    assert (app.run_timeout, app.max_concurrent_runs) == (300, 10)
    family = Recipient.objects.get(name="family")
    assert family.kind == "rocketchat" and family.webhook_url == env["ROCKETCHAT_HOOK_URL"]
    assert family.options == {"alias": "Weather", "emoji": ":sunny:"}
    digest = Digest.objects.get(name="morning-weather")
    assert (digest.app, digest.cron, digest.timezone, digest.output_key, digest.enabled) == (
        app,
        "0 8 * * *",
        "Asia/Shanghai",
        "text",
        True,
    )
    assert digest.inputs == {"city": "beijing", "date": "{{ date }}"}
    assert list(digest.recipients.all()) == [family]
    endpoint = ReviewEndpoint.objects.get(name="team-reviews")
    assert endpoint.slug == "team-a" and endpoint.app == reviewer
    assert token_matches(endpoint.secret_token_hash, env["GITLAB_WEBHOOK_SECRET"])
    assert endpoint.access_token == env["GITLAB_TOKEN"]
    assert endpoint.target_branches == ["main", "release/*"]
    assert endpoint.input_mapping == {"language": "en"} and endpoint.output_key == "review"
    assert endpoint.post_note and not endpoint.recipients.exists()
    assert "hub apply --check" in out and "'weather'" in out  # apply never calls Dify


def test_applying_the_same_file_again_changes_nothing(env, reviewer, issue_file):
    hub("apply", issue_file)
    before = db_state()
    with CaptureQueriesContext(connection) as queries:
        out = hub("apply", issue_file)
    writes = [q["sql"] for q in queries if q["sql"].split()[0] in ("INSERT", "UPDATE", "DELETE")]
    assert writes == []
    assert db_state() == before
    assert "0 created, 0 changed, 4 unchanged, 0 deleted" in out
    assert "  = weather (unchanged)" in out


def test_dry_run_prints_the_plan_and_changes_nothing(env, reviewer, issue_file, write):
    hub("apply", issue_file)
    changed = write(
        edited(
            lambda d: (
                d["dify_apps"][0].update(timeout=600, api_key="app-new-key-123"),
                d["digests"][0].update(cron="30 7 * * *"),
                d["recipients"].append({"name": "team", "kind": "slack", "url": "https://h/x"}),
            )
        ),
        "changed.yaml",
    )
    before = db_state()
    out = hub("apply", changed, "--dry-run")
    assert db_state() == before
    assert "  ~ weather (to change)\n      api_key: (changed)\n      timeout: 300 -> 600\n" in out
    assert "app-new-key-123" not in out and "app-weather" not in out
    assert "  + team (to create)" in out
    assert '      cron: "0 8 * * *" -> "30 7 * * *"' in out
    assert "  · reviewer (not in the file, kept; --prune would delete it)" in out
    assert f"Dry run of {changed}, nothing was changed: 1 to create, 2 to change," in out


def test_an_applied_digest_is_scheduled_and_a_new_cron_reschedules_it(env, reviewer, write):
    hub("apply", write(ISSUE_YAML.read_text()))
    task = Digest.objects.get().periodic_task
    assert task is not None and task.enabled
    assert (task.crontab.minute, task.crontab.hour, str(task.crontab.timezone)) == (
        "0",
        "8",
        "Asia/Shanghai",
    )
    hub("apply", write(edited(lambda d: d["digests"][0].update(cron="30 7 * * 1-5"))))
    task.refresh_from_db()
    assert (task.crontab.minute, task.crontab.hour, task.crontab.day_of_week) == ("30", "7", "1-5")


def test_prune_deletes_what_the_file_does_not_name(env, reviewer, issue_file, write, dify_app):
    hub("apply", issue_file)
    Recipient.objects.create(name="old-room", kind="slack", webhook_url="https://h/x")
    leftover = Digest.objects.create(name="old-digest", app=dify_app, cron="0 9 * * *")
    assert leftover.periodic_task_id
    data = yaml.safe_load(ISSUE_YAML.read_text())
    data["dify_apps"].append(
        {"name": "reviewer", "base_url": "http://127.0.0.1:9/v1", "api_key": "app-reviewer-key"}
    )
    out = hub("apply", write(yaml.safe_dump(data)), "--prune")
    assert "  - old-digest (deleted)" in out
    assert "  - old-room (deleted)" in out
    assert "  - echo (deleted)" in out
    assert "0 created, 0 changed, 5 unchanged, 3 deleted" in out
    assert sorted(DifyApp.objects.values_list("name", flat=True)) == ["reviewer", "weather"]
    assert list(Recipient.objects.values_list("name", flat=True)) == ["family"]
    assert list(Digest.objects.values_list("name", flat=True)) == ["morning-weather"]
    from django_celery_beat.models import PeriodicTask

    assert not PeriodicTask.objects.filter(pk=leftover.periodic_task_id).exists()


def test_prune_leaves_sections_the_file_does_not_have(env, reviewer, write, dify_app):
    out = hub("apply", write("recipients: []\n"), "--prune")
    assert sorted(DifyApp.objects.values_list("name", flat=True)) == ["echo", "reviewer"]
    assert "dify_apps" not in out


def test_prune_refuses_to_delete_an_app_with_runs(env, reviewer, issue_file, make_run, write):
    make_run()
    make_run()
    before = db_state()
    with pytest.raises(CommandError) as caught:
        hub("apply", write("dify_apps: []\n"), "--prune")
    message = str(caught.value)
    assert "--prune would delete Dify app 'echo', but 2 runs refer to it" in message
    assert "Nothing was changed." in message
    assert db_state() == before
    assert Run.objects.count() == 2


def test_prune_refuses_to_delete_an_app_a_kept_digest_uses(env, make_digest, write):
    make_digest(name="kept")
    with pytest.raises(CommandError, match="would delete Dify app 'echo', but digest 'kept' uses"):
        hub("apply", write("dify_apps: []\n"), "--prune")


def test_prune_refuses_to_leave_an_enabled_digest_without_recipients(
    env, make_digest, rocketchat_recipient, write
):
    digest = make_digest()
    digest.recipients.set([rocketchat_recipient])

    with pytest.raises(CommandError) as refused:
        hub("apply", "--prune", write("recipients: []\n"))

    assert "the last recipient(s) of enabled digest" in str(refused.value)
    assert Recipient.objects.filter(pk=rocketchat_recipient.pk).exists()
    Digest.objects.filter(pk=digest.pk).update(enabled=False)
    hub("apply", "--prune", write("recipients: []\n"))
    assert not Recipient.objects.exists()


def test_a_reference_to_an_object_prune_would_delete_is_an_error(env, reviewer, write):
    text = edited(lambda d: None)  # names weather but not reviewer, which the endpoint uses
    before = db_state()
    with pytest.raises(CommandError) as caught:
        hub("apply", write(text), "--prune")
    assert (
        "gitlab_endpoints[0] 'team-reviews': key 'app': Dify app 'reviewer' is not in the file, "
        "so --prune would delete it" in str(caught.value)
    )
    assert db_state() == before


def test_a_changed_secret_token_is_rehashed_and_an_equal_one_is_not(
    env, reviewer, write, monkeypatch
):
    path = write(ISSUE_YAML.read_text())
    hub("apply", path)
    stored = ReviewEndpoint.objects.get().secret_token_hash
    hub("apply", path)
    assert ReviewEndpoint.objects.get().secret_token_hash == stored
    monkeypatch.setenv("GITLAB_WEBHOOK_SECRET", "dhgl_a-brand-new-secret-token")
    out = hub("apply", path)
    assert "      secret_token: (changed)" in out and "brand-new" not in out
    assert token_matches(
        ReviewEndpoint.objects.get().secret_token_hash, "dhgl_a-brand-new-secret-token"
    )


def test_omitted_optional_keys_take_the_defaults(env, reviewer, write):
    hub("apply", write(ISSUE_YAML.read_text()))
    out = hub(
        "apply",
        write(
            edited(
                lambda d: (
                    d["dify_apps"][0].pop("timeout"),
                    d["gitlab_endpoints"][0].pop("triggers"),
                    d["gitlab_endpoints"][0].pop("target_branches"),
                )
            )
        ),
    )
    assert "      timeout: 300 -> 1500" in out
    assert '      target_branches: ["main", "release/*"] -> []' in out
    assert DifyApp.objects.get(name="weather").run_timeout == 1500


def test_a_digest_language_is_applied_and_left_out_means_english(env, reviewer, write):
    from integrations.digests.firing import claim_slot

    hub("apply", write(edited(lambda d: d["digests"][0].update(language="ja"))))
    digest = Digest.objects.get()
    assert digest.language == "ja"
    slot = utc(2026, 12, 2)  # Wednesday 08:00 in Shanghai
    run, _ = claim_slot(digest, slot, slot)
    assert run.inputs == {"city": "beijing", "date": "2026年12月2日"}

    out = hub("apply", write(ISSUE_YAML.read_text()))
    assert '      language: "ja" -> "en"' in out
    assert Digest.objects.get().language == "en"


def test_a_recipient_can_be_disabled_and_an_endpoint_given_a_ca_bundle(env, reviewer, write):
    hub("apply", write(ISSUE_YAML.read_text()))
    pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"

    out = hub(
        "apply",
        write(
            edited(
                lambda d: (
                    d["recipients"][0].__setitem__("enabled", False),
                    d["gitlab_endpoints"][0].__setitem__("ca_bundle", pem),
                )
            )
        ),
    )

    assert "      enabled: true -> false" in out
    assert Recipient.objects.get(name="family").enabled is False
    assert ReviewEndpoint.objects.get().ca_bundle == pem


# --- errors: the file, the object and the key; nothing changes ------------------------------


def _set(section, key, value, index=0):
    return lambda d: d[section][index].__setitem__(key, value)


ERRORS = [
    (
        _set("digests", "colour", "red"),
        "digests[0] 'morning-weather': key 'colour': unknown key",
    ),
    (
        _set("dify_apps", "timeout", "300"),
        "dify_apps[0] 'weather': key 'timeout': must be a whole number, not a string",
    ),
    (
        _set("digests", "app", "nope"),
        "digests[0] 'morning-weather': key 'app': no Dify app named 'nope' in the file or the database",
    ),
    (
        _set("digests", "recipients", ["family", "nobody"]),
        "digests[0] 'morning-weather': key 'recipients': no recipient named 'nobody'",
    ),
    (
        _set("digests", "cron", "0 25 * * *"),
        "digests[0] 'morning-weather': key 'cron': '0 25 * * *' is not a valid cron expression: "
        "the hour field",
    ),
    (
        _set("digests", "timezone", "Mars/Olympus"),
        "digests[0] 'morning-weather': key 'timezone': 'Mars/Olympus' is not an IANA time zone",
    ),
    (
        _set("digests", "language", "fr"),
        "digests[0] 'morning-weather': key 'language': 'fr' is not a digest language; one of "
        "en (English), zh-hans (简体中文), ja (日本語), ko (한국어).",
    ),
    (
        _set("digests", "language", 7),
        "digests[0] 'morning-weather': key 'language': must be a string, not",
    ),
    (
        _set("digests", "inputs", {"when": "{{ tomorrow }}"}),
        "digests[0] 'morning-weather': key 'inputs': Unknown variable(s) tomorrow",
    ),
    (
        _set("digests", "recipients", []),
        "digests[0] 'morning-weather': key 'recipients': an enabled digest needs at least one",
    ),
    (
        lambda d: d["recipients"].append(dict(d["recipients"][0], options={})),
        "recipients[1] 'family': key 'name': 'family' is already used by recipients[0]",
    ),
    (
        _set("recipients", "options", {"alias": "W", "colour": "red"}),
        "recipients[0] 'family': key 'options': unknown option 'colour' for rocketchat",
    ),
    (
        _set("recipients", "kind", "irc"),
        "recipients[0] 'family': key 'kind': unknown kind 'irc'",
    ),
    (
        _set("recipients", "url", "ftp://chat.example.com/hooks/x"),
        "recipients[0] 'family': key 'url': webhook URL must start with http:// or https://",
    ),
    (
        _set("recipients", "url", ""),
        "recipients[0] 'family': key 'url': webhook URL is required",
    ),
    (
        _set("recipients", "secret", "shh"),
        "recipients[0] 'family': key 'secret': Rocket.Chat takes no secret; leave it empty",
    ),
    (
        _set("dify_apps", "response_mode", "eventually"),
        "dify_apps[0] 'weather': key 'response_mode': Value 'eventually' is not a valid choice.",
    ),
    (
        _set("dify_apps", "timeout", 5),
        "dify_apps[0] 'weather': key 'timeout': Ensure this value is greater than or equal to 10.",
    ),
    (
        _set("gitlab_endpoints", "triggers", ["open", "merge"]),
        "gitlab_endpoints[0] 'team-reviews': key 'triggers': Unknown trigger merge",
    ),
    (
        _set("gitlab_endpoints", "secret_token", "short"),
        "gitlab_endpoints[0] 'team-reviews': key 'secret_token': use at least 16 characters",
    ),
    (
        _set("gitlab_endpoints", "signing_secret", "not-whsec"),
        "gitlab_endpoints[0] 'team-reviews': key 'signing_secret': a GitLab signing token "
        "starts with whsec_",
    ),
    (
        _set("gitlab_endpoints", "slug", "Team A!"),
        "gitlab_endpoints[0] 'team-reviews': key 'slug': Enter a valid “slug”",
    ),
    (
        _set("gitlab_endpoints", "api_key", "x"),
        "gitlab_endpoints[0] 'team-reviews': key 'api_key': unknown key",
    ),
]


@pytest.mark.parametrize(("change", "expected"), ERRORS)
def test_an_error_names_file_object_and_key_and_changes_nothing(
    env, reviewer, write, change, expected
):
    path = write(edited(change))
    before = db_state()
    with pytest.raises(CommandError) as caught:
        hub("apply", path)
    assert f"{path}: {expected}" in str(caught.value)
    assert db_state() == before


def test_a_missing_variable_is_named(env, reviewer, issue_file, monkeypatch):
    monkeypatch.delenv("GITLAB_TOKEN")
    before = db_state()
    with pytest.raises(CommandError) as caught:
        hub("apply", issue_file)
    assert (
        f"{issue_file}: gitlab_endpoints[0] 'team-reviews': key 'access_token': "
        "environment variable GITLAB_TOKEN not set"
    ) in str(caught.value)
    assert db_state() == before


def test_a_yaml_syntax_error_names_the_line(env, reviewer, write):
    path = write(ISSUE_YAML.read_text().replace('cron: "0 8 * * *"', 'cron: "0 8 * * *'))
    with pytest.raises(CommandError, match=rf"{path}: line \d+, column \d+: "):
        hub("apply", path)
    assert not DifyApp.objects.filter(name="weather").exists()


def test_an_error_in_the_last_object_undoes_the_valid_ones_before_it(env, reviewer, write):
    hub("apply", write(ISSUE_YAML.read_text()))
    before = db_state()

    def change(data):
        data["dify_apps"][0]["timeout"] = 900
        data["digests"][0]["cron"] = "15 6 * * *"
        data["recipients"].append({"name": "team", "kind": "slack", "url": "https://h/x"})
        data["gitlab_endpoints"][0]["triggers"] = ["open", "merge"]

    with pytest.raises(CommandError, match="key 'triggers': Unknown trigger merge"):
        hub("apply", write(edited(change)))
    assert db_state() == before


def test_a_database_error_while_saving_rolls_everything_back(env, reviewer, write, monkeypatch):
    from django.db import IntegrityError

    def fail(self, *args, **kwargs):
        raise IntegrityError("simulated")

    before = db_state()
    monkeypatch.setattr(ReviewEndpoint, "save", fail)
    with pytest.raises(CommandError, match="nothing was applied: simulated"):
        hub("apply", write(ISSUE_YAML.read_text()))
    assert db_state() == before


def test_digest_inputs_are_checked_against_a_known_input_form(env, dify_app, write):
    def change(data):
        data["digests"][0].update(app="echo", inputs={"city": "x"})
        del data["gitlab_endpoints"]

    with pytest.raises(CommandError) as caught:
        hub("apply", write(edited(change)))
    assert "digests[0] 'morning-weather': key 'inputs': city: unknown input variable" in str(
        caught.value
    )
    assert "digests[0] 'morning-weather': key 'inputs': query: required but missing" in str(
        caught.value
    )
