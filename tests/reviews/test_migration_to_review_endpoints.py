"""Migration 0014 keeps today's GitLab endpoints, their events and their runs as they are."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("integrations", "0013_trigger_scope_label")]
AFTER = [("integrations", "0014_review_endpoints_for_every_forge")]


def migrate(target):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(target)
    return executor.loader.project_state(target).apps


def test_gitlab_endpoints_events_and_runs_survive_the_rename():
    old = migrate(BEFORE)
    try:
        app = old.get_model("integrations", "DifyApp").objects.create(
            name="reviewer", base_url="http://127.0.0.1:9/v1", api_key="app-key"
        )
        endpoint = old.get_model("integrations", "GitLabEndpoint").objects.create(
            name="team-reviews",
            slug="team-a",
            secret_token_hash="pbkdf2_sha256$1$salt$hash",
            app=app,
            gitlab_url="https://gitlab.example.com",
            access_token="glpat-kept",
        )
        old.get_model("integrations", "WebhookEvent").objects.create(
            endpoint=endpoint, idempotency_key="key-1", outcome="accepted"
        )
        old.get_model("integrations", "Run").objects.create(
            kind="merge_request_review", source="s", app=app, gitlab_endpoint=endpoint
        )

        new = migrate(AFTER)
        moved = new.get_model("integrations", "ReviewEndpoint").objects.get()
        assert (moved.pk, moved.name, moved.forge) == (endpoint.pk, "team-reviews", "gitlab")
        assert moved.base_url == "https://gitlab.example.com" and moved.access_token == "glpat-kept"
        assert moved.review_command_from == ["OWNER", "MEMBER", "COLLABORATOR"]
        assert new.get_model("integrations", "WebhookEvent").objects.get().endpoint_id == moved.pk
        assert new.get_model("integrations", "Run").objects.get().review_endpoint_id == moved.pk
    finally:
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
