"""The fake Dify's state: one app, its runs, logs, conversations, and what limits its runs.

What it reproduces of the real 1.14.1 server (captures in tests/fixtures/dify/):
- a run is written to the logs when it starts, with status "running" (81, 95c); a streaming
  run waiting for Dify's worker is not listed until it starts (96c); chatflow runs are never
  listed (90k);
- a stopped run ends its stream "stopped" but keeps reading back "running" in the run detail
  and the logs, forever (63, 97c-97f);
- a client that hangs up does not stop its run: it runs on to the end (93);
- `max_active_requests`: a streaming call enters the limiter twice and leaves it once it has
  started, a blocking call holds its place until it returns (91, 92);
- `worker_slots`: streaming runs are executed by Dify's Celery worker, one at a time by
  default; a run waiting for it gets one ping and then nothing, not even keep-alive pings,
  until it starts (96b).
"""

from __future__ import annotations

import copy
import json
import threading
import time
import uuid
from typing import Any

from tests.fakes.base import FakeServer
from tests.fakes.dify.behaviours import Behaviour, cut_after_started, gateway_error, raw_response
from tests.fakes.dify.forms import (
    BAD_GATEWAY,
    DEFAULT_CHAT_INPUT_FORM,
    DEFAULT_INPUT_FORM,
    default_outputs,
)
from tests.fakes.dify.handler import DifyHandler

