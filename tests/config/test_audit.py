"""The audit trail of `hub apply` and the other `hub` commands: one entry per object, as the
OS user, with field names and never a secret's value."""

from __future__ import annotations

import pytest

from integrations import audit
from integrations.models import AuditEntry, Recipient
from tests.config.conftest import ISSUE_YAML, hub

pytestmark = pytest.mark.django_db


def test_apply_records_each_object_it_creates_changes_and_deletes(env, reviewer, write):
    path = write(ISSUE_YAML.read_text())
    hub("apply", path)
    created = list(AuditEntry.objects.order_by("pk"))
    assert {(e.door, e.action, e.object_type, e.object_repr) for e in created} == {
        ("apply", "created", "difyapp", "weather"),
        ("apply", "created", "recipient", "family"),
        ("apply", "created", "digest", "morning-weather"),
        ("apply", "created", "reviewendpoint", "team-reviews"),
    }
    assert {e.actor for e in created} == {audit.os_user()}
    family = next(e for e in created if e.object_repr == "family")
    assert family.object_id == str(Recipient.objects.get(name="family").pk)
    assert "url" in family.fields and family.note == f"recipients in {path}"

    hub("apply", path)  # unchanged: nothing to record
    assert AuditEntry.objects.count() == 4

    secret_url = "https://chat.example.com/hooks/NEW-TOKEN-abcdefghijkl"
    env_changed = ISSUE_YAML.read_text().replace("${ROCKETCHAT_HOOK_URL}", secret_url)
    hub("apply", write(env_changed, "changed.yaml"))
    entry = AuditEntry.objects.latest("pk")
    assert (entry.action, entry.object_repr, entry.fields) == ("changed", "family", ["url"])
    assert not AuditEntry.objects.filter(note__contains="NEW-TOKEN").exists()
    assert "NEW-TOKEN" not in str(list(AuditEntry.objects.values()))


def test_a_failed_apply_records_nothing(env, reviewer, write):
    broken = ISSUE_YAML.read_text().replace("kind: rocketchat", "kind: irc")
    with pytest.raises(Exception, match="unknown kind"):
        hub("apply", write(broken))
    assert not AuditEntry.objects.exists()


def test_api_keys_made_and_revoked_by_command_are_recorded(db):
    hub("apikey", "create", "ci", "--scope", "read")
    hub("apikey", "revoke", "ci")
    hub("apikey", "revoke", "ci")  # already revoked: nothing new happened
    assert list(AuditEntry.objects.order_by("pk").values_list("door", "action", "object_repr")) == [
        ("command", "created", "ci"),
        ("command", "revoked", "ci"),
    ]
