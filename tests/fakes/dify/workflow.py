"""The fake Dify's workflow endpoints: run (blocking and streaming), run detail, stop, logs."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

from tests.fakes.dify.behaviours import Behaviour, concurrency_message, success
from tests.fakes.dify.forms import (
    END_NODE_ID,
    FAIL_NODE_ID,
    MSG_MODE,
    SLOW_NODE_ID,
    START_NODE_ID,
    UUID_RE,
    chunk_sources,
    chunk_text,
    validate,
)
from tests.fakes.dify.interrupts import ClientGone, StopRequested

LOG_STATUSES = ("succeeded", "failed", "stopped")
PUBLISHED_VERSION = "2026-12-02 05:15:22.163224"


def pydantic_error(model: str, field: str, message: str, kind: str, value) -> str:
    """Dify passes pydantic's message through verbatim (07, 15, 81c, 94g, 90j)."""
    shown = repr(value)
    if len(shown) > 50:  # pydantic-core cuts long input reprs in the middle
        shown = shown[:25] + "..." + shown[-24:]
    return (
        f"1 validation error for {model}\n{field}\n  {message} [type={kind}, input_value="
        f"{shown}, input_type={type(value).__name__}]\n    For further information visit "
        f"https://errors.pydantic.dev/2.12/v/{kind}"
    )


