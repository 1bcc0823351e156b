"""Reading a configuration file: YAML, shape, ${NAME}. Pure: no database."""

from __future__ import annotations

import pytest

from integrations.config.loader import ConfigError, expand, load_text
from tests.config.conftest import ISSUE_YAML, SECRETS


def load(text: str, environ: dict | None = None):
    return load_text(text, "hub.yaml", SECRETS if environ is None else environ)


def problems(text: str, environ: dict | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(text, environ)
    return caught.value.problems


def test_it_reads_the_issue_file_with_the_environment_filled_in():
    config = load(ISSUE_YAML.read_text())
    assert list(config.sections) == ["dify_apps", "recipients", "digests", "gitlab_endpoints"]
    app = config.sections["dify_apps"][0]
    assert app.name == "weather"
    assert app.values["api_key"] == SECRETS["WEATHER_APP_KEY"]
    digest = config.sections["digests"][0]
    assert digest.values["inputs"] == {"city": "beijing", "date": "{{ date }}"}
    assert digest.where("cron") == "hub.yaml: digests[0] 'morning-weather': key 'cron'"


def test_it_names_every_missing_variable():
    text = "dify_apps:\n  - name: a\n    base_url: ${BASE}\n    api_key: ${KEY}-${OTHER}\n"
    assert problems(text, {"BASE": "http://x"}) == [
        "hub.yaml: dify_apps[0] 'a': key 'api_key': environment variables KEY, OTHER not set"
    ]


def test_substitution_happens_inside_nested_values_and_results_stay_strings():
    text = "recipients:\n  - {name: r, kind: slack, url: u, options: {username: '${X}'}}\n"
    item = load(text, {"X": "a: b"}).sections["recipients"][0]
    assert item.values["options"] == {"username": "a: b"}


def test_a_double_dollar_keeps_a_literal_placeholder():
    assert expand("$${HOME} and ${X} and $$${X}", {"X": "1"}) == "${HOME} and 1 and $${X}"


def test_a_malformed_placeholder_is_an_error():
    with pytest.raises(ValueError, match=r"write \$\$\{ for a literal"):
        expand("${not-a-name}", {})


def test_a_yaml_syntax_error_names_the_line():
    text = "dify_apps:\n  - name: a\n    base_url: [unclosed\n"
    [problem] = problems(text)
    assert problem.startswith("hub.yaml: line 4, column 1: ")


def test_a_key_written_twice_is_an_error_with_its_line():
    text = "dify_apps:\n  - name: a\n    name: b\n"
    [problem] = problems(text)
    assert problem.startswith("hub.yaml: line 3, column 5: key 'name' appears twice")
    assert "first on line 2" in problem


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("apps: []\n", "hub.yaml: unknown top-level key 'apps'; the keys are dify_apps"),
        ("- a\n", "hub.yaml: the file must be a mapping"),
        ("digests: {}\n", "hub.yaml: digests: must be a list of objects"),
        ("digests:\n", "hub.yaml: digests: must be a list of objects (write `digests: []`"),
        ("recipients: [family]\n", "hub.yaml: recipients[0]: must be a mapping of keys"),
        (
            "recipients:\n  - {name: r, kind: slack, url: u, colour: red}\n",
            "hub.yaml: recipients[0] 'r': key 'colour': unknown key; the keys of recipients are",
        ),
        (
            "recipients:\n  - {name: r, url: u}\n",
            "hub.yaml: recipients[0] 'r': key 'kind': missing (required)",
        ),
        (
            "dify_apps:\n  - {name: a, base_url: u, api_key: k, timeout: '300'}\n",
            "hub.yaml: dify_apps[0] 'a': key 'timeout': must be a whole number, not a string",
        ),
        (
            "dify_apps:\n  - {name: a, base_url: u, api_key: k, max_concurrent_runs: true}\n",
            "key 'max_concurrent_runs': must be a whole number, not true/false",
        ),
        (
            "digests:\n  - {name: d, app: a, cron: x, timezone: UTC, enabled: 'yes'}\n",
            "hub.yaml: digests[0] 'd': key 'enabled': must be true or false, not a string",
        ),
        (
            "digests:\n  - {name: d, app: a, cron: x, timezone: UTC, recipients: family}\n",
            "key 'recipients': must be a list of strings, not a string",
        ),
        (
            "digests:\n  - {name: d, app: a, cron: x, timezone: UTC, inputs: {day: 2026-01-01}}\n",
            "key 'inputs': a date in 'day' cannot be stored as JSON (quote it",
        ),
        (
            "digests:\n  - {name: 7, app: a, cron: x, timezone: UTC}\n",
            "hub.yaml: digests[0]: key 'name': must be a string, not a number",
        ),
        (
            "recipients:\n  - {name: r, kind: slack, url: a}\n  - {name: r, kind: slack, url: b}\n",
            "hub.yaml: recipients[1] 'r': key 'name': 'r' is already used by recipients[0]",
        ),
    ],
)
def test_shape_errors_name_the_file_the_object_and_the_key(text, expected):
    assert any(expected in problem for problem in problems(text)), problems(text)


def test_an_empty_file_manages_nothing():
    assert load("# nothing yet\n").sections == {}
