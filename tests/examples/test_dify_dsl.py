"""The Dify workflows in examples/dify/ import as the hub expects them.

Each file is read as Dify reads a DSL (the structure of the apps captured from a real Dify
1.14.1 server, tests/fixtures/dify/apps/), its graph is checked for dangling references, and
its Start form and End outputs are checked against what the hub sends and reads. The code
node's Python runs here on the answers an LLM gives.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from integrations import placeholders
from integrations.dify.inputs import parse_input_form, validate_inputs
from integrations.digests import schedule
from integrations.gitlab.review_inputs import STANDARD_INPUTS, fit_inputs
from integrations.runs.outputs import select_output

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "dify"
CAPTURED = ROOT / "tests" / "fixtures" / "dify" / "apps"
START_TYPES = {"text-input", "paragraph", "select", "number", "checkbox", "json_object", "file"}
NODE_OUTPUTS = {"llm": {"text"}, "http-request": {"body", "status_code", "headers", "files"}}
REFERENCE = re.compile(r"\{\{#([^.#]+)\.([^#]+)#\}\}")
ALIASES = {"project_path", "project_id", "mr_iid"}  # GitLab's names, kept for old workflows


def load(name: str) -> dict:
    return yaml.safe_load((EXAMPLES / name).read_text(encoding="utf-8"))


def nodes(dsl: dict) -> dict[str, dict]:
    return {node["id"]: node for node in dsl["workflow"]["graph"]["nodes"]}


def of_type(dsl: dict, kind: str) -> dict:
    (node,) = [n for n in nodes(dsl).values() if n["data"]["type"] == kind]
    return node


def form(dsl: dict):
    variables = of_type(dsl, "start")["data"]["variables"]
    return parse_input_form([{v["type"]: v} for v in variables])


def outputs_of(node: dict) -> set[str]:
    data = node["data"]
    if data["type"] == "start":
        return {v["variable"] for v in data["variables"]}
    if data["type"] == "code":
        return set(data["outputs"])
    return NODE_OUTPUTS.get(data["type"], set())


def strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


EXAMPLE_FILES = sorted(p.name for p in EXAMPLES.glob("*.yml"))


def test_the_examples_are_the_documented_two():
    assert EXAMPLE_FILES == ["code-review.yml", "morning-digest.yml"]


@pytest.mark.parametrize("name", EXAMPLE_FILES)
def test_the_file_has_the_shape_of_the_apps_captured_from_dify(name):
    dsl = load(name)
    captured = yaml.safe_load((CAPTURED / "app-slow-http-workflow.dsl.yml").read_text())
    assert set(captured) <= set(dsl)
    assert (dsl["kind"], dsl["version"], dsl["app"]["mode"]) == (
        "app",
        captured["version"],
        "workflow",
    )
    assert set(captured["app"]) <= set(dsl["app"])
    assert set(captured["workflow"]) <= set(dsl["workflow"])
    for node in dsl["workflow"]["graph"]["nodes"]:
        assert set(node) == {"id", "type", "position", "data"} and node["type"] == "custom"
        assert {"type", "title", "desc"} <= set(node["data"])
    for edge in dsl["workflow"]["graph"]["edges"]:
        assert set(edge) == set(captured["workflow"]["graph"]["edges"][0])


@pytest.mark.parametrize("name", EXAMPLE_FILES)
def test_every_reference_in_the_graph_points_at_something_real(name):
    dsl = load(name)
    by_id = nodes(dsl)
    assert len(by_id) == len(dsl["workflow"]["graph"]["nodes"])  # ids are unique
    for edge in dsl["workflow"]["graph"]["edges"]:
        assert by_id[edge["source"]]["data"]["type"] == edge["data"]["sourceType"]
        assert by_id[edge["target"]]["data"]["type"] == edge["data"]["targetType"]
    for node in by_id.values():
        for text in strings(node["data"]):
            for node_id, variable in REFERENCE.findall(text):
                assert variable in outputs_of(by_id[node_id]), f"{node_id}.{variable} in {name}"
        selectors = [
            o["value_selector"] for o in node["data"].get("outputs") or [] if isinstance(o, dict)
        ]
        selectors += [
            v["value_selector"]
            for v in node["data"].get("variables") or []
            if "value_selector" in v
        ]
        for node_id, variable in selectors:
            assert variable in outputs_of(by_id[node_id]), f"{node_id}.{variable} in {name}"
    # One path Start -> ... -> End through every node.
    following = {e["source"]: e["target"] for e in dsl["workflow"]["graph"]["edges"]}
    path = [of_type(dsl, "start")["id"]]
    while path[-1] in following:
        path.append(following[path[-1]])
    assert sorted(path) == sorted(by_id) and by_id[path[-1]]["data"]["type"] == "end"


@pytest.mark.parametrize("name", EXAMPLE_FILES)
def test_start_variables_are_types_dify_has(name):
    variables = of_type(load(name), "start")["data"]["variables"]
    assert {v["type"] for v in variables} <= START_TYPES
    assert len(form(load(name))) == len(variables)  # the hub reads every one


def test_the_review_workflow_takes_exactly_the_hubs_standard_inputs():
    dsl = load("code-review.yml")
    declared = [v["variable"] for v in of_type(dsl, "start")["data"]["variables"]]
    assert declared == [name for name in STANDARD_INPUTS if name not in ALIASES]
    values = {name: f"<{name}>" for name in STANDARD_INPUTS}
    values |= {"diff": "diff --git a/a.py b/a.py\n+x = 1\n", "focus": "", "description": ""}
    fitted = fit_inputs(values, form(dsl), {})
    assert set(fitted) == set(declared)
    assert validate_inputs(form(dsl), fitted)["diff"] == values["diff"]


def test_the_review_workflow_answers_what_the_endpoint_reads():
    end = of_type(load("code-review.yml"), "end")
    assert [o["variable"] for o in end["data"]["outputs"]] == ["review", "comments"]
    outputs = {"review": "**Fine.**", "comments": [{"path": "a.py", "line": 1, "body": "x"}]}
    assert select_output(outputs, "review") == "**Fine.**"


def run_code_node(text: str) -> dict:
    code = of_type(load("code-review.yml"), "code")["data"]["code"]
    scope: dict = {}
    exec(compile(code, "code-review.yml", "exec"), scope)  # noqa: S102 -- our own example's code
    return scope["main"](text=text)


@pytest.mark.parametrize(
    ("answer", "review", "comments"),
    [
        ('{"summary": "Looks fine.", "comments": []}', "Looks fine.", []),
        (
            'Here you go:\n```json\n{"summary": "One bug.", "comments": [{"path": "a.py", '
            '"line": 3, "severity": "high", "body": "off by one"}]}\n```',
            "One bug.",
            [{"path": "a.py", "line": 3, "severity": "high", "body": "off by one"}],
        ),
        ("No JSON at all, just words.", "No JSON at all, just words.", []),
        (
            '{"summary": "x", "comments": ["not an object", {"path": "b.py"}]}',
            "x",
            [{"path": "b.py"}],
        ),
        ("[1, 2]", "[1, 2]", []),
    ],
    ids=["bare-json", "fenced-json", "not-json", "junk-comments", "json-not-object"],
)
def test_the_code_node_splits_what_llms_answer(answer, review, comments):
    assert run_code_node(answer) == {"review": review, "comments": comments}


def test_the_digest_workflow_takes_what_a_digest_sends_and_answers_text():
    dsl = load("morning-digest.yml")
    inputs = {"city": "Beijing", "date": "{{ date }}", "weekday": "{{ weekday }}"}
    schedule.check_template(inputs)
    slot = datetime(2026, 12, 3, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai
    rendered = placeholders.render(inputs, schedule.slot_context(slot, "Asia/Shanghai", "Morning"))
    assert validate_inputs(form(dsl), rendered) == {
        "city": "Beijing",
        "date": "2026-12-03",
        "weekday": "Thursday",
    }
    end = of_type(dsl, "end")
    assert [o["variable"] for o in end["data"]["outputs"]] == ["text"]
