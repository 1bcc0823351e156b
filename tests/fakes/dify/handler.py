"""The fake Dify's HTTP side: routing, auth, Dify's answer formats, streaming primitives.

Answers are byte for byte what the real server sends where the captures show it: werkzeug's
upper-case reason phrases ("400 BAD REQUEST"), the CORS and version headers in their order,
compact JSON with escaped slashes and a trailing newline (but spaced JSON with a charset for
a blocking run's answer), `text/event-stream; charset=utf-8` streams in HTTP chunks.
"""

from __future__ import annotations

import contextlib
import json
import math
import select
import socket
import ssl
import time
import uuid
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.fakes.base import RecordedRequest
from tests.fakes.dify.behaviours import Behaviour, success
from tests.fakes.dify.chat import ChatEndpoints
from tests.fakes.dify.forms import (
    CHAT_PARAMETERS,
    HTML_404,
    WORKFLOW_PARAMETERS,
    validate,
)
from tests.fakes.dify.interrupts import ClientGone
from tests.fakes.dify.workflow import WorkflowEndpoints

DIFY_VERSION = "1.14.1"
REASONS = {
    200: "OK",
    400: "BAD REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT FOUND",
    405: "METHOD NOT ALLOWED",
    429: "TOO MANY REQUESTS",
    500: "INTERNAL SERVER ERROR",
}
RUN_KINDS = {"run", "chat", "completion"}
ROUTES = [
    ("GET", "/v1/info", "info"),
    ("GET", "/v1/parameters", "parameters"),
    ("POST", "/v1/workflows/run", "run"),
    ("GET", "/v1/workflows/run/{run_id}", "get_run"),
    ("POST", "/v1/workflows/tasks/{task_id}/stop", "stop"),
    ("GET", "/v1/workflows/logs", "logs"),
    ("POST", "/v1/chat-messages", "chat"),
    ("POST", "/v1/chat-messages/{task_id}/stop", "stop"),
    ("POST", "/v1/completion-messages", "completion"),
    ("POST", "/v1/completion-messages/{task_id}/stop", "stop"),
    ("GET", "/v1/messages", "messages"),
    ("GET", "/v1/conversations", "conversations"),
]


def dify_json(obj: Any) -> bytes:
    """Dify's JSON: compact, slashes escaped, a trailing newline (captures 81c, 94k)."""
    return (json.dumps(obj, separators=(",", ":")).replace("/", "\\/") + "\n").encode()


def match(pattern: str, path: str) -> dict | None:
    want, have = pattern.split("/"), path.split("/")
    if len(want) != len(have):
        return None
    args = {}
    for part, value in zip(want, have, strict=True):
        if part.startswith("{"):
            if not value:
                return None
            args[part[1:-1]] = value
        elif part != value:
            return None
    return args


