"""Reading a streaming run: Dify's server-sent events into a RunResult.

Dify opens every stream with a bare `event: ping` block, then sends `data: {json}` events,
and keep-alive pings every 10 s while a node runs (capture 67). Pings do not count as data.

Two silences look the same from here (captures 83, 96b): a run whose inputs Dify refused
(one ping, then nothing until Dify closes the stream after 300 s; the run never exists), and
a run queued behind others inside Dify (one ping, then nothing until it starts). So when no
data event has come within `first_event_timeout`, the reader asks `on_silence(waited)`, from a
watcher thread, what to do: it may raise an error (the stream is then closed and the error
raised to the caller), or return how many seconds to wait before asking again. Without an
`on_silence` the silence is an error at once (DifyStreamStalled).

The watcher never touches the stream's socket except to shut it down, and the reader never
changes the socket's timeout after a read has timed out (urllib3 closes the connection then).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from integrations.http import TIMEOUT, Failure, Stream

from .errors import DifyError, DifyOutcomeUnknown, DifyStreamStalled, error_from_payload
from .results import ChatParts, NodeFailure, RunResult, as_int, as_str, workflow_result
from .sse import SSEDecodeError, iter_events, split_lines

OnStarted = Callable[[str | None, str | None], None]
OnSilence = Callable[[float], float]

# Dify closes a stream that received nothing for 300 s (stream_topic_events idle_timeout);
# waiting a little longer lets its close, not our timeout, end the wait.
MAX_SILENCE = 310.0


class Collector:
    """Turns stream events into a RunResult; kind is workflow | chat | completion."""

    def __init__(self, kind: str, on_started: OnStarted | None) -> None:
        self.kind = kind
        self.on_started = on_started
        self.started_reported = False
        self.task_id: str | None = None
        self.workflow_run_id: str | None = None
        self.chat = ChatParts()
        self.saw_workflow = False
        self.failed_node: NodeFailure | None = None

    def report_started(self) -> None:
        if not self.started_reported:
            self.started_reported = True
            if self.on_started is not None:
                self.on_started(self.task_id, self.workflow_run_id)

    def feed(self, event: dict) -> RunResult | None:
        """Take one event; the RunResult once the run has ended."""
        name = event.get("event")
        self.task_id = self.task_id or as_str(event.get("task_id"))
        self.workflow_run_id = self.workflow_run_id or as_str(event.get("workflow_run_id"))
        if name == "error":
            raise error_from_payload(
                as_int(event.get("status")),
                event.get("code"),
                event.get("message"),
                task_id=self.task_id,
                workflow_run_id=self.workflow_run_id,
            )
        if self.task_id and (self.workflow_run_id or self.kind != "workflow"):
            self.report_started()
        if name == "node_finished":
            self._note_node(event.get("data") or {})
            return None
        if self.kind == "workflow":
            return self._workflow_event(name, event)
        return self._chat_event(name, event)

    def _note_node(self, data: dict) -> None:
        if data.get("status") == "failed" and self.failed_node is None:
            self.failed_node = NodeFailure(
                title=str(data.get("title") or data.get("node_id") or "?"),
                node_type=str(data.get("node_type") or ""),
                error=str(data.get("error") or ""),
            )

    def _workflow_event(self, name: Any, event: dict) -> RunResult | None:
        if name not in ("workflow_finished", "workflow_paused"):
            return None
        result = workflow_result(event.get("data") or {}, self.task_id, self.workflow_run_id)
        if name == "workflow_paused":
            result.status = "paused"
        return self._finish(result)

    def _chat_event(self, name: Any, event: dict) -> RunResult | None:
        chat = self.chat
        if name == "workflow_started":
            self.saw_workflow = True
        elif name in ("message", "agent_message"):
            if isinstance(answer := event.get("answer"), str):
                chat.answer.append(answer)
        elif name == "message_replace":
            answer = event.get("answer")
            chat.answer = [answer] if isinstance(answer, str) else []
        elif name == "message_end":
            chat.message_end = event
            # A chatflow sends message_end before workflow_finished (capture 88).
            if not self.saw_workflow or chat.workflow_finished is not None:
                return self._finish(self._chat_result())
        elif name == "workflow_finished":
            chat.workflow_finished = event.get("data") or {}
            status = chat.workflow_finished.get("status")
            if chat.message_end is not None or status not in ("succeeded", "partial-succeeded"):
                return self._finish(self._chat_result())
        elif name == "workflow_paused":
            chat.workflow_finished = dict(event.get("data") or {}, status="paused")
            return self._finish(self._chat_result())
        return None

    def at_eof(self) -> RunResult | None:
        """The server closed the stream: enough to build a result?"""
        if self.kind != "workflow" and (self.chat.message_end or self.chat.workflow_finished):
            return self._finish(self._chat_result())
        return None

    def _finish(self, result: RunResult) -> RunResult:
        self.report_started()
        if self.failed_node is not None and not result.succeeded:
            result.failed_node = self.failed_node.describe()
            result.error = result.error or self.failed_node.error
        return result

    def _chat_result(self) -> RunResult:
        return self.chat.result(self.task_id, self.workflow_run_id)


class _Watcher(threading.Thread):
    """Asks `on_silence` what to do while no data event has arrived."""

    def __init__(
        self, stream: Stream, first_wait: float, on_silence: OnSilence, started: float
    ) -> None:
        super().__init__(name="dify-stream-watcher", daemon=True)
        self.stream = stream
        self.first_wait = first_wait
        self.on_silence = on_silence
        self.started = started
        self.data = threading.Event()
        self.done = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        wait = self.first_wait
        while not self.data.wait(timeout=max(0.0, wait)) and not self.done.is_set():
            try:
                wait = self.on_silence(time.monotonic() - self.started)
            except BaseException as exc:  # noqa: BLE001 - handed to the reader thread
                if self.data.is_set() or self.done.is_set():
                    return
                self.error = exc
                self.stream.abort()
                return


def read_run(
    stream: Stream,
    collector: Collector,
    *,
    first_event_timeout: float,
    read_timeout: float,
    on_silence: OnSilence | None,
    started: float,
) -> RunResult:
    """Read the events of one run until it ends. Raises DifyError subclasses."""
    watcher = _Watcher(stream, first_event_timeout, on_silence or _stalled(started), started)
    watcher.start()
    got_data = False
    try:
        for event in iter_events(split_lines(_chunks(stream, watcher, read_timeout))):
            if not isinstance(event, dict):
                continue
            if not got_data:
                got_data = True
                watcher.data.set()
                stream.set_read_timeout(read_timeout)  # pings keep a live run under it
            result = collector.feed(event)
            if result is not None:
                return result
        if watcher.error is not None:
            raise watcher.error
        result = collector.at_eof()
        if result is not None:
            return result
        if not got_data:
            raise DifyStreamStalled(_closed_message(started), code="stream_closed_empty")
        raise DifyOutcomeUnknown(
            "Dify closed the stream before the run finished (no terminal event); the run may "
            "still be executing: look it up before retrying",
            code="stream_ended",
        )
    except SSEDecodeError as exc:
        raise DifyOutcomeUnknown(
            f"Dify sent a malformed stream event ({exc.reason}); the run may exist",
            code="bad_stream",
        ) from None
    except DifyError as exc:
        exc.task_id = exc.task_id or collector.task_id
        exc.workflow_run_id = exc.workflow_run_id or collector.workflow_run_id
        raise
    finally:
        watcher.done.set()
        watcher.data.set()


def _chunks(stream: Stream, watcher: _Watcher, read_timeout: float) -> Iterator[bytes]:
    def cut(failure: Failure) -> DifyError:
        if watcher.error is not None:
            return watcher.error  # type: ignore[return-value]
        if failure.kind == TIMEOUT:
            if not watcher.data.is_set():
                return DifyStreamStalled(
                    f"Dify sent no data event for {MAX_SILENCE:g} s after the stream opened"
                )
            return DifyOutcomeUnknown(
                f"no data from Dify for {read_timeout:g} s in the middle of the stream (not even "
                "keep-alive pings); the run may still be executing",
                code="timeout",
            )
        return DifyOutcomeUnknown(
            f"connection lost in the middle of the stream ({failure.reason}); the run may "
            "still be executing",
            code="connection_lost",
        )

    yield from stream.chunks(on_failure=cut)


def _stalled(started: float) -> OnSilence:
    def stall(waited: float) -> float:
        raise DifyStreamStalled(
            f"Dify sent no data event within {waited:.1f} s (keep-alive pings do not count). "
            "Dify answers a streaming run with invalid inputs this way: 200, one ping, then "
            "silence (~300 s) without an error event; a run queued behind others inside Dify "
            "waits the same way. Check the inputs against the app's form."
        )

    return stall


def _closed_message(started: float) -> str:
    waited = time.monotonic() - started
    return (
        f"Dify closed the stream after {waited:.1f} s without sending any data event; the run "
        "did not start (Dify answers a streaming run with invalid inputs this way)"
    )
