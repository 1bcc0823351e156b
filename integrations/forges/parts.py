"""Reviews in parts: a diff larger than the endpoint's budget, reviewed by one run per part.

With the endpoint's *review a large diff in parts* on, a review whose diff does not fit is
split by file (chunks.py). Its run (the parent) creates one run per part, kind
``review_part``, with the review's inputs, the part's diff and ``chunk``/``chunks``; they
queue for the app's slots like any run, so they go in parallel up to the app's cap, and
each is retried, reconciled and recovered alone. The parent waits (queued, never holding a
slot) until every part has ended (runs/parts.py wakes it), then puts together one summary,
each part's review under its files, and every part's line comments, and posts it as any
review does. A part that failed is named with its files and why; only if every part failed
does the review fail. Retrying the review reuses the parts that succeeded on the same diff.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NoReturn

from django.db import transaction
from django.utils import timezone

from integrations.dify import RunResult
from integrations.forges import chunks, inline
from integrations.gitlab.review_inputs import DiffBundle, fit_inputs
from integrations.gitlab.types import FileDiff
from integrations.models import ReviewEndpoint, Run
from integrations.runs import dispatch
from integrations.runs.kinds import Finished, NotReady, RunEnded
from integrations.runs.outputs import OutputError, select_output
from integrations.runs.parts import WAIT_SECONDS

OUTPUT_SETTING = "Output with the review"

# Copied from the review to each of its parts.
_SHARED = ("app_id", "query", "review_endpoint_id", "merge_request_key", "head_sha")


def started(run: Run) -> bool:
    """Whether this run already handed its review to parts (its own, not a retried run's)."""
    return ((run.context or {}).get("parts") or {}).get("of") == run.pk


def split_if_large(
    run: Run,
    endpoint: ReviewEndpoint,
    files: Sequence[FileDiff],
    whole: DiffBundle,
    budget: int,
    values: dict,
    form,
) -> None:
    """Start the parts and wait for them (raises NotReady) when the endpoint reviews large
    diffs in parts and this one needs more than one; else leave ``values`` as they are
    (with empty ``chunk`` and ``chunks``)."""
    values.setdefault("chunk", "")
    values.setdefault("chunks", "")
    if not endpoint.review_in_parts or values["diff"] != whole.text:
        return  # off, or a re-review that sends only the new part
    planned = chunks.split(files, budget, endpoint.max_parts)
    if len(planned.parts) < 2:
        return  # it fits (or is one file too large: cut as without parts)
    _start(run, endpoint, planned, values, form)
    raise _waiting(run, len(planned.parts), len(planned.parts))


def _start(run: Run, endpoint: ReviewEndpoint, planned: chunks.Split, values: dict, form):
    total = len(planned.parts)
    mapping = endpoint.input_mapping or {}
    omitted = "\n".join(f"{path} ({why})" for path, why in planned.omitted)
    reusable = _reusable_parts(run)
    diff_lines: dict = {}
    created = []
    with transaction.atomic():
        locked = Run.objects.select_for_update().only("context").get(pk=run.pk)
        if started(locked):  # another attempt of this run got here first
            return
        for part in planned.parts:
            ranges = inline.new_side_ranges(part.bundle.text)
            diff_lines |= ranges
            inputs = {
                **values,
                "diff": part.bundle.text,
                "omitted_files": omitted,
                "chunk": str(part.number),
                "chunks": str(total),
            }
            created.append(
                _create_part(
                    run,
                    part,
                    total,
                    fit_inputs(inputs, form, mapping),
                    ranges,
                    reusable.get(part.fingerprint),
                )
            )
        context = dict(run.context or {})
        context["diff_lines"] = diff_lines  # the parts' lines: what the comments may point at
        context["parts"] = {"of": run.pk, "count": total, "omitted": list(planned.omitted)}
        run.context = context
        summary = {**values, "diff": f"(sent in {total} parts: see each part's inputs)"}
        run.inputs = fit_inputs(summary, form, mapping)
        Run.objects.filter(pk=run.pk).update(
            context=context, inputs=run.inputs, updated_at=timezone.now()
        )
        for part_run in created:
            if part_run.status == Run.Status.QUEUED:
                dispatch.execute(part_run.pk)


def _create_part(
    run: Run, part: chunks.Part, total: int, inputs: dict, ranges: dict, reused: Run | None
) -> Run:
    fields = {name: getattr(run, name) for name in _SHARED}
    context = {"paths": list(part.paths), "fingerprint": part.fingerprint, "diff_lines": ranges}
    source = f"part {part.number} of {total} of review run #{run.pk}"
    if reused is not None:  # the retried review's answer to this very diff
        now = timezone.now()
        fields |= {
            "status": Run.Status.SUCCEEDED,
            "outputs": reused.outputs,
            "total_tokens": reused.total_tokens,
            "elapsed": reused.elapsed,
            "dify_task_id": reused.dify_task_id,
            "dify_workflow_run_id": reused.dify_workflow_run_id,
            "started_at": now,
            "finished_at": now,
        }
        source += f", reused from run #{reused.pk}"
    return Run.objects.create(
        kind=Run.Kind.REVIEW_PART,
        source=source[:255],
        inputs=inputs,
        dify_user=f"{run.dify_user}:part-{part.number}"[:255],
        context=context,
        parent=run,
        part=part.number,
        **fields,
    )


def _reusable_parts(run: Run) -> dict[str, Run]:
    if run.retry_of_id is None:
        return {}
    done = Run.objects.filter(parent_id=run.retry_of_id, status=Run.Status.SUCCEEDED)
    return {(p.context or {}).get("fingerprint"): p for p in done}


def _waiting(run: Run, left: int, total: int) -> NotReady:
    return NotReady(
        f"The hub: waiting for {left} of {total} parts of the review",
        waits=run.waits,
        delay=WAIT_SECONDS,
    )


def collect(run: Run) -> NoReturn:
    """The review's result from its parts, once they have all ended (raises Finished), or
    wait on (NotReady); fails the review (RunEnded) when no part succeeded."""
    parts = list(Run.objects.filter(parent=run).order_by("part"))
    left = sum(1 for p in parts if p.status not in Run.FINAL)
    if left:
        raise _waiting(run, left, len(parts))
    endpoint = run.review_endpoint
    if not any(p.status == Run.Status.SUCCEEDED for p in parts):
        first = parts[0] if parts else None
        reasons = "; ".join(f"part {p.part} (run #{p.pk}): {p.error_message}" for p in parts)
        raise RunEnded(
            Run.Status.FAILED,
            "parts_failed",
            f"Every part of the review failed: {reasons}",
            source=first.error_source if first and first.error_source else "hub",
        )
    raise Finished(_combined(run, endpoint, parts))


def _combined(run: Run, endpoint: ReviewEndpoint | None, parts: list[Run]) -> RunResult:
    output = endpoint.output_key if endpoint is not None else ""
    comments_key = endpoint.comments_output if endpoint is not None else ""
    outputs: dict = {}
    comments: list[dict] = []
    outcomes = []
    for p in parts:
        text, failure, problems = "", _failure(p), ()
        if p.status == Run.Status.SUCCEEDED:
            for name, value in (p.outputs or {}).items():
                outputs.setdefault(name, value)  # other outputs: the first part's
            try:
                text, failure = select_output(p.outputs, output, setting=OUTPUT_SETTING), ""
            except OutputError as exc:
                failure = f"its answer (run #{p.pk}) has no review: {exc}"
            found, problems = inline.parse_comments((p.outputs or {}).get(comments_key))
            comments += [_as_dict(c) for c in found]
        outcomes.append(
            chunks.PartOutcome(
                number=p.part or 0,
                paths=tuple((p.context or {}).get("paths") or ()),
                text=text,
                failure=failure,
                problems=tuple(problems),
            )
        )
    omitted = [tuple(o) for o in ((run.context or {}).get("parts") or {}).get("omitted", [])]
    summary = chunks.combined_summary(outcomes, omitted)
    outputs[_review_output(outputs, output)] = summary
    if comments_key:
        outputs[comments_key] = comments
    tokens = [p.total_tokens for p in parts if p.total_tokens is not None]
    elapsed = [p.elapsed for p in parts if p.elapsed is not None]
    return RunResult(
        task_id=None,
        workflow_run_id=None,
        status="succeeded",
        outputs=outputs,
        error=None,
        elapsed_time=sum(elapsed) if elapsed else None,
        total_tokens=sum(tokens) if tokens else None,
    )


def _review_output(outputs: dict, output: str) -> str:
    """The output the summary goes into: the one the endpoint names, else the one
    select_output picks from the parts' answers (the only one with content, else ``text``)."""
    if output:
        return output
    filled = [name for name, value in outputs.items() if value not in (None, "", [], {})]
    return filled[0] if len(filled) == 1 else "text"


def _failure(part: Run) -> str:
    status = part.get_status_display().lower()
    why = part.error_message or "no reason recorded"
    return f"{status} (run #{part.pk}): {why}"


def _as_dict(comment: inline.InlineComment) -> dict:
    found = {"path": comment.path, "line": comment.line, "body": comment.body}
    if comment.severity:
        found["severity"] = comment.severity
    if comment.end_line:
        found["end_line"] = comment.end_line
    if comment.suggestion is not None:
        found["suggestion"] = comment.suggestion
    return found


def prepare_part(run: Run) -> dict:
    """A part's inputs were made with it; it goes ahead only while its review waits."""
    parent = Run.objects.filter(pk=run.parent_id).only("status").first()
    if parent is None or parent.status in Run.FINAL:
        state = parent.get_status_display().lower() if parent else "deleted"
        raise RunEnded(
            Run.Status.CANCELLED,
            "review_ended",
            f"The hub: the review this is part {run.part} of (run #{run.parent_id}) is "
            f"{state}, so this part is not reviewed.",
        )
    return run.inputs
