"""RESULTS.md from the figures benchmarks/run.py collected."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

TARGETS = {
    "ingest_p99_ms": 50,
    "reviews_wall_seconds": 10,
    "digest_seconds": 2,
    "runlog_p50_ms": 150,
}


def _mark(ok: bool) -> str:
    return "met" if ok else "**missed**"


def write_report(results: dict, path: Path) -> None:
    lines = [
        "# Benchmark results",
        "",
        f"Run on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC with `make bench` "
        f"({results.get('total_seconds', '?')} s in all).",
        "",
    ]
    m = results.get("machine", {})
    lines += [
        f"Machine: {m.get('cores')} cores, {m.get('memory_gib')} GiB, Linux {m.get('kernel')}; "
        f"Python {m.get('python')}, PostgreSQL {m.get('postgresql')}, Redis {m.get('redis')}.",
        "",
        "Commands: `make bench` (= `.venv/bin/python benchmarks/run.py`); the web server and the "
        "worker are started with hub/processes.py's own lines (below), the fake Dify, GitLab and "
        "chat servers from `tests/fakes/` run as separate processes, and load comes from "
        "`benchmarks/loadgen.py` in its own process.",
        "",
        f"- Web: `{results.get('web_command', '?')}`",
        f"- Worker: `{results.get('worker_command', '?')}`",
        "",
    ]
    lines += _ingest(results)
    lines += _reviews(results)
    lines += _drain(results)
    lines += _digest(results)
    lines += _runlog(results)
    path.write_text("\n".join(lines) + "\n")


def _ingest(results: dict) -> list[str]:
    hub, base = results.get("ingest_hub"), results.get("ingest_baseline")
    if not hub:
        return []
    rows = [
        ("requests", "requests"),
        ("requests per second", "rps"),
        ("p50 latency (ms)", "p50_ms"),
        ("p95 latency (ms)", "p95_ms"),
        ("p99 latency (ms)", "p99_ms"),
        ("max latency (ms)", "max_ms"),
        ("errors", "errors"),
        ("answers", "statuses"),
        ("peak memory of the web processes (MiB)", "peak_rss_mib"),
        ("events stored", "events_stored"),
    ]
    out = [
        "## 1. Webhook ingest",
        "",
        f"{hub['requests']} GitLab MR `open` deliveries, {hub['concurrency']} at a time, each a "
        "distinct MR head with its own Idempotency-Key. The hub verifies the token, stores the "
        "event and the run, and queues it in Redis; the baseline (`benchmarks/baseline_flask.py`, "
        "the seed's design) starts a thread per event that calls the fake Dify in blocking mode "
        "(a 2 s workflow) and stores nothing.",
        "",
        "| | dify-hub | baseline (Flask, thread per event) |",
        "|---|---|---|",
    ]
    for label, key in rows:
        out.append(f"| {label} | {hub.get(key, '—')} | {(base or {}).get(key, '—')} |")
    if base:
        out.append(f"| peak threads | — | {base.get('peak_threads', '—')} |")
    out.append("")
    checks = [
        f"- Stored and queued: {hub['events_stored']} events, {hub['runs_stored']} runs, "
        f"{hub['messages_queued']} messages in the `hub.runs` queue.",
        f"- Target p99 < {TARGETS['ingest_p99_ms']} ms: {_mark(hub['p99_ms'] < 50)} "
        f"({hub['p99_ms']} ms).",
    ]
    if base:
        ratio = hub["rps"] / base["rps"] if base["rps"] else 0
        checks.append(
            f"- Throughput at least the baseline's: {_mark(ratio >= 1)} "
            f"(hub/baseline = {ratio:.2f})."
        )
    return out + checks + [""]


def _reviews(results: dict) -> list[str]:
    r = results.get("reviews")
    if not r:
        return []
    return [
        "## 2. Review fan-out",
        "",
        f"{r['events']} accepted MR events; the fake Dify's workflow takes 2.0 s (streaming, "
        "pings every 0.5 s); the fake GitLab serves the MR and diffs and takes the notes.",
        "",
        f"- Wall time from the first webhook received to the last note delivered: "
        f"**{r['wall_seconds']} s** (target < 10 s: {_mark(r['wall_seconds'] < 10)}).",
        f"- Notes delivered: {r['notes_delivered']}; runs succeeded: {r['runs_succeeded']}.",
        f"- Worker peak memory: {r['worker_peak_rss_mib']} MiB, "
        f"{r['worker_peak_threads']} threads.",
        f"- Webhooks meanwhile: {r['webhook_rps']} requests/s, p99 {r['webhook_p99_ms']} ms.",
        "",
    ]


def _drain(results: dict) -> list[str]:
    d = results.get("drain")
    if not d:
        return []
    bound = d["ideal_seconds"] * 1.2 + 60
    return [
        "## 2b. A backlog with the defaults",
        "",
        f"{d['events']} MR events sent one after the other to an app with the shipped "
        f"`max_concurrent_runs` ({d['max_concurrent_runs']}); the workflow takes "
        f"{d['node_seconds']} s. Ideal drain N x T / C = {d['ideal_seconds']:.0f} s.",
        "",
        f"- First webhook to last note: **{d['wall_seconds']} s** (target within 20 % plus one "
        f"sweep interval, {bound:.0f} s: {_mark(d['wall_seconds'] <= bound)}).",
        f"- Runs that started in the order their events arrived: "
        f"{d['started_in_arrival_order']} of {d['events']}.",
        f"- Notes delivered: {d['notes_delivered']}.",
        "",
    ]


def _digest(results: dict) -> list[str]:
    d = results.get("digest")
    if not d:
        return []
    seconds = d["output_to_last_delivery_seconds"]
    return [
        "## 3. Digest fan-out",
        "",
        f"One digest to {d['recipients']} Rocket.Chat recipients whose receiver takes "
        f"{d['receiver_delay_ms']} ms per message.",
        "",
        f"- From the Dify output to the last delivery: **{seconds} s** (target < 2 s: "
        f"{_mark(seconds < 2)}); run {d['status']}, {d['delivered']} delivered.",
        "",
    ]


def _runlog(results: dict) -> list[str]:
    r = results.get("runlog")
    if not r:
        return []
    out = [
        "## 4. The run log at scale",
        "",
        f"{r['runs']:,} runs with one delivery each in PostgreSQL (loaded in "
        f"{r['load_seconds']} s); 20 requests per page after one warm-up.",
        "",
        "| page | p50 (ms) | p95 (ms) | target p50 < 150 ms |",
        "|---|---|---|---|",
    ]
    for label, t in r["pages"].items():
        out.append(f"| {label} | {t['p50_ms']} | {t['p95_ms']} | {_mark(t['p50_ms'] < 150)} |")
    return out + [""]
