"""The pure SSE reader, fed with the raw bytes Dify 1.14.1 really sent."""

from __future__ import annotations

import json

import pytest

from integrations.dify.sse import SSEDecodeError, iter_events, split_lines
from tests.dify.conftest import capture, capture_bytes


def _data_event_names(cap: dict) -> list[str]:
    return [e["event"] for e in cap["event_order"] if e["sse_event_field"] is None]


def _chunks_as_received(body: bytes, cap: dict) -> list[bytes]:
    chunks, offset = [], 0
    for chunk in cap["chunks_received"]:
        chunks.append(body[offset : offset + chunk["bytes"]])
        offset += chunk["bytes"]
    assert offset == len(body)
    return chunks


def test_it_yields_exactly_the_data_events_of_a_real_stream_in_order():
    cap = capture("02_run_streaming_ok.json")
    body = capture_bytes("02_run_streaming_ok.sse.txt")

    events = list(iter_events(body.splitlines()))

    assert [e["event"] for e in events] == _data_event_names(cap)
    assert events == [e["data"] for e in cap["events_parsed"] if "data" in e]
    assert events[-1]["data"]["outputs"] == {"echo": "hello world", "count": 3, "color": "green"}


def test_it_reassembles_events_split_at_the_real_chunk_boundaries():
    cap = capture("02_run_streaming_ok.json")
    body = capture_bytes("02_run_streaming_ok.sse.txt")

    events = list(iter_events(split_lines(_chunks_as_received(body, cap))))

    assert [e["event"] for e in events] == _data_event_names(cap)


def test_it_skips_the_keepalive_pings_sent_during_a_long_node():
    cap = capture("67_slow_app_streaming_25s_node_not_stopped.json")
    body = capture_bytes("67_slow_app_streaming_25s_node_not_stopped.sse.txt")
    assert body.count(b"event: ping\n\n") == 3

    events = list(iter_events(split_lines(_chunks_as_received(body, cap))))

    assert [e["event"] for e in events] == _data_event_names(cap)
    assert events[-1]["data"]["outputs"]["http_body"] == '{"slow":"done"}'


def test_it_reads_the_stopped_run_stream_up_to_workflow_finished_stopped():
    cap = capture("61_slow_app_run_streaming_stopped_midway.json")
    body = capture_bytes("61_slow_app_run_streaming_stopped_midway.sse.txt")

    events = list(iter_events(split_lines(_chunks_as_received(body, cap))))

    assert [e["event"] for e in events] == _data_event_names(cap)
    assert events[-1]["data"]["status"] == "stopped"
    assert events[-1]["data"]["error"] == "Stopped by user."


@pytest.mark.parametrize(
    "name",
    ["05_run_streaming_missing_required_input", "05b_run_streaming_wrong_type_input"],
)
def test_it_yields_nothing_for_the_ping_only_stream_dify_sends_for_invalid_inputs(name):
    body = capture_bytes(f"{name}.sse.txt")
    assert body == b"event: ping\n\n"
    assert capture(f"{name}.json")["elapsed_s"] > 300  # Dify really stayed silent that long

    assert list(iter_events(split_lines([body]))) == []


def test_it_parses_the_spaced_json_of_the_event_replay_endpoint():
    cap = capture("70_get_workflow_events_finished_run.json")
    body = capture_bytes("70_get_workflow_events_finished_run.body.txt")

    (event,) = list(iter_events(split_lines([body])))

    assert event["event"] == "workflow_finished"
    assert cap["request"]["path"].startswith(f"/v1/workflow/{event['workflow_run_id']}/events")
    # surprising but real: the replay's task_id is the workflow run id, not the live task id
    assert event["task_id"] == event["workflow_run_id"]


def test_it_decodes_utf8_split_across_chunks():
    payload = {"event": "text_chunk", "data": {"text": "héllo ✓ 世界"}}
    raw = b"event: ping\n\ndata: " + json.dumps(payload, ensure_ascii=False).encode() + b"\n\n"
    cut = raw.index("✓".encode()) + 1  # in the middle of a multi-byte character
    chunks = [raw[:cut], raw[cut : cut + 3], raw[cut + 3 :]]

    assert list(iter_events(split_lines(chunks))) == [payload]


def test_it_accepts_data_without_a_space_crlf_and_multiline_blocks():
    lines = [
        ": a comment",
        "event: ping",
        "",
        'data:{"a": 1}\r\n',
        "",
        "id: 7",
        'data: {"b":',
        "data: 2}",
        "",
        b'data: {"c": 3}',
    ]

    assert list(iter_events(lines)) == [{"a": 1}, {"b": 2}, {"c": 3}]


def test_it_raises_a_decode_error_with_the_trimmed_offending_text():
    lines = ["data: {not json" + "x" * 500, ""]

    with pytest.raises(SSEDecodeError) as info:
        list(iter_events(lines))

    assert isinstance(info.value, ValueError)
    assert info.value.text.startswith("{not json")
    assert len(info.value.text) <= 200


def test_it_rejects_bytes_that_are_not_utf8():
    with pytest.raises(SSEDecodeError):
        list(iter_events([b'data: {"a": "\xff"}', b""]))
