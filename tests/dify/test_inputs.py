"""Input-form parsing and local validation of run inputs."""

from __future__ import annotations

import json

import pytest

from integrations.dify import (
    DifyInputError,
    InputField,
    form_from_json,
    form_to_json,
    parse_input_form,
    validate_inputs,
)
from tests.dify.conftest import capture


def echo_form() -> list[InputField]:
    return parse_input_form(
        capture("21_get_parameters.json")["response"]["body_json"]["user_input_form"]
    )


def field(type_: str, **kwargs) -> InputField:
    defaults = {"variable": "v", "label": "v", "type": type_, "required": False}
    defaults.update(kwargs)
    return InputField(**defaults)


def problems_of(fields, inputs) -> list[str]:
    with pytest.raises(DifyInputError) as info:
        validate_inputs(fields, inputs)
    assert (info.value.code, info.value.source) == ("hub_invalid_inputs", "hub")
    return info.value.problems


def test_it_parses_the_real_parameters_form():
    assert echo_form() == [
        InputField("query", "query", "text-input", True, 256, [], None, False),
        InputField("count", "count", "number", False, None, [], None, False),
        InputField("color", "color", "select", False, None, ["red", "green", "blue"], None, False),
    ]


def test_it_tolerates_unknown_keys_and_skips_malformed_elements():
    form = [
        {
            "paragraph": {
                "variable": "diff",
                "label": "Diff",
                "required": True,
                "max_length": None,
                "hide": True,
                "default": "x",
                "json_schema": {"a": 1},
                "description": "d",
            }
        },
        {"checkbox": {"label": "no variable"}},
        "junk",
        {"file-list": {"variable": "files", "max_length": 3, "allowed_file_types": ["image"]}},
    ]

    fields = parse_input_form(form)

    assert fields == [
        InputField("diff", "Diff", "paragraph", True, None, [], "x", True),
        InputField("files", "files", "file-list", False, 3, [], None, False),
    ]


def test_it_round_trips_the_form_through_json():
    fields = echo_form()

    data = json.loads(json.dumps(form_to_json(fields)))

    assert form_from_json(data) == fields


def test_it_returns_valid_inputs_unchanged_and_leaves_the_callers_dict_alone():
    inputs = {"query": "hello", "count": 3, "color": "green"}

    assert validate_inputs(echo_form(), inputs) == {"query": "hello", "count": 3, "color": "green"}
    assert inputs == {"query": "hello", "count": 3, "color": "green"}


def test_it_reports_every_problem_at_once():
    problems = problems_of(echo_form(), {"count": "abc", "color": "purple", "colour": "red"})

    assert len(problems) == 4
    text = "\n".join(problems)
    assert "query: required but missing" in text
    assert "colour: unknown input variable" in text
    assert "'abc' is not a valid number" in text
    assert "'purple' is not one of the options" in text


def test_it_rejects_a_missing_or_empty_required_value():
    assert problems_of(echo_form(), {}) == ["query: required but missing"]
    assert problems_of(echo_form(), {"query": ""}) == ["query: required but missing"]
    assert problems_of(echo_form(), {"query": None}) == ["query: required but missing"]


def test_it_rejects_unknown_variable_names_that_dify_would_silently_drop():
    problems = problems_of(echo_form(), {"query": "q", "qeury": "typo"})

    assert problems == [
        "qeury: unknown input variable (the app's variables are: color, count, query)"
    ]


@pytest.mark.parametrize("type_", ["text-input", "paragraph", "select"])
@pytest.mark.parametrize("value", [123, 1.5, True, {"a": 1}, ["x"]])
def test_it_requires_strings_for_text_paragraph_and_select(type_, value):
    (problem,) = problems_of([field(type_, options=["a"])], {"v": value})

    assert "must be a string" in problem


