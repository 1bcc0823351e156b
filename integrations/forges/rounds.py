"""Re-reviews: which round this is, what the bot said last time, and what changed since.

A re-review of the same merge or pull request (through the same endpoint) gets, beside the
whole diff: ``review_round`` (1, 2, …), ``previous_review`` (the summary of the last
succeeded review) and ``new_diff``: what changed since the head that review read, from the
forge's compare API. The last *reviewed* head is used, not the push's old revision, so a
force-push or pushes that were never reviewed are covered too.

A forge whose compare API has no patches (Gitea, Forgejo) gets ``new_diff`` from the files
themselves: each review keeps a fingerprint of every file's patch, and a re-review sends the
files whose patch is new or differs from the one the last review saw.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from integrations.errors import HubError
from integrations.forges.inline import new_side_ranges
from integrations.gitlab.review_inputs import DiffBundle, build_diff
from integrations.gitlab.types import FileDiff
from integrations.models import Run


@dataclass(frozen=True)
class Round:
    number: int
    previous_review: str
    previous_head: str
    previous_files: dict[str, str] | None = None  # path -> fingerprint of its patch


def fingerprints(files: Sequence[FileDiff]) -> dict[str, str]:
    """Per file, a fingerprint of what changed in it (its patch, and how it was renamed)."""
    found = {}
    for f in files:
        key = f"{f.old_path}\n{f.new_path}\n{f.deleted_file}\n{f.diff}"
        found[f.new_path or f.old_path] = hashlib.sha256(key.encode()).hexdigest()[:16]
    return found


def who_reviews_the_newer_head(run: Run, head_sha: str) -> str:
    """For a review the change moved on from: which run reviews the newer head, or what to do
    when none does (its push never reached the hub, or the endpoint does not review pushes)."""
    newer = (
        Run.objects.filter(
            review_endpoint_id=run.review_endpoint_id,
            merge_request_key=run.merge_request_key,
            parent__isnull=True,
            pk__gt=run.pk,
        )
        .order_by("-pk")
        .only("pk", "head_sha")
        .first()
    )
    if newer is not None:
        return f"run #{newer.pk} reviews the newer state."
    return (
        f"no review of {head_sha[:8]} has been asked for (its push did not reach the hub, or "
        "the endpoint's triggers leave new commits out): comment /review to review it."
    )


def round_of(run: Run) -> Round:
    if (run.context or {}).get("trigger") == "open":
        return Round(1, "", "")  # a pull or merge request just opened has had no review yet
    earlier = Run.objects.filter(
        review_endpoint_id=run.review_endpoint_id,
        merge_request_key=run.merge_request_key,
        status=Run.Status.SUCCEEDED,
        parent__isnull=True,  # a review's parts are not reviews of their own
        pk__lt=run.pk,
    )
    last = earlier.order_by("-pk").only("message", "context").first()
    if last is None:
        return Round(1, "", "")
    read = (last.context or {}).get("read") or {}
    return Round(
        earlier.count() + 1,
        (last.message or {}).get("text", ""),
        read.get("head_sha", ""),
        (last.context or {}).get("file_fingerprints"),
    )


def add_round_inputs(
    run: Run,
    values: dict,
    bundle: DiffBundle,
    head_sha: str,
    compare: Callable[[str], Sequence[FileDiff]] | None,
    budget: int,
    files: Sequence[FileDiff] = (),
) -> None:
    """Add the re-review inputs to ``values``; with the endpoint's *new part when large*, a
    re-review whose whole diff does not fit gets only what changed as ``diff``. The diff
    that is sent is what inline comments are checked against (``diff_lines``). ``compare``
    None: the forge has no compare diff, so ``files`` are compared with the last review's."""
    current = round_of(run)
    if compare is None and current.previous_files is not None:
        compare = _changed_since(current.previous_files, files)
    values |= incremental_inputs(current, head_sha, bundle.text, compare, budget)
    endpoint = run.review_endpoint
    wanted = endpoint is not None and endpoint.new_part_when_large
    re_review = values["review_round"] != "1" and values["new_diff"]
    if wanted and re_review and bundle.omitted:  # the whole diff did not fit
        values["diff"] = values["new_diff"]
    context = dict(run.context or {})
    context["diff_lines"] = new_side_ranges(values["diff"])  # what inline comments may point at
    context["file_fingerprints"] = fingerprints(files)
    run.context = context


def _changed_since(previous: dict[str, str], files: Sequence[FileDiff]):
    """A ``compare`` for a forge without one: the files whose patch the last review did not
    see (whatever ``base`` is: that review's head is the base)."""
    now = fingerprints(files)
    changed = [
        f for f in files if previous.get(f.new_path or f.old_path) != now[f.new_path or f.old_path]
    ]
    return lambda base: changed


def incremental_inputs(
    current: Round,
    head_sha: str,
    whole_diff: str,
    compare: Callable[[str], Sequence[FileDiff]] | None,
    budget: int,
) -> dict[str, str]:
    """The re-review inputs; ``compare(base)`` lists the files changed from ``base`` to head."""
    if current.number == 1 or not current.previous_head:
        new_diff = whole_diff  # everything is new to the reviewer
    elif current.previous_head == head_sha or compare is None:
        new_diff = ""  # the same head again (a /review), or nothing to compare with
    else:
        try:
            new_diff = build_diff(compare(current.previous_head), budget).text
        except HubError as exc:
            if exc.code != "not_found":
                raise
            new_diff = whole_diff  # the reviewed head is gone (a force-push): all of it is new
    return {
        "new_diff": new_diff,
        "previous_review": current.previous_review,
        "review_round": str(current.number),
    }
