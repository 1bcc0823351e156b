"""The OpenAPI schema is valid, and a schema-driven fuzz run over every operation finds no 5xx."""

from __future__ import annotations

import pytest
import schemathesis
from drf_spectacular.validation import validate_schema
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance
from schemathesis.generation import GenerationMode

from integrations.models import HubAPIKey, Run

pytestmark = pytest.mark.django_db

SCHEMA_URL = "/api/v1/schema/?format=json"


def test_the_schema_is_valid_openapi_3(client):
    response = client.get(SCHEMA_URL)
    assert response.status_code == 200
    schema = response.json()
    validate_schema(schema)  # raises on an invalid document
    assert schema["components"]["securitySchemes"]["hubApiKey"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "A hub API key (dhk_…), created in the admin or with "
        "`manage.py hub apikey create`.",
    }
    assert set(schema["paths"]) == {
        "/api/v1/runs/",
        "/api/v1/runs/{id}/",
        "/api/v1/runs/{id}/retry",
        "/api/v1/runs/{id}/stop",
        "/api/v1/runs/{id}/redeliver",
        "/api/v1/digests/{name}/run",
    }


@pytest.fixture
def keep_connection():
    """Calls go straight to the WSGI app, not through Django's test client, so stop Django from
    closing the test's database connection (and its transaction) after each request."""
    from django.core import signals
    from django.db import close_old_connections

    for signal in (signals.request_started, signals.request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (signals.request_started, signals.request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def api_schema(db, keep_connection):
    from hub.wsgi import application

    return schemathesis.openapi.from_wsgi(SCHEMA_URL, application)


@pytest.fixture
def fuzz_key(make_run, make_digest, rocketchat_recipient) -> str:
    """Something to find: runs in several states, a digest, and a key that may do everything."""
    make_digest(name="Morning weather", recipients=[rocketchat_recipient])
    for status in (Run.Status.SUCCEEDED, Run.Status.FAILED, Run.Status.QUEUED):
        make_run(status=status)
    return HubAPIKey.create_key("fuzz", "trigger")[1]


@pytest.mark.parametrize("mode", list(GenerationMode), ids=lambda mode: mode.value)
def test_no_operation_answers_5xx(api_schema, fuzz_key, mode):
    """Valid and invalid requests (negative mode: wrong types, bad enums, junk ids and names)."""
    headers = {"Authorization": f"Bearer {fuzz_key}"}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) == 6

    for operation in operations:

        @given(case=operation.as_strategy(mode))
        @settings(
            max_examples=30, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        def call(case):
            case.call_and_validate(
                headers=headers, checks=[not_a_server_error, response_schema_conformance]
            )

        call()