class DifyHandler(WorkflowEndpoints, ChatEndpoints, BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "gunicorn"
    sys_version = ""
    timeout = 30  # idle keep-alive connections

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        return

    @property
    def fake(self):
        return self.server.fake

    def do_GET(self) -> None:
        self.dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    # -- answers --------------------------------------------------------------------------

    def common_headers(self) -> None:
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Access-Control-Expose-Headers", "X-Env, X-Trace-Id, X-Version")
        self.send_header("X-Version", DIFY_VERSION)
        self.send_header("X-Env", "PRODUCTION")
        self.send_header("Vary", "Cookie")
        self.send_header("Date", self.date_time_string())

    def send_status(self, status: int) -> None:
        self.send_response_only(status, REASONS.get(status))

    def send_bytes(self, status, body: bytes, content_type: str, headers=None, close=False):
        self.send_status(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.common_headers()
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body)

    def send_json(self, status: int, obj: Any, headers: dict | None = None) -> None:
        self.send_bytes(status, dify_json(obj), "application/json", headers)

    def send_run_json(self, obj: Any) -> None:
        """A blocking run's answer: spaced JSON, no newline, with a charset (01, 87c)."""
        self.send_bytes(200, json.dumps(obj).encode(), "application/json; charset=utf-8")

    def error(self, status: int, code: str, message: str, headers: dict | None = None) -> None:
        self.send_json(status, {"code": code, "message": message, "status": status}, headers)

    # -- streams --------------------------------------------------------------------------

    def start_stream(self) -> None:
        self.send_status(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.common_headers()
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def chunk(self, data: bytes) -> None:
        if not data:
            return  # an empty chunk would end the stream
        try:
            self.wfile.write(b"%X\r\n%s\r\n" % (len(data), data))
        except OSError as exc:
            raise ClientGone() from exc

    def ping(self) -> None:
        self.chunk(b"event: ping\n\n")

    def event(self, obj: dict) -> None:
        text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
        self.chunk(b"data: " + text.encode() + b"\n\n")

    def end_stream(self, *, after_finish: bool = True) -> None:
        if after_finish and self.fake.close_delay:
            self.fake.shutting_down.wait(self.fake.close_delay)
        with contextlib.suppress(OSError):
            self.wfile.write(b"0\r\n\r\n")

    def abort(self) -> None:
        """Close the connection right now, mid-answer if need be."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.wfile.flush()
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            self.connection.close()

    def client_gone(self) -> bool:
        sock = self.connection
        try:
            readable, _, _ = select.select([sock], [], [], 0)
            if not readable or isinstance(sock, ssl.SSLSocket):
                return False
            return sock.recv(1, socket.MSG_PEEK) == b""
        except (OSError, ValueError):
            return True

    def wait(self, seconds: float, ping_interval: float | None, task_id: str | None = None) -> str:
        """Sleep, sending keep-alive pings. Returns ok | stopped | shutdown."""
        fake = self.fake
        stop = fake.task_event(task_id) if task_id else None
        now = time.monotonic()
        end = now + max(0.0, seconds)
        interval = ping_interval if ping_interval is not None else fake.ping_interval
        next_ping = now + interval if interval and interval > 0 else math.inf
        while True:
            if stop is not None and stop.is_set():
                return "stopped"
            if fake.shutting_down.is_set():
                return "shutdown"
            if self.client_gone():
                raise ClientGone()
            now = time.monotonic()
            if now >= end:
                return "ok"
            if now >= next_ping:
                self.ping()
                next_ping += interval
            (stop or fake.shutting_down).wait(max(0.0, min(end, next_ping, now + 0.05) - now))

    def stall(self, seconds: float) -> None:
        """One ping, then silence (Dify's answer to bad inputs on a stream, 05, 83). Dify does
        not notice a client that hangs up: the socket is held for the whole time (83)."""
        self.start_stream()
        self.ping()
        self.fake.shutting_down.wait(seconds)
        self.end_stream(after_finish=False)

    # -- requests -------------------------------------------------------------------------

    def dispatch(self) -> None:
        fake = self.fake
        parts = urlsplit(self.path)
        path, query = parts.path, dict(parse_qsl(parts.query, keep_blank_values=True))
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        parsed, body_ok = None, True
        if raw:
            try:
                parsed = json.loads(raw)
            except ValueError:
                body_ok = False
        headers = {k.lower(): v for k, v in self.headers.items()}
        fake.record(RecordedRequest(self.command, path, query, headers, parsed, raw))
        if fake.control and path.startswith("/_fake/"):
            return self.control(path, parsed if isinstance(parsed, dict) else {})
        kind, args = self.route(self.command, path)
        if kind is None:
            return self.send_bytes(404, HTML_404.encode(), "text/html; charset=utf-8")
        if kind == "405":
            return self.error(
                405, "method_not_allowed", "The method is not allowed for the requested URL."
            )
        if not self.authorized():
            return None
        if not fake.api_enabled:
            return self.error(403, "forbidden", "The app's API service has been disabled.")
        body: dict = {}
        if self.command == "POST":
            if not body_ok:
                return self.error(
                    400,
                    "bad_request",
                    "The browser (or proxy) sent a request that this server could not understand.",
                )
            body = parsed if isinstance(parsed, dict) else {}
            user = body.get("user")
            if not isinstance(user, str) or not user:
                return self.error(400, "invalid_param", "Arg user must be provided.")
        behaviour = fake.pop(kind)
        try:
            if behaviour is not None and self.generic(behaviour, kind, body):
                return None
            getattr(self, f"h_{kind}")(body, query, args, behaviour)
        except ClientGone:
            self.close_connection = True
        return None

    def route(self, method: str, path: str) -> tuple[str | None, dict]:
        known = False
        for route_method, pattern, kind in ROUTES:
            args = match(pattern, path)
            if args is not None:
                known = True
                if route_method == method:
                    return kind, args
        return ("405" if known else None), {}

    def authorized(self) -> bool:
        header = self.headers.get("Authorization")
        realm = {"WWW-Authenticate": 'Bearer realm="api"'}
        if not header or " " not in header:
            self.error(
                401,
                "unauthorized",
                "Authorization header must be provided and start with 'Bearer'",
                realm,
            )
            return False
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer":
            self.error(401, "unauthorized", "Authorization scheme must be 'Bearer'", realm)
            return False
        if token.strip() != self.fake.api_key:
            self.error(401, "unauthorized", "Access token is invalid", realm)
            return False
        return True

    def control(self, path: str, body: dict) -> None:
        """The harness's handle on a fake running in its own process (--control only)."""
        fake = self.fake
        if path == "/_fake/stats":
            self.send_json(200, fake.stats())
        elif path == "/_fake/config" and self.command == "POST":
            fake.default_run = success(node_seconds=float(body.get("node_seconds") or 0))
            self.send_json(200, {"ok": True})
        elif path == "/_fake/faults" and self.command == "POST":
            fake.fault_until = time.monotonic() + float(body.get("seconds") or 0)
            self.send_json(200, {"ok": True})
        else:
            self.send_json(404, {"error": "unknown control path"})

    def generic(self, b: Behaviour, kind: str, body: dict) -> bool:
        """Behaviours that do not depend on the endpoint. True when handled."""
        p = b.params
        if b.kind == "api_error":
            self.send_json(p["status"], p["body"], p["headers"])
        elif b.kind == "raw":
            self.send_bytes(p["status"], p["body"], p["content_type"], p["headers"])
        elif b.kind == "drop":
            if kind in RUN_KINDS:
                self.background_run(kind, body, p["finish_after"])
            self.abort()
        elif b.kind == "gateway":
            if kind in RUN_KINDS:
                self.background_run(kind, body, p["run_seconds"])
            if p["delay"]:
                self.fake.shutting_down.wait(p["delay"])
            status = p["status"]
            reason = self.responses.get(status, ("Gateway Error",))[0]
            page = (
                f"<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n"
                f"<center><h1>{status} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n"
                "</body>\r\n</html>\r\n"
            )
            self.send_bytes(status, page.encode(), "text/html", close=True)
        elif b.kind == "stall":
            self.stall(p["max_seconds"])
        elif b.kind == "replay":
            self.replay(p)
        else:
            return False
        return True

    def replay(self, p: dict) -> None:
        body: bytes = p["body"]
        sizes = p["chunk_sizes"] or [len(body)]
        times = p["times"] or [0.0] * len(sizes)
        started = time.monotonic()
        self.start_stream()
        offset = 0
        for size, at in zip(sizes, times, strict=False):
            pause = started + at * p["time_scale"] - time.monotonic()
            if pause > 0 and self.fake.shutting_down.wait(pause):
                break
            self.chunk(body[offset : offset + size])
            offset += size
        if offset < len(body):
            self.chunk(body[offset:])
        self.end_stream(after_finish=False)

    def background_run(self, kind: str, body: dict, finish_after: float) -> None:
        """A run that carries on without the client (a gateway error, a dropped socket)."""
        fake = self.fake
        if kind == "completion" or (kind == "chat" and fake.app_mode != "advanced-chat"):
            return
        cleaned, problem = validate(fake.input_form, body.get("inputs") or {})
        if problem:
            return
        run = fake.create_run(body["user"], cleaned)
        fake.finish_later(run, finish_after, fake.outputs_of(cleaned), steps=2)

    # -- app metadata ---------------------------------------------------------------------

    def h_info(self, body: dict, query: dict, args: dict, b: Behaviour | None) -> None:
        fake = self.fake
        self.send_json(
            200,
            {
                "name": fake.name,
                "description": fake.description,
                "tags": [],
                "mode": fake.app_mode,
                "author_name": "admin",
            },
        )

    def h_parameters(self, body: dict, query: dict, args: dict, b: Behaviour | None) -> None:
        if not self.fake.published:
            return self.error(
                400, "app_unavailable", "App unavailable, please check your app configurations."
            )
        chat = self.fake.app_mode in ("chat", "agent-chat", "advanced-chat")
        params = json.loads(json.dumps(CHAT_PARAMETERS if chat else WORKFLOW_PARAMETERS))
        params["user_input_form"] = json.loads(json.dumps(self.fake.input_form))
        return self.send_json(200, params)

    def new_request_id(self) -> str:
        return str(uuid.uuid4())
