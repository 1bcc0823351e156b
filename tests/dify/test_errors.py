"""error_from_response on the real status + body + headers of every error capture."""

from __future__ import annotations

import pytest

from integrations.dify import (
    DifyAuthError,
    DifyError,
    DifyOutcomeUnknown,
    DifyPermanentError,
    DifyRetryableError,
    error_from_response,
)
from tests.dify.conftest import capture, capture_headers

CASES = [
    (
        "04_run_missing_required_input",
        DifyPermanentError,
        "invalid_param",
        "query is required in input form",
    ),
    (
        "06_run_empty_inputs_object",
        DifyPermanentError,
        "invalid_param",
        "query is required in input form",
    ),
    (
        "07_run_inputs_field_absent",
        DifyPermanentError,
        "invalid_param",
        "1 validation error for WorkflowRunPayload inputs Field required",
    ),
    (
        "08_run_wrong_type_text_given_number",
        DifyPermanentError,
        "invalid_param",
        "(type 'text-input') query in input form must be a string",
    ),
    (
        "09_run_wrong_type_number_given_nonnumeric_string",
        DifyPermanentError,
        "invalid_param",
        "count in input form must be a valid number",
    ),
    (
        "11_run_wrong_type_number_given_object",
        DifyRetryableError,
        "internal_server_error",
        "The server encountered an internal error",
    ),
    (
        "12_run_select_value_not_in_options",
        DifyPermanentError,
        "invalid_param",
        "color in input form must be one of the following: ['red', 'green', 'blue']",
    ),
    (
        "13_run_text_too_long",
        DifyPermanentError,
        "invalid_param",
        "query in input form must be less than 256 characters",
    ),
    (
        "15_run_bad_response_mode",
        DifyPermanentError,
        "invalid_param",
        "1 validation error for WorkflowRunPayload response_mode",
    ),
    ("16_run_user_absent", DifyPermanentError, "invalid_param", "Arg user must be provided."),
    ("18_run_bad_api_key", DifyAuthError, "unauthorized", "Access token is invalid"),
    (
        "19_run_no_authorization_header",
        DifyAuthError,
        "unauthorized",
        "Authorization header must be provided and start with 'Bearer'",
    ),
    (
        "20_run_authorization_not_bearer",
        DifyAuthError,
        "unauthorized",
        "Authorization scheme must be 'Bearer'",
    ),
    ("27_get_run_detail_unknown_id", DifyPermanentError, "not_found", "Workflow run not found."),
    ("28_get_run_detail_not_uuid", DifyRetryableError, "unknown", "Internal Server Error"),
    ("31_stop_without_user", DifyPermanentError, "invalid_param", "Arg user must be provided."),
    (
        "40_unpublished_app_run_blocking",
        DifyPermanentError,
        "invalid_param",
        "Workflow not published",
    ),
    (
        "41_unpublished_app_run_streaming",
        DifyPermanentError,
        "invalid_param",
        "Workflow not published",
    ),
    (
        "42_unpublished_app_parameters",
        DifyPermanentError,
        "app_unavailable",
        "App unavailable, please check your app configurations.",
    ),
    (
        "44_api_disabled_run_blocking",
        DifyAuthError,
        "forbidden",
        "The app's API service has been disabled.",
    ),
    (
        "45_api_disabled_parameters",
        DifyAuthError,
        "forbidden",
        "The app's API service has been disabled.",
    ),
    ("46_deleted_api_key", DifyAuthError, "unauthorized", "Access token is invalid"),
    (
        "47_get_on_run_endpoint",
        DifyPermanentError,
        "method_not_allowed",
        "The method is not allowed for the requested URL.",
    ),
    (
        "48_unknown_v1_path",
        DifyPermanentError,
        "not_found",
        "HTTP 404 with a non-JSON body: 404 Not Found",
    ),
    (
        "49_run_malformed_json_body",
        DifyPermanentError,
        "bad_request",
        "The browser (or proxy) sent a request",
    ),
]


@pytest.mark.parametrize(("name", "cls", "code", "message"), CASES, ids=[c[0] for c in CASES])
def test_it_maps_each_real_error_answer_to_the_right_class_code_and_message(
    name, cls, code, message
):
    cap = capture(f"{name}.json")
    response = cap["response"]

    error = error_from_response(response["status"], response["body_text"], capture_headers(cap))

    assert type(error) is cls
    assert error.code == code
    assert error.http_status == response["status"]
    assert error.message.startswith(message)
    assert str(error).startswith(f"Dify {response['status']} {code}: ")
    assert error.retryable is (cls is DifyRetryableError)


def test_it_renders_a_readable_one_liner():
    cap = capture("18_run_bad_api_key.json")
    error = error_from_response(401, cap["response"]["body_text"], capture_headers(cap))

    assert str(error) == "Dify 401 unauthorized: Access token is invalid"


def test_it_reads_retry_after_from_a_429_too_many_requests():
    body = '{"code":"too_many_requests","message":"Too many requests.","status":429}\n'

    error = error_from_response(429, body, {"Retry-After": "7"})

    assert isinstance(error, DifyRetryableError)
    assert error.retry_after == 7.0
    assert error_from_response(429, body, {}).retry_after is None


def test_it_treats_a_429_rate_limit_error_as_permanent():
    body = '{"code":"rate_limit_error","message":"Rate Limit Error","status":429}'

    error = error_from_response(429, body, {})

    assert type(error) is DifyPermanentError
    assert error.code == "rate_limit_error"


@pytest.mark.parametrize("status", [502, 503, 504, 524])
def test_it_treats_a_gateway_page_as_outcome_unknown(status):
    html = f"<html><head><title>{status} Gateway Time-out</title></head><body>nginx</body></html>"

    error = error_from_response(status, html, {"Content-Type": "text/html"})

    assert type(error) is DifyOutcomeUnknown
    assert error.retryable is False
    assert error.http_status == status
    assert "Gateway Time-out" in error.message


def test_it_treats_a_gateway_page_as_retryable_for_idempotent_reads():
    error = error_from_response(504, "<html>504</html>", {}, idempotent=True)

    assert type(error) is DifyRetryableError


def test_it_treats_a_5xx_with_a_json_envelope_as_retryable():
    body = '{"code":"internal_server_error","message":"Internal Server Error.","status":500}'

    assert type(error_from_response(502, body, {})) is DifyRetryableError


def test_it_flags_redirects_as_a_base_url_problem():
    error = error_from_response(301, "", {"Location": "https://dify.example.com/v1/info"})

    assert type(error) is DifyPermanentError
    assert error.code == "unexpected_redirect"
    assert "https://dify.example.com/v1/info" in error.message


def test_every_error_class_is_a_dify_error():
    for cls in (DifyPermanentError, DifyAuthError, DifyRetryableError, DifyOutcomeUnknown):
        assert issubclass(cls, DifyError)
