"""Client for one Dify app's service API (`/v1`), on the shared HTTP layer.

* No retries of any kind. A POST that may have reached Dify is never repeated here; the
  caller decides on the error's fields (see errors.py).
* The key travels in the Authorization header only; it never appears in messages or reprs.
* Streaming is the default; stream.py reads it, with the first-event wait bounded.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from integrations.http import CONNECT, INVALID, TLS, Failure, HttpClient, Request, bearer

from .errors import (
    DifyError,
    DifyInputError,
    DifyOutcomeUnknown,
    DifyPermanentError,
    DifyRetryableError,
    error_from_response,
)
from .inputs import parse_input_form
from .results import (
    AppInfo,
    AppParameters,
    LogEntry,
    RunResult,
    as_datetime,
    as_str,
    chat_answer_result,
    workflow_result,
)
from .stream import MAX_SILENCE, Collector, OnSilence, OnStarted, read_run

__all__ = ["DifyClient"]

_TRACE_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
_CHAT_MODES = ("advanced-chat", "chat", "agent-chat")
_RUN_PATHS = ("/workflows/run", "/chat-messages", "/completion-messages")


class DifyClient(HttpClient):
    """Client for one Dify app (one app API key)."""

    who = "Dify"

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        connect_timeout: float = 10.0,
        read_timeout: float = 60.0,
        first_event_timeout: float = 30.0,
        ca_bundle: str | None = None,
    ) -> None:
        if not base_url or not str(base_url).startswith(("http://", "https://")):
            raise ValueError(
                "base_url must be an http:// or https:// URL, e.g. https://api.dify.ai/v1"
            )
        if not api_key:
            raise ValueError("api_key is required")
        if not first_event_timeout or first_event_timeout <= 0:
            raise ValueError("first_event_timeout must be a positive number of seconds")
        super().__init__(
            str(base_url),
            auth=bearer(api_key),
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            verify=ca_bundle or True,
            secrets=(api_key,),
        )
        self.first_event_timeout = float(first_event_timeout)

    def __repr__(self) -> str:
        return f"DifyClient(base_url={self.base_url!r}, api_key='***')"

    # -- plumbing -------------------------------------------------------------------------

    def network_error(self, failure: Failure, request: Request) -> DifyError:
        where = self.base_url
        if failure.kind == TLS:
            return DifyPermanentError(
                f"TLS verification/handshake with {where} failed ({failure.reason}). If the Dify "
                "server uses a private or self-signed CA, set the app's CA bundle to the PEM "
                "file of that CA; verification is never switched off.",
                code="tls_error",
            )
        if failure.kind == INVALID:
            return DifyPermanentError(
                f"invalid request for {where}: {failure.reason}", code="invalid_request"
            )
        if failure.kind == CONNECT:
            return DifyRetryableError(
                f"could not connect to {where} ({failure.reason}); nothing was sent",
                code="connection_failed",
            )
        if failure.kind == "timeout":
            code, text = "timeout", f"no answer from {where} within the read timeout"
        else:
            code = "connection_lost"
            text = f"connection to {where} lost after the request was sent ({failure.reason})"
        if request.method == "POST" and request.path.endswith(_RUN_PATHS):
            return DifyOutcomeUnknown(
                text + "; the run may have been started: look it up before retrying", code=code
            )
        return DifyRetryableError(text, code=code)

    def _headers(self, *, stream: bool, trace_id: str | None) -> dict[str, str]:
        headers = {"Accept": "text/event-stream" if stream else "application/json"}
        if stream:
            # Ask proxies not to compress (compression buffers events and delays pings).
            headers["Accept-Encoding"] = "identity"
        if trace_id is not None:
            headers["X-Trace-Id"] = trace_id
        return headers

    def _json(self, method: str, path: str, *, idempotent: bool, **kwargs: Any) -> Any:
        response = self.request(method, path, **kwargs)
        return self._decode(response.status, response.text, response.headers, idempotent)

    def _decode(self, status: int, text: str, headers: Mapping, idempotent: bool) -> Any:
        if not 200 <= status < 300:
            error = error_from_response(status, text, headers, idempotent=idempotent)
            error.redact(*self.redact.secrets)
            raise error
        try:
            return json.loads(text)
        except ValueError:
            message = (
                f"HTTP {status} from {self.base_url} is not JSON (content-type "
                f"{headers.get('Content-Type')!r}); is the base URL the Dify API (…/v1)?"
            )
            if not idempotent:
                raise DifyOutcomeUnknown(message, code="bad_response", http_status=status) from None
            raise DifyPermanentError(message, code="bad_response", http_status=status) from None

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

    # -- app metadata ---------------------------------------------------------------------

    def info(self) -> AppInfo:
        """GET /info: the app's name and mode. Works for every app type; a good key check."""
        data = self._json("GET", "/info", idempotent=True)
        if not isinstance(data, Mapping):
            raise DifyPermanentError("unexpected /info answer", code="bad_response")
        return AppInfo(name=str(data.get("name") or ""), mode=str(data.get("mode") or ""))

    def parameters(self) -> AppParameters:
        """GET /parameters: the app's input form."""
        data = self._json("GET", "/parameters", idempotent=True)
        if not isinstance(data, Mapping):
            raise DifyPermanentError("unexpected /parameters answer", code="bad_response")
        form = data.get("user_input_form")
        return AppParameters(input_form=parse_input_form(form if isinstance(form, list) else []))

    # -- runs -----------------------------------------------------------------------------

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
        on_silence: OnSilence | None = None,
    ) -> RunResult:
        """Run an app of any supported mode (as reported by ``info().mode``).

        A run that fails inside a node is *not* an exception: it returns a RunResult with
        status "failed" (or "stopped"). Exceptions mean the run did not happen
        (retryable or not) or its fate is unknown (DifyOutcomeUnknown).
        """
        self._check_user(user)
        self._check_trace_id(trace_id)
        if response_mode not in ("streaming", "blocking"):
            raise ValueError("response_mode must be 'streaming' or 'blocking'")
        body: dict[str, Any] = {"inputs": dict(inputs or {}), "user": user}
        if mode == "workflow":
            path, kind = "/workflows/run", "workflow"
        elif mode in _CHAT_MODES:
            path, kind = "/chat-messages", "chat"
            body["inputs"], body["query"] = _chat_query(body["inputs"], query)
            if mode == "agent-chat":
                response_mode = "streaming"  # Dify refuses blocking mode for agent apps
        elif mode == "completion":
            path, kind = "/completion-messages", "completion"
        else:
            raise DifyPermanentError(
                f"app mode {mode!r} is not supported (workflow, advanced-chat, chat, "
                "agent-chat, completion)",
                code="unsupported_mode",
            )
        body["response_mode"] = response_mode
        if response_mode == "blocking":
            return self._blocking(path, body, kind, trace_id, on_started)
        return self._streaming(path, body, kind, trace_id, on_started, on_silence)

    def _blocking(self, path, body, kind, trace_id, on_started) -> RunResult:
        headers = self._headers(stream=False, trace_id=trace_id)
        data = self._json("POST", path, idempotent=False, json=body, headers=headers)
        result = _blocking_result(kind, data)
        if on_started is not None:
            on_started(result.task_id, result.workflow_run_id)
        return result

    def _streaming(self, path, body, kind, trace_id, on_started, on_silence) -> RunResult:
        started = time.monotonic()
        headers = self._headers(stream=True, trace_id=trace_id)
        with self.stream("POST", path, json=body, headers=headers, read_timeout=MAX_SILENCE) as s:
            if not 200 <= s.status < 300 or "text/event-stream" not in s.content_type:
                # Errors come back as JSON before any stream starts; a 200 JSON answer to a
                # streaming request is read like a blocking answer.
                answer = s.read_all()
                data = self._decode(answer.status, answer.text, answer.headers, False)
                result = _blocking_result(kind, data)
                if on_started is not None:
                    on_started(result.task_id, result.workflow_run_id)
                return result
            try:
                return read_run(
                    s,
                    Collector(kind, on_started),
                    first_event_timeout=self.first_event_timeout,
                    read_timeout=self.read_timeout,
                    on_silence=on_silence,
                    started=started,
                )
            except DifyError as exc:
                exc.redact(*self.redact.secrets)
                raise

    # -- reconciliation -------------------------------------------------------------------

    def get_run(self, workflow_run_id: str) -> RunResult:
        """GET /workflows/run/{id} (workflow and chatflow keys, capture 90i). Runs stopped via
        the stop endpoint keep reading back as "running" (Dify 1.14.1, captures 63, 97e)."""
        path = f"/workflows/run/{quote(str(workflow_run_id), safe='')}"
        data = self._json("GET", path, idempotent=True)
        if not isinstance(data, Mapping):
            raise DifyPermanentError("unexpected run detail answer", code="bad_response")
        result = workflow_result(data, None, as_str(data.get("id")) or str(workflow_run_id))
        result.status = as_str(data.get("status")) or "running"
        return result

    def stop(self, task_id: str, *, user: str, mode: str = "workflow") -> None:
        """Ask Dify to stop a running task. Dify always answers 200 {"result": "success"},
        even for unknown or finished tasks (29, 30), so this proves nothing; the stream's
        end (workflow_finished status "stopped") does."""
        self._check_user(user)
        kind = {"workflow": "workflows/tasks", "completion": "completion-messages"}.get(
            mode, "chat-messages"
        )
        path = f"/{kind}/{quote(str(task_id), safe='')}/stop"
        self._json("POST", path, idempotent=True, json={"user": user})

    def find_runs(self, *, user: str, created_after: datetime, limit: int = 20) -> list[LogEntry]:
        """Runs started with this ``user`` at or after ``created_after`` (newest first).

        GET /workflows/logs lists a run as soon as it starts, with status "running" (81, 95),
        but not while it waits in Dify's queue (96c), and never a chatflow run (90k). Dify
        reports whole seconds, so ``created_after`` is floored to the second; entries are
        filtered again here (older Dify versions ignore the filters).
        """
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
        data = self._json("GET", "/workflows/logs", idempotent=True, params=params)
        items = data.get("data") if isinstance(data, Mapping) else None
        if not isinstance(items, list):
            return []
        entries = (_log_entry(item, user, after) for item in items)
        return [entry for entry in entries if entry is not None]


