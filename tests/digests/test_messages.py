"""Which output a digest sends. Pure."""

import pytest

from integrations.digests.messages import OutputError, select_output


def test_the_only_output_with_content_is_sent():
    # Dify's echo app returns nulls for optional inputs that were not given.
    assert select_output({"echo": "Sunny", "count": None, "color": None}, "") == "Sunny"


def test_text_is_preferred_among_several():
    assert select_output({"text": "Hello", "title": "Hi"}, "") == "Hello"


def test_a_named_output_wins_and_non_strings_are_sent_as_json():
    assert select_output({"text": "a", "data": {"t": 1}}, "data") == '{\n  "t": 1\n}'


def test_a_missing_named_output_lists_what_there_is():
    with pytest.raises(OutputError, match=r"no output named 'summary' \(it returned: a, b\)"):
        select_output({"a": "x", "b": "y"}, "summary")


def test_several_outputs_with_content_need_a_choice():
    with pytest.raises(OutputError, match=r"2 outputs \(a, b\); choose one"):
        select_output({"a": "x", "b": "y", "c": None}, "")


def test_an_empty_result_is_an_error_not_a_blank_message():
    with pytest.raises(OutputError, match="no output with content"):
        select_output({"a": None, "b": ""}, "")
