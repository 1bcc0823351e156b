"""Actions through the REST API go into the audit trail in the API key's name."""

from __future__ import annotations

import pytest

from integrations.models import AuditEntry, Run

pytestmark = pytest.mark.django_db


def test_a_retry_and_a_digest_run_are_recorded_with_the_key_name(
    api, trigger_key, make_run, make_digest
):
    run = make_run(status=Run.Status.FAILED)
    assert api.post(f"/api/v1/runs/{run.pk}/retry", key=trigger_key).status_code == 202
    digest = make_digest(name="morning")
    assert api.post("/api/v1/digests/morning/run", key=trigger_key).status_code == 202
    entries = list(AuditEntry.objects.order_by("pk"))
    assert [(e.door, e.actor, e.action, e.object_type) for e in entries] == [
        ("api", "API key 'trigger'", "retried", "run"),
        ("api", "API key 'trigger'", "ran now", "digest"),
    ]
    assert entries[0].object_id == str(run.pk) and entries[1].object_id == str(digest.pk)


def test_a_refused_action_is_not_recorded(api, trigger_key, make_run):
    run = make_run(status=Run.Status.RUNNING)
    assert api.post(f"/api/v1/runs/{run.pk}/retry", key=trigger_key).status_code == 409
    assert not AuditEntry.objects.exists()
