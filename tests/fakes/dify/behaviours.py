"""What the fake Dify does for one request, when a test scripts it (`fake.script(kind, ...)`).

Unscripted requests get what the app does by itself (a run of its definition).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tests.fakes.dify.forms import MSG_500


@dataclass
class Behaviour:
    """What the fake does for one request. Build with the factory functions below."""

    kind: str
    params: dict = field(default_factory=dict)


def success(
    outputs: dict | None = None,
    *,
    answer: str | None = None,
    delay: float = 0.0,
    first_event_delay: float = 0.0,
    event_delay: float = 0.0,
    node_seconds: float = 0.0,
    ping_interval: float | None = None,
    total_tokens: int = 0,
    finish_order: str = "message_end_first",
    http_body: str | None = None,
) -> Behaviour:
    """A successful run in the request's response_mode.

    ``delay``: seconds before anything is sent (headers included).
    ``first_event_delay``: streaming only; seconds between the ping prologue and
    ``workflow_started`` (pings keep coming meanwhile).
    ``event_delay``: streaming workflow runs only; seconds between consecutive data events
    after ``workflow_started`` (pings keep coming meanwhile).
    ``node_seconds``: a slow middle node ("Slow HTTP"), with keep-alive pings.
    ``finish_order``: advanced-chat only, "message_end_first" or "workflow_finished_first".
    ``http_body``: with ``node_seconds``, the slow node's body, streamed and added to the
    outputs as ``http_body`` (the slow-http app of captures 60-68, 80, 93-97).
    """
    return Behaviour("success", dict(locals()))


def slow(node_seconds: float, *, ping_interval: float | None = None, **kwargs: Any) -> Behaviour:
    """A run with a node that takes ``node_seconds`` (pings every ``ping_interval``)."""
    return success(node_seconds=node_seconds, ping_interval=ping_interval, **kwargs)


def node_failed(
    error: str = "Node Failing Code run failed: division by zero",
    *,
    node_type: str = "code",
    title: str = "Failing Code",
    request: str | None = None,
) -> Behaviour:
    """HTTP 200, the run fails inside a node: node_finished and workflow_finished "failed"
    (94, 94b: an HTTP node to a closed port; ``request`` is its process_data.request)."""
    return Behaviour(
        "node_failed", {"error": error, "node_type": node_type, "title": title, "request": request}
    )


def paused() -> Behaviour:
    """The run pauses on a human-input node: ``workflow_paused`` then the stream closes."""
    return Behaviour("paused", {})


def stream_error(
    code: str = "provider_not_initialize",
    message: str = "No valid model provider credentials found. Please go to Settings -> "
    "Model Provider to complete your provider credentials.",
    status: int = 400,
) -> Behaviour:
    """Streaming: 200, workflow_started, then an in-stream ``error`` event. Blocking: the
    same code/message as an HTTP error."""
    return Behaviour("stream_error", {"code": code, "message": message, "status": status})


def api_error(
    status: int, code: str, message: str, *, headers: dict | None = None, body: dict | None = None
) -> Behaviour:
    """An HTTP error with Dify's ``{code, message, status}`` JSON envelope."""
    envelope = body if body is not None else {"code": code, "message": message, "status": status}
    return Behaviour("api_error", {"status": status, "body": envelope, "headers": headers or {}})


def unauthorized(message: str = "Access token is invalid") -> Behaviour:
    return api_error(
        401, "unauthorized", message, headers={"WWW-Authenticate": 'Bearer realm="api"'}
    )


def forbidden(message: str = "The app's API service has been disabled.") -> Behaviour:
    return api_error(403, "forbidden", message)


def invalid_param(message: str) -> Behaviour:
    return api_error(400, "invalid_param", message)


def not_published() -> Behaviour:
    return invalid_param("Workflow not published")


def app_unavailable() -> Behaviour:
    return api_error(
        400, "app_unavailable", "App unavailable, please check your app configurations."
    )


def not_found(message: str = "Workflow run not found.") -> Behaviour:
    return api_error(404, "not_found", message)


def too_many_requests(retry_after: float | str | None = None) -> Behaviour:
    """A 429 from a gateway or a rate limiter in front of Dify (Dify Cloud, a proxy). Dify
    1.14.1 itself never answers 429 for its own concurrency limit: see concurrency_limit."""
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return api_error(429, "too_many_requests", "Too many requests.", headers=headers)


def concurrency_limit(limit: int = 1, app_id: str = "5b3d7b0e-0000-4000-8000-000000000001"):
    """Dify's own refusal at the app's max_active_requests: 400 invalid_param, no
    Retry-After (captures 91, 92). `FakeDify(max_active_requests=N)` gives it for real."""
    return invalid_param(concurrency_message(app_id, limit))


def concurrency_message(app_id: str, limit: int) -> str:
    return (
        "Too many requests. Please try again later. The current maximum concurrent requests "
        f"allowed for {app_id} is {limit}."
    )


def rate_limit_error() -> Behaviour:
    return api_error(429, "rate_limit_error", "Rate Limit Error")


def internal_server_error() -> Behaviour:
    return api_error(500, "internal_server_error", MSG_500)


def unknown_500() -> Behaviour:
    """The 500 body shape seen for a non-UUID run id (capture 28)."""
    return api_error(
        500,
        "unknown",
        "",
        body={"message": "Internal Server Error", "code": "unknown", "status": 500},
    )


def cut_after_started(finish_after: float = 0.0) -> Behaviour:
    """Streaming: ping, workflow_started, node_started, then the socket is closed abruptly
    (no terminating chunk). The run goes on server-side and succeeds ``finish_after`` s later.
    Blocking: the connection is closed without any answer; the run succeeds likewise."""
    return Behaviour("cut", {"finish_after": finish_after})


def drop_connection(finish_after: float = 0.0) -> Behaviour:
    """Close the connection without sending a single byte (after reading the request).
    For run requests the run is created and succeeds ``finish_after`` s later."""
    return Behaviour("drop", {"finish_after": finish_after})


def gateway_error(status: int = 504, *, delay: float = 0.0, run_seconds: float = 0.0) -> Behaviour:
    """A proxy answers ``status`` with an HTML page after ``delay`` s, while the run (for run
    requests) is created and succeeds after ``run_seconds`` s."""
    return Behaviour("gateway", {"status": status, "delay": delay, "run_seconds": run_seconds})


def stall(max_seconds: float = 300.0) -> Behaviour:
    """200 text/event-stream, one ping, then silence for up to ``max_seconds`` (then a clean
    end, as Dify does after ~300 s). No run is created."""
    return Behaviour("stall", {"max_seconds": max_seconds})


def raw_response(
    status: int,
    body: bytes | str = b"",
    *,
    headers: dict | None = None,
    content_type: str = "text/plain",
) -> Behaviour:
    """Any HTTP answer, for odd cases."""
    if isinstance(body, str):
        body = body.encode("utf-8")
    return Behaviour(
        "raw",
        {"status": status, "body": body, "headers": headers or {}, "content_type": content_type},
    )


def replay(
    body: bytes,
    *,
    chunk_sizes: list[int] | None = None,
    times: list[float] | None = None,
    time_scale: float = 1.0,
) -> Behaviour:
    """200 ``text/event-stream`` with exactly ``body`` as the stream, cut into HTTP chunks of
    ``chunk_sizes`` (e.g. a capture's ``chunks_received``) and sent at ``times`` seconds
    (multiplied by ``time_scale``) after the request. No run is created."""
    return Behaviour(
        "replay",
        {"body": body, "chunk_sizes": chunk_sizes, "times": times, "time_scale": time_scale},
    )
