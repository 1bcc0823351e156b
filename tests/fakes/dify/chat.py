"""The fake Dify's chat endpoints: chat-messages (chat, agent and chatflow apps), completion
messages, and the conversations and messages lists.

A chatflow (advanced-chat) is the captured echo chatflow: Start -> Answer "You said:
{{#sys.query#}} (turn {{#sys.dialogue_count#}})", streamed one template piece per message
event (88), with message_end before workflow_finished, and its runs readable by id but not
listed in the logs (90i, 90k). Plain chat and agent apps answer "Echo: <query>" word by word.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from tests.fakes.dify.behaviours import Behaviour, success
from tests.fakes.dify.forms import MSG_MODE, validate
from tests.fakes.dify.interrupts import ClientGone
from tests.fakes.dify.workflow import pydantic_error

NIL_UUID = "00000000-0000-0000-0000-000000000000"
ROUTES_HINT = (
    " You have requested this URI [/v1/chat-messages] but did you mean /v1/chat-messages or "
    "/api/chat-messages or /v1/chat-messages/<string:task_id>/stop ?"
)


def usage(total_tokens: int) -> dict:
    """message_end's metadata.usage as Dify 1.14.1 writes it (88), prices as strings."""
    return {
        "prompt_tokens": min(total_tokens, 5),
        "prompt_unit_price": "0.0",
        "prompt_price_unit": "0.0",
        "prompt_price": "0.0",
        "completion_tokens": max(0, total_tokens - 5),
        "completion_unit_price": "0.0",
        "completion_price_unit": "0.0",
        "completion_price": "0.0",
        "total_tokens": total_tokens,
        "total_price": "0.0",
        "currency": "USD",
        "latency": 0.0,
        "time_to_first_token": 0.031,
        "time_to_generate": 0.0,
    }


