"""HTTP client for the Dify service API (``/v1``), built on ``requests``.

Design rules (see ``errors.py`` for what each exception means):

* No automatic retries of any kind. A POST that may have reached Dify is never repeated
  here; the caller decides, using the exception class.
* TLS is always verified (``ca_bundle`` for a private CA; never ``verify=False``).
* Streaming is the default. Dify's streams open with a bare ``event: ping`` block, send
  ``data: {json}`` events, and keep-alive pings every 10 s. With invalid inputs a streaming
  run answers 200, sends one ping and then nothing for ~300 s; so the wait for the first
  *data* event is bounded by ``first_event_timeout`` (pings do not count), enforced with
  the socket timeout of the underlying connection plus a deadline check. After the first
  data event ``read_timeout`` applies between chunks (pings keep it alive).
* The API key is sent per request through a ``requests`` auth object and never appears in
  messages, logs or ``repr``.
"""

from __future__ import annotations

import json
import logging
import math
import re
import socket
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import requests
from urllib3.exceptions import (
    ConnectTimeoutError,
    MaxRetryError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)
from urllib3.exceptions import HTTPError as Urllib3HTTPError

from integrations.causes import exception_chain

from .errors import (
    DifyError,
    DifyInputError,
    DifyOutcomeUnknown,
    DifyPermanentError,
    DifyRetryableError,
    DifyStreamStalled,
    error_from_payload,
    error_from_response,
)
from .inputs import InputField, parse_input_form
from .sse import SSEDecodeError, iter_events, split_lines

__all__ = ["AppInfo", "AppParameters", "DifyClient", "LogEntry", "RunResult"]

log = logging.getLogger(__name__)

OnStarted = Callable[[str | None, str | None], None]

_TRACE_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
_CHAT_MODES = ("advanced-chat", "chat", "agent-chat")
_READ_SIZE = 65536


@dataclass
class AppInfo:
    name: str
    description: str
    mode: str
    tags: list = field(default_factory=list)
    author_name: str | None = None


@dataclass
class AppParameters:
    input_form: list[InputField]
    raw: dict


@dataclass
class RunResult:
    task_id: str | None
    workflow_run_id: str | None
    status: str  # succeeded | failed | stopped | partial-succeeded | paused | running
    outputs: dict
    error: str | None
    elapsed_time: float | None
    total_tokens: int | None
    total_steps: int | None
    message_id: str | None = None
    conversation_id: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.status in ("succeeded", "partial-succeeded")


@dataclass
class LogEntry:
    workflow_run_id: str
    status: str
    created_at: datetime  # aware, UTC
    session_id: str | None  # the `user` the run was started with


class _BearerAuth(requests.auth.AuthBase):
    def __init__(self, api_key: str) -> None:
        self._api_key = api_key

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["Authorization"] = f"Bearer {self._api_key}"
        return r

    def __repr__(self) -> str:
        return "<BearerAuth ***>"


# ---------------------------------------------------------------------------
# small parsing helpers
# ---------------------------------------------------------------------------