def _chat_query(inputs: dict, query: str | None) -> tuple[dict, str]:
    if query is None:
        if "query" not in inputs:
            raise DifyInputError(
                ["query: a chat app needs a query (pass query= or an inputs['query'] value)"]
            )
        query = inputs.pop("query")
    if not isinstance(query, str) or not query:
        raise DifyInputError(["query: chat apps need a non-empty query"])
    return inputs, query


def _blocking_result(kind: str, data: Any) -> RunResult:
    if not isinstance(data, Mapping):
        raise DifyOutcomeUnknown("unexpected run answer (not a JSON object)", code="bad_response")
    task_id = as_str(data.get("task_id"))
    run_id = as_str(data.get("workflow_run_id"))
    if kind != "workflow":
        return chat_answer_result(data)
    inner = data.get("data")
    if not isinstance(inner, Mapping):
        raise DifyOutcomeUnknown(
            "run answer has no 'data' object",
            code="bad_response",
            task_id=task_id,
            workflow_run_id=run_id,
        )
    return workflow_result(inner, task_id, run_id)


def _log_entry(item: Any, user: str, after: datetime) -> LogEntry | None:
    if not isinstance(item, Mapping):
        return None
    run = item.get("workflow_run") or {}
    end_user = item.get("created_by_end_user") or {}
    run_id = as_str(run.get("id")) if isinstance(run, Mapping) else None
    if not run_id:
        return None
    session_id = as_str(end_user.get("session_id")) if isinstance(end_user, Mapping) else None
    created = as_datetime(run.get("created_at")) or as_datetime(item.get("created_at"))
    if created is None or created < after or session_id != user:
        return None
    return LogEntry(
        workflow_run_id=run_id,
        status=as_str(run.get("status")) or "unknown",
        created_at=created,
        session_id=session_id,
    )