class WorkflowEndpoints:
    """Mixed into DifyHandler (which provides send_json, start_stream, wait, ...)."""

    # -- POST /workflows/run --------------------------------------------------------------

    def h_run(self, body: dict, query: dict, args: dict, b: Behaviour | None) -> None:
        fake = self.fake
        if fake.app_mode != "workflow":
            return self.error(400, "not_workflow_app", MSG_MODE)
        problem = self.check_run_body(body, "WorkflowRunPayload")
        if problem:
            return self.error(400, "invalid_param", problem)
        if not fake.published:
            return self.error(400, "invalid_param", "Workflow not published")
        streaming = body.get("response_mode") == "streaming"
        request_id = self.new_request_id()
        if not fake.enter_limiter(request_id, streaming=streaming):
            return self.error(
                400, "invalid_param", concurrency_message(fake.app_id, fake.max_active_requests)
            )
        try:
            cleaned, bad = validate(fake.input_form, body["inputs"])
            if bad:
                # Blocking: Dify's 400. Streaming: the check runs in the Celery task, after the
                # answer started: one ping, then silence, and no run ever exists (05, 83).
                return self.stall(fake.stall_seconds) if streaming else self.error(*bad)
            b = b or fake.fault_behaviour() or fake.default_run or success()
            if b.kind in ("gateway", "raw"):
                self.generic(b, "run", body)
                return None
            p = b.params
            if b.kind == "stream_error" and not streaming:
                return self.error(p["status"], p["code"], p["message"])
            if p.get("delay"):
                fake.shutting_down.wait(p["delay"])
            if streaming:
                fake.leave_limiter(request_id)  # a streaming run holds no place while it runs
                return self.workflow_stream(body["user"], cleaned, b)
            run = fake.create_run(body["user"], cleaned)
            return self.workflow_blocking(run, cleaned, b)
        finally:
            fake.leave_limiter(request_id)

    def check_run_body(self, body: dict, model: str) -> str | None:
        if "inputs" not in body or not isinstance(body.get("inputs"), dict):
            return pydantic_error(model, "inputs", "Field required", "missing", body)
        mode = body.get("response_mode")
        if mode is not None and mode not in ("streaming", "blocking"):
            return pydantic_error(
                model,
                "response_mode",
                "Input should be 'blocking' or 'streaming'",
                "literal_error",
                mode,
            )
        return None

    def outputs_for(self, b: Behaviour, cleaned: dict) -> dict:
        outputs = b.params.get("outputs")
        if outputs is not None:
            return dict(outputs)
        result = self.fake.outputs_of(cleaned)
        if b.params.get("http_body") is not None:
            result["http_body"] = b.params["http_body"]
        return result

    def workflow_blocking(self, run: dict, cleaned: dict, b: Behaviour) -> None:
        fake, p = self.fake, b.params
        outputs = self.outputs_for(b, cleaned)
        if b.kind == "cut":
            fake.finish_later(run, p["finish_after"], outputs, steps=2)
            return self.abort()
        if b.kind == "node_failed":
            data = fake.finish_run(run, "failed", {}, p["error"], 2)
        elif b.kind == "paused":
            data = fake.finish_run(run, "paused", {}, None, 1)
        else:
            outcome, steps = "ok", 2
            if p.get("node_seconds"):
                steps = 3
                try:
                    outcome = self.wait(p["node_seconds"], 0, run["task_id"])
                except Exception:
                    fake.finish_later(run, 0, outputs, steps=steps)  # it runs on without us
                    raise
            if outcome == "stopped":
                data = fake.stopped_view(run, 1)
            else:
                data = fake.finish_run(
                    run, "succeeded", outputs, None, steps, p.get("total_tokens", 0)
                )
        self.send_run_json(
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

    # -- the stream -----------------------------------------------------------------------

    def wf_event(self, run: dict, event: str, data: dict) -> None:
        gap = getattr(self, "_gap", 0.0)
        paused = gap and event != "workflow_started"
        if paused and self.wait(gap, getattr(self, "_gap_ping", None), run["task_id"]) == "stopped":
            raise StopRequested()
        self.event(
            {"event": event, "workflow_run_id": run["id"], "task_id": run["task_id"], "data": data}
        )

    def node(self, node_id: str, node_type: str, title: str) -> dict:
        return {
            "id": str(uuid.uuid4()),
            "node_id": node_id,
            "node_type": node_type,
            "title": title,
            "index": 1,
            "predecessor_node_id": None,
        }

    def node_started(self, run: dict, node: dict) -> None:
        data = dict(node)
        data.update(
            inputs=None,
            inputs_truncated=False,
            created_at=int(time.time()),
            extras={},
            iteration_id=None,
            loop_id=None,
            agent_strategy=None,
        )
        self.wf_event(run, "node_started", data)

    def node_finished(
        self, run, node, inputs, outputs, status="succeeded", error=None, process=None
    ):
        now = int(time.time())
        data = dict(node)
        data.update(
            inputs=inputs,
            inputs_truncated=False,
            process_data=process or {},
            process_data_truncated=False,
            outputs=outputs,
            outputs_truncated=False,
            status=status,
            error=error,
            elapsed_time=0.0001,
            execution_metadata=None,
            created_at=now,
            finished_at=now,
            files=[],
            iteration_id=None,
            loop_id=None,
        )
        self.wf_event(run, "node_finished", data)

    def workflow_finished(self, run: dict, data: dict, *, exceptions: int = 0) -> None:
        fake = self.fake
        self.wf_event(
            run,
            "workflow_finished",
            {
                "id": run["id"],
                "workflow_id": fake.workflow_id,
                "status": data["status"],
                "outputs": data["outputs"],
                "error": data["error"],
                "elapsed_time": data["elapsed_time"],
                "total_tokens": data["total_tokens"],
                "total_steps": data["total_steps"],
                "created_by": {"id": fake.end_user_id(run["user"]), "user": run["user"]},
                "created_at": data["created_at"],
                "finished_at": data["finished_at"],
                "exceptions_count": exceptions,
                "files": [],
            },
        )

    def text_chunks(self, run: dict, pieces: list[tuple[str, object]], *, trailing: bool):
        """The End node's outputs as text, separated by "\n" chunks (02, 80, 86b, 96b)."""
        for index, (source, value) in enumerate(pieces):
            if index:
                self.separator(run)
            selector = [START_NODE_ID, source]
            self.wf_event(
                run, "text_chunk", {"text": chunk_text(value), "from_variable_selector": selector}
            )
        if trailing and pieces:
            self.separator(run)

    def chunk_pieces(self, b: Behaviour, cleaned: dict) -> list[tuple[str, object]]:
        if b.params.get("outputs") is not None:
            return [(k, v) for k, v in b.params["outputs"].items()]
        return [(name, cleaned.get(name)) for name in chunk_sources(self.fake.input_form)]

    def separator(self, run: dict) -> None:
        self.wf_event(
            run, "text_chunk", {"text": "\n", "from_variable_selector": [END_NODE_ID, "answer"]}
        )

    def workflow_stream(self, user: str, cleaned: dict, b: Behaviour) -> None:
        fake, p = self.fake, b.params
        self.start_stream()
        self.ping()
        worker = fake.worker()
        if worker is not None:
            # Queued behind Dify's one Celery worker: silence, not even pings, and not in
            # the logs until it starts (96b, 96c).
            while not worker.acquire(timeout=0.05):
                if fake.shutting_down.is_set():
                    return self.end_stream(after_finish=False)
        try:
            run = fake.create_run(user, cleaned)
            self.run_stream(run, cleaned, b, p)
        finally:
            if worker is not None:
                worker.release()

    def run_stream(self, run: dict, cleaned: dict, b: Behaviour, p: dict) -> None:  # noqa: C901
        fake = self.fake
        outputs = self.outputs_for(b, cleaned)
        task_id, ping_interval = run["task_id"], p.get("ping_interval")
        steps, finished, node_ends = 0, False, 0.0

        def stop_now() -> None:
            nonlocal finished
            finished = True
            self.workflow_finished(run, fake.stopped_view(run, steps))
            self.end_stream()

        self._gap, self._gap_ping = p.get("event_delay") or 0.0, ping_interval
        try:
            delay = p.get("first_event_delay")
            if delay and self.wait(delay, ping_interval, task_id) != "ok":
                return self.end_stream(after_finish=False)
            self.wf_event(
                run,
                "workflow_started",
                {
                    "id": run["id"],
                    "workflow_id": fake.workflow_id,
                    "inputs": run["started_inputs"],
                    "created_at": run["created_at"],
                    "reason": "initial",
                },
            )
            start = self.node(START_NODE_ID, "start", "Start")
            self.node_started(run, start)
            if b.kind == "cut":
                fake.finish_later(run, p["finish_after"], outputs, steps=2)
                finished = True
                return self.abort()
            if b.kind == "node_failed":
                return self.failed_stream(run, cleaned, start, p)
            if b.kind in ("success",):
                trailing = bool(p.get("node_seconds")) and p.get("http_body") is not None
                self.text_chunks(run, self.chunk_pieces(b, cleaned), trailing=trailing)
            self.node_finished(run, start, cleaned, cleaned)
            steps = 1
            if b.kind == "stream_error":
                finished = True
                fake.finish_run(run, "failed", None, p["message"], steps)
                self.event(
                    {
                        "event": "error",
                        "workflow_run_id": run["id"],
                        "status": p["status"],
                        "code": p["code"],
                        "message": p["message"],
                    }
                )
                return self.end_stream(after_finish=False)
            if b.kind == "paused":
                return self.paused_stream(run)
            if p.get("node_seconds"):
                slow = self.node(SLOW_NODE_ID, "http-request", "Slow HTTP")
                self.node_started(run, slow)
                node_ends = time.monotonic() + p["node_seconds"]
                outcome = self.wait(p["node_seconds"], ping_interval, task_id)
                if outcome == "stopped":
                    return stop_now()
                if outcome == "shutdown":
                    return self.end_stream(after_finish=False)
                if p.get("http_body") is not None:
                    self.wf_event(
                        run,
                        "text_chunk",
                        {"text": p["http_body"], "from_variable_selector": [SLOW_NODE_ID, "body"]},
                    )
                self.node_finished(
                    run, slow, {}, {"status_code": 200, "body": p.get("http_body") or ""}
                )
                steps = 2
            if fake.task_event(task_id).is_set():
                return stop_now()
            end = self.node(END_NODE_ID, "end", "End")
            self.node_started(run, end)
            self.node_finished(run, end, outputs, outputs)
            finished = True
            data = fake.finish_run(
                run, "succeeded", outputs, None, steps + 1, p.get("total_tokens", 0)
            )
            self.workflow_finished(run, data)
            self.end_stream()
        except StopRequested:
            self._gap = 0.0
            return stop_now()
        except ClientGone:
            # Dify runs on without its client, to the end of the node (93).
            if not finished and not fake.task_event(task_id).is_set():
                left = max(0.0, node_ends - time.monotonic()) if node_ends else 0.0
                fake.finish_later(run, left, outputs, steps=3)
            raise
        return None

    def failed_stream(self, run: dict, cleaned: dict, start: dict, p: dict) -> None:
        """A node fails (94b): the outputs resolvable before it are already streamed."""
        fake = self.fake
        first = next(iter(cleaned.items()), None)
        if first is not None and first[1] is not None:
            self.wf_event(
                run,
                "text_chunk",
                {"text": chunk_text(first[1]), "from_variable_selector": [START_NODE_ID, first[0]]},
            )
            self.separator(run)
        self.node_finished(run, start, cleaned, cleaned)
        failing = self.node(
            FAIL_NODE_ID, p.get("node_type", "code"), p.get("title", "Failing Code")
        )
        self.node_started(run, failing)
        process = {"request": p["request"]} if p.get("request") else {}
        self.node_finished(run, failing, {}, {}, status="failed", error=p["error"], process=process)
        data = fake.finish_run(run, "failed", {}, p["error"], 2)
        self.workflow_finished(run, data, exceptions=1)
        self.end_stream()

    def paused_stream(self, run: dict) -> None:
        fake = self.fake
        node = self.node("1700000000005", "human-input", "Approve")
        self.node_started(run, node)
        data = fake.finish_run(run, "paused", {}, None, 1)
        self.wf_event(
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
        self.end_stream(after_finish=False)

    # -- reading runs back ----------------------------------------------------------------

    def h_get_run(self, body: dict, query: dict, args: dict, b: Behaviour | None) -> None:
        if self.fake.app_mode not in ("workflow", "advanced-chat"):
            return self.error(400, "not_workflow_app", MSG_MODE)
        run_id = args["run_id"]
        if not UUID_RE.match(run_id):
            return self.send_json(
                500, {"message": "Internal Server Error", "code": "unknown", "status": 500}
            )
        detail = self.fake.run_detail(run_id)
        if detail is None:
            return self.error(404, "not_found", "Workflow run not found.")
        return self.send_json(200, detail)

    def h_stop(self, body: dict, query: dict, args: dict, b: Behaviour | None) -> None:
        # Always a success, for finished and unknown tasks and any user (29, 30, 65, 90c).
        self.fake.request_stop(args["task_id"])
        self.send_json(200, {"result": "success"})

    def h_logs(self, body: dict, query: dict, args: dict, b: Behaviour | None) -> None:
        fake = self.fake
        problem = self.logs_problem(query)
        if problem:
            return self.error(400, "invalid_param", problem)
        page, limit = int(query.get("page", 1)), int(query.get("limit", 20))
        after, before = (
            self.bound(query, "created_at__after"),
            self.bound(query, "created_at__before"),
        )
        user, status = query.get("created_by_end_user_session_id"), query.get("status")
        rows = [
            run
            for run in fake.log_rows()
            if (not user or run["user"] == user)
            and (after is None or run["created_at"] >= after)
            and (before is None or run["created_at"] <= before)
            and (not status or run["status"] == status)
        ]
        rows.sort(key=lambda run: run["created"], reverse=True)
        chosen = rows[(page - 1) * limit : page * limit]
        return self.send_json(
            200,
            {
                "page": page,
                "limit": limit,
                "total": len(rows),
                "has_more": page * limit < len(rows),
                "data": [self.log_row(run) for run in chosen],
            },
        )

    def logs_problem(self, query: dict) -> str | None:
        status = query.get("status")
        if status and status not in LOG_STATUSES:
            return pydantic_error(
                "WorkflowLogQuery",
                "status",
                "Input should be 'succeeded', 'failed' or 'stopped'",
                "literal_error",
                status,
            )
        limit = query.get("limit", "20")
        if not limit.isdigit() or int(limit) < 1:
            return pydantic_error(
                "WorkflowLogQuery",
                "limit",
                "Input should be greater than or equal to 1",
                "greater_than_equal",
                limit,
            )
        if int(limit) > 100:
            return pydantic_error(
                "WorkflowLogQuery",
                "limit",
                "Input should be less than or equal to 100",
                "less_than_equal",
                limit,
            )
        for key in ("created_at__after", "created_at__before"):
            value = query.get(key)
            if value and self.parse_time(value) is None:
                return f"invalid literal for int() with base 10: b'{value[:4]}'"
        return None

    @staticmethod
    def parse_time(value: str) -> float | None:
        try:
            when = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()

    def bound(self, query: dict, key: str) -> float | None:
        return self.parse_time(query[key]) if query.get(key) else None

    def log_row(self, run: dict) -> dict:
        fake = self.fake
        return {
            "id": run["log_id"],
            "workflow_run": {
                "id": run["id"],
                "version": PUBLISHED_VERSION,
                "status": run["status"],
                "triggered_from": "app-run",
                "error": run["error"],
                "elapsed_time": run["elapsed"],
                "total_tokens": run["tokens"],
                "total_steps": run["steps"],
                "created_at": run["created_at"],
                "finished_at": run["finished_at"],
                "exceptions_count": 1 if run["status"] == "failed" else 0,
            },
            "details": None,
            "created_from": "service-api",
            "created_by_role": "end_user",
            "created_by_account": None,
            "created_by_end_user": {
                "id": fake.end_user_id(run["user"]),
                "type": "service-api",
                "is_anonymous": False,
                "session_id": run["user"],
            },
            "created_at": run["created_at"],
        }
