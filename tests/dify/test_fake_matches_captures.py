"""The fake answers the captured requests the way real Dify 1.14.1 did.

Each capture's request (method, path, headers, body) is sent to FakeDify with plain
``requests``; the status and the body must match what the real server sent.
"""

from __future__ import annotations

import json

import pytest
import requests

from tests.dify.conftest import capture
from tests.fakes.dify import DEFAULT_INPUT_FORM, FakeDify


def send_captured_request(fake: FakeDify, cap: dict) -> requests.Response:
    request = cap["request"]
    headers = {}
    for name, value in request["headers"]:
        if name in ("host", "content-length", "connection"):
            continue
        if name == "authorization" and "REDACTED" in value:
            value = f"Bearer {fake.api_key}"
        headers[name] = value
    if "raw_body" in request:
        data = request["raw_body"].encode()
    elif request.get("body") is not None:
        data = json.dumps(request["body"]).encode()
    else:
        data = None
    url = fake.url[: -len("/v1")] + request["path"]
    return requests.request(request["method"], url, data=data, headers=headers, timeout=5)


EXACT_BODY = [
    "04_run_missing_required_input",
    "06_run_empty_inputs_object",
    "08_run_wrong_type_text_given_number",
    "09_run_wrong_type_number_given_nonnumeric_string",
    "11_run_wrong_type_number_given_object",
    "12_run_select_value_not_in_options",
    "13_run_text_too_long",
    "16_run_user_absent",
    "18_run_bad_api_key",
    "19_run_no_authorization_header",
    "20_run_authorization_not_bearer",
    "21_get_parameters",
    "22_get_info",
    "27_get_run_detail_unknown_id",
    "28_get_run_detail_not_uuid",
    "29_stop_finished_task",
    "30_stop_unknown_task",
    "31_stop_without_user",
    "47_get_on_run_endpoint",
    "48_unknown_v1_path",
    "49_run_malformed_json_body",
]


@pytest.mark.parametrize("name", EXACT_BODY)
def test_it_answers_like_real_dify_byte_for_byte(name):
    cap = capture(f"{name}.json")
    with FakeDify() as fake:
        response = send_captured_request(fake, cap)

    real = cap["response"]
    assert response.status_code == real["status"]
    assert response.text == real["body_text"]
    assert response.headers["Content-Type"] == dict(real["headers"])["content-type"]
    if "www-authenticate" in dict(real["headers"]):
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="api"'


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("40_unpublished_app_run_blocking", {"published": False}),
        ("41_unpublished_app_run_streaming", {"published": False}),
        ("42_unpublished_app_parameters", {"published": False}),
        ("43_unpublished_app_info", {"published": False, "name": "echo-unpublished"}),
        ("44_api_disabled_run_blocking", {"api_enabled": False}),
        ("45_api_disabled_parameters", {"api_enabled": False}),
    ],
)
def test_it_answers_like_an_unpublished_or_disabled_real_app(name, options):
    cap = capture(f"{name}.json")
    with FakeDify(**options) as fake:
        response = send_captured_request(fake, cap)

    assert response.status_code == cap["response"]["status"]
    assert response.json() == cap["response"]["body_json"]


@pytest.mark.parametrize(
    "name",
    [
        "01_run_blocking_ok",
        "03_run_blocking_optional_inputs_omitted",
        "10_run_number_given_numeric_string",
        "14_run_number_given_boolean",
        "17_run_extra_unknown_input",
    ],
)
def test_it_runs_the_echo_app_like_real_dify_in_blocking_mode(name):
    cap = capture(f"{name}.json")
    with FakeDify() as fake:
        response = send_captured_request(fake, cap)
        runs = fake.runs

    real = cap["response"]["body_json"]
    body = response.json()
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert response.text.startswith('{"task_id": "')  # spaced JSON like the real blocking answer
    assert list(body) == list(real)
    assert list(body["data"]) == list(real["data"])
    assert body["data"]["outputs"] == real["data"]["outputs"]
    assert body["data"]["status"] == "succeeded"
    stored = runs[body["workflow_run_id"]]
    assert stored["status"] == "succeeded"
    assert json.loads(stored["inputs"])["sys.user_id"] == "capture-user-1"  # a JSON *string*


def test_it_streams_the_same_event_sequence_as_real_dify():
    cap = capture("02_run_streaming_ok.json")
    with FakeDify() as fake:
        response = send_captured_request(fake, cap)
        raw = response.content

    assert response.headers["Content-Type"] == "text/event-stream; charset=utf-8"
    assert response.headers["Transfer-Encoding"] == "chunked"
    blocks = [b for b in raw.decode().split("\n\n") if b]
    assert blocks[0] == "event: ping"
    got = []
    for block in blocks:
        if block.startswith("data: "):
            event = json.loads(block[len("data: ") :])
            got.append((None, event["event"], event["data"].get("node_type")))
        else:
            got.append(("ping", None, None))
    assert got == [(e["sse_event_field"], e["event"], e["node_type"]) for e in cap["event_order"]]
    real_events = [e["data"] for e in cap["events_parsed"] if "data" in e]
    fake_events = [json.loads(b[len("data: ") :]) for b in blocks if b.startswith("data: ")]
    for real, ours in zip(real_events, fake_events, strict=True):
        assert list(ours) == list(real)
        assert list(ours["data"]) == list(real["data"])
    assert fake_events[-1]["data"]["outputs"] == real_events[-1]["data"]["outputs"]


def test_its_logs_have_the_real_shape():
    cap = capture("32_get_workflow_logs.json")
    with FakeDify() as fake:
        send_captured_request(fake, capture("01_run_blocking_ok.json"))
        response = send_captured_request(fake, cap)

    real = cap["response"]["body_json"]
    body = response.json()
    assert list(body) == list(real)
    assert list(body["data"][0]) == list(real["data"][0])
    assert list(body["data"][0]["workflow_run"]) == list(real["data"][0]["workflow_run"])
    assert list(body["data"][0]["created_by_end_user"]) == list(
        real["data"][0]["created_by_end_user"]
    )
    assert body["data"][0]["created_by_end_user"]["session_id"] == "capture-user-1"


def test_its_run_detail_has_the_real_shape():
    cap = capture("25_get_run_detail_blocking_run.json")
    with FakeDify() as fake:
        run = send_captured_request(fake, capture("01_run_blocking_ok.json")).json()
        response = requests.get(
            f"{fake.url}/workflows/run/{run['workflow_run_id']}",
            headers={"Authorization": f"Bearer {fake.api_key}"},
            timeout=5,
        )

    real = cap["response"]["body_json"]
    body = response.json()
    assert list(body) == list(real)
    assert isinstance(body["inputs"], str)
    assert list(json.loads(body["inputs"])) == list(json.loads(real["inputs"]))
    assert body["outputs"] == real["outputs"]


def test_its_default_form_is_the_echo_app_form():
    assert (
        capture("21_get_parameters.json")["response"]["body_json"]["user_input_form"]
        == DEFAULT_INPUT_FORM
    )
