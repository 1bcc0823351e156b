"""Picking the output to send, at delivery time and in configuration checks."""

import pytest

from integrations.runs.outputs import OutputError, choice_problem, listing, select_output


def test_the_only_output_with_content_is_sent():
    assert select_output({"echo": "Sunny", "count": None, "color": None}, "") == "Sunny"


def test_text_wins_among_several():
    assert select_output({"text": "Hello", "title": "Hi"}, "") == "Hello"


def test_a_named_object_output_is_sent_as_indented_json():
    assert select_output({"text": "a", "data": {"t": 1}}, "data") == '{\n  "t": 1\n}'


def test_a_missing_named_output_names_what_the_app_returned():
    with pytest.raises(OutputError, match=r"returned `a` and `b`, no output named `summary`"):
        select_output({"a": "x", "b": "y"}, "summary")


def test_several_outputs_without_a_choice_name_them_and_the_setting():
    with pytest.raises(OutputError) as caught:
        select_output({"echo": "x", "http_body": "y", "c": None}, "", setting="Output to send")
    assert str(caught.value) == (
        "the app returned `echo` and `http_body`; set 'Output to send' to one of them"
    )


def test_no_output_with_content():
    with pytest.raises(OutputError, match="no output with content"):
        select_output({"a": None, "b": ""}, "")


def test_an_empty_named_output_is_not_sent():
    with pytest.raises(OutputError, match="`a` is empty"):
        select_output({"a": "  "}, "a")


@pytest.mark.parametrize(
    ("names", "key", "problem"),
    [
        ([], "", None),  # never succeeded: nothing to check against
        ([], "anything", None),
        (["text"], "", None),
        (["answer"], "", None),
        (["text", "title"], "", None),
        (["echo", "http_body"], "echo", None),
        (["echo", "http_body"], "", "the app returns `echo` and `http_body`; set 'Out'"),
        (["echo", "http_body"], "body", "no output named `body`"),
    ],
)
def test_choice_problem(names, key, problem):
    found = choice_problem(names, key, setting="Out")
    if problem is None:
        assert found is None
    else:
        assert problem in found


def test_listing():
    assert listing([]) == "nothing"
    assert listing(["b"]) == "`b`"
    assert listing(["c", "a", "b"]) == "`a`, `b` and `c`"
