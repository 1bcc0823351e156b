"""The one ``{{ name }}`` syntax shared by digest inputs and GitLab input mappings."""

import pytest

from integrations.placeholders import is_broken, names_in, render, render_text, without_names


def test_names_are_found_in_order_with_repeats_and_any_spacing():
    assert names_in("{{diff}} then {{  title }} and {{ diff }}") == ["diff", "title", "diff"]
    assert without_names("Review: {{ diff }}!") == "Review: !"


@pytest.mark.parametrize("text", ["{{ date }", "{ date }}", "{% if x %}", "{{ 1abc }}"])
def test_other_template_syntax_is_broken(text):
    assert is_broken(text)


def test_known_names_are_replaced_and_unknown_ones_kept():
    assert render_text("{{ a }}/{{ b }}/{{ a }}", {"a": 1}) == "1/{{ b }}/1"


def test_every_string_inside_a_json_value_is_rendered_but_not_keys_or_numbers():
    value = {"{{ a }}": ["{{ a }}", 3, True, None, {"x": "-{{ a }}-"}]}

    assert render(value, {"a": "A"}) == {"{{ a }}": ["A", 3, True, None, {"x": "-A-"}]}
