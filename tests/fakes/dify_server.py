"""A local fake of the Dify service API (``/v1``), shaped after real Dify 1.14.1 captures.

Real HTTP/1.1 on 127.0.0.1 (ephemeral port by default), stdlib only. Streams are sent with
``Transfer-Encoding: chunked`` and ``text/event-stream; charset=utf-8`` exactly like Dify:
a bare ``event: ping`` prologue, ``data: {json}`` events with no ``event:`` line, and
keep-alive pings while a node runs (every ``ping_interval`` seconds, 10 s like Dify unless
configured smaller for fast tests).

Use in tests::

    with FakeDify() as fake:
        fake.script("run", too_many_requests(), success())
        client = DifyClient(fake.url, fake.api_key)
        ...
        fake.requests   # recorded requests
        fake.runs       # workflow_run_id -> run detail (what GET /workflows/run/{id} returns)

When a queue is empty a request gets the default behaviour: a successful run of the
"echo-workflow" app (outputs ``{"echo": query, "count": count, "color": color}``).
Inputs are validated against the app's form the way Dify does it: blocking runs with bad
inputs get ``400 invalid_param`` (or the 500 Dify gives for an object in a number field);
*streaming* workflow runs with bad inputs get 200, one ping, and then silence (Dify's real
behaviour) until the client goes away, the fake stops, or ``stall_seconds`` pass.

Quirks reproduced on purpose: the stop endpoint always answers 200 ``{"result":"success"}``
(even for unknown tasks); a stopped run ends its stream with ``workflow_finished`` status
``stopped`` but keeps reading back as ``running`` from ``GET /workflows/run/{id}``; an
unknown ``/v1`` path gives Flask's HTML 404; a non-UUID run id gives the ``"code":"unknown"``
500; run detail ``inputs`` is a JSON string.

Run it standalone for manual testing (serves until Ctrl-C)::

    python -m tests.fakes.dify_server --port 5001 --api-key app-demo [--mode workflow]
        [--host 127.0.0.1] [--ping-interval 10]

and point the hub at ``http://127.0.0.1:5001/v1`` with API key ``app-demo``.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import math
import re
import select
import socket
import ssl
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

__all__ = [
    "DEFAULT_CHAT_INPUT_FORM",
    "DEFAULT_INPUT_FORM",
    "Behaviour",
    "FakeDify",
    "RecordedRequest",
    "api_error",
    "app_unavailable",
    "cut_after_started",
    "drop_connection",
    "forbidden",
    "gateway_error",
    "internal_server_error",
    "invalid_param",
    "node_failed",
    "not_found",
    "not_published",
    "paused",
    "rate_limit_error",
    "raw_response",
    "replay",
    "slow",
    "stall",
    "stream_error",
    "success",
    "too_many_requests",
    "unauthorized",
    "unknown_500",
]

DIFY_VERSION = "1.14.1"

# user_input_form of the echo-workflow app (capture 21_get_parameters.json)
DEFAULT_INPUT_FORM: list[dict] = [
    {
        "text-input": {
            "variable": "query",
            "label": "query",
            "type": "text-input",
            "required": True,
            "max_length": 256,
            "options": [],
        }
    },
    {
        "number": {
            "variable": "count",
            "label": "count",
            "type": "number",
            "required": False,
            "options": [],
        }
    },
    {
        "select": {
            "variable": "color",
            "label": "color",
            "type": "select",
            "required": False,
            "options": ["red", "green", "blue"],
        }
    },
]

# default form of the chat-family fakes (chat, agent-chat, advanced-chat): the user message
# travels as `query` outside `inputs`, so the form only has an optional variable.
DEFAULT_CHAT_INPUT_FORM: list[dict] = [
    {
        "text-input": {
            "variable": "topic",
            "label": "topic",
            "type": "text-input",
            "required": False,
            "max_length": 256,
            "options": [],
        }
    }
]

# the rest of GET /parameters (capture 21)
_PARAMETERS_TEMPLATE: dict = {
    "opening_statement": None,
    "suggested_questions": [],
    "suggested_questions_after_answer": {"enabled": False},
    "speech_to_text": {"enabled": False},
    "text_to_speech": {"enabled": False, "voice": "", "language": ""},
    "retriever_resource": {"enabled": False},
    "annotation_reply": {"enabled": False},
    "more_like_this": {"enabled": False},
    "user_input_form": [],
    "sensitive_word_avoidance": {"enabled": False},
    "file_upload": {},
    "system_parameters": {
        "image_file_size_limit": 10,
        "video_file_size_limit": 100,
        "audio_file_size_limit": 50,
        "file_size_limit": 15,
        "workflow_file_upload_limit": 10,
    },
}

# capture 48_unknown_v1_path.json
_HTML_404 = (
    "<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n"
    "<p>The requested URL was not found on the server. If you entered the URL manually please "
    "check your spelling and try again.</p>\n"
)

_MSG_500 = (
    "The server encountered an internal error and was unable to complete your request. "
    "Either the server is overloaded or there is an error in the application."
)
_MSG_MODE = "Please check if your app mode matches the right API route."
_BAD_GATEWAY = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad "
    "Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)
_UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-?([0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}$")

START_NODE_ID = "1700000000001"
END_NODE_ID = "1700000000002"
SLOW_NODE_ID = "1700000000003"
FAIL_NODE_ID = "1700000000004"


# ---------------------------------------------------------------------------
# behaviours
# ---------------------------------------------------------------------------


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
) -> Behaviour:
    """A successful run in the request's response_mode.

    ``delay``: seconds before anything is sent (headers included).
    ``first_event_delay``: streaming only; seconds between the ping prologue and
    ``workflow_started`` (pings keep coming meanwhile).
    ``event_delay``: streaming workflow runs only; seconds between consecutive data events
    after ``workflow_started`` (pings keep coming meanwhile).
    ``node_seconds``: a slow middle node ("Slow HTTP"), with keep-alive pings.
    ``finish_order``: advanced-chat only, "message_end_first" or "workflow_finished_first".
    """
    return Behaviour("success", dict(locals()))


def slow(node_seconds: float, *, ping_interval: float | None = None, **kwargs: Any) -> Behaviour:
    """A run with a node that takes ``node_seconds`` (pings every ``ping_interval``)."""
    return success(node_seconds=node_seconds, ping_interval=ping_interval, **kwargs)


def node_failed(error: str = "Node Failing Code run failed: division by zero") -> Behaviour:
    """HTTP 200, the run fails inside a node: workflow_finished / data.status "failed"."""
    return Behaviour("node_failed", {"error": error})


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
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return api_error(
        429,
        "too_many_requests",
        "Too many requests. Please try again later. The current maximum concurrent requests "
        "allowed for 5b3d7b0e-0000-4000-8000-000000000001 is 1.",
        headers=headers,
    )


def rate_limit_error() -> Behaviour:
    return api_error(429, "rate_limit_error", "Rate Limit Error")


def internal_server_error() -> Behaviour:
    return api_error(500, "internal_server_error", _MSG_500)


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


_KIND_ALIASES = {
    "run": "run",
    "workflow": "run",
    "workflows/run": "run",
    "/workflows/run": "run",
    "chat": "chat",
    "chat-messages": "chat",
    "/chat-messages": "chat",
    "completion": "completion",
    "completion-messages": "completion",
    "/completion-messages": "completion",
    "info": "info",
    "/info": "info",
    "parameters": "parameters",
    "/parameters": "parameters",
    "get_run": "get_run",
    "run_detail": "get_run",
    "logs": "logs",
    "/workflows/logs": "logs",
    "stop": "stop",
}

_RUN_KINDS = {"run", "chat", "completion"}


@dataclass
class RecordedRequest:
    method: str
    path: str  # without the query string
    query: dict[str, str]
    headers: dict[str, str]  # lower-cased names
    json: Any
    raw_body: bytes


class _ClientGone(Exception):
    pass


class _StopRequested(Exception):
    pass


# ---------------------------------------------------------------------------
# Dify-like input validation (api/core/app/apps/base_app_generator.py, 1.14)
# ---------------------------------------------------------------------------


def _form_fields(form: list[dict]) -> list[tuple[str, dict]]:
    result = []
    for element in form:
        for type_key, definition in element.items():
            if isinstance(definition, dict) and definition.get("variable"):
                result.append((type_key, definition))
            break
    return result


def _dify_validate(form: list[dict], inputs: dict) -> tuple[dict, tuple[int, str, str] | None]:
    """Return (cleaned inputs, None) or (partial, (status, code, message)) like Dify."""
    cleaned: dict[str, Any] = {}
    for var_type, d in _form_fields(form):
        name = d["variable"]
        value = inputs.get(name)
        if value is None:
            if d.get("required"):
                return cleaned, (400, "invalid_param", f"{name} is required in input form")
            value = d.get("default")
            if value is None:
                cleaned[name] = None
                continue
        if var_type in ("file", "file-list") and not d.get("required") and value == "":
            cleaned[name] = None
            continue
        if var_type in ("text-input", "select", "paragraph") and not isinstance(value, str):
            return cleaned, (
                400,
                "invalid_param",
                f"(type '{var_type}') {name} in input form must be a string",
            )
        if var_type == "number":
            if isinstance(value, (int, float)):
                cleaned[name] = value
                continue
            if isinstance(value, str):
                if not value.strip():
                    cleaned[name] = None
                    continue
                try:
                    cleaned[name] = float(value) if "." in value else int(value)
                except ValueError:
                    return cleaned, (
                        400,
                        "invalid_param",
                        f"{name} in input form must be a valid number",
                    )
                continue
            return cleaned, (500, "internal_server_error", _MSG_500)
        max_length = d.get("max_length")
        if var_type == "select" and value not in (d.get("options") or []):
            return cleaned, (
                400,
                "invalid_param",
                f"{name} in input form must be one of the following: {d.get('options') or []}",
            )
        if var_type in ("text-input", "paragraph") and max_length and len(value) > max_length:
            return cleaned, (
                400,
                "invalid_param",
                f"{name} in input form must be less than {max_length} characters",
            )
        if var_type == "checkbox" and isinstance(value, str):
            low = value.strip().lower()
            if low in ("true", "1", "yes", "on"):
                value = True
            elif low in ("false", "0", "no", "off"):
                value = False
        if var_type == "json_object" and value and not isinstance(value, dict):
            return cleaned, (400, "invalid_param", f"{name} in input form must be a dict")
        if var_type == "file" and not isinstance(value, dict):
            return cleaned, (400, "invalid_param", f"{name} in input form must be a file")
        if var_type == "file-list" and not (
            isinstance(value, list) and all(isinstance(v, dict) for v in value)
        ):
            return cleaned, (400, "invalid_param", f"{name} in input form must be a list of files")
        cleaned[name] = value
    types = dict((d["variable"], t) for t, d in _form_fields(form))
    bad = [
        k
        for k, v in cleaned.items()
        if isinstance(v, dict) and types.get(k) not in ("file", "json_object")
    ]
    if bad:
        return cleaned, (400, "invalid_param", f"Invalid input type for {bad}")
    return cleaned, None


# ---------------------------------------------------------------------------
# the server
# ---------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], fake: FakeDify) -> None:
        self.fake = fake
        super().__init__(address, _Handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        ctx = self.fake.ssl_context
        if ctx is not None:
            try:
                request.settimeout(10)
                request = ctx.wrap_socket(request, server_side=True)
            except (OSError, ssl.SSLError):
                with contextlib.suppress(OSError):
                    request.close()
                return
        self.fake._track(request, add=True)
        try:
            super().finish_request(request, client_address)
        finally:
            self.fake._track(request, add=False)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # client disconnects are part of the game


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "gunicorn"
    sys_version = ""
    timeout = 30  # idle keep-alive connections

    server: _Server

    # -- plumbing --------------------------------------------------------------

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        return

    @property
    def fake(self) -> FakeDify:
        return self.server.fake

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def _common_headers(self) -> None:
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Access-Control-Expose-Headers", "X-Env, X-Trace-Id, X-Version")
        self.send_header("X-Version", DIFY_VERSION)
        self.send_header("X-Env", "PRODUCTION")
        self.send_header("Vary", "Cookie")
        self.send_header("Date", self.date_time_string())

    def _send_bytes(
        self,
        status: int,
        body: bytes,
        content_type: str,
        headers: dict | None = None,
        close: bool = False,
    ) -> None:
        self.send_response_only(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self._common_headers()
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body)

    def _send_json(self, status: int, obj: Any, headers: dict | None = None) -> None:
        """Flask-style JSON: compact, trailing newline, ``application/json``."""
        body = (json.dumps(obj, separators=(",", ":")) + "\n").encode("utf-8")
        self._send_bytes(status, body, "application/json", headers)

    def _send_run_json(self, obj: Any) -> None:
        """The blocking run answer: spaced JSON, no newline, with a charset."""
        self._send_bytes(200, json.dumps(obj).encode("utf-8"), "application/json; charset=utf-8")

    def _error(self, status: int, code: str, message: str, headers: dict | None = None) -> None:
        self._send_json(status, {"code": code, "message": message, "status": status}, headers)

    # streaming
    def _start_stream(self) -> None:
        self.send_response_only(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self._common_headers()
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def _chunk(self, data: bytes) -> None:
        if not data:
            return  # an empty chunk would end the stream
        try:
            self.wfile.write(b"%X\r\n%s\r\n" % (len(data), data))
        except OSError as exc:
            raise _ClientGone() from exc

    def _ping(self) -> None:
        self._chunk(b"event: ping\n\n")

    def _event(self, obj: dict) -> None:
        self._chunk(
            b"data: "
            + json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()
            + b"\n\n"
        )

    def _end_stream(self) -> None:
        with contextlib.suppress(OSError):
            self.wfile.write(b"0\r\n\r\n")

    def _abort(self) -> None:
        """Close the connection right now, mid-response if need be."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.wfile.flush()
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            self.connection.close()

    def _client_gone(self) -> bool:
        sock = self.connection
        try:
            readable, _, _ = select.select([sock], [], [], 0)
            if not readable:
                return False
            if isinstance(sock, ssl.SSLSocket):
                return False
            return sock.recv(1, socket.MSG_PEEK) == b""
        except (OSError, ValueError):
            return True

    def _wait(self, seconds: float, ping_interval: float | None, task_id: str | None = None) -> str:
        """Sleep, sending keep-alive pings. Returns ok | stopped | shutdown."""
        fake = self.fake
        stop_event = fake._task_event(task_id) if task_id else None
        now = time.monotonic()
        end = now + max(0.0, seconds)
        interval = ping_interval if ping_interval is not None else fake.ping_interval
        next_ping = now + interval if interval and interval > 0 else math.inf
        while True:
            if stop_event is not None and stop_event.is_set():
                return "stopped"
            if fake._shutdown.is_set():
                return "shutdown"
            if self._client_gone():
                raise _ClientGone()
            now = time.monotonic()
            if now >= end:
                return "ok"
            if now >= next_ping:
                self._ping()
                next_ping += interval
            timeout = max(0.0, min(end, next_ping, now + 0.05) - now)
            (stop_event or fake._shutdown).wait(timeout)

    # -- request handling ----------------------------------------------------------

    def _dispatch(self) -> None:
        fake = self.fake
        parts = urlsplit(self.path)
        path = parts.path
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        length = int(self.headers.get("Content-Length") or 0)
        raw_body = self.rfile.read(length) if length else b""
        parsed: Any = None
        body_ok = True
        if raw_body:
            try:
                parsed = json.loads(raw_body)
            except ValueError:
                body_ok = False
        fake._record(
            RecordedRequest(
                method=self.command,
                path=path,
                query=query,
                headers={k.lower(): v for k, v in self.headers.items()},
                json=parsed,
                raw_body=raw_body,
            )
        )

        if fake.control and path.startswith("/_fake/"):
            self._control(path, parsed if isinstance(parsed, dict) else {})
            return
        kind, route_args = self._route(self.command, path)
        if kind is None:
            self._send_bytes(404, _HTML_404.encode(), "text/html; charset=utf-8")
            return
        if kind == "405":
            self._error(
                405, "method_not_allowed", "The method is not allowed for the requested URL."
            )
            return

        if not self._authorized():
            return
        if not fake.api_enabled:
            self._error(403, "forbidden", "The app's API service has been disabled.")
            return

        body: dict = {}
        if self.command == "POST":
            if not body_ok:
                self._error(
                    400,
                    "bad_request",
                    "The browser (or proxy) sent a request that this server could not understand.",
                )
                return
            body = parsed if isinstance(parsed, dict) else {}
            user = body.get("user")
            if not isinstance(user, str) or not user:
                self._error(400, "invalid_param", "Arg user must be provided.")
                return

        behaviour = fake._pop(kind)
        try:
            if behaviour is not None and self._generic(behaviour, kind, body):
                return
            handler = getattr(self, f"_h_{kind}")
            handler(body, query, route_args, behaviour)
        except _ClientGone:
            self.close_connection = True

    def _control(self, path: str, body: dict) -> None:
        """The harness's handle on a fake running in its own process (--control only)."""
        fake = self.fake
        if path == "/_fake/stats":
            self._send_json(200, fake.stats())
        elif path == "/_fake/config" and self.command == "POST":
            fake.default_run = success(node_seconds=float(body.get("node_seconds") or 0))
            self._send_json(200, {"ok": True})
        elif path == "/_fake/faults" and self.command == "POST":
            fake.fault_until = time.monotonic() + float(body.get("seconds") or 0)
            self._send_json(200, {"ok": True})
        else:
            self._send_json(404, {"error": "unknown control path"})

    def _route(self, method: str, path: str) -> tuple[str | None, dict]:
        matched = False
        for route_method, pattern, kind in _ROUTES:
            m = pattern.fullmatch(path)
            if m:
                matched = True
                if route_method == method:
                    return kind, m.groupdict()
        return ("405" if matched else None), {}

    def _authorized(self) -> bool:
        header = self.headers.get("Authorization")
        realm = {"WWW-Authenticate": 'Bearer realm="api"'}
        if not header or " " not in header:
            self._error(
                401,
                "unauthorized",
                "Authorization header must be provided and start with 'Bearer'",
                realm,
            )
            return False
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer":
            self._error(401, "unauthorized", "Authorization scheme must be 'Bearer'", realm)
            return False
        if token.strip() != self.fake.api_key:
            self._error(401, "unauthorized", "Access token is invalid", realm)
            return False
        return True

    def _generic(self, b: Behaviour, kind: str, body: dict) -> bool:
        """Behaviours that do not depend on the endpoint. Returns True when handled."""
        p = b.params
        if b.kind == "api_error":
            status = p["status"]
            self._send_json(status, p["body"], p["headers"])
            return True
        if b.kind == "raw":
            self._send_bytes(p["status"], p["body"], p["content_type"], p["headers"])
            return True
        if b.kind == "drop":
            if kind in _RUN_KINDS:
                self._background_run(kind, body, p["finish_after"])
            self._abort()
            return True
        if b.kind == "gateway":
            if kind in _RUN_KINDS:
                self._background_run(kind, body, p["run_seconds"])
            if p["delay"]:
                self.fake._shutdown.wait(p["delay"])
            status = p["status"]
            reason = self.responses.get(status, ("Gateway Error",))[0]
            page = (
                f"<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n"
                f"<center><h1>{status} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n"
                "</body>\r\n</html>\r\n"
            )
            self._send_bytes(status, page.encode(), "text/html", close=True)
            return True
        if b.kind == "stall":
            self._stall(p["max_seconds"])
            return True
        if b.kind == "replay":
            self._replay(p)
            return True
        return False

    def _replay(self, p: dict) -> None:
        body: bytes = p["body"]
        sizes = p["chunk_sizes"] or [len(body)]
        times = p["times"] or [0.0] * len(sizes)
        started = time.monotonic()
        self._start_stream()
        offset = 0
        for size, at in zip(sizes, times, strict=False):
            pause = started + at * p["time_scale"] - time.monotonic()
            if pause > 0 and self.fake._shutdown.wait(pause):
                break
            self._chunk(body[offset : offset + size])
            offset += size
        if offset < len(body):
            self._chunk(body[offset:])
        self._end_stream()

    def _background_run(self, kind: str, body: dict, finish_after: float) -> None:
        """Create a run that carries on without the client and succeeds later."""
        if kind == "chat" and self.fake.app_mode != "advanced-chat":
            return
        if kind == "completion":
            return
        cleaned, problem = _dify_validate(self.fake.input_form, body.get("inputs") or {})
        if problem:
            return
        run = self.fake._create_run(body["user"], cleaned)
        self.fake._finish_later(run, finish_after, self.fake._default_outputs(cleaned), steps=2)

    def _stall(self, max_seconds: float) -> None:
        self._start_stream()
        self._ping()
        end = time.monotonic() + max_seconds
        while time.monotonic() < end and not self.fake._shutdown.is_set():
            if self._client_gone():
                raise _ClientGone()
            self.fake._shutdown.wait(0.05)
        self._end_stream()

    # -- endpoints -------------------------------------------------------------

    def _h_info(self, body: dict, query: dict, args: dict, b: Behaviour | None) -> None:
        fake = self.fake
        self._send_json(
            200,
            {
                "name": fake.name,
                "description": fake.description,
                "tags": [],
                "mode": fake.app_mode,
                "author_name": "admin",
            },
        )

    def _h_parameters(self, body: dict, query: dict, args: dict, b: Behaviour | None) -> None:
        if not self.fake.published:
            self._error(
                400, "app_unavailable", "App unavailable, please check your app configurations."
            )
            return
        params = copy.deepcopy(_PARAMETERS_TEMPLATE)
        params["user_input_form"] = copy.deepcopy(self.fake.input_form)
        self._send_json(200, params)

    def _h_get_run(self, body: dict, query: dict, args: dict, b: Behaviour | None) -> None:
        if self.fake.app_mode not in ("workflow", "advanced-chat"):
            self._error(400, "not_workflow_app", _MSG_MODE)
            return
        run_id = args["run_id"]
        if not _UUID_RE.match(run_id):
            self._send_json(
                500, {"message": "Internal Server Error", "code": "unknown", "status": 500}
            )
            return
        detail = self.fake._run_detail(run_id)
        if detail is None:
            self._error(404, "not_found", "Workflow run not found.")
            return
        self._send_json(200, detail)

    def _h_stop(self, body: dict, query: dict, args: dict, b: Behaviour | None) -> None:
        self.fake._request_stop(args["task_id"])
        self._send_json(200, {"result": "success"})

    def _h_logs(self, body: dict, query: dict, args: dict, b: Behaviour | None) -> None:
        fake = self.fake
        try:
            page = int(query.get("page", 1))
            limit = int(query.get("limit", 20))
            if not (1 <= page <= 99999 and 1 <= limit <= 100):
                raise ValueError
        except ValueError:
            self._error(400, "invalid_param", "page must be 1-99999 and limit 1-100")
            return
        bounds = {}
        for key in ("created_at__after", "created_at__before"):
            if query.get(key):
                try:
                    when = datetime.fromisoformat(query[key].replace("Z", "+00:00"))
                except ValueError:
                    self._error(400, "invalid_param", f"Invalid isoformat string: {query[key]!r}")
                    return
                if when.tzinfo is None:
                    when = when.replace(tzinfo=UTC)
                bounds[key] = when.timestamp()
        self._send_json(
            200,
            fake._logs(
                session_id=query.get("created_by_end_user_session_id") or None,
                after=bounds.get("created_at__after"),
                before=bounds.get("created_at__before"),
                status=query.get("status") or None,
                page=page,
                limit=limit,
            ),
        )

    def _check_run_body(self, body: dict, model: str) -> str | None:
        if "inputs" not in body or not isinstance(body.get("inputs"), dict):
            return (
                f"1 validation error for {model}\ninputs\n  Field required [type=missing, "
                f"input_value={body!r}, input_type=dict]"
            )
        mode = body.get("response_mode")
        if mode is not None and mode not in ("blocking", "streaming"):
            return (
                f"1 validation error for {model}\nresponse_mode\n  Input should be 'blocking' or "
                f"'streaming' [type=literal_error, input_value={mode!r}, input_type=str]"
            )
        return None

    def _h_run(self, body: dict, query: dict, args: dict, b: Behaviour | None) -> None:
        fake = self.fake
        if fake.app_mode != "workflow":
            self._error(400, "not_workflow_app", _MSG_MODE)
            return
        workflow_id = args.get("workflow_id")
        if workflow_id is not None and workflow_id != fake.workflow_id:
            self._error(404, "not_found", "Workflow not found.")
            return
        problem = self._check_run_body(body, "WorkflowRunPayload")
        if problem:
            self._error(400, "invalid_param", problem)
            return
        if not fake.published:
            self._error(400, "invalid_param", "Workflow not published")
            return
        streaming = body.get("response_mode") == "streaming"
        cleaned, bad = _dify_validate(fake.input_form, body["inputs"])
        if bad:
            if streaming:
                self._stall(fake.stall_seconds)
            else:
                self._error(*bad)
            return
        b = b or fake.fault_behaviour() or fake.default_run or success()
        p = b.params
        if b.kind == "gateway" or b.kind == "raw":
            self._generic(b, "run", body)
            return
        if b.kind == "stream_error" and not streaming:
            self._error(p["status"], p["code"], p["message"])
            return
        if p.get("delay"):
            fake._shutdown.wait(p["delay"])
        run = fake._create_run(body["user"], cleaned)
        if streaming:
            self._workflow_stream(run, cleaned, b)
        else:
            self._workflow_blocking(run, cleaned, b)

    # workflow runs

    def _outputs_for(self, b: Behaviour, cleaned: dict) -> dict:
        outputs = b.params.get("outputs")
        return dict(outputs) if outputs is not None else self.fake._default_outputs(cleaned)

    def _workflow_blocking(self, run: dict, cleaned: dict, b: Behaviour) -> None:
        fake = self.fake
        p = b.params
        tokens = p.get("total_tokens", 0)
        outputs = self._outputs_for(b, cleaned)
        if b.kind == "cut":
            fake._finish_later(run, p["finish_after"], outputs, steps=2)
            self._abort()
            return
        if b.kind == "node_failed":
            data = fake._finish_run(run, "failed", None, p["error"], 2, 0)
        elif b.kind == "paused":
            data = fake._finish_run(run, "paused", {}, None, 1, 0)
        else:
            outcome = "ok"
            steps = 2
            if p.get("node_seconds"):
                steps = 3
                try:
                    outcome = self._wait(p["node_seconds"], 0, run["task_id"])
                except _ClientGone:
                    fake._finish_run(run, "succeeded", outputs, None, steps, tokens)
                    raise
            if outcome == "stopped":
                data = fake._stopped_view(run, 1)  # the stored run stays "running"
            else:
                data = fake._finish_run(run, "succeeded", outputs, None, steps, tokens)
        self._send_run_json(
            {
                "task_id": run["task_id"],
                "workflow_run_id": run["id"],
                "data": {
                    "id": run["id"],
                    "workflow_id": fake.workflow_id,
                    "status": data["status"],
                    "outputs": data["outputs"],
                    "error": data["error"],
                    "elapsed_time": data["elapsed_time"],
                    "total_tokens": data["total_tokens"],
                    "total_steps": data["total_steps"],
                    "created_at": data["created_at"],
                    "finished_at": data["finished_at"],
                },
            }
        )

    _gap: float = 0.0
    _gap_ping: float | None = None

    def _wf_event(self, run: dict, event: str, data: dict) -> None:
        if self._gap and event != "workflow_started":
            outcome = self._wait(self._gap, self._gap_ping, run["task_id"])
            if outcome == "stopped":
                raise _StopRequested()
        self._event(
            {"event": event, "workflow_run_id": run["id"], "task_id": run["task_id"], "data": data}
        )

    def _node(self, run: dict, node_id: str, node_type: str, title: str) -> dict:
        return {
            "id": str(uuid.uuid4()),
            "node_id": node_id,
            "node_type": node_type,
            "title": title,
            "index": 1,
            "predecessor_node_id": None,
        }

    def _node_started(self, run: dict, node: dict) -> None:
        data = dict(node)
        data.update(
            {
                "inputs": None,
                "inputs_truncated": False,
                "created_at": int(time.time()),
                "extras": {},
                "iteration_id": None,
                "loop_id": None,
                "agent_strategy": None,
            }
        )
        self._wf_event(run, "node_started", data)

    def _node_finished(
        self,
        run: dict,
        node: dict,
        inputs: dict | None,
        outputs: dict | None,
        status: str = "succeeded",
        error: str | None = None,
        elapsed: float = 0.0001,
    ) -> None:
        data = dict(node)
        now = int(time.time())
        data.update(
            {
                "inputs": inputs,
                "inputs_truncated": False,
                "process_data": {},
                "process_data_truncated": False,
                "outputs": outputs,
                "outputs_truncated": False,
                "status": status,
                "error": error,
                "elapsed_time": elapsed,
                "execution_metadata": None,
                "created_at": now,
                "finished_at": now,
                "files": [],
                "iteration_id": None,
                "loop_id": None,
            }
        )
        self._wf_event(run, "node_finished", data)

    def _workflow_finished(self, run: dict, data: dict) -> None:
        self._wf_event(
            run,
            "workflow_finished",
            {
                "id": run["id"],
                "workflow_id": self.fake.workflow_id,
                "status": data["status"],
                "outputs": data["outputs"],
                "error": data["error"],
                "elapsed_time": data["elapsed_time"],
                "total_tokens": data["total_tokens"],
                "total_steps": data["total_steps"],
                "created_by": {"id": self.fake._end_user_id(run["user"]), "user": run["user"]},
                "created_at": data["created_at"],
                "finished_at": data["finished_at"],
                "exceptions_count": 0,
                "files": [],
            },
        )

    def _workflow_stream(self, run: dict, cleaned: dict, b: Behaviour) -> None:
        fake = self.fake
        p = b.params
        outputs = self._outputs_for(b, cleaned)
        task_id = run["task_id"]
        ping_interval = p.get("ping_interval")
        steps = 0
        finished = False
        node_ends = 0.0

        def stop_now() -> None:
            nonlocal finished
            finished = True
            # Dify 1.14.1: the stream says "stopped", the stored run stays "running".
            data = fake._stopped_view(run, steps)
            self._workflow_finished(run, data)
            self._end_stream()

        self._gap, self._gap_ping = p.get("event_delay") or 0.0, ping_interval
        try:
            self._start_stream()
            self._ping()
            if p.get("first_event_delay"):
                outcome = self._wait(p["first_event_delay"], ping_interval, task_id)
                if outcome != "ok":
                    return self._end_stream()
            self._wf_event(
                run,
                "workflow_started",
                {
                    "id": run["id"],
                    "workflow_id": fake.workflow_id,
                    "inputs": json.loads(run["detail_inputs"]),
                    "created_at": run["created_at"],
                    "reason": "initial",
                },
            )
            start = self._node(run, START_NODE_ID, "start", "Start")
            self._node_started(run, start)
            if b.kind == "cut":
                fake._finish_later(run, p["finish_after"], outputs, steps=2)
                finished = True
                self._abort()
                return None
            if b.kind in ("success",):
                first = True
                for key, value in outputs.items():
                    if value is None:
                        continue
                    if not first:
                        self._wf_event(
                            run,
                            "text_chunk",
                            {"text": "\n", "from_variable_selector": [END_NODE_ID, "answer"]},
                        )
                    first = False
                    text = (
                        value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
                    )
                    self._wf_event(
                        run,
                        "text_chunk",
                        {"text": text, "from_variable_selector": [START_NODE_ID, key]},
                    )
            self._node_finished(run, start, cleaned, cleaned)
            steps = 1
            if b.kind == "stream_error":
                finished = True
                fake._finish_run(run, "failed", None, p["message"], steps, 0)
                self._event(
                    {
                        "event": "error",
                        "workflow_run_id": run["id"],
                        "status": p["status"],
                        "code": p["code"],
                        "message": p["message"],
                    }
                )
                return self._end_stream()
            if b.kind == "node_failed":
                node = self._node(run, FAIL_NODE_ID, "code", "Failing Code")
                self._node_started(run, node)
                self._node_finished(run, node, {}, None, status="failed", error=p["error"])
                finished = True
                data = fake._finish_run(run, "failed", None, p["error"], 2, 0)
                self._workflow_finished(run, data)
                return self._end_stream()
            if b.kind == "paused":
                node = self._node(run, "1700000000005", "human-input", "Approve")
                self._node_started(run, node)
                finished = True
                data = fake._finish_run(run, "paused", {}, None, 1, 0)
                self._wf_event(
                    run,
                    "workflow_paused",
                    {
                        "workflow_run_id": run["id"],
                        "paused_nodes": [FAIL_NODE_ID],
                        "outputs": {},
                        "reasons": [],
                        "status": "paused",
                        "created_at": data["created_at"],
                        "elapsed_time": data["elapsed_time"],
                        "total_tokens": 0,
                        "total_steps": 1,
                    },
                )
                return self._end_stream()
            if p.get("node_seconds"):
                node = self._node(run, SLOW_NODE_ID, "http-request", "Slow HTTP")
                self._node_started(run, node)
                node_ends = time.monotonic() + p["node_seconds"]
                outcome = self._wait(p["node_seconds"], ping_interval, task_id)
                if outcome == "stopped":
                    return stop_now()
                if outcome == "shutdown":
                    return self._end_stream()
                self._node_finished(run, node, {}, {"status_code": 200, "body": '{"slow":"done"}'})
                steps = 2
            end = self._node(run, END_NODE_ID, "end", "End")
            if fake._task_event(task_id).is_set():
                return stop_now()
            self._node_started(run, end)
            self._node_finished(run, end, outputs, outputs)
            steps += 1
            finished = True
            data = fake._finish_run(
                run, "succeeded", outputs, None, steps, p.get("total_tokens", 0)
            )
            self._workflow_finished(run, data)
            self._end_stream()
        except _StopRequested:
            self._gap = 0.0
            return stop_now()
        except _ClientGone:
            # Dify keeps executing a run whose client went away, to the end of its node
            # (capture 93: still running 5 s after the disconnect, succeeded after the node).
            if not finished and not fake._task_event(task_id).is_set():
                left = max(0.0, node_ends - time.monotonic()) if node_ends else 0.0
                fake._finish_later(run, left, outputs, steps=3)
            raise
        return None

    # chat / completion

    def _h_chat(self, body: dict, query: dict, args: dict, b: Behaviour | None) -> None:
        self._message_app(body, b, chat=True)

    def _h_completion(self, body: dict, query: dict, args: dict, b: Behaviour | None) -> None:
        self._message_app(body, b, chat=False)

    def _message_app(self, body: dict, b: Behaviour | None, *, chat: bool) -> None:
        fake = self.fake
        mode = fake.app_mode
        if chat and mode not in ("chat", "agent-chat", "advanced-chat"):
            self._error(400, "not_chat_app", _MSG_MODE)
            return
        if not chat and mode != "completion":
            self._error(400, "not_completion_app", _MSG_MODE)
            return
        problem = self._check_run_body(
            body, "ChatRequestPayload" if chat else "CompletionRequestPayload"
        )
        if problem:
            self._error(400, "invalid_param", problem)
            return
        user_query = body.get("query")
        if chat and (not isinstance(user_query, str) or not user_query):
            self._error(400, "invalid_param", "query is required")
            return
        streaming = body.get("response_mode") == "streaming"
        if mode == "agent-chat" and not streaming:
            self._error(400, "invalid_param", "Agent Chat App does not support blocking mode")
            return
        conversation_id = body.get("conversation_id") or None
        if chat and conversation_id and conversation_id not in fake._conversations:
            self._error(404, "not_found", "Conversation Not Exists.")
            return
        if chat and mode == "advanced-chat" and not fake.published:
            self._error(400, "invalid_param", "Workflow not published")
            return
        cleaned, bad = _dify_validate(fake.input_form, body["inputs"])
        if bad:
            if streaming and mode == "advanced-chat":
                self._stall(fake.stall_seconds)
            else:
                self._error(*bad)
            return
        b = b or success()
        p = b.params
        if b.kind == "stream_error" and not streaming:
            self._error(p["status"], p["code"], p["message"])
            return
        if p.get("delay"):
            fake._shutdown.wait(p["delay"])
        if chat:
            conversation_id = conversation_id or str(uuid.uuid4())
            fake._conversations.add(conversation_id)
        source = user_query if chat else cleaned.get("query")
        answer = p.get("answer") if p.get("answer") is not None else f"Echo: {source}"
        msg = {
            "task_id": str(uuid.uuid4()),
            "message_id": str(uuid.uuid4()),
            "conversation_id": conversation_id,
            "created_at": int(time.time()),
            "mode": mode if chat else "completion",
        }
        run = None
        if mode == "advanced-chat":
            run = fake._create_run(body["user"], cleaned, task_id=msg["task_id"])
        tokens = p.get("total_tokens", 0) or (5 + len(answer.split()))
        usage = {
            "prompt_tokens": 5,
            "completion_tokens": tokens - 5,
            "total_tokens": tokens,
            "total_price": "0",
            "currency": "USD",
            "latency": 0.01,
        }
        if not streaming:
            if run is not None:
                fake._finish_run(run, "succeeded", {"answer": answer}, None, 3, tokens)
            reply = {
                "event": "message",
                "task_id": msg["task_id"],
                "id": msg["message_id"],
                "message_id": msg["message_id"],
                "mode": msg["mode"],
                "answer": answer,
                "metadata": {"usage": usage, "retriever_resources": []},
                "created_at": msg["created_at"],
            }
            if chat:
                reply["conversation_id"] = conversation_id
            self._send_json(200, reply)
            return
        try:
            self._message_stream(msg, run, b, answer, usage, cleaned)
        except _ClientGone:
            if run is not None:
                fake._finish_run(run, "succeeded", {"answer": answer}, None, 3, tokens)
            raise

    def _message_stream(
        self, msg: dict, run: dict | None, b: Behaviour, answer: str, usage: dict, cleaned: dict
    ) -> None:
        fake = self.fake
        p = b.params
        top = {
            "conversation_id": msg["conversation_id"],
            "message_id": msg["message_id"],
            "created_at": msg["created_at"],
        }
        if msg["conversation_id"] is None:
            del top["conversation_id"]

        def send(event: str, **fields: Any) -> None:
            obj = {"event": event, "task_id": msg["task_id"]}
            if run is not None:
                obj["workflow_run_id"] = run["id"]
            obj.update(fields)
            self._event(obj)

        self._start_stream()
        self._ping()
        if run is not None:
            send(
                "workflow_started",
                **top,
                data={
                    "id": run["id"],
                    "workflow_id": fake.workflow_id,
                    "inputs": json.loads(run["detail_inputs"]),
                    "created_at": run["created_at"],
                    "reason": "initial",
                },
            )
        if b.kind == "cut":
            send("message", id=msg["message_id"], **top, answer=answer[:1])
            if run is not None:
                fake._finish_later(run, p["finish_after"], {"answer": answer}, steps=3)
            self._abort()
            return
        if b.kind == "stream_error":
            if run is not None:
                fake._finish_run(run, "failed", None, p["message"], 1, 0)
            send(
                "error",
                message_id=msg["message_id"],
                status=p["status"],
                code=p["code"],
                message=p["message"],
            )
            return self._end_stream()
        if p.get("node_seconds"):
            outcome = self._wait(p["node_seconds"], p.get("ping_interval"), msg["task_id"])
            if outcome != "ok":
                return self._end_stream()
        words = answer.split(" ")
        mode = fake.app_mode
        if mode == "agent-chat":
            send(
                "agent_thought",
                id=str(uuid.uuid4()),
                **top,
                position=1,
                thought="",
                observation="",
                tool="",
                tool_input="",
                message_files=[],
            )
        for i, word in enumerate(words):
            delta = word if i == 0 else " " + word
            if mode == "agent-chat":
                send("agent_message", id=msg["message_id"], **top, answer=delta)
            else:
                send("message", id=msg["message_id"], **top, answer=delta)
        end_fields = {
            "id": msg["message_id"],
            **top,
            "metadata": {"usage": usage, "retriever_resources": []},
            "files": [],
        }
        if run is None:
            send("message_end", **end_fields)
            return self._end_stream()
        data = fake._finish_run(
            run, "succeeded", {"answer": answer}, None, 3, usage["total_tokens"]
        )
        finished = {
            "id": run["id"],
            "workflow_id": fake.workflow_id,
            "status": "succeeded",
            "outputs": {"answer": answer},
            "error": None,
            "elapsed_time": data["elapsed_time"],
            "total_tokens": data["total_tokens"],
            "total_steps": 3,
            "created_by": {"id": fake._end_user_id(run["user"]), "user": run["user"]},
            "created_at": data["created_at"],
            "finished_at": data["finished_at"],
            "exceptions_count": 0,
            "files": [],
        }
        if p.get("finish_order") == "workflow_finished_first":
            send("workflow_finished", **top, data=finished)
            send("message_end", **end_fields)
        else:
            send("message_end", **end_fields)
            send("workflow_finished", **top, data=finished)
        return self._end_stream()


