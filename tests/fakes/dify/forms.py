"""The apps the fake Dify can be, their input forms, and Dify's way of checking inputs.

Each app is one of the apps captured against a real Dify 1.14.1 (the DSL files beside the
captures): the echo workflow, the multi-output workflow, the slow HTTP workflow (a node
that takes a while), and the echo chatflow. Their forms and outputs are the captured ones.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

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
WORKFLOW_PARAMETERS: dict = {
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
HTML_404 = (
    "<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n"
    "<p>The requested URL was not found on the server. If you entered the URL manually please "
    "check your spelling and try again.</p>\n"
)

MSG_500 = (
    "The server encountered an internal error and was unable to complete your request. "
    "Either the server is overloaded or there is an error in the application."
)
MSG_MODE = "Please check if your app mode matches the right API route."
BAD_GATEWAY = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad "
    "Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)

# capture 87: a chatflow reports "" and its feature object where a workflow has null and {}
CHAT_PARAMETERS: dict = {
    **copy.deepcopy(WORKFLOW_PARAMETERS),
    "opening_statement": "",
    "text_to_speech": {"enabled": False, "language": "", "voice": ""},
    "file_upload": {
        "enabled": False,
        "image": {
            "enabled": False,
            "number_limits": 3,
            "transfer_methods": ["local_file", "remote_url"],
        },
    },
}

# capture 85: the multi-output app's form (every input type Dify has)
MULTI_OUTPUT_FORM: list[dict] = [
    {"text-input": {"variable": "title", "label": "title", "type": "text-input",
                    "required": True, "max_length": 64, "options": []}},
    {"paragraph": {"variable": "body", "label": "body", "type": "paragraph", "required": False,
                   "max_length": 2000, "options": []}},
    {"select": {"variable": "priority", "label": "priority", "type": "select",
                "required": True, "options": ["low", "normal", "high"]}},
    {"number": {"variable": "score", "label": "score", "type": "number", "required": False,
                "options": []}},
    {"checkbox": {"variable": "urgent", "label": "urgent", "type": "checkbox",
                  "required": False, "default": False, "options": []}},
    {"json_object": {"variable": "meta", "label": "meta", "type": "json_object",
                     "required": False, "options": []}},
    {"file": {"variable": "attachment", "label": "attachment", "type": "file",
              "required": False, "options": [], "allowed_file_types": ["document", "image"],
              "allowed_file_extensions": [],
              "allowed_file_upload_methods": ["local_file", "remote_url"]}},
]  # fmt: skip

UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-?([0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}$")
START_NODE_ID = "1700000000001"
END_NODE_ID = "1700000000002"
SLOW_NODE_ID = "1700000000003"
FAIL_NODE_ID = "1700000000004"


@dataclass(frozen=True)
class App:
    """One app definition: what /info and /parameters say and what a run outputs."""

    name: str
    description: str
    mode: str
    input_form: list[dict]
    # cleaned inputs -> the End node's outputs, in their order
    outputs: Callable[[dict], dict] = field(default=lambda cleaned: dict(cleaned))


def echo_outputs(cleaned: dict) -> dict:
    """echo-workflow's End node (captures 01, 02)."""
    return {
        "echo": cleaned.get("query"),
        "count": cleaned.get("count"),
        "color": cleaned.get("color"),
    }


def multi_outputs(cleaned: dict) -> dict:
    """multi-output-workflow's End node: 4 outputs of 4 JSON types (86)."""
    return {
        "summary": cleaned.get("title"),
        "score": cleaned.get("score"),
        "meta": cleaned.get("meta"),
        "urgent": cleaned.get("urgent"),
    }


ECHO_WORKFLOW = App(
    "echo-workflow", "Start -> End echo", "workflow", DEFAULT_INPUT_FORM, echo_outputs
)
MULTI_OUTPUT = App(
    "multi-output-workflow",
    "Start (text, paragraph, select, number, checkbox, json_object, file) -> End (4 outputs)",
    "workflow",
    MULTI_OUTPUT_FORM,
    multi_outputs,
)
ECHO_CHATFLOW = App(
    "echo-chatflow",
    "Start -> Answer: You said {{#sys.query#}} (no LLM)",
    "advanced-chat",
    [],
)


def chunk_sources(form: list[dict]) -> list[str]:
    """The Start variables the End node's outputs are streamed from, in output order: a
    text_chunk names the variable it comes from, not the output (86b, 96b)."""
    names = [d["variable"] for _, d in form_fields(form)]
    if names == [d["variable"] for _, d in form_fields(MULTI_OUTPUT_FORM)]:
        return ["title", "score", "meta", "urgent"]
    return names


def chunk_text(value: Any) -> str:
    """How a text_chunk renders an output value (86b, 96b): numbers and booleans as Python's
    str, objects as JSON indented by two spaces, nothing as an empty text."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, indent=2)
    return str(value)


def default_outputs(form: list[dict]) -> Callable[[dict], dict]:
    names = [d["variable"] for _, d in form_fields(form)]
    if names == ["query", "count", "color"]:
        return echo_outputs
    if names == [d["variable"] for _, d in form_fields(MULTI_OUTPUT_FORM)]:
        return multi_outputs
    return lambda cleaned: {name: cleaned.get(name) for name in names}


def form_fields(form: list[dict]) -> list[tuple[str, dict]]:
    result = []
    for element in form:
        for type_key, definition in element.items():
            if isinstance(definition, dict) and definition.get("variable"):
                result.append((type_key, definition))
            break
    return result


def validate(form: list[dict], inputs: dict) -> tuple[dict, tuple[int, str, str] | None]:
    """Return (cleaned inputs, None) or (partial, (status, code, message)) like Dify."""
    cleaned: dict[str, Any] = {}
    for var_type, d in form_fields(form):
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
            return cleaned, (500, "internal_server_error", MSG_500)
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
    types = dict((d["variable"], t) for t, d in form_fields(form))
    bad = [
        k
        for k, v in cleaned.items()
        if isinstance(v, dict) and types.get(k) not in ("file", "json_object")
    ]
    if bad:
        return cleaned, (400, "invalid_param", f"Invalid input type for {bad}")
    return cleaned, None