class ChatEndpoints:
    """Mixed into DifyHandler."""

    def h_chat(self, body: dict, query: dict, args: dict, b: Behaviour | None) -> None:
        if self.fake.app_mode not in ("chat", "agent-chat", "advanced-chat"):
            return self.error(400, "not_chat_app", MSG_MODE)
        return self.message_app(body, b, chat=True)

    def h_completion(self, body: dict, query: dict, args: dict, b: Behaviour | None) -> None:
        if self.fake.app_mode != "completion":
            return self.error(400, "not_completion_app", MSG_MODE)
        return self.message_app(body, b, chat=False)

    def message_app(self, body: dict, b: Behaviour | None, *, chat: bool) -> None:  # noqa: C901
        fake = self.fake
        problem = self.check_run_body(
            body, "ChatRequestPayload" if chat else "CompletionRequestPayload"
        )
        if problem:
            return self.error(400, "invalid_param", problem)
        if chat and "query" not in body:
            return self.error(
                400,
                "invalid_param",
                pydantic_error("ChatRequestPayload", "query", "Field required", "missing", body),
            )
        user_query = body.get("query")
        if chat and (not isinstance(user_query, str) or not user_query):
            return self.error(400, "invalid_param", "query is required")
        streaming = body.get("response_mode") == "streaming"
        if fake.app_mode == "agent-chat" and not streaming:
            return self.error(400, "invalid_param", "Agent Chat App does not support blocking mode")
        conversation_id = body.get("conversation_id") or None
        if chat and conversation_id and conversation_id not in fake.conversations:
            return self.error(404, "not_found", "Conversation Not Exists." + ROUTES_HINT)
        if fake.app_mode == "advanced-chat" and not fake.published:
            return self.error(400, "invalid_param", "Workflow not published")
        cleaned, bad = validate(fake.input_form, body["inputs"])
        if bad:
            return (
                self.stall(fake.stall_seconds)
                if streaming and fake.app_mode == "advanced-chat"
                else self.error(*bad)
            )
        b = b or success()
        p = b.params
        if b.kind == "stream_error" and not streaming:
            return self.error(p["status"], p["code"], p["message"])
        if p.get("delay"):
            fake.shutting_down.wait(p["delay"])
        turn = (
            self.remember_turn(body["user"], conversation_id, user_query, cleaned) if chat else None
        )
        pieces = self.answer_pieces(p, user_query if chat else cleaned.get("query"), turn)
        answer = "".join(text for text, _ in pieces)
        msg = {
            "task_id": str(uuid.uuid4()),
            "message_id": str(uuid.uuid4()),
            "conversation_id": turn["conversation_id"] if turn else None,
            "created_at": int(time.time()),
            "mode": fake.app_mode if chat else "completion",
        }
        run = None
        if fake.app_mode == "advanced-chat":
            inputs = {**cleaned, "sys.query": user_query, "sys.dialogue_count": turn["number"]}
            run = fake.create_run(body["user"], inputs, task_id=msg["task_id"])
        tokens = (
            p.get("total_tokens", 0)
            if fake.app_mode == "advanced-chat"
            else (p.get("total_tokens") or 5 + len(answer.split()))
        )
        if turn is not None:
            self.remember_message(turn, msg, user_query, answer, cleaned)
        if not streaming:
            return self.blocking_answer(msg, run, answer, tokens)
        try:
            return self.message_stream(msg, run, b, pieces, tokens, cleaned)
        except ClientGone:
            if run is not None:
                fake.finish_run(run, "succeeded", {"answer": answer, "files": []}, None, 2, tokens)
            raise

    def answer_pieces(self, p: dict, source: Any, turn: dict | None) -> list[tuple[str, list]]:
        """(text, from_variable_selector) of each streamed piece of the answer."""
        if p.get("answer") is not None:
            words = str(p["answer"]).split(" ")
            return [(w if i == 0 else " " + w, ["answer", "answer"]) for i, w in enumerate(words)]
        if self.fake.app_mode == "advanced-chat":
            number = str(turn["number"] if turn else 1)
            return [
                ("You said: ", ["answer", "answer"]),
                (str(source), ["sys", "query"]),
                (" (turn ", ["answer", "answer"]),
                (number, ["sys", "dialogue_count"]),
                (")", ["answer", "answer"]),
            ]
        words = f"Echo: {source}".split(" ")
        return [(w if i == 0 else " " + w, ["answer", "answer"]) for i, w in enumerate(words)]

    def remember_turn(self, user: str, conversation_id: str | None, query: str, inputs: dict):
        fake = self.fake
        now = int(time.time())
        with fake.lock:
            if conversation_id is None:
                conversation_id = str(uuid.uuid4())
                # The name is the first query: auto-naming needs an LLM (90b).
                fake.conversations[conversation_id] = {
                    "id": conversation_id,
                    "name": query,
                    "inputs": inputs,
                    "status": "normal",
                    "introduction": "",
                    "created_at": now,
                    "updated_at": now,
                    "user": user,
                    "turns": 0,
                }
            conversation = fake.conversations[conversation_id]
            conversation["turns"] += 1
            conversation["updated_at"] = now
            conversation["updated"] = time.monotonic()
            return {"conversation_id": conversation_id, "number": conversation["turns"]}

    def remember_message(
        self, turn: dict, msg: dict, query: str, answer: str, inputs: dict
    ) -> None:
        with self.fake.lock:
            self.fake.messages.append(
                {
                    "id": msg["message_id"],
                    "conversation_id": turn["conversation_id"],
                    "parent_message_id": NIL_UUID,
                    "inputs": inputs,
                    "query": query,
                    "answer": answer,
                    "feedback": None,
                    "retriever_resources": [],
                    "created_at": msg["created_at"],
                    "agent_thoughts": [],
                    "message_files": [],
                    "status": "normal",
                    "error": None,
                    "extra_contents": [],
                }
            )

    def blocking_answer(self, msg: dict, run: dict | None, answer: str, tokens: int) -> None:
        if run is not None:
            self.fake.finish_run(run, "succeeded", {"answer": answer, "files": []}, None, 2, tokens)
        reply: dict[str, Any] = {
            "event": "message",
            "task_id": msg["task_id"],
            "id": msg["message_id"],
            "message_id": msg["message_id"],
        }
        if msg["conversation_id"] is not None:
            reply["conversation_id"] = msg["conversation_id"]
        # No workflow_run_id, even for a chatflow (87c).
        reply.update(
            mode=msg["mode"],
            answer=answer,
            metadata={"annotation_reply": None, "retriever_resources": [], "usage": usage(tokens)},
            created_at=msg["created_at"],
        )
        self.send_run_json(reply)

    def message_stream(self, msg, run, b: Behaviour, pieces, tokens: int, cleaned: dict) -> None:  # noqa: C901
        fake, p = self.fake, b.params
        top = {
            "conversation_id": msg["conversation_id"],
            "message_id": msg["message_id"],
            "created_at": msg["created_at"],
            "task_id": msg["task_id"],
        }
        if msg["conversation_id"] is None:
            del top["conversation_id"]

        def send(event: str, **fields: Any) -> None:
            obj = {"event": event, **top}
            if run is not None and event not in (
                "message",
                "message_end",
                "agent_message",
                "agent_thought",
            ):
                obj["workflow_run_id"] = run["id"]
            obj.update(fields)
            self.event(obj)

        answer = "".join(text for text, _ in pieces)
        self.start_stream()
        self.ping()
        if run is not None:
            send(
                "workflow_started",
                data={
                    "id": run["id"],
                    "workflow_id": fake.workflow_id,
                    "inputs": run["started_inputs"],
                    "created_at": run["created_at"],
                    "reason": "initial",
                },
            )
            start = self.node("1700000000201", "start", "Start")
            send("node_started", data=self.started_data(start))
        if b.kind == "cut":
            send(
                "message",
                id=msg["message_id"],
                answer=answer[:1],
                from_variable_selector=["answer", "answer"],
            )
            if run is not None:
                fake.finish_later(run, p["finish_after"], {"answer": answer, "files": []}, steps=2)
            return self.abort()
        if b.kind == "stream_error":
            if run is not None:
                fake.finish_run(run, "failed", None, p["message"], 1)
            send("error", status=p["status"], code=p["code"], message=p["message"])
            return self.end_stream(after_finish=False)
        if (
            p.get("node_seconds")
            and self.wait(p["node_seconds"], p.get("ping_interval"), msg["task_id"]) != "ok"
        ):
            return self.end_stream(after_finish=False)
        if fake.app_mode == "agent-chat":
            send(
                "agent_thought",
                id=str(uuid.uuid4()),
                position=1,
                thought="",
                observation="",
                tool="",
                tool_input="",
                message_files=[],
            )
        for text, selector in pieces:
            if fake.app_mode == "agent-chat":
                send("agent_message", id=msg["message_id"], answer=text)
            else:
                send("message", id=msg["message_id"], answer=text, from_variable_selector=selector)
        end_fields = {
            "id": msg["message_id"],
            "metadata": {
                "annotation_reply": None,
                "retriever_resources": [],
                "usage": usage(tokens),
            },
            "files": [],
        }
        if run is None:
            send("message_end", **end_fields)
            return self.end_stream()
        send("node_finished", data=self.finished_data(start, {}, {}))
        node = self.node("answer", "answer", "Answer")
        send("node_started", data=self.started_data(node))
        outputs = {"answer": answer, "files": []}
        send("node_finished", data=self.finished_data(node, {}, outputs))
        data = fake.finish_run(run, "succeeded", outputs, None, 2, tokens)
        finished = {
            "id": run["id"],
            "workflow_id": fake.workflow_id,
            "status": "succeeded",
            "outputs": outputs,
            "error": None,
            "elapsed_time": data["elapsed_time"],
            "total_tokens": tokens,
            "total_steps": 2,
            "created_by": {"id": fake.end_user_id(run["user"]), "user": run["user"]},
            "created_at": data["created_at"],
            "finished_at": data["finished_at"],
            "exceptions_count": 0,
            "files": [],
        }
        if p.get("finish_order") == "workflow_finished_first":
            send("workflow_finished", data=finished)
            send("message_end", **end_fields)
        else:
            send("message_end", **end_fields)
            send("workflow_finished", data=finished)
        return self.end_stream()

    def started_data(self, node: dict) -> dict:
        return {
            **node,
            "inputs": None,
            "inputs_truncated": False,
            "created_at": int(time.time()),
            "extras": {},
            "iteration_id": None,
            "loop_id": None,
            "agent_strategy": None,
        }

    def finished_data(self, node: dict, inputs: dict, outputs: dict) -> dict:
        now = int(time.time())
        return {
            **node,
            "inputs": inputs,
            "inputs_truncated": False,
            "process_data": {},
            "process_data_truncated": False,
            "outputs": outputs,
            "outputs_truncated": False,
            "status": "succeeded",
            "error": None,
            "elapsed_time": 0.0001,
            "execution_metadata": None,
            "created_at": now,
            "finished_at": now,
            "files": [],
            "iteration_id": None,
            "loop_id": None,
        }

    # -- conversations and messages -------------------------------------------------------

    def h_messages(self, body: dict, query: dict, args: dict, b: Behaviour | None) -> None:
        if not query.get("conversation_id"):
            return self.error(
                400,
                "invalid_param",
                pydantic_error(
                    "MessageListQuery", "conversation_id", "Field required", "missing", dict(query)
                ),
            )
        with self.fake.lock:
            rows = [
                m for m in self.fake.messages if m["conversation_id"] == query["conversation_id"]
            ]
        limit = int(query.get("limit", 20))
        return self.send_json(
            200, {"limit": limit, "has_more": len(rows) > limit, "data": rows[:limit]}
        )

    def h_conversations(self, body: dict, query: dict, args: dict, b: Behaviour | None) -> None:
        user = query.get("user")
        with self.fake.lock:
            rows = [c for c in self.fake.conversations.values() if c["user"] == user]
        rows.sort(key=lambda c: c["updated"], reverse=True)  # newest updated first (90b)
        limit = int(query.get("limit", 20))
        shown = [
            {
                k: c[k]
                for k in (
                    "id",
                    "name",
                    "inputs",
                    "status",
                    "introduction",
                    "created_at",
                    "updated_at",
                )
            }
            for c in rows[:limit]
        ]
        return self.send_json(200, {"limit": limit, "has_more": len(rows) > limit, "data": shown})
