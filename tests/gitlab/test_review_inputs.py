"""Dify inputs for a review: the diff text, the standard values and the mapping onto a form."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from integrations.dify.inputs import InputField, validate_inputs
from integrations.gitlab.events import MR_HOOK, NOTE_HOOK, ReviewRules, classify
from integrations.gitlab.review_inputs import (
    LOCK_FILES,
    PART_INPUTS,
    ROUND_INPUTS,
    STANDARD_INPUTS,
    DiffBundle,
    build_diff,
    check_mapping,
    diff_budget_for,
    fit_inputs,
    standard_inputs,
)
from integrations.gitlab.types import FileDiff, MergeRequest
from integrations.placeholders import render_text

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "gitlab"
HUNK = "@@ -1,3 +1,4 @@\n import time\n+import random\n \n def capture():\n"


def fixture_event(name: str):
    data = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    hook = data["headers"]["X-Gitlab-Event"]
    return classify(hook, data["body"], ReviewRules()).event


def fd(path: str, diff: str = HUNK, **flags) -> FileDiff:
    return FileDiff(old_path=flags.pop("old_path", path), new_path=path, diff=diff, **flags)


def field(variable: str, type_: str = "paragraph", **kwargs) -> InputField:
    return InputField(variable=variable, label=variable, type=type_, required=False, **kwargs)


def hunks(count: int, lines: int, width: int = 30) -> str:
    text = ""
    for n in range(count):
        text += f"@@ -{n * 100 + 1},{lines} +{n * 100 + 1},{lines} @@ def part_{n}():\n"
        text += "".join(f"+{'x' * width} {n}.{i}\n" for i in range(lines))
    return text


# --- build_diff -----------------------------------------------------------------------------


def test_a_modified_file_gets_git_headers():
    bundle = build_diff([fd("billing/capture.py")], 10_000)

    assert bundle.text == (
        "diff --git a/billing/capture.py b/billing/capture.py\n"
        "--- a/billing/capture.py\n"
        "+++ b/billing/capture.py\n" + HUNK
    )
    assert bundle == DiffBundle(bundle.text, ("billing/capture.py",), ())


def test_new_deleted_and_renamed_files_are_marked():
    files = [
        fd("billing/backoff.py", "@@ -0,0 +1 @@\n+JITTER = 0.2\n", new_file=True),
        fd("billing/legacy.py", "@@ -1 +0,0 @@\n-OLD = 1\n", deleted_file=True),
        fd(
            "billing/psp.py",
            "@@ -1 +1 @@\n-a\n+b",
            old_path="billing/gateway.py",
            renamed_file=True,
        ),
    ]

    text = build_diff(files, 10_000).text

    assert (
        "diff --git a/billing/backoff.py b/billing/backoff.py\nnew file\n--- /dev/null\n+++ b/billing/backoff.py\n"
        in text
    )
    assert (
        "diff --git a/billing/legacy.py b/billing/legacy.py\ndeleted file\n--- a/billing/legacy.py\n+++ /dev/null\n"
        in text
    )
    assert (
        "diff --git a/billing/gateway.py b/billing/psp.py\n"
        "rename from billing/gateway.py\nrename to billing/psp.py\n"
        "--- a/billing/gateway.py\n+++ b/billing/psp.py\n@@ -1 +1 @@\n-a\n+b\n"
    ) in text
    assert text.endswith("+b\n")  # a missing final newline is added


def test_a_pure_rename_keeps_its_header():
    bundle = build_diff([fd("b.py", "", old_path="a.py", renamed_file=True)], 1000)

    assert bundle.text == "diff --git a/a.py b/b.py\nrename from a.py\nrename to b.py\n"
    assert bundle.included == ("b.py",)


def test_file_headers_sent_by_gitlab_are_not_repeated():
    unidiff = "--- a/app.py\n+++ b/app.py\n" + HUNK

    text = build_diff([fd("app.py", unidiff)], 1000).text

    assert text == "diff --git a/app.py b/app.py\n" + unidiff
    assert text.count("+++ b/app.py") == 1


@pytest.mark.parametrize(
    "file, why",
    [
        (fd("logo.png", "Binary files a/logo.png and b/logo.png differ\n"), "binary file"),
        (fd("blob.bin", "@@ -1 +1 @@\n-\x00\x01\n+\x00\x02\n"), "binary file"),
        (fd("empty.txt", ""), "no text changes (binary or mode change only)"),
        (fd("big.sql", "", too_large=True), "too large: GitLab left its diff out"),
        (
            fd("huge.py", "", collapsed=True),
            "collapsed by GitLab (over the instance's diff limits)",
        ),
        (fd("api/schema_pb2.py", generated_file=True), "generated file"),
    ],
)
def test_files_that_say_nothing_are_left_out_with_the_reason(file, why):
    bundle = build_diff([file, fd("keep.py")], 10_000)

    assert bundle.omitted == ((file.new_path, why),)
    assert bundle.included == ("keep.py",)
    assert file.new_path not in bundle.text


@pytest.mark.parametrize("name", sorted(LOCK_FILES))
def test_lock_files_are_left_out(name):
    bundle = build_diff([fd(f"web/{name}"), fd(name)], 10_000)

    assert bundle.omitted == ((f"web/{name}", "lock file"), (name, "lock file"))
    assert bundle.text == ""


def test_files_that_do_not_fit_are_skipped_and_smaller_later_ones_still_go_in():
    files = [fd("a.py"), fd("big.py", hunks(5, 40)), fd("c.py"), fd("d.py")]
    small = len(build_diff([fd("a.py")], 10_000).text)

    bundle = build_diff(files, 3 * small + 10)

    assert bundle.included == ("a.py", "c.py", "d.py")
    assert [path for path, _ in bundle.omitted] == ["big.py"]
    assert bundle.omitted[0][1].startswith("does not fit the diff budget (")
    assert len(bundle.text) <= 3 * small + 10


def test_only_a_first_file_is_cut_later_big_ones_are_skipped():
    bundle = build_diff([fd("a.py"), fd("big.py", hunks(5, 40))], 1500)

    assert bundle.included == ("a.py",)
    assert "cut:" not in bundle.text


def test_a_first_file_bigger_than_the_budget_is_cut_at_a_hunk_boundary():
    body = hunks(4, 10)
    budget = 1200

    bundle = build_diff([fd("big.py", body), fd("next.py", "@@ -1 +1 @@\n-a\n+b\n")], budget)

    header = "diff --git a/big.py b/big.py\n--- a/big.py\n+++ b/big.py\n"
    kept = bundle.text[len(header) : bundle.text.index("[… cut:")]
    assert bundle.text.startswith(header)
    left_out = len(body) - len(kept)
    assert body.startswith(kept) and body[len(kept) :].startswith("@@ ")
    assert f"\n[… cut: {left_out} more characters]\ndiff --git a/next.py" in bundle.text
    assert len(bundle.text) <= budget
    # The small file after it still used the rest of the budget.
    assert bundle.included == ("big.py", "next.py")
    size = len(header) + len(body)
    assert bundle.omitted == (
        ("big.py", f"partly included: the last {left_out} of {size} characters were cut"),
    )


def test_a_single_huge_hunk_is_cut_at_a_line_boundary():
    body = hunks(1, 200)

    bundle = build_diff([fd("big.py", body)], 2000)

    before_marker = bundle.text[: bundle.text.index("[… cut:")]
    assert before_marker.endswith("\n")
    kept = before_marker.split("+++ b/big.py\n", 1)[1]
    assert body.startswith(kept) and len(kept) > 1500
    assert len(bundle.text) <= 2000


@pytest.mark.parametrize("budget", [0, -5, 20])
def test_a_budget_too_small_for_anything_omits_everything(budget):
    bundle = build_diff([fd("a.py"), fd("b.py")], budget)

    assert bundle.text == ""
    assert bundle.included == ()
    assert [path for path, _ in bundle.omitted] == ["a.py", "b.py"]


def test_the_text_never_exceeds_the_budget():
    files = [fd("big.py", hunks(6, 25)), fd("a.py"), fd("b.py", hunks(2, 5)), fd("c.py")]
    for budget in range(0, 9000, 37):
        bundle = build_diff(files, budget)
        assert len(bundle.text) <= budget
        paths = set(bundle.included) | {path for path, _ in bundle.omitted}
        assert paths == {"big.py", "a.py", "b.py", "c.py"}


# --- standard_inputs ------------------------------------------------------------------------

FILES = [
    fd("billing/capture.py"),
    fd("billing/backoff.py", "@@ -0,0 +1 @@\n+JITTER = 0.2\n", new_file=True),
    fd("billing/legacy.py", "@@ -1 +0,0 @@\n-OLD = 1\n", deleted_file=True),
    fd("billing/psp.py", "@@ -1 +1 @@\n-a\n+b\n", old_path="billing/gateway.py", renamed_file=True),
    fd("package-lock.json"),
]


def test_standard_inputs_from_the_open_fixture():
    event = fixture_event("mr_open")
    diff = build_diff(FILES, 10_000)

    values = standard_inputs(event, None, diff, FILES)

    later = (*ROUND_INPUTS, *PART_INPUTS)
    assert list(values) == [name for name in STANDARD_INPUTS if name not in later]
    assert all(isinstance(v, str) for v in values.values())
    assert values["project_path"] == "payments/billing-service"
    assert values["project_id"] == "1187"
    assert values["mr_iid"] == "342"
    assert values["title"] == "Retry failed card captures with exponential backoff"
    assert values["description"].startswith("Closes #881.")
    assert values["url"].endswith("/payments/billing-service/-/merge_requests/342")
    assert (values["source_branch"], values["target_branch"]) == ("feature/capture-retry", "main")
    assert values["author"] == "dkowalski"
    assert values["action"] == "open"
    assert values["head_sha"] == "9f3c1a7be2d84410c5e6a9b0d1f2e3c4b5a69788"
    assert values["changed_files"] == (
        "M billing/capture.py\n"
        "A billing/backoff.py\n"
        "D billing/legacy.py\n"
        "R billing/gateway.py -> billing/psp.py\n"
        "M package-lock.json"
    )
    assert values["diff"] == diff.text
    assert values["omitted_files"] == "package-lock.json (lock file)"
    assert values["focus"] == ""


def test_the_fetched_merge_request_wins_over_the_event():
    event = fixture_event("note_review_command")  # actor: pnatarajan
    mr = MergeRequest(
        project_id=1187,
        iid=342,
        title="Retry card captures (v2)",
        description="Updated.",
        state="opened",
        draft=False,
        web_url="https://gitlab.acme.internal/payments/billing-service/-/merge_requests/342",
        source_branch="feature/capture-retry",
        target_branch="main",
        author_username="dkowalski",
        author_name="Dana Kowalski",
        sha="c41e0d2f7a9b8c6d5e4f3a2b1c0d9e8f7a6b5c4d",
    )

    values = standard_inputs(event, mr, build_diff([], 100), [])

    assert values["title"] == "Retry card captures (v2)"
    assert values["description"] == "Updated."
    assert values["author"] == "dkowalski"
    assert values["action"] == "review_command"
    assert values["focus"] == "focus on error handling"
    assert values["changed_files"] == values["omitted_files"] == values["diff"] == ""


@pytest.mark.parametrize(
    "name, action",
    [
        ("mr_reopen", "reopen"),
        ("mr_update_new_commits", "new_commits"),
        ("mr_update_draft_to_ready", "ready"),
        ("note_review_command", "review_command"),
    ],
)
def test_action_is_the_trigger_name(name, action):
    values = standard_inputs(fixture_event(name), None, build_diff([], 0), [])

    assert values["action"] == action


# --- fit_inputs -----------------------------------------------------------------------------

VALUES = {name: f"<{name}>" for name in STANDARD_INPUTS}


def test_an_app_without_inputs_gets_none():
    assert fit_inputs(VALUES, [], {"x": "{{ diff }}"}) == {}


def test_only_declared_variables_are_sent():
    form = [field("diff"), field("title", "text-input"), field("language", "text-input")]

    assert fit_inputs(VALUES, form, {}) == {"diff": "<diff>", "title": "<title>"}


def test_mapping_templates_and_literals():
    form = [
        field("code"),
        field("title", "text-input"),
        field("language", "text-input"),
        field("max_comments", "number"),
        field("strict", "checkbox"),
        field("count_as_text", "text-input"),
        field("flag_as_text", "text-input"),
    ]
    mapping = {
        "code": "Diff of {{project_path}} ({{ action }}):\n{{ diff }}",
        "title": "[!{{ mr_iid }}] {{ title }}",
        "language": "en",
        "max_comments": 5,
        "strict": True,
        "count_as_text": 3,
        "flag_as_text": False,
    }

    assert fit_inputs(VALUES, form, mapping) == {
        "code": "Diff of <project_path> (<action>):\n<diff>",
        "title": "[!<mr_iid>] <title>",
        "language": "en",
        "max_comments": 5,
        "strict": True,
        "count_as_text": "3",
        "flag_as_text": "false",
    }


def test_an_unknown_placeholder_stays_visible():
    assert render_text("{{ nope }} and {{ title }}", VALUES) == "{{ nope }} and <title>"


def test_text_is_cut_to_max_length():
    values = {**VALUES, "title": "t" * 50, "description": "d" * 50}
    form = [field("title", "text-input", max_length=10), field("description", max_length=50)]

    fitted = fit_inputs(values, form, {})

    assert fitted["title"] == "t" * 9 + "…"
    assert fitted["description"] == "d" * 50


def test_select_values_outside_the_options():
    form = [
        InputField("tone", "tone", "select", required=False, options=["friendly", "strict"]),
        InputField("depth", "depth", "select", required=True, options=["quick", "deep"]),
        InputField("lang", "lang", "select", required=False, options=["en", "de"]),
    ]
    mapping = {"tone": "{{ target_branch }}", "depth": "thorough", "lang": "de"}

    fitted = fit_inputs(VALUES, form, mapping)

    # Optional: dropped, so Dify uses its default. Required: kept, so validation names it.
    assert fitted == {"depth": "thorough", "lang": "de"}
    with pytest.raises(Exception, match="'thorough' is not one of the options"):
        validate_inputs(form, fitted)


def test_a_typical_form_passes_validation():
    form = [
        InputField("diff", "Diff", "paragraph", required=True, max_length=100),
        InputField("title", "Title", "text-input", required=True, max_length=48),
        InputField("focus", "Focus", "text-input", required=False, max_length=200),
        InputField("tone", "Tone", "select", required=False, options=["friendly", "strict"]),
    ]
    values = {**VALUES, "diff": "x" * 500, "focus": ""}

    fitted = fit_inputs(values, form, {"tone": "strict"})

    assert validate_inputs(form, fitted) == fitted
    assert len(fitted["diff"]) == 100


# --- check_mapping --------------------------------------------------------------------------

FORM = [
    InputField("code", "Code", "paragraph", required=True, max_length=4000),
    InputField("title", "Title", "text-input", required=False),
    InputField("tone", "Tone", "select", required=False, options=["friendly", "strict"]),
    InputField("max_comments", "Max", "number", required=False),
]


def test_a_good_mapping_has_no_errors():
    mapping = {"code": "{{ diff }}", "tone": "strict", "max_comments": 5, "title": "{{title}}"}

    assert check_mapping(mapping, FORM) == []
    assert check_mapping({}, None) == []


@pytest.mark.parametrize("mapping", [[], "{{ diff }}", 3, True])
def test_the_mapping_must_be_an_object(mapping):
    errors = check_mapping(mapping, FORM)

    assert len(errors) == 1 and "must be a JSON object" in errors[0]


def test_no_mapping_at_all_is_an_empty_one():
    assert check_mapping(None, None) == []
    assert check_mapping(None, FORM) == check_mapping({}, FORM)


@pytest.mark.parametrize(
    "value, problem",
    [
        (None, "not nothing (null)"),
        (["a"], "not a list"),
        ({"a": 1}, "not a dict"),
        (math.nan, "finite"),
        (math.inf, "finite"),
    ],
)
def test_mapping_values_must_be_text_numbers_or_booleans(value, problem):
    errors = check_mapping({"code": "{{ diff }}", "title": value}, None)

    assert len(errors) == 1 and errors[0].startswith("title: ") and problem in errors[0]


def test_unknown_and_broken_placeholders_are_reported():
    errors = check_mapping({"code": "{{ dif }} {{ diff }} {{ sha }}", "title": "{{ title"}, None)

    assert errors[0].startswith("code: unknown placeholder {{ dif }}; available: forge, repo")
    assert errors[1].startswith("code: unknown placeholder {{ sha }}")
    assert errors[2] == "title: broken placeholder; write values as {{ diff }}"


def test_names_the_app_does_not_declare_are_reported_when_the_form_is_known():
    mapping = {"code": "{{ diff }}", "language": "en"}

    assert check_mapping(mapping, None) == []
    assert check_mapping(mapping, FORM) == [
        "language: the Dify app has no input of that name (its inputs: code, title, tone, max_comments)"
    ]
    assert check_mapping({"x": 1}, []) == [
        "x: the Dify app has no input of that name (its inputs: none)"
    ]


def test_a_select_literal_must_be_an_option():
    errors = check_mapping({"code": "{{ diff }}", "tone": "rude"}, FORM)

    assert errors == ["tone: 'rude' is not one of the options ['friendly', 'strict']"]


def test_a_required_input_nothing_fills_is_reported():
    errors = check_mapping({}, FORM)

    assert len(errors) == 1 and errors[0].startswith("code: the Dify app requires this input")
    # A required input named like a standard value fills itself.
    form = [InputField("diff", "Diff", "paragraph", required=True)]
    assert check_mapping({}, form) == []


def test_a_variable_name_must_be_a_non_empty_string():
    assert check_mapping({"": "x"}, None) == ["'': a variable name must be a non-empty string"]


# --- diff_budget_for ------------------------------------------------------------------------


def test_budget_without_a_diff_field_is_the_default():
    assert diff_budget_for(None, {}, 30_000) == 30_000
    assert diff_budget_for([], {}, 30_000) == 30_000
    assert diff_budget_for([field("title", max_length=100)], {}, 30_000) == 30_000


def test_a_field_named_diff_limits_the_budget():
    assert diff_budget_for([field("diff", max_length=5000)], {}, 30_000) == 5000
    assert diff_budget_for([field("diff", max_length=50_000)], {}, 30_000) == 30_000
    assert diff_budget_for([field("diff")], {}, 30_000) == 30_000  # no max_length


def test_a_mapped_field_limits_the_budget_minus_its_own_text():
    form = [field("code", max_length=3000)]

    assert diff_budget_for(form, {"code": "Review this:\n{{ diff }}"}, 30_000) == 3000 - 13
    assert diff_budget_for(form, {"code": "{{ diff }}\n{{ diff }}"}, 30_000) == 1499


def test_a_diff_field_mapped_to_something_else_does_not_limit():
    form = [field("diff", max_length=100)]

    assert diff_budget_for(form, {"diff": "{{ changed_files }}"}, 30_000) == 30_000


def test_the_smallest_receiving_field_wins():
    form = [field("diff", max_length=8000), field("code", max_length=4000)]

    assert diff_budget_for(form, {"code": "{{ diff }}"}, 30_000) == 4000
    assert diff_budget_for(form, "not a mapping", 30_000) == 8000


def test_the_budget_is_never_negative():
    form = [field("code", "text-input", max_length=5)]

    assert diff_budget_for(form, {"code": "a long preamble {{ diff }}"}, 30_000) == 0


def test_a_diff_built_with_the_budget_fits_the_field():
    form = [InputField("code", "Code", "paragraph", required=True, max_length=1500)]
    mapping = {"code": "Changes:\n{{ diff }}"}
    files = [fd("big.py", hunks(4, 20)), fd("a.py")]

    diff = build_diff(files, diff_budget_for(form, mapping, 30_000))
    values = standard_inputs(fixture_event("mr_open"), None, diff, files)
    fitted = fit_inputs(values, form, mapping)

    assert fitted["code"] == "Changes:\n" + diff.text  # nothing was cut by fit_inputs
    assert validate_inputs(form, fitted) == fitted


def test_fixture_events_used_here_are_accepted():
    for name, hook in (("mr_open", MR_HOOK), ("note_review_command", NOTE_HOOK)):
        data = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
        assert classify(hook, data["body"], ReviewRules()).accepted
