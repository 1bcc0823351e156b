"""An unreachable database answers 503 with advice, never a 500."""

from __future__ import annotations

import json

from django.db import OperationalError
from django.test import RequestFactory

from integrations.middleware import DatabaseUnavailable


def answer(path: str):
    request = RequestFactory().post(path)
    middleware = DatabaseUnavailable(lambda request: None)
    return middleware.process_exception(
        request, OperationalError('connection to server at "127.0.0.1", port 5432 failed')
    )


def test_a_webhook_gets_json_that_says_nothing_was_stored():
    response = answer("/hooks/gitlab/team-a/")
    assert response.status_code == 503 and response["Retry-After"] == "30"
    body = json.loads(response.content)
    assert "database is unavailable" in body["error"] and "nothing was stored" in body["error"]
    assert "5432" not in body["error"]  # no connection details leak


def test_an_api_client_gets_the_apis_error_shape():
    response = answer("/api/v1/runs/")
    assert response.status_code == 503 and response["Retry-After"] == "30"
    body = json.loads(response.content)
    assert body["code"] == "database_unavailable" and "nothing was stored" in body["message"]


def test_a_person_gets_a_short_page():
    response = answer("/admin/integrations/run/")
    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/plain")


def test_other_errors_are_left_to_django():
    middleware = DatabaseUnavailable(lambda request: None)
    assert middleware.process_exception(RequestFactory().get("/"), ValueError("x")) is None
