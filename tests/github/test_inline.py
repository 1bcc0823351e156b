"""Inline comments from a workflow's output: what LLMs produce, read; checked against the diff."""

from __future__ import annotations

import json

import pytest

from integrations.forges.inline import (
    MAX_COMMENTS,
    InlineComment,
    comment_body,
    fingerprint_of,
    new_side_ranges,
    parse_comments,
    place,
    summary_section,
)

DIFF = """diff --git a/app/pay.py b/app/pay.py
--- a/app/pay.py
+++ b/app/pay.py
@@ -10,4 +10,5 @@ def pay(card):
     card.check()
-    return psp.capture(card)
+    for attempt in range(5):
+        return psp.capture(card)
     log.info("done")
diff --git a/old.txt b/old.txt
deleted file
--- a/old.txt
+++ /dev/null
@@ -1 +0,0 @@
-bye
diff --git a/new.md b/new.md
new file
--- /dev/null
+++ b/new.md
@@ -0,0 +1,2 @@
+# Title
+text
"""
ONE = {"path": "app/pay.py", "line": 11, "body": "Cap the retries.", "severity": "High"}


def test_new_side_lines_are_added_and_context_lines_only():
    assert new_side_ranges(DIFF) == {"app/pay.py": [[10, 13]], "new.md": [[1, 2]]}


@pytest.mark.parametrize(
    "value",
    [
        [ONE],
        json.dumps([ONE]),
        {"comments": [ONE]},
        f"Here are my comments:\n```json\n{json.dumps([ONE])}\n```\nThanks.",
        json.dumps({"summary": "x", "comments": [ONE]}),
    ],
    ids=["array", "json-string", "object", "fenced", "object-string"],
)
def test_what_dify_and_llms_produce_is_read(value):
    (comment,), problems = parse_comments(value)
    assert problems == []
    assert comment == InlineComment("app/pay.py", 11, "Cap the retries.", "high")


def test_a_malformed_list_says_exactly_what_is_wrong():
    value = [
        ONE,
        "text",
        {"path": "a.py", "body": "x"},
        {"path": "a.py", "line": 3},
        {"line": 1, "body": "b"},
        {**ONE, "end_line": 2},
    ]
    comments, problems = parse_comments(value)
    assert len(comments) == 1
    assert problems == [
        "comment 2: is str, not an object with path, line and body",
        "comment 3: has no line number (found None)",
        "comment 4: has no body",
        "comment 5: has no path",
        "comment 6: end_line 2 is not a line at or after line 11",
    ]
    assert parse_comments("I found nothing to comment on.")[1] == [
        "the output `comments` is text without a JSON list of comments (a JSON array, or one in a ``` block)"
    ]
    assert parse_comments(42)[1] == ["the output `comments` is int, not a list of comments"]
    assert parse_comments(None) == ([], []) and parse_comments([]) == ([], [])


def test_too_many_comments_are_cut_and_said_so():
    comments, problems = parse_comments([{**ONE, "line": 10}] * (MAX_COMMENTS + 5))
    assert len(comments) == MAX_COMMENTS
    assert problems == [
        f"comment {MAX_COMMENTS + 1}: more than {MAX_COMMENTS} comments; the rest are left out"
    ]


def test_comments_off_the_diff_are_kept_for_the_summary_with_why():
    comments, _ = parse_comments(
        [
            ONE,
            {"path": "app/pay.py", "line": 11, "end_line": 13, "body": "Range ok"},
            {"path": "app/pay.py", "line": 40, "body": "Far away", "severity": "low"},
            {"path": "old.txt", "line": 1, "body": "Deleted file"},
            {"path": "elsewhere.py", "line": 1, "body": "Not in the diff"},
            {"path": "b/new.md", "line": 2, "body": "git prefix is fine"},
        ]
    )
    placed, unplaced = place(comments, new_side_ranges(DIFF))
    assert [c.body for c in placed] == ["Cap the retries.", "Range ok", "git prefix is fine"]
    assert [(c.body, why) for c, why in unplaced] == [
        ("Far away", "line 40 is not an added or unchanged line of the diff"),
        ("Deleted file", "the file is not in the diff the review saw"),
        ("Not in the diff", "the file is not in the diff the review saw"),
    ]
    text = summary_section(placed, unplaced, ["comment 7: has no path"])
    assert "**Inline comments:** 1 high, 2 without severity." in text
    assert "- `app/pay.py`\n  - line 40 **low**: Far away _(line 40 is not" in text
    assert "**Comments the hub could not read:** comment 7: has no path." in text
    assert summary_section([], [], []) == ""


def test_a_posted_comment_carries_its_fingerprint_and_a_suggestion_block():
    comment = InlineComment(
        "app/pay.py", 11, "Use a bounded loop.", "medium", suggestion="for attempt in range(3):"
    )
    body = comment_body(comment)
    assert body.startswith("**medium** · Use a bounded loop.")
    assert "```suggestion\nfor attempt in range(3):\n```" in body
    assert fingerprint_of(body) == comment.fingerprint
    # The same words with other spacing or case on the same line: the same comment.
    assert (
        InlineComment("app/pay.py", 11, "use a  bounded loop.").fingerprint == comment.fingerprint
    )
    assert InlineComment("app/pay.py", 12, "Use a bounded loop.").fingerprint != comment.fingerprint
    assert fingerprint_of("a person's comment") is None