@pytest.mark.parametrize(
    ("value", "expected"),
    [(42, 42), (4.5, 4.5), ("42", 42), (" 7 ", 7), ("-3", -3), ("4.25", 4.25), (".5", 0.5)],
)
def test_it_accepts_numbers_and_coerces_numeric_strings(value, expected):
    result = validate_inputs([field("number")], {"v": value})

    assert result == {"v": expected}
    assert type(result["v"]) is type(expected)


@pytest.mark.parametrize("value", [True, False, {"a": 1}, [1], "abc", "1e3", "4_2", float("nan")])
def test_it_rejects_booleans_objects_and_non_numeric_strings_for_numbers(value):
    (problem,) = problems_of([field("number")], {"v": value})

    assert problem.startswith("v: ")


@pytest.mark.parametrize(
    ("value", "expected"),
    [(True, True), (False, False), ("true", True), ("FALSE", False), ("on", True)],
)
def test_it_accepts_booleans_and_true_false_strings_for_checkboxes(value, expected):
    assert validate_inputs([field("checkbox")], {"v": value}) == {"v": expected}


@pytest.mark.parametrize("value", ["maybe", 2, {"a": 1}])
def test_it_rejects_other_checkbox_values(value):
    (problem,) = problems_of([field("checkbox")], {"v": value})

    assert "must be a boolean" in problem


def test_it_requires_select_values_to_be_one_of_the_options():
    (problem,) = problems_of(echo_form(), {"query": "q", "color": "purple"})

    assert problem == "color: 'purple' is not one of the options ['red', 'green', 'blue']"


def test_it_rejects_text_over_max_length_and_accepts_exactly_max_length():
    form = echo_form()

    assert validate_inputs(form, {"query": "y" * 256}) == {"query": "y" * 256}
    (problem,) = problems_of(form, {"query": "y" * 257})
    assert "257 characters, more than the maximum 256" in problem


def test_it_requires_a_dict_for_json_object():
    assert validate_inputs([field("json_object")], {"v": {"a": [1]}}) == {"v": {"a": [1]}}
    (problem,) = problems_of([field("json_object")], {"v": "[1, 2]"})
    assert "must be a JSON object" in problem


def test_it_requires_file_objects_for_file_and_file_list():
    file_obj = {"type": "document", "transfer_method": "remote_url", "url": "https://x/y.pdf"}

    assert validate_inputs([field("file")], {"v": file_obj}) == {"v": file_obj}
    assert validate_inputs([field("file-list")], {"v": [file_obj]}) == {"v": [file_obj]}
    assert "must be a file object" in problems_of([field("file")], {"v": "https://x"})[0]
    assert "list of file objects" in problems_of([field("file-list")], {"v": file_obj})[0]
    assert "list of file objects" in problems_of([field("file-list")], {"v": ["x"]})[0]
    assert (
        "more than the maximum 1"
        in problems_of([field("file-list", max_length=1)], {"v": [file_obj, file_obj]})[0]
    )


def test_it_accepts_empty_optional_values():
    form = echo_form() + [field("paragraph", variable="notes")]

    result = validate_inputs(form, {"query": "q", "count": "", "color": "", "notes": ""})

    # "" stays a real value for text; for the other types it means "unset" and is left out
    # (Dify rejects "" for a select, which in streaming mode would be a silent stall).
    assert result == {"query": "q", "notes": ""}


def test_it_leaves_out_optional_none_values():
    assert validate_inputs(echo_form(), {"query": "q", "count": None}) == {"query": "q"}


def test_it_rejects_inputs_that_are_not_an_object():
    assert problems_of(echo_form(), ["query"]) == ["inputs must be an object, got a list"]


def test_the_error_message_lists_the_problems():
    with pytest.raises(DifyInputError) as info:
        validate_inputs(echo_form(), {"count": "x"})

    assert str(info.value).startswith(
        "The hub did not call Dify: the inputs do not fit the app's form: "
        "query: required but missing; count:"
    )
