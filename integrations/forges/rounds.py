"""Re-reviews: which round this is, what the bot said last time, and what changed since.

A re-review of the same merge or pull request (through the same endpoint) gets, beside the
whole diff: ``review_round`` (1, 2, …), ``previous_review`` (the summary of the last
succeeded review) and ``new_diff``: what changed since the head that review read, from the
forge's compare API. The last *reviewed* head is used, not the push's old revision, so a
force-push or pushes that were never reviewed are covered too.
"""

from __future__ import annotations

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
        earlier.count() + 1, (last.message or {}).get("text", ""), read.get("head_sha", "")
    )


def add_round_inputs(
    run: Run,
    values: dict,
    bundle: DiffBundle,
    head_sha: str,
    compare: Callable[[str], Sequence[FileDiff]] | None,
    budget: int,
) -> None:
    """Add the re-review inputs to ``values``; with the endpoint's *new part when large*, a
    re-review whose whole diff does not fit gets only what changed as ``diff``. The diff
    that is sent is what inline comments are checked against (``diff_lines``)."""
    values |= incremental_inputs(round_of(run), head_sha, bundle.text, compare, budget)
    endpoint = run.review_endpoint
    wanted = endpoint is not None and endpoint.new_part_when_large
    re_review = values["review_round"] != "1" and values["new_diff"]
    if wanted and re_review and bundle.omitted:  # the whole diff did not fit
        values["diff"] = values["new_diff"]
    context = dict(run.context or {})
    context["diff_lines"] = new_side_ranges(values["diff"])  # what inline comments may point at
    run.context = context


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
        new_diff = ""  # the same head again (a /review), or a forge without a compare diff
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