def _float(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _int(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _outputs(value: Any) -> dict:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return dict(value) if isinstance(value, Mapping) else {}


def _to_datetime(value: Any) -> datetime | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, tz=UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def _workflow_result(
    data: Mapping[str, Any], task_id: str | None, workflow_run_id: str | None
) -> RunResult:
    return RunResult(
        task_id=task_id,
        workflow_run_id=workflow_run_id or _str(data.get("id")),
        status=_str(data.get("status")) or "failed",
        outputs=_outputs(data.get("outputs")),
        error=data.get("error") if data.get("error") else None,
        elapsed_time=_float(data.get("elapsed_time")),
        total_tokens=_int(data.get("total_tokens")),
        total_steps=_int(data.get("total_steps")),
    )


def _usage(message: Mapping[str, Any] | None) -> tuple[int | None, float | None]:
    metadata = (message or {}).get("metadata") or {}
    usage = metadata.get("usage") if isinstance(metadata, Mapping) else None
    if not isinstance(usage, Mapping):
        return None, None
    return _int(usage.get("total_tokens")), _float(usage.get("latency"))


# ---------------------------------------------------------------------------
# transport error classification
# ---------------------------------------------------------------------------


def _walk_causes(exc: BaseException) -> Iterator[BaseException]:
    return exception_chain(exc)


def _is_connect_failure(exc: BaseException) -> bool:
    """True when the connection could not be established (nothing was sent)."""
    if isinstance(exc, (requests.exceptions.ConnectTimeout, requests.exceptions.ProxyError)):
        return True
    for cause in _walk_causes(exc):
        if isinstance(cause, (ReadTimeoutError, ProtocolError)):
            return False
        if isinstance(
            cause,
            (NewConnectionError, ConnectTimeoutError, ConnectionRefusedError, socket.gaierror),
        ):
            return True
    return False


def _is_timeout(exc: BaseException) -> bool:
    if isinstance(exc, requests.exceptions.Timeout):
        return True
    return any(isinstance(c, (ReadTimeoutError, TimeoutError)) for c in _walk_causes(exc))


def _short(exc: BaseException) -> str:
    for cause in _walk_causes(exc):
        if isinstance(cause, MaxRetryError) and cause.reason is not None:
            return _short(cause.reason)
    if isinstance(exc, ProtocolError) and exc.args and isinstance(exc.args[0], str):
        text = exc.args[0]
        inner = exc.args[1] if len(exc.args) > 1 else None
        if isinstance(inner, BaseException) and type(inner).__name__ not in text:
            text += f": {type(inner).__name__}"
    else:
        text = str(exc) or type(exc).__name__
    text = " ".join(text.split())
    return text if len(text) <= 300 else text[:297] + "..."


def _socket_of(raw: Any) -> socket.socket | None:
    """The socket under a streaming urllib3 response (needed to change its timeout)."""
    conn = getattr(raw, "_connection", None) or getattr(raw, "connection", None)
    sock = getattr(conn, "sock", None)
    if sock is not None and hasattr(sock, "settimeout"):
        return sock
    try:
        sock = raw._fp.fp.raw._sock
    except AttributeError:
        return None
    return sock if hasattr(sock, "settimeout") else None


# ---------------------------------------------------------------------------
# stream collector
# ---------------------------------------------------------------------------


class _Collector:
    """Turns Dify stream events into a RunResult; kind is workflow | chat | completion."""

    def __init__(self, kind: str, on_started: OnStarted | None) -> None:
        self.kind = kind
        self.on_started = on_started
        self.started_reported = False
        self.task_id: str | None = None
        self.workflow_run_id: str | None = None
        self.message_id: str | None = None
        self.conversation_id: str | None = None
        self.answer_parts: list[str] = []
        self.message_end: dict | None = None
        self.workflow_finished: dict | None = None
        self.saw_workflow = False

    def report_started(self) -> None:
        if not self.started_reported:
            self.started_reported = True
            if self.on_started is not None:
                self.on_started(self.task_id, self.workflow_run_id)

    def feed(self, event: dict) -> RunResult | None:
        name = event.get("event")
        self.task_id = self.task_id or _str(event.get("task_id"))
        self.workflow_run_id = self.workflow_run_id or _str(event.get("workflow_run_id"))
        if self.kind != "workflow":
            self.conversation_id = self.conversation_id or _str(event.get("conversation_id"))
            self.message_id = self.message_id or _str(event.get("message_id"))

        if name == "error":
            raise error_from_payload(
                _int(event.get("status")),
                event.get("code"),
                event.get("message"),
                task_id=self.task_id,
                workflow_run_id=self.workflow_run_id,
            )

        if self.task_id and (self.workflow_run_id or self.kind != "workflow"):
            self.report_started()

        if self.kind == "workflow":
            if name == "workflow_finished":
                return self._finish(
                    _workflow_result(event.get("data") or {}, self.task_id, self.workflow_run_id)
                )
            if name == "workflow_paused":
                data = event.get("data") or {}
                result = _workflow_result(data, self.task_id, self.workflow_run_id)
                result.status = "paused"
                return self._finish(result)
            return None

        # chat / agent-chat / advanced-chat / completion
        if name == "workflow_started":
            self.saw_workflow = True
        elif name in ("message", "agent_message"):
            answer = event.get("answer")
            if isinstance(answer, str):
                self.answer_parts.append(answer)
        elif name == "message_replace":
            answer = event.get("answer")
            self.answer_parts = [answer] if isinstance(answer, str) else []
        elif name == "message_end":
            self.message_end = event
            self.message_id = self.message_id or _str(event.get("id"))
            if not self.saw_workflow or self.workflow_finished is not None:
                return self._finish(self._chat_result())
        elif name == "workflow_finished":
            self.workflow_finished = event.get("data") or {}
            status = self.workflow_finished.get("status")
            if self.message_end is not None or status not in ("succeeded", "partial-succeeded"):
                return self._finish(self._chat_result())
        elif name == "workflow_paused":
            self.workflow_finished = dict(event.get("data") or {}, status="paused")
            return self._finish(self._chat_result())
        return None

    def at_eof(self) -> RunResult | None:
        """The server closed the stream: enough to build a result?"""
        if self.kind != "workflow" and (self.message_end or self.workflow_finished):
            return self._finish(self._chat_result())
        return None

    def _finish(self, result: RunResult) -> RunResult:
        self.report_started()
        return result

    def _chat_result(self) -> RunResult:
        answer = "".join(self.answer_parts)
        tokens, latency = _usage(self.message_end)
        wf = self.workflow_finished
        if wf is not None:
            outputs = _outputs(wf.get("outputs"))
            if "answer" not in outputs:
                outputs["answer"] = answer
            return RunResult(
                task_id=self.task_id,
                workflow_run_id=self.workflow_run_id or _str(wf.get("id")),
                status=_str(wf.get("status")) or "failed",
                outputs=outputs,
                error=wf.get("error") or None,
                elapsed_time=_float(wf.get("elapsed_time")) or latency,
                total_tokens=_int(wf.get("total_tokens"))
                if wf.get("total_tokens") is not None
                else tokens,
                total_steps=_int(wf.get("total_steps")),
                message_id=self.message_id,
                conversation_id=self.conversation_id,
            )
        return RunResult(
            task_id=self.task_id,
            workflow_run_id=self.workflow_run_id,
            status="succeeded",
            outputs={"answer": answer},
            error=None,
            elapsed_time=latency,
            total_tokens=tokens,
            total_steps=None,
            message_id=self.message_id,
            conversation_id=self.conversation_id,
        )


# ---------------------------------------------------------------------------
# the client
# ---------------------------------------------------------------------------


class DifyClient:
    """Client for one Dify app (one app API key)."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        connect_timeout: float = 10.0,
        read_timeout: float = 60.0,
        first_event_timeout: float = 30.0,
        ca_bundle: str | None = None,
        user_agent: str = "dify-hub",
        session: requests.Session | None = None,
    ) -> None:
        if not base_url or not str(base_url).startswith(("http://", "https://")):
            raise ValueError(
                "base_url must be an http:// or https:// URL, e.g. https://api.dify.ai/v1"
            )
        if not api_key:
            raise ValueError("api_key is required")
        for name, value in (
            ("connect_timeout", connect_timeout),
            ("read_timeout", read_timeout),
            ("first_event_timeout", first_event_timeout),
        ):
            if not value or value <= 0:
                raise ValueError(f"{name} must be a positive number of seconds")
        self.base_url = str(base_url).rstrip("/")
        self.connect_timeout = float(connect_timeout)
        self.read_timeout = float(read_timeout)
        self.first_event_timeout = float(first_event_timeout)
        self.ca_bundle = ca_bundle or None
        self.user_agent = user_agent
        self._api_key = api_key
        self._auth = _BearerAuth(api_key)
        self._verify: str | bool = self.ca_bundle if self.ca_bundle else True
        self._owns_session = session is None
        self._session = session if session is not None else requests.Session()

    def __repr__(self) -> str:
        return f"DifyClient(base_url={self.base_url!r}, api_key='***')"

    def close(self) -> None:
        if self._owns_session:
            self._session.close()

    def __enter__(self) -> DifyClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- plumbing ----------------------------------------------------------

    def _redact(self, text: str) -> str:
        return text.replace(self._api_key, "***") if self._api_key and text else text

    @contextmanager
    def _guard(self) -> Iterator[None]:
        try:
            yield
        except DifyError as exc:
            exc.message = self._redact(exc.message)
            exc.args = (exc.message,)
            raise

    def _headers(self, *, accept: str, trace_id: str | None, streaming: bool = False) -> dict:
        headers = {
            "Accept": accept,
            "Content-Type": "application/json",
            "User-Agent": self.user_agent,
        }
        if streaming:
            # Ask proxies not to compress (compression buffers events and delays pings).
            headers["Accept-Encoding"] = "identity"
        if trace_id is not None:
            headers["X-Trace-Id"] = trace_id
        return headers

    @staticmethod
    def _check_trace_id(trace_id: str | None) -> None:
        if trace_id is not None and not _TRACE_ID_RE.match(str(trace_id)):
            raise ValueError(
                "trace_id must be 1-128 characters from A-Z a-z 0-9 _ - (Dify ignores others)"
            )

    @staticmethod
    def _check_user(user: str) -> None:
        if not isinstance(user, str) or not user.strip():
            raise DifyInputError(["user: must be a non-empty string (the Dify end-user id)"])

    def _transport_error(
        self, exc: requests.exceptions.RequestException, *, run_call: bool
    ) -> DifyError:
        where = self.base_url
        if isinstance(exc, requests.exceptions.SSLError):
            return DifyPermanentError(
                f"TLS verification/handshake with {where} failed ({_short(exc)}). If the Dify "
                "server uses a private or self-signed CA, set the CA bundle (ca_bundle) to the "
                "PEM file of that CA; verification is never switched off.",
                code="tls_error",
            )
        if isinstance(
            exc,
            (
                requests.exceptions.InvalidURL,
                requests.exceptions.MissingSchema,
                requests.exceptions.InvalidSchema,
                requests.exceptions.InvalidHeader,
                requests.exceptions.URLRequired,
            ),
        ):
            return DifyPermanentError(
                f"invalid request for {where}: {_short(exc)}", code="invalid_request"
            )
        if _is_connect_failure(exc):
            return DifyRetryableError(
                f"could not connect to {where} ({_short(exc)}); nothing was sent",
                code="connection_failed",
            )
        if _is_timeout(exc):
            code = "timeout"
            text = f"no answer from {where} within the read timeout ({_short(exc)})"
        else:
            code = "connection_lost"
            text = f"connection to {where} lost after the request was sent ({_short(exc)})"
        if run_call:
            return DifyOutcomeUnknown(
                text + "; the run may have been started: look it up before retrying", code=code
            )
        return DifyRetryableError(text, code=code)

    def _send(
        self,
        method: str,
        path: str,
        *,
        body: dict | None = None,
        params: dict | None = None,
        stream: bool = False,
        timeout: tuple[float, float],
        trace_id: str | None = None,
        run_call: bool = False,
    ) -> requests.Response:
        accept = "text/event-stream" if stream else "application/json"
        try:
            return self._session.request(
                method,
                self.base_url + path,
                params=params,
                data=json.dumps(body).encode("utf-8") if body is not None else None,
                headers=self._headers(accept=accept, trace_id=trace_id, streaming=stream),
                auth=self._auth,
                timeout=timeout,
                stream=stream,
                verify=self._verify,
                allow_redirects=False,
            )
        except requests.exceptions.RequestException as exc:
            raise self._transport_error(exc, run_call=run_call) from exc

    def _body_text(self, resp: requests.Response, *, run_call: bool) -> str:
        try:
            content = resp.content
        except requests.exceptions.RequestException as exc:
            raise self._transport_error(exc, run_call=run_call) from exc
        return content.decode("utf-8", errors="replace")

    def _json(self, resp: requests.Response, *, run_call: bool, idempotent: bool) -> Any:
        text = self._body_text(resp, run_call=run_call)
        if not 200 <= resp.status_code < 300:
            raise error_from_response(resp.status_code, text, resp.headers, idempotent=idempotent)
        try:
            return json.loads(text)
        except ValueError:
            message = (
                f"HTTP {resp.status_code} from {self.base_url} is not JSON "
                f"(content-type {resp.headers.get('Content-Type')!r}); is the base URL the "
                "Dify API (…/v1)?"
            )
            if run_call:
                raise DifyOutcomeUnknown(
                    message, code="bad_response", http_status=resp.status_code
                ) from None
            raise DifyPermanentError(
                message, code="bad_response", http_status=resp.status_code
            ) from None

    def _get(self, path: str, params: dict | None = None) -> Any:
        resp = self._send(
            "GET", path, params=params, timeout=(self.connect_timeout, self.read_timeout)
        )
        with resp:
            return self._json(resp, run_call=False, idempotent=True)

    # -- app metadata ----------------------------------------------------------

    def info(self) -> AppInfo:
        """GET /info: name, mode etc. Works for every app type; a good key check."""
        with self._guard():
            data = self._get("/info")
            if not isinstance(data, Mapping):
                raise DifyPermanentError("unexpected /info answer", code="bad_response")
            tags = data.get("tags")
            return AppInfo(
                name=str(data.get("name") or ""),
                description=str(data.get("description") or ""),
                mode=str(data.get("mode") or ""),
                tags=list(tags) if isinstance(tags, list) else [],
                author_name=_str(data.get("author_name")),
            )

    def parameters(self) -> AppParameters:
        """GET /parameters: the input form (and the rest of the app's feature config)."""
        with self._guard():
            data = self._get("/parameters")
            if not isinstance(data, Mapping):
                raise DifyPermanentError("unexpected /parameters answer", code="bad_response")
            form = data.get("user_input_form")
            return AppParameters(
                input_form=parse_input_form(form if isinstance(form, list) else []),
                raw=dict(data),
            )

    # -- runs ------------------------------------------------------------------

    def run_workflow(
        self,
        inputs: dict,
        *,
        user: str,
        trace_id: str | None = None,
        response_mode: str = "streaming",
        workflow_id: str | None = None,
        on_started: OnStarted | None = None,
    ) -> RunResult:
        """POST /workflows/run (or /workflows/{workflow_id}/run to pin a published version).

        A run that fails inside a node is *not* an exception: it returns a RunResult with
        status "failed" (or "stopped"). Exceptions mean the run did not happen
        (Permanent/Retryable) or its fate is unknown (OutcomeUnknown).
        """
        with self._guard():
            self._check_user(user)
            self._check_trace_id(trace_id)
            path = "/workflows/run"
            if workflow_id:
                path = f"/workflows/{quote(str(workflow_id), safe='')}/run"
            body = {"inputs": dict(inputs or {}), "response_mode": response_mode, "user": user}
            return self._run(path, body, "workflow", response_mode, trace_id, on_started)

    def run_chat(
        self,
        query: str,
        inputs: dict,
        *,
        user: str,
        trace_id: str | None = None,
        response_mode: str = "streaming",
        conversation_id: str | None = None,
        on_started: OnStarted | None = None,
    ) -> RunResult:
        """POST /chat-messages (chat, agent-chat, advanced-chat). outputs = {"answer": ...}."""
        with self._guard():
            self._check_user(user)
            self._check_trace_id(trace_id)
            if not isinstance(query, str) or not query:
                raise DifyInputError(["query: chat apps need a non-empty query"])
            body: dict[str, Any] = {
                "query": query,
                "inputs": dict(inputs or {}),
                "response_mode": response_mode,
                "user": user,
            }
            if conversation_id:
                body["conversation_id"] = conversation_id
            return self._run("/chat-messages", body, "chat", response_mode, trace_id, on_started)

    def run_completion(
        self,
        inputs: dict,
        *,
        user: str,
        trace_id: str | None = None,
        response_mode: str = "streaming",
        on_started: OnStarted | None = None,
    ) -> RunResult:
        """POST /completion-messages (text generator apps). outputs = {"answer": ...}."""
        with self._guard():
            self._check_user(user)
            self._check_trace_id(trace_id)
            body = {"inputs": dict(inputs or {}), "response_mode": response_mode, "user": user}
            return self._run(
                "/completion-messages", body, "completion", response_mode, trace_id, on_started
            )

    def run_app(
        self,
        mode: str,
        inputs: dict,
        *,
        user: str,
        trace_id: str | None = None,
        response_mode: str = "streaming",
        query: str | None = None,
        on_started: OnStarted | None = None,
    ) -> RunResult:
        """Run an app of any supported mode (as reported by ``info().mode``)."""
        if mode == "workflow":
            return self.run_workflow(
                inputs,
                user=user,
                trace_id=trace_id,
                response_mode=response_mode,
                on_started=on_started,
            )
        if mode in _CHAT_MODES:
            inputs = dict(inputs or {})
            if query is None:
                if "query" not in inputs:
                    raise DifyInputError(
                        [
                            "query: a chat app needs a query (pass query= or an inputs['query'] value)"
                        ]
                    )
                query = inputs.pop("query")
            if mode == "agent-chat":
                response_mode = "streaming"  # Dify refuses blocking mode for agent apps
            return self.run_chat(
                query,
                inputs,
                user=user,
                trace_id=trace_id,
                response_mode=response_mode,
                on_started=on_started,
            )
        if mode == "completion":
            return self.run_completion(
                inputs,
                user=user,
                trace_id=trace_id,
                response_mode=response_mode,
                on_started=on_started,
            )
        raise DifyPermanentError(
            f"app mode {mode!r} is not supported (workflow, advanced-chat, chat, agent-chat, completion)",
            code="unsupported_mode",
        )

    def _run(
        self,
        path: str,
        body: dict,
        kind: str,
        response_mode: str,
        trace_id: str | None,
        on_started: OnStarted | None,
    ) -> RunResult:
        if response_mode not in ("streaming", "blocking"):
            raise ValueError("response_mode must be 'streaming' or 'blocking'")
        if response_mode == "blocking":
            resp = self._send(
                "POST",
                path,
                body=body,
                timeout=(self.connect_timeout, self.read_timeout),
                trace_id=trace_id,
                run_call=True,
            )
            with resp:
                data = self._json(resp, run_call=True, idempotent=False)
            return self._blocking_result(kind, data, on_started)
        return self._stream(path, body, kind, trace_id, on_started)

    def _blocking_result(self, kind: str, data: Any, on_started: OnStarted | None) -> RunResult:
        if not isinstance(data, Mapping):
            raise DifyOutcomeUnknown(
                "unexpected run answer (not a JSON object)", code="bad_response"
            )
        task_id = _str(data.get("task_id"))
        run_id = _str(data.get("workflow_run_id"))
        if kind == "workflow":
            inner = data.get("data")
            if not isinstance(inner, Mapping):
                raise DifyOutcomeUnknown(
                    "run answer has no 'data' object",
                    code="bad_response",
                    task_id=task_id,
                    workflow_run_id=run_id,
                )
            result = _workflow_result(inner, task_id, run_id)
        else:
            tokens, latency = _usage(data)
            answer = data.get("answer")
            result = RunResult(
                task_id=task_id,
                workflow_run_id=run_id,
                status="succeeded",
                outputs={"answer": answer if isinstance(answer, str) else ""},
                error=None,
                elapsed_time=latency,
                total_tokens=tokens,
                total_steps=None,
                message_id=_str(data.get("message_id")) or _str(data.get("id")),
                conversation_id=_str(data.get("conversation_id")),
            )
        if on_started is not None:
            on_started(result.task_id, result.workflow_run_id)
        return result

    def _stream(
        self, path: str, body: dict, kind: str, trace_id: str | None, on_started: OnStarted | None
    ) -> RunResult:
        started = time.monotonic()
        resp = self._send(
            "POST",
            path,
            body=body,
            stream=True,
            timeout=(self.connect_timeout, min(self.first_event_timeout, self.read_timeout)),
            trace_id=trace_id,
            run_call=True,
        )
        with resp:
            content_type = resp.headers.get("Content-Type", "")
            if not 200 <= resp.status_code < 300 or "text/event-stream" not in content_type:
                # Errors come back as JSON before any stream starts; a 200 JSON answer to a
                # streaming request is read like a blocking answer.
                data = self._json(resp, run_call=True, idempotent=False)
                return self._blocking_result(kind, data, on_started)

            collector = _Collector(kind, on_started)
            state = {"got_data": False}
            try:
                chunks = self._read_chunks(resp, state, started)
                for event in iter_events(split_lines(chunks)):
                    if not isinstance(event, dict):
                        continue
                    state["got_data"] = True
                    result = collector.feed(event)
                    if result is not None:
                        return result
                result = collector.at_eof()
                if result is not None:
                    return result
                if not state["got_data"]:
                    raise DifyStreamStalled(self._stall_message(started, closed=True))
                raise DifyOutcomeUnknown(
                    "Dify closed the stream before the run finished (no terminal event); "
                    "the run may still be executing: look it up before retrying",
                    code="stream_ended",
                )
            except SSEDecodeError as exc:
                raise DifyOutcomeUnknown(
                    f"Dify sent a malformed stream event ({exc.reason}); the run may exist",
                    code="bad_stream",
                    task_id=collector.task_id,
                    workflow_run_id=collector.workflow_run_id,
                ) from exc
            except DifyError as exc:
                exc.task_id = exc.task_id or collector.task_id
                exc.workflow_run_id = exc.workflow_run_id or collector.workflow_run_id
                raise

    def _stall_message(self, started: float, *, closed: bool = False) -> str:
        waited = time.monotonic() - started
        what = "closed the stream" if closed else "sent"
        return (
            f"Dify {what} no data event within {waited:.1f}s (first_event_timeout="
            f"{self.first_event_timeout:g}s; keep-alive pings do not count). This is what Dify "
            "does when a streaming run gets invalid inputs: it answers 200, sends one ping and "
            "then stays silent (~300 s) without an error event. Check the inputs against the "
            "app's form (validate_inputs) or call in blocking mode to see the error."
        )

    def _read_chunks(self, resp: requests.Response, state: dict, started: float) -> Iterator[bytes]:
        """Yield raw body chunks as they arrive, enforcing the first-event and read timeouts."""
        raw = resp.raw
        sock = _socket_of(raw)
        if sock is None:
            log.debug("dify: socket not reachable; first-event bound relies on the request timeout")
        deadline = started + self.first_event_timeout
        switched = False
        reader: Callable[[], bytes]
        if hasattr(raw, "read1"):

            def reader() -> bytes:
                return raw.read1(_READ_SIZE, decode_content=True)

        else:  # pragma: no cover - urllib3 < 2.3
            iterator = raw.stream(_READ_SIZE, decode_content=True)

            def reader() -> bytes:
                return next(iterator, b"")

        while True:
            if not state["got_data"]:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise DifyStreamStalled(self._stall_message(started))
                if sock is not None:
                    sock.settimeout(min(remaining, self.read_timeout))
            elif not switched:
                switched = True
                if sock is not None:
                    sock.settimeout(self.read_timeout)
            try:
                chunk = reader()
            except ReadTimeoutError as exc:
                if not state["got_data"]:
                    raise DifyStreamStalled(self._stall_message(started)) from exc
                raise DifyOutcomeUnknown(
                    f"no data from Dify for {self.read_timeout:g}s in the middle of the stream "
                    "(not even keep-alive pings); the run may still be executing",
                    code="timeout",
                ) from exc
            except (ProtocolError, Urllib3HTTPError, OSError) as exc:
                raise DifyOutcomeUnknown(
                    f"connection lost in the middle of the stream ({_short(exc)}); "
                    "the run may still be executing",
                    code="connection_lost",
                ) from exc
            if not chunk:
                return
            yield chunk

    # -- reconciliation ---------------------------------------------------------

    def get_run(self, workflow_run_id: str) -> RunResult:
        """GET /workflows/run/{id}. Note: runs stopped via the stop endpoint keep reading back
        as "running" (Dify 1.14.1), and ``task_id`` is not part of this answer."""
        with self._guard():
            data = self._get(f"/workflows/run/{quote(str(workflow_run_id), safe='')}")
            if not isinstance(data, Mapping):
                raise DifyPermanentError("unexpected run detail answer", code="bad_response")
            result = _workflow_result(data, None, _str(data.get("id")) or str(workflow_run_id))
            result.status = _str(data.get("status")) or "running"
            return result

    def stop(self, task_id: str, *, user: str, mode: str = "workflow") -> None:
        """Ask Dify to stop a running task. Dify always answers 200 {"result": "success"},
        even for unknown or finished tasks, so success here proves nothing; watch the stream
        (workflow_finished status "stopped") instead."""
        with self._guard():
            self._check_user(user)
            kind = {"workflow": "workflows/tasks", "completion": "completion-messages"}.get(
                mode, "chat-messages"
            )
            path = f"/{kind}/{quote(str(task_id), safe='')}/stop"
            resp = self._send(
                "POST", path, body={"user": user}, timeout=(self.connect_timeout, self.read_timeout)
            )
            with resp:
                self._json(resp, run_call=False, idempotent=True)

    def find_runs(self, *, user: str, created_after: datetime, limit: int = 20) -> list[LogEntry]:
        """Runs started with this ``user`` at or after ``created_after`` (newest first).

        Uses GET /workflows/logs with created_by_end_user_session_id and created_at__after,
        and filters again locally (older Dify versions ignore those parameters). Dify reports
        whole seconds, so ``created_after`` is floored to the second. A naive datetime is
        taken as UTC. Only one page (``limit`` <= 100 entries) is read.
        """
        with self._guard():
            self._check_user(user)
            if created_after.tzinfo is None:
                created_after = created_after.replace(tzinfo=UTC)
            after = created_after.astimezone(UTC).replace(microsecond=0)
            params = {
                "created_by_end_user_session_id": user,
                "created_at__after": after.isoformat(timespec="seconds"),
                "page": 1,
                "limit": max(1, min(int(limit), 100)),
            }
            data = self._get("/workflows/logs", params)
            items = data.get("data") if isinstance(data, Mapping) else None
            entries: list[LogEntry] = []
            for item in items if isinstance(items, list) else []:
                if not isinstance(item, Mapping):
                    continue
                run = item.get("workflow_run") or {}
                end_user = item.get("created_by_end_user") or {}
                run_id = _str(run.get("id")) if isinstance(run, Mapping) else None
                if not run_id:
                    continue
                session_id = (
                    _str(end_user.get("session_id")) if isinstance(end_user, Mapping) else None
                )
                created = _to_datetime(run.get("created_at")) or _to_datetime(
                    item.get("created_at")
                )
                if created is None or created < after or session_id != user:
                    continue
                entries.append(
                    LogEntry(
                        workflow_run_id=run_id,
                        status=_str(run.get("status")) or "unknown",
                        created_at=created,
                        session_id=session_id,
                    )
                )
            return entries