_ROUTES: list[tuple[str, re.Pattern, str]] = [
    (m, re.compile(p), k)
    for m, p, k in [
        ("GET", r"/v1/info", "info"),
        ("GET", r"/v1/parameters", "parameters"),
        ("POST", r"/v1/workflows/run", "run"),
        ("GET", r"/v1/workflows/run/(?P<run_id>[^/]+)", "get_run"),
        ("POST", r"/v1/workflows/(?P<workflow_id>[^/]+)/run", "run"),
        ("POST", r"/v1/workflows/tasks/(?P<task_id>[^/]+)/stop", "stop"),
        ("GET", r"/v1/workflows/logs", "logs"),
        ("POST", r"/v1/chat-messages", "chat"),
        ("POST", r"/v1/chat-messages/(?P<task_id>[^/]+)/stop", "stop"),
        ("POST", r"/v1/completion-messages", "completion"),
        ("POST", r"/v1/completion-messages/(?P<task_id>[^/]+)/stop", "stop"),
    ]
]


class FakeDify:
    """A fake Dify API server for one app. See the module docstring."""

    def __init__(
        self,
        api_key: str = "app-test-key",
        app_mode: str = "workflow",
        input_form: list[dict] | None = None,
        name: str = "echo-workflow",
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        ping_interval: float = 10.0,
        stall_seconds: float = 300.0,
        published: bool = True,
        api_enabled: bool = True,
        ssl_context: ssl.SSLContext | None = None,
        description: str = "Start -> End echo",
    ) -> None:
        self.api_key = api_key
        self.app_mode = app_mode
        if input_form is None:
            chat_family = app_mode in ("chat", "agent-chat", "advanced-chat")
            input_form = DEFAULT_CHAT_INPUT_FORM if chat_family else DEFAULT_INPUT_FORM
        self.input_form = copy.deepcopy(input_form)
        self.name = name
        self.description = description
        self.host = host
        self.port = port
        self.ping_interval = ping_interval
        self.stall_seconds = stall_seconds
        self.published = published
        self.api_enabled = api_enabled
        self.ssl_context = ssl_context
        self.app_id = str(uuid.uuid4())
        self.workflow_id = str(uuid.uuid4())
        self._lock = threading.RLock()
        self._requests: list[RecordedRequest] = []
        self._scripts: dict[str, deque[Behaviour]] = {}
        self._runs: dict[str, dict] = {}
        self._meta: dict[str, dict] = {}
        self._task_events: dict[str, threading.Event] = {}
        # What an unscripted workflow run does (standalone --node-seconds, benchmarks).
        self.default_run: Behaviour | None = None
        # --control: the /_fake/ paths, and a window of gateway faults (the fault harness).
        self.control = False
        self.fault_until = 0.0
        self._faults = 0
        self._conversations: set[str] = set()
        self._connections: set[Any] = set()
        self._timers: list[threading.Timer] = []
        self._shutdown = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------

    def start(self) -> FakeDify:
        if self._server is not None:
            return self
        self._shutdown.clear()
        self._server = _Server((self.host, self.port), self)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server = self._server
        if server is None:
            return
        self._shutdown.set()
        with self._lock:
            for event in self._task_events.values():
                event.set()
            timers, self._timers = self._timers, []
            connections = list(self._connections)
        for timer in timers:
            timer.cancel()
        server.shutdown()
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> FakeDify:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def serve_forever(self) -> None:
        self.start()
        try:
            while self._thread is not None and self._thread.is_alive():
                self._thread.join(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    @property
    def url(self) -> str:
        scheme = "https" if self.ssl_context is not None else "http"
        return f"{scheme}://{self.host}:{self.port}/v1"

    # -- test API ----------------------------------------------------------------

    def script(self, path_kind: str, *responses: Behaviour) -> None:
        """Queue behaviours for the next requests of ``path_kind`` (run, chat, completion,
        info, parameters, get_run, logs, stop), consumed in order."""
        kind = _KIND_ALIASES.get(path_kind)
        if kind is None:
            raise ValueError(
                f"unknown path kind {path_kind!r}; use one of {sorted(set(_KIND_ALIASES.values()))}"
            )
        for response in responses:
            if not isinstance(response, Behaviour):
                raise TypeError(f"expected a Behaviour, got {response!r}")
        with self._lock:
            self._scripts.setdefault(kind, deque()).extend(responses)

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def runs(self) -> dict[str, dict]:
        with self._lock:
            return {run_id: dict(detail) for run_id, detail in self._runs.items()}

    def stats(self) -> dict:
        """Run POSTs and runs per Dify user: the fault harness counts duplicates with it."""
        posts: dict[str, int] = {}
        for request in self.requests:
            if request.method == "POST" and request.path.endswith("/workflows/run"):
                user = str((request.json or {}).get("user"))
                posts[user] = posts.get(user, 0) + 1
        runs: dict[str, int] = {}
        with self._lock:
            for meta in self._meta.values():
                runs[meta["user"]] = runs.get(meta["user"], 0) + 1
        return {"run_posts": posts, "runs": runs}

    def fault_behaviour(self) -> Behaviour | None:
        """Inside a fault window, run POSTs meet a proxy's 504 (Dify still runs it), a 502
        (Dify never sees it) or a stream cut after the start, in turn."""
        if time.monotonic() >= self.fault_until:
            return None
        with self._lock:
            self._faults += 1
            turn = self._faults % 3
        node = (self.default_run.params.get("node_seconds") if self.default_run else 0) or 0
        if turn == 0:
            return gateway_error(504, run_seconds=node)
        if turn == 1:
            return raw_response(502, _BAD_GATEWAY, content_type="text/html")
        return cut_after_started(finish_after=node)

    def requests_to(self, path_suffix: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.endswith(path_suffix)]

    def wait_for_run_status(self, run_id: str, status: str, timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if self._runs.get(run_id, {}).get("status") == status:
                    return True
            time.sleep(0.01)
        return False

    # -- internals used by the handler ---------------------------------------------

    def _track(self, conn: Any, *, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def _pop(self, kind: str) -> Behaviour | None:
        with self._lock:
            queue = self._scripts.get(kind)
            return queue.popleft() if queue else None

    def _task_event(self, task_id: str) -> threading.Event:
        with self._lock:
            event = self._task_events.get(task_id)
            if event is None:
                event = self._task_events[task_id] = threading.Event()
            return event

    def _request_stop(self, task_id: str) -> None:
        with self._lock:
            known = task_id in self._task_events
        if known:
            self._task_event(task_id).set()

    def _end_user_id(self, user: str) -> str:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"fake-dify-end-user:{user}"))

    def _default_outputs(self, cleaned: dict) -> dict:
        names = [d["variable"] for _, d in _form_fields(self.input_form)]
        if names == ["query", "count", "color"]:
            return {
                "echo": cleaned.get("query"),
                "count": cleaned.get("count"),
                "color": cleaned.get("color"),
            }
        return {name: cleaned.get(name) for name in names}

    def _create_run(self, user: str, cleaned: dict, *, task_id: str | None = None) -> dict:
        run_id = str(uuid.uuid4())
        task_id = task_id or str(uuid.uuid4())
        created = time.time()
        inputs = dict(cleaned)
        inputs.update(
            {
                "sys.files": [],
                "sys.user_id": user,
                "sys.app_id": self.app_id,
                "sys.timestamp": int(created),
                "sys.workflow_id": self.workflow_id,
                "sys.workflow_run_id": run_id,
            }
        )
        detail_inputs = json.dumps(inputs)
        detail = {
            "id": run_id,
            "workflow_id": self.workflow_id,
            "status": "running",
            "inputs": detail_inputs,
            "outputs": {},
            "error": None,
            "total_steps": 0,
            "total_tokens": 0,
            "created_at": int(created),
            "finished_at": None,
            "elapsed_time": 0.0,
        }
        with self._lock:
            self._runs[run_id] = detail
            self._meta[run_id] = {"user": user, "created": created, "log_id": str(uuid.uuid4())}
        self._task_event(task_id)
        return {
            "id": run_id,
            "task_id": task_id,
            "user": user,
            "created": created,
            "created_at": int(created),
            "detail_inputs": detail_inputs,
        }

    def _finish_run(
        self,
        run: dict,
        status: str,
        outputs: dict | None,
        error: str | None,
        steps: int,
        tokens: int,
    ) -> dict:
        now = time.time()
        with self._lock:
            detail = self._runs[run["id"]]
            if detail["status"] == "running":
                detail.update(
                    {
                        "status": status,
                        "outputs": dict(outputs) if outputs else {},
                        "error": error,
                        "total_steps": steps,
                        "total_tokens": tokens,
                        "finished_at": int(now),
                        "elapsed_time": round(now - run["created"], 6),
                    }
                )
                # Dify writes the app-log row when the run ends (capture 32: every log
                # created_at >= its run's finished_at), so running runs are not in the logs.
                self._meta[run["id"]]["log_created"] = now
            view = dict(detail)
        view["outputs"] = outputs
        return view

    def _stopped_view(self, run: dict, steps: int) -> dict:
        now = time.time()
        return {
            "status": "stopped",
            "outputs": {},
            "error": "Stopped by user.",
            "elapsed_time": round(now - run["created"], 6),
            "total_tokens": 0,
            "total_steps": steps + 1,
            "created_at": run["created_at"],
            "finished_at": int(now),
        }

    def _finish_later(self, run: dict, seconds: float, outputs: dict, *, steps: int) -> None:
        if seconds <= 0:
            self._finish_run(run, "succeeded", outputs, None, steps, 0)
            return
        timer = threading.Timer(
            seconds, self._finish_run, (run, "succeeded", outputs, None, steps, 0)
        )
        timer.daemon = True
        with self._lock:
            self._timers.append(timer)
        timer.start()

    def _run_detail(self, run_id: str) -> dict | None:
        with self._lock:
            detail = self._runs.get(run_id)
            return dict(detail) if detail is not None else None

    def _logs(
        self,
        *,
        session_id: str | None,
        after: float | None,
        before: float | None,
        status: str | None,
        page: int,
        limit: int,
    ) -> dict:
        with self._lock:
            rows = []
            for run_id, detail in self._runs.items():
                meta = self._meta[run_id]
                logged = meta.get("log_created")
                if logged is None:
                    continue
                if session_id is not None and meta["user"] != session_id:
                    continue
                if after is not None and logged < after:
                    continue
                if before is not None and logged > before:
                    continue
                if status is not None and detail["status"] != status:
                    continue
                rows.append((meta, dict(detail)))
        rows.sort(key=lambda row: row[0]["log_created"], reverse=True)
        total = len(rows)
        selected = rows[(page - 1) * limit : page * limit]
        data = []
        for meta, detail in selected:
            data.append(
                {
                    "id": meta["log_id"],
                    "workflow_run": {
                        "id": detail["id"],
                        "version": "2026-11-21 01:49:36.592438",
                        "status": detail["status"],
                        "triggered_from": "app-run",
                        "error": detail["error"],
                        "elapsed_time": detail["elapsed_time"],
                        "total_tokens": detail["total_tokens"],
                        "total_steps": detail["total_steps"],
                        "created_at": detail["created_at"],
                        "finished_at": detail["finished_at"],
                        "exceptions_count": 0,
                    },
                    "details": None,
                    "created_from": "service-api",
                    "created_by_role": "end_user",
                    "created_by_account": None,
                    "created_by_end_user": {
                        "id": self._end_user_id(meta["user"]),
                        "type": "service-api",
                        "is_anonymous": False,
                        "session_id": meta["user"],
                    },
                    "created_at": int(meta["log_created"]),
                }
            )
        return {
            "page": page,
            "limit": limit,
            "total": total,
            "has_more": page * limit < total,
            "data": data,
        }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Fake Dify service API (for manual testing)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5001)
    parser.add_argument("--api-key", default="app-demo")
    parser.add_argument(
        "--mode",
        default="workflow",
        choices=["workflow", "advanced-chat", "chat", "agent-chat", "completion"],
    )
    parser.add_argument("--name", default="echo-workflow")
    parser.add_argument("--ping-interval", type=float, default=10.0)
    parser.add_argument(
        "--node-seconds",
        type=float,
        default=0.0,
        help="workflow runs take this long (a slow node, with pings meanwhile)",
    )
    parser.add_argument(
        "--outputs", default="", help='JSON outputs of every workflow run, e.g. {"text": "hi"}'
    )
    parser.add_argument(
        "--control", action="store_true", help="serve /_fake/stats, /_fake/config, /_fake/faults"
    )
    args = parser.parse_args(argv)
    fake = FakeDify(
        api_key=args.api_key,
        app_mode=args.mode,
        name=args.name,
        host=args.host,
        port=args.port,
        ping_interval=args.ping_interval,
    )
    if args.node_seconds or args.outputs:
        fake.default_run = success(
            json.loads(args.outputs) if args.outputs else None, node_seconds=args.node_seconds
        )
    fake.control = args.control
    fake.start()
    print(
        f"Fake Dify ({args.mode}) serving on {fake.url} (API key {args.api_key}); Ctrl-C to stop",
        flush=True,
    )
    fake.serve_forever()


if __name__ == "__main__":
    main()