CHAT_MODES = ("chat", "agent-chat", "advanced-chat")
KIND_ALIASES = {
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


class FakeDify(FakeServer):
    """A fake Dify API server for one app (see the package docstring)."""

    handler = DifyHandler
    scheme_path = "/v1"

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
        ssl_context=None,
        description: str = "Start -> End echo",
        outputs=None,
        max_active_requests: int = 0,
        worker_slots: int = 0,
        close_delay: float = 1.0,
    ) -> None:
        super().__init__(host=host, port=port, ssl_context=ssl_context)
        self.api_key = api_key
        self.app_mode = app_mode
        if input_form is None:
            input_form = DEFAULT_CHAT_INPUT_FORM if app_mode in CHAT_MODES else DEFAULT_INPUT_FORM
        self.input_form = copy.deepcopy(input_form)
        self.outputs_of = outputs or default_outputs(self.input_form)
        self.name = name
        self.description = description
        self.ping_interval = ping_interval
        self.stall_seconds = stall_seconds
        self.published = published
        self.api_enabled = api_enabled
        self.max_active_requests = max_active_requests
        self.worker_slots = worker_slots
        # Real Dify ends a stream about 1 s after workflow_finished (02, 86b, 88, 94b).
        self.close_delay = close_delay
        self.app_id = str(uuid.uuid4())
        self.workflow_id = str(uuid.uuid4())
        self._runs: dict[str, dict] = {}
        self._task_events: dict[str, threading.Event] = {}
        self._active: dict[str, int] = {}  # request id -> places held in the limiter
        self._worker = threading.Semaphore(worker_slots) if worker_slots else None
        self.conversations: dict[str, dict] = {}
        self.messages: list[dict] = []
        # What an unscripted workflow run does (standalone --node-seconds, benchmarks).
        self.default_run: Behaviour | None = None
        # --control: the /_fake/ paths, and a window of gateway faults (the fault harness).
        self.control = False
        self.fault_until = 0.0
        self._faults = 0

    def on_stop(self) -> None:
        with self.lock:
            for event in self._task_events.values():
                event.set()

    # -- the test API ---------------------------------------------------------------------

    def script(self, path_kind: str, *responses: Behaviour) -> None:
        """Queue behaviours for the next requests of ``path_kind`` (run, chat, completion,
        info, parameters, get_run, logs, stop), consumed in order."""
        kind = KIND_ALIASES.get(path_kind)
        if kind is None:
            known = sorted(set(KIND_ALIASES.values()))
            raise ValueError(f"unknown path kind {path_kind!r}; use one of {known}")
        for response in responses:
            if not isinstance(response, Behaviour):
                raise TypeError(f"expected a Behaviour, got {response!r}")
        self.queue(kind, *responses)

    @property
    def runs(self) -> dict[str, dict]:
        """workflow_run_id -> what GET /workflows/run/{id} answers."""
        with self.lock:
            return {run_id: self.detail_of(run) for run_id, run in self._runs.items()}

    def wait_for_run_status(self, run_id: str, status: str, timeout: float = 5.0) -> bool:
        return self.wait_until(lambda: self.runs.get(run_id, {}).get("status") == status, timeout)

    def stats(self) -> dict:
        """Run POSTs and runs per Dify user: the fault harness counts duplicates with it."""
        posts: dict[str, int] = {}
        for request in self.requests:
            if request.method == "POST" and request.path.endswith("/workflows/run"):
                user = str((request.json or {}).get("user"))
                posts[user] = posts.get(user, 0) + 1
        runs: dict[str, int] = {}
        with self.lock:
            for run in self._runs.values():
                runs[run["user"]] = runs.get(run["user"], 0) + 1
        return {"run_posts": posts, "runs": runs}

    def fault_behaviour(self) -> Behaviour | None:
        """Inside a fault window, run POSTs meet a proxy's 504 (Dify still runs it), a 502
        (Dify never sees it) or a stream cut after the start, in turn."""
        if time.monotonic() >= self.fault_until:
            return None
        with self.lock:
            self._faults += 1
            turn = self._faults % 3
        node = (self.default_run.params.get("node_seconds") if self.default_run else 0) or 0
        if turn == 0:
            return gateway_error(504, run_seconds=node)
        if turn == 1:
            return raw_response(502, BAD_GATEWAY, content_type="text/html")
        return cut_after_started(finish_after=node)

    # -- runs -----------------------------------------------------------------------------

    def end_user_id(self, user: str) -> str:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"fake-dify-end-user:{user}"))

    def create_run(self, user: str, cleaned: dict, *, task_id: str | None = None) -> dict:
        """A run as Dify writes it when it starts (its log row too, for a workflow)."""
        run_id, created = str(uuid.uuid4()), time.time()
        sys_vars: dict[str, Any] = {"sys.files": [], "sys.user_id": user}
        if self.app_mode == "advanced-chat":
            sys_vars = {"sys.query": cleaned.pop("sys.query", ""), **sys_vars}
            sys_vars["sys.dialogue_count"] = cleaned.pop("sys.dialogue_count", 1)
        sys_vars["sys.app_id"] = self.app_id
        started_inputs = {**cleaned, **sys_vars}
        started_inputs.update({"sys.workflow_id": self.workflow_id, "sys.workflow_run_id": run_id})
        detail_inputs = dict(cleaned)
        detail_inputs.update(sys_vars)
        if self.app_mode == "workflow":
            # The run detail has sys.timestamp; workflow_started's inputs leave it out (80, 94c).
            detail_inputs["sys.timestamp"] = int(created)
        detail_inputs.update({"sys.workflow_id": self.workflow_id, "sys.workflow_run_id": run_id})
        run = {
            "id": run_id,
            "task_id": task_id or str(uuid.uuid4()),
            "user": user,
            "created": created,
            "created_at": int(created),
            "started_inputs": started_inputs,
            "detail_inputs": json.dumps(detail_inputs),
            "status": "running",
            "outputs": {},
            "error": None,
            "steps": 0,
            "tokens": 0,
            "finished_at": None,
            "elapsed": 0.0,
            "log_id": str(uuid.uuid4()),
            "listed": self.app_mode == "workflow",
        }
        with self.lock:
            self._runs[run_id] = run
            self._task_events.setdefault(run["task_id"], threading.Event())
        return run

    def finish_run(
        self, run: dict, status: str, outputs: dict | None, error: str | None, steps: int, tokens=0
    ) -> dict:
        """The run ends (first end wins). Returns what workflow_finished says of it."""
        now = time.time()
        with self.lock:
            if run["status"] == "running" and not run.get("stopped"):
                run.update(
                    status=status,
                    outputs=dict(outputs) if outputs else {},
                    error=error,
                    steps=steps,
                    tokens=tokens,
                    finished_at=int(now),
                    elapsed=round(now - run["created"], 6),
                )
        return {
            "status": status,
            "outputs": outputs if outputs is not None else {},
            "error": error,
            "elapsed_time": round(now - run["created"], 6),
            "total_tokens": tokens,
            "total_steps": steps,
            "created_at": run["created_at"],
            "finished_at": int(now),
        }

    def stopped_view(self, run: dict, steps: int) -> dict:
        """What the stream says of a stopped run; the stored run stays "running" (63, 97e)."""
        now = time.time()
        with self.lock:
            run["stopped"] = True
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

    def finish_later(self, run: dict, seconds: float, outputs: dict, *, steps: int) -> None:
        self.later(seconds, self.finish_run, run, "succeeded", outputs, None, steps, 0)

    def detail_of(self, run: dict) -> dict:
        return {
            "id": run["id"],
            "workflow_id": self.workflow_id,
            "status": run["status"],
            "inputs": run["detail_inputs"],
            "outputs": run["outputs"],
            "error": run["error"],
            "total_steps": run["steps"],
            "total_tokens": run["tokens"],
            "created_at": run["created_at"],
            "finished_at": run["finished_at"],
            "elapsed_time": run["elapsed"],
        }

    def run_detail(self, run_id: str) -> dict | None:
        with self.lock:
            run = self._runs.get(run_id)
            return self.detail_of(run) if run is not None else None

    def log_rows(self) -> list[dict]:
        with self.lock:
            return [dict(run) for run in self._runs.values() if run["listed"]]

    def list_run(self, run: dict) -> None:
        with self.lock:
            run["listed"] = self.app_mode == "workflow"

    # -- stopping -------------------------------------------------------------------------

    def task_event(self, task_id: str) -> threading.Event:
        with self.lock:
            return self._task_events.setdefault(task_id, threading.Event())

    def request_stop(self, task_id: str) -> None:
        with self.lock:
            event = self._task_events.get(task_id)
        if event is not None:
            event.set()

    # -- what limits runs -----------------------------------------------------------------

    def enter_limiter(self, request_id: str, *, streaming: bool) -> bool:
        """False when the app is at max_active_requests (a streaming call counts twice)."""
        if not self.max_active_requests:
            return True
        need = 2 if streaming else 1
        with self.lock:
            if sum(self._active.values()) + need > self.max_active_requests:
                return False
            self._active[request_id] = need
        return True

    def leave_limiter(self, request_id: str) -> None:
        with self.lock:
            self._active.pop(request_id, None)

    def worker(self) -> threading.Semaphore | None:
        return self._worker
