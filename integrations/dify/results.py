"""What the Dify client hands back: plain values read from Dify's JSON. Pure.

Outputs are taken only from where Dify keeps their JSON types: `workflow_finished`, the
blocking answer and the run detail. `text_chunk` events render a number as "7.5", a boolean
as "True" and an object as indented text (capture 86b), so they are never used for outputs.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .inputs import InputField

__all__ = ["AppInfo", "AppParameters", "LogEntry", "RunResult"]


@dataclass
class AppInfo:
    name: str
    mode: str


@dataclass
class AppParameters:
    input_form: list[InputField]


@dataclass
class RunResult:
    task_id: str | None
    workflow_run_id: str | None
    status: str  # succeeded | failed | stopped | partial-succeeded | paused | running
    outputs: dict
    error: str | None
    elapsed_time: float | None
    total_tokens: int | None
    # The node that failed, as the stream named it: "'Closed port HTTP' (http-request)".
    failed_node: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.status in ("succeeded", "partial-succeeded")


@dataclass
class LogEntry:
    workflow_run_id: str
    status: str
    created_at: datetime  # aware, UTC
    session_id: str | None  # the `user` the run was started with


@dataclass
class NodeFailure:
    title: str
    node_type: str
    error: str

    def describe(self) -> str:
        return f"'{self.title}' ({self.node_type})" if self.node_type else f"'{self.title}'"


# --- coercing Dify's JSON --------------------------------------------------------------------


def as_float(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def as_int(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def as_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def as_outputs(value: Any) -> dict:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return dict(value) if isinstance(value, Mapping) else {}


def as_datetime(value: Any) -> datetime | None:
    """Dify sends Unix seconds in run answers and ISO text in some list endpoints."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, tz=UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def workflow_result(
    data: Mapping[str, Any], task_id: str | None, workflow_run_id: str | None
) -> RunResult:
    """A RunResult from a workflow's `data` object (blocking answer, workflow_finished, run
    detail): they share the field names."""
    return RunResult(
        task_id=task_id,
        workflow_run_id=workflow_run_id or as_str(data.get("id")),
        status=as_str(data.get("status")) or "failed",
        outputs=as_outputs(data.get("outputs")),
        error=data.get("error") or None,
        elapsed_time=as_float(data.get("elapsed_time")),
        total_tokens=as_int(data.get("total_tokens")),
    )


def usage_of(message: Mapping[str, Any] | None) -> tuple[int | None, float | None]:
    """(total_tokens, latency) from a chat answer's or message_end's `metadata.usage`."""
    metadata = (message or {}).get("metadata") or {}
    usage = metadata.get("usage") if isinstance(metadata, Mapping) else None
    if not isinstance(usage, Mapping):
        return None, None
    return as_int(usage.get("total_tokens")), as_float(usage.get("latency"))


def chat_answer_result(data: Mapping[str, Any]) -> RunResult:
    """A blocking chat answer. It carries no workflow_run_id, even for chatflows (87c)."""
    tokens, latency = usage_of(data)
    answer = data.get("answer")
    return RunResult(
        task_id=as_str(data.get("task_id")),
        workflow_run_id=as_str(data.get("workflow_run_id")),
        status="succeeded",
        outputs={"answer": answer if isinstance(answer, str) else ""},
        error=None,
        elapsed_time=latency,
        total_tokens=tokens,
    )


@dataclass
class ChatParts:
    """A chat stream so far: the answer's pieces and the closing events."""

    answer: list[str] = field(default_factory=list)
    message_end: dict | None = None
    workflow_finished: dict | None = None

    def result(self, task_id: str | None, workflow_run_id: str | None) -> RunResult:
        answer = "".join(self.answer)
        tokens, latency = usage_of(self.message_end)
        finished = self.workflow_finished
        if finished is None:
            return RunResult(
                task_id=task_id,
                workflow_run_id=workflow_run_id,
                status="succeeded",
                outputs={"answer": answer},
                error=None,
                elapsed_time=latency,
                total_tokens=tokens,
            )
        outputs = as_outputs(finished.get("outputs"))
        outputs.setdefault("answer", answer)
        return RunResult(
            task_id=task_id,
            workflow_run_id=workflow_run_id or as_str(finished.get("id")),
            status=as_str(finished.get("status")) or "failed",
            outputs=outputs,
            error=finished.get("error") or None,
            elapsed_time=as_float(finished.get("elapsed_time")) or latency,
            # message_end's usage has the tokens (and prices) of a chat turn (88).
            total_tokens=tokens if tokens is not None else as_int(finished.get("total_tokens")),
        )
