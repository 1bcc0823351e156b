"""benchmarks/FAULTS.md from the fault harness's figures, each beside its target."""

from __future__ import annotations

import platform
from datetime import UTC, datetime
from pathlib import Path


def _ok(passed: bool | None) -> str:
    return "—" if passed is None else ("met" if passed else "**missed**")


def _errors_of(fuzz: dict) -> str:
    kinds = [kind for kind, answers in fuzz.get("by_kind", {}).items() if answers.get("error")]
    if kinds == ["6 MB body"]:
        return (
            "all on 6 MB bodies: the hub answers 413 from the Content-Length and closes the "
            "connection while the client is still sending"
        )
    return ", ".join(kinds) or "none"


def write_report(results: dict, out: Path) -> None:
    lines = [
        "# Fault harness",
        "",
        f"`make faults` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, Python "
        f"{platform.python_version()}, {platform.machine()}, "
        f"{results.get('total_seconds', '?')} s in all. The hub runs as `make run` runs it "
        "(supervisord, hub/processes.py, every setting at its default: `max_concurrent_runs` "
        "2, run timeout 1500 s) on a private PostgreSQL and Redis the harness stops and "
        "restarts; the fake Dify and GitLab run as processes of their own. Figures, not "
        "pass/fail: timing never gates CI.",
        "",
        "| scenario | figure | target | |",
        "|---|---|---|---|",
    ]
    rows: list[tuple[str, str, str, bool | None]] = []
    b = results.get("broker")
    if b:
        drain = b.get("broker_back_to_last_note_seconds")
        target = b["ideal_drain_seconds"] + 60 + b["outage_seconds"]
        total = b.get("first_event_to_last_note_seconds")
        rows += [
            ("broker outage", f"answers {b['answers']} ({b['answered_2xx_pct']} % 2xx)",
             "100 % 2xx", b["answered_2xx_pct"] == 100),
            ("", f"in the {b['outage_seconds']} s outage: {b['answers_in_outage']} answers, "
             f"p50 {b['outage_p50_ms']} ms, p99 {b['outage_p99_ms']} ms", "", None),
            ("", f"processes all running: {b['processes']['all_running']}, restarts "
             f"{b['processes']['restarts']} {b['processes']['exits']}", "none left dead",
             b["processes"]["all_running"]),
            ("", f"first event to last of {b['events']} notes: {total} s (broker back to last "
             f"note {drain} s)", f"N×T/C + 60 s + outage = {target:.0f} s",
             total is not None and total <= target),
            ("", f"MRs with ≠ 1 note: {b['notes_not_one']}, with ≠ 1 Dify run: "
             f"{b['dify_runs_not_one']}", "0 duplicates", b["notes_not_one"] == 0
             and b["dify_runs_not_one"] == 0),
        ]  # fmt: skip
    w = results.get("worker")
    if w:
        rows += [
            ("worker SIGKILL", f"kill to note {w['kill_to_note_seconds']} s ({w['workflow_seconds']}"
             f" s workflow, run timeout {w['app_run_timeout']} s)", "< 90 s",
             w["kill_to_note_seconds"] is not None and w["kill_to_note_seconds"] < 90),
            ("", f"Dify POSTs {w['dify_posts_total']}, notes ≠ 1: {w['notes_not_one']}, "
             f"restarts {w['processes']['restarts']}", "1 POST, 1 note",
             w["dify_posts_total"] == 1 and w["notes_not_one"] == 0),
        ]  # fmt: skip
    p = results.get("postgres")
    if p:
        rows += [
            ("PostgreSQL restart", f"answers {p['answers']} over a {p['restart_seconds']} s "
             f"restart; 503 says: {p['refused_messages'][:1]}", "503 with a clear message",
             not any(k.startswith("5") and k != "503" for k in p["answers"])),
            ("", f"503 but stored: {p['refused_but_stored']}; 202 but not stored: "
             f"{p['accepted_but_not_stored']}", "nothing half stored",
             p["refused_but_stored"] == 0 and p["accepted_but_not_stored"] == 0),
            ("", f"accepted MRs with ≠ 1 note: {p['notes_not_one']}, ≠ 1 Dify run: "
             f"{p['dify_runs_not_one']}", "each reviewed once",
             p["notes_not_one"] == 0 and p["dify_runs_not_one"] == 0),
        ]  # fmt: skip
    d = results.get("dify")
    if d:
        rows += [
            ("Dify 502/504/cut", f"{d['events']} events in a {d['fault_window_seconds']} s fault "
             f"window; last note after {d['first_event_to_last_note_seconds']} s",
             "every run reconciles", d["notes_not_one"] == 0),
            ("", f"MRs with ≠ 1 Dify run: {d['dify_runs_not_one']} (max "
             f"{d['max_dify_runs_per_mr']}), POSTs {d['dify_posts_total']}",
             "no duplicate where the id was known", d["dify_runs_not_one"] == 0),
        ]  # fmt: skip
    f = results.get("fuzz")
    if f:
        rows += [
            ("fuzz", f"{f['requests']} requests: {f['answers']}", "0 5xx", f["5xx"] == 0),
            ("", f"hangs {f['hangs']}, connection errors {f['connection_errors']} "
             f"({_errors_of(f)}), p99 {f['p99_ms']} ms", "none hangs", f["hangs"] == 0),
            ("", f"events stored for bad tokens: {f['stored_for_bad_tokens']} (rejections "
             f"counted {f['rejections_counted']})", "nothing stored", f["stored_for_bad_tokens"] == 0),
        ]  # fmt: skip
    for scenario, figure, target, passed in rows:
        lines.append(f"| {scenario} | {figure} | {target} | {_ok(passed)} |")
    lines += ["", "Raw figures: `var/faults/results.json` after a run.", ""]
    out.write_text("\n".join(lines))
