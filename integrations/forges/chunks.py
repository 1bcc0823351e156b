"""A diff too large for one run, split by file into parts that each fit (pure: no Django).

Files keep the forge's order and go into the first part with room for them (first fit), so
a part holds neighbouring files where it can. A file larger than the whole budget gets a
part of its own, cut as a one-file diff is. Files that do not fit into the endpoint's
maximum number of parts are left out and named, as are those no budget would include
(binary, generated and lock files).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from integrations.gitlab.review_inputs import DiffBundle, build_diff
from integrations.gitlab.types import FileDiff

# Big enough that build_diff includes any file it would include at all.
_UNLIMITED = 10**12


@dataclass(frozen=True)
class Part:
    number: int
    bundle: DiffBundle

    @property
    def paths(self) -> tuple[str, ...]:
        return self.bundle.included

    @property
    def fingerprint(self) -> str:
        """The same diff in the same part: a retried review reuses that part's answer."""
        return hashlib.sha256(self.bundle.text.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Split:
    parts: tuple[Part, ...]
    omitted: tuple[tuple[str, str], ...]  # (path, why): in no part, or in one only partly


def split(files: Sequence[FileDiff], budget: int, max_parts: int) -> Split:
    """The parts of ``files`` for diffs of at most ``budget`` characters each."""
    omitted: list[tuple[str, str]] = []
    bins: list[list[FileDiff]] = []
    room: list[int] = []
    for f in files:
        alone = build_diff([f], _UNLIMITED)
        if not alone.included:  # left out whatever the budget
            omitted.extend(alone.omitted)
            continue
        size = len(alone.text)
        fits = next((i for i, left in enumerate(room) if size <= left), None)
        if fits is not None:
            bins[fits].append(f)
            room[fits] -= size
        elif len(bins) < max_parts:
            bins.append([f])
            room.append(budget - size)  # below 0 for a file over the budget: it stays alone
        else:
            omitted.append(
                (
                    f.new_path or f.old_path,
                    f"does not fit into {max_parts} parts of {budget} characters "
                    "(the endpoint's maximum number of parts)",
                )
            )
    parts = []
    for number, chosen in enumerate(bins, start=1):
        bundle = build_diff(chosen, budget)
        omitted.extend(bundle.omitted)  # a file cut short in its own part
        parts.append(Part(number, bundle))
    return Split(tuple(parts), tuple(omitted))


@dataclass(frozen=True)
class PartOutcome:
    number: int
    paths: tuple[str, ...]
    text: str  # the part's review, when it succeeded
    failure: str  # why it has none, else ""
    problems: tuple[str, ...] = ()  # what was wrong with its line comments


def combined_summary(outcomes: Sequence[PartOutcome], omitted: Sequence[tuple[str, str]]) -> str:
    """One summary of every part's review, each under its files."""
    total = len(outcomes)
    failed = [o for o in outcomes if o.failure]
    lines = [
        f"Reviewed in {total} parts: the diff is larger than one run's budget."
        + (f" {len(failed)} of them could not be reviewed (below)." if failed else "")
    ]
    for outcome in outcomes:
        files = ", ".join(f"`{path}`" for path in outcome.paths)
        lines += ["", f"### Part {outcome.number} of {total}: {files}", ""]
        if outcome.failure:
            lines.append(f"**Not reviewed:** {outcome.failure}")
        else:
            lines.append(outcome.text.strip() or "(the review of this part is empty)")
        if outcome.problems:
            lines += ["", "Line comments of this part that could not be used:"]
            lines += [f"- {problem}" for problem in outcome.problems]
    if omitted:
        lines += ["", "### Left out", ""]
        lines += [f"- `{path}`: {why}" for path, why in omitted]
    return "\n".join(lines)
