"""RESULTS.md from the figures benchmarks/run.py collected, beside the previous run's.

benchmarks/results.json keeps the figures of the run RESULTS.md shows; the next run reads
it as "previous" before writing its own.
"""

from __future__ import annotations

import os
import statistics
from datetime import UTC, datetime
from pathlib import Path

TARGETS = {
    "ingest_ratio": 1.5,  # hub requests/s over the baseline's, same run
    "ingest_p99_ms": 100,
    "reviews_wall_seconds": 10,
    "reviews_webhook_p99_ms": 500,
    "drain_slack": 0.2,  # within 20 % of N x T / C
    "digest_seconds": 2,
    "runlog_p50_ms": 150,
    "overview_p50_ms": 300,  # the admin's home page (issue 17)
}
# The shipped defaults against the settings the README recommends for heavy use.
DEFAULTS = (
    "`make run` as shipped: one worker process per core (HUB_WORKER_PROCESSES), 100 threads "
    "each (HUB_WORKER_CONCURRENCY), a pool of 2 database connections per worker process and "
    "one persistent connection per web process (HUB_DB_POOL_SIZE), 2 x cores + 1 gunicorn workers, and each app's "
    "`max_concurrent_runs` = 2"
)
TUNED = (
    "the same processes, with the app's `max_concurrent_runs` raised above the fan-out "
    "(1000), as the README recommends when Dify's own `max_active_requests` allows it, and "
    "250 threads per worker process (HUB_WORKER_CONCURRENCY), so that the two processes hold "
    "all 500 reviews at once"
)


def _mark(ok: bool) -> str:
    return "met" if ok else "**missed**"


def _was(previous: dict | None, *keys: str, unit: str = "") -> str:
    value: object = previous
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return f" (previous run: {value}{unit})" if value is not None else " (previous run: —)"


def _speed(machine: dict, before: dict) -> list[str]:
    """The speed gauge's line: the machine's own speed before each step, beside the previous
    run's, since every time and CPU figure below moves with it."""
    gauge = machine.get("speed_gauge")
    if not gauge or "start" not in gauge:
        return []

    def median(g: dict) -> float:
        return statistics.median(step["cpu_ms"] for step in g.values())

    steps = ", ".join(f"{name} {step['cpu_ms']}" for name, step in gauge.items())
    line = (
        "Speed gauge (`speed_gauge` in benchmarks/run.py: a fixed piece of Python, CPU ms, best "
        f"of five, before each step; lower is faster): median {median(gauge):.1f} ms ({steps})"
    )
    earlier = before.get("speed_gauge")
    if earlier and "start" in earlier:
        ratio = median(gauge) / median(earlier)
        line += f"; previous run median {median(earlier):.1f} ms, so this run took {ratio:.2f} × its time"
    return [line + ". Compare the times and CPU per unit below by it.", ""]


def write_report(results: dict, path: Path, previous: dict | None = None) -> None:
    when = previous.get("finished_at", "an earlier run") if previous else "none"
    lines = [
        "# Benchmark results",
        "",
        f"Run on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC with `make bench` "
        f"({results.get('total_seconds', '?')} s in all). Previous figures, in brackets, are "
        f"from the run of {when}. What holds back each missed target, measured: "
        "[docs/benchmarks.md](../docs/benchmarks.md#what-holds-back-the-missed-targets).",
        "",
    ]
    m = results.get("machine", {})
    lines += [
        f"Machine: {m.get('cores')} cores, {m.get('memory_gib')} GiB, Linux {m.get('kernel')}; "
        f"Python {m.get('python')}, PostgreSQL {m.get('postgresql')}, Redis {m.get('redis')}. "
        "The load generator and the fakes run on the same cores.",
        "",
        *_speed(m, (previous or {}).get("machine", {})),
        "Commands: `make bench` (= `.venv/bin/python benchmarks/run.py`); the web server and the "
        "workers are started with hub/processes.py's own lines (below), the fake Dify, GitLab "
        "and chat servers from `tests/fakes/` run as separate processes, and load comes from "
        "`benchmarks/loadgen.py` in its own process.",
        "",
        f"- Web: `{results.get('web_command', '?')}`",
        f"- Worker (one of each per core): `{results.get('worker_command', '?')}`",
        f"- **Defaults**: {DEFAULTS}.",
        f"- **Tuned**: {TUNED}.",
        "",
    ]
    lines += _units(results, previous)
    lines += _ingest(results, previous)
    lines += _reviews(results, previous)
    lines += _drain(results, previous)
    lines += _digest(results, previous)
    lines += _runlog(results, previous)
    lines += _prune(results, previous)
    lines += _projection(results)
    path.write_text("\n".join(lines) + "\n")


def _units(results: dict, previous: dict | None) -> list[str]:
    units = results.get("units")
    if not units:
        return []
    out = [
        "## 0. Per unit of work",
        "",
        "Each unit done 100 times in one process (`benchmarks/units.py`) against PostgreSQL "
        "and the fakes, with Django's query capture around it (transaction control included); "
        "CPU is that process's user + sys time. A review here runs a workflow that answers at "
        "once; a digest delivery posts to the fake Rocket.Chat (100 ms per message).",
        "",
        "| unit | SQL statements (median) | budget | | wall ms | CPU ms | statements, in order |",
        "|---|---|---|---|---|---|---|",
    ]
    for key, label in (
        ("webhook", "one webhook accepted"),
        ("review", "one review, claim to note"),
        ("delivery", "one digest delivery"),
    ):
        u = units[key]
        was = (previous or {}).get("units", {}).get(key, {}).get("queries_median")
        count = f"{u['queries_median']:g}" + (f" (was {was:g})" if was is not None else "")
        out.append(
            f"| {label} | {count} | {u['budget']} | {_mark(u['queries_median'] <= u['budget'])} "
            f"| {u['wall_ms']} | {u['cpu_ms']} | {', '.join(u['last_unit'])} |"
        )
    return out + [""]


def _ingest(results: dict, previous: dict | None) -> list[str]:
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
        ("web CPU ms per webhook", "web_cpu_ms_per_webhook"),
    ]
    before = (previous or {}).get("ingest_hub", {})
    out = [
        "## 1. Webhook ingest (defaults)",
        "",
        f"{hub['requests']} GitLab MR `open` deliveries, {hub['concurrency']} at a time, each a "
        "distinct MR head with its own Idempotency-Key. The hub verifies the token, stores the "
        "event and the run, and queues it in Redis; the baseline (`benchmarks/baseline_flask.py`, "
        "the seed's design) starts a thread per event that calls the fake Dify in blocking mode "
        "(a 2 s workflow) and stores nothing.",
        "",
        "| | dify-hub | dify-hub, previous run | baseline (Flask, thread per event) |",
        "|---|---|---|---|",
    ]
    for label, key in rows:
        out.append(
            f"| {label} | {hub.get(key, '—')} | {before.get(key, '—')} "
            f"| {(base or {}).get(key, '—')} |"
        )
    if base:
        out.append(f"| peak threads | — | — | {base.get('peak_threads', '—')} |")
    out.append("")
    checks = [
        f"- Stored and queued: {hub['events_stored']} events, {hub['runs_stored']} runs, "
        f"{hub['messages_queued']} messages in the `hub.runs` queue.",
        f"- Target p99 < {TARGETS['ingest_p99_ms']} ms: "
        f"{_mark(hub['p99_ms'] < TARGETS['ingest_p99_ms'])} ({hub['p99_ms']} ms).",
    ]
    if base:
        ratio = hub["rps"] / base["rps"] if base["rps"] else 0
        checks.append(
            f"- Throughput at least {TARGETS['ingest_ratio']} x the baseline's: "
            f"{_mark(ratio >= TARGETS['ingest_ratio'])} (hub/baseline = {ratio:.2f})."
        )
    return out + checks + [""]


def _reviews(results: dict, previous: dict | None) -> list[str]:
    r = results.get("reviews")
    if not r:
        return []
    one = results.get("reviews_one_worker")
    out = [
        "## 2. Review fan-out (tuned)",
        "",
        f"{r['events']} MR events posted 50 at a time; the fake Dify's workflow takes 2.0 s "
        "(streaming, pings every 0.5 s); the fake GitLab serves the MR and diffs and takes the "
        "notes.",
        "",
        "| | one worker process per core | one worker process |",
        "|---|---|---|",
    ]
    rows = [
        ("worker processes", "worker_processes"),
        ("threads per worker process", "worker_threads"),
        ("first webhook to last note (s)", "wall_seconds"),
        ("webhooks meanwhile, requests/s", "webhook_rps"),
        ("webhooks meanwhile, p50 (ms)", "webhook_p50_ms"),
        ("webhooks meanwhile, p99 (ms)", "webhook_p99_ms"),
        ("worker CPU ms per review", "worker_cpu_ms_per_review"),
        ("web CPU ms per webhook meanwhile", "web_cpu_ms_per_webhook"),
        ("notes delivered", "notes_delivered"),
        ("worker peak memory (MiB)", "worker_peak_rss_mib"),
        ("worker peak threads", "worker_peak_threads"),
    ]
    for label, key in rows:
        out.append(f"| {label} | {r.get(key, '—')} | {(one or {}).get(key, '—')} |")
    wall, p99 = r["wall_seconds"], r["webhook_p99_ms"]
    out += [
        "",
        f"- Last note: **{wall} s** (target < {TARGETS['reviews_wall_seconds']} s: "
        f"{_mark(wall < TARGETS['reviews_wall_seconds'])})"
        + _was(previous, "reviews", "wall_seconds", unit=" s")
        + ".",
        f"- Webhook p99 during the fan-out: **{p99} ms** (target < "
        f"{TARGETS['reviews_webhook_p99_ms']} ms: {_mark(p99 < TARGETS['reviews_webhook_p99_ms'])})"
        + _was(previous, "reviews", "webhook_p99_ms", unit=" ms")
        + ".",
    ]
    out += _cpu_split(r)
    return out + [""]


def _cpu_split(r: dict) -> list[str]:
    """Where the machine's cores went during the fan-out (one worker process per core)."""
    parts = r.get("cpu_seconds_by_part")
    if not parts:
        return []
    machine = r["machine_cpu_seconds"]
    cores = machine / r["wall_seconds"] if r["wall_seconds"] else 0.0
    said = ", ".join(
        f"{part} {seconds} s ({seconds / machine:.0%})" for part, seconds in parts.items()
    )
    return [
        f"- CPU from the first webhook to the last note: {machine} core-seconds in "
        f"{r['wall_seconds']} s (on average {cores:.2f} of the cores busy): {said}."
    ]


def _drain(results: dict, previous: dict | None) -> list[str]:
    d = results.get("drain")
    if not d:
        return []
    bound = d["ideal_seconds"] * (1 + TARGETS["drain_slack"])
    return [
        "## 2b. Review backlog (defaults)",
        "",
        f"{d['events']} MR events sent one after the other to an app with the shipped "
        f"`max_concurrent_runs` ({d['max_concurrent_runs']}); the workflow takes "
        f"{d['node_seconds']} s. Ideal drain N x T / C = {d['ideal_seconds']:.0f} s.",
        "",
        f"- First webhook to last note: **{d['wall_seconds']} s** (target within 20 %, "
        f"{bound:.0f} s: {_mark(d['wall_seconds'] <= bound)})"
        + _was(previous, "drain", "wall_seconds", unit=" s")
        + ".",
        f"- Runs that started in the order their events arrived: "
        f"{d['started_in_arrival_order']} of {d['events']}.",
        f"- Notes delivered: {d['notes_delivered']}.",
        "",
    ]


def _digest(results: dict, previous: dict | None) -> list[str]:
    d = results.get("digest")
    if not d:
        return []
    seconds = d["output_to_last_delivery_seconds"]
    return [
        "## 3. Digest fan-out (defaults)",
        "",
        f"One digest to {d['recipients']} Rocket.Chat recipients whose receiver takes "
        f"{d['receiver_delay_ms']} ms per message.",
        "",
        f"- From the Dify output to the last delivery: **{seconds} s** (target < "
        f"{TARGETS['digest_seconds']} s: {_mark(seconds < TARGETS['digest_seconds'])})"
        + _was(previous, "digest", "output_to_last_delivery_seconds", unit=" s")
        + f"; run {d['status']}, {d['delivered']} delivered.",
        f"- Worker CPU ms per delivery: {d.get('worker_cpu_ms_per_delivery', '—')}.",
        "",
    ]


def _runlog(results: dict, previous: dict | None) -> list[str]:
    r = results.get("runlog")
    if not r:
        return []
    before = (previous or {}).get("runlog", {}).get("pages", {})
    out = [
        "## 4. The run log at scale",
        "",
        f"{r['runs']:,} runs with one delivery each in PostgreSQL (loaded in "
        f"{r['load_seconds']} s); 20 requests per page after one warm-up.",
        "",
        "| page | p50 (ms) | p95 (ms) | previous p50 (ms) | target p50 | |",
        "|---|---|---|---|---|---|",
    ]
    for label, t in r["pages"].items():
        was = before.get(label, {}).get("p50_ms", "—")
        target = TARGETS["overview_p50_ms" if "overview" in label else "runlog_p50_ms"]
        ok = _mark(t["p50_ms"] < target)
        out.append(f"| {label} | {t['p50_ms']} | {t['p95_ms']} | {was} | < {target} ms | {ok} |")
    return out + [""] + _overview_profile(r.get("overview_profile"))


def _overview_profile(profile: dict | None) -> list[str]:
    """The overview measured in-process right after: where its server time goes."""
    if not profile or "cold" not in profile:
        return []
    warm, cold = profile["warm"], profile["cold"]
    queries = cold["slowest_queries"]
    out = [
        f"- The overview in-process, straight after (the server's time, no network): p50 "
        f"{warm['p50_ms']} ms with the week's figures already counted this minute, as most "
        f"views find them ({warm['queries']} queries); {cold['p50_ms']} ms (max "
        f"{cold['max_ms']}) counting them afresh, as the first view of each minute in each "
        f"web process does ({cold['queries']} queries). The slowest then:",
    ]
    out += [f"  - {float(q['s']) * 1000:.0f} ms: `{q['sql'][:100]}…`" for q in queries[:3]]
    plan = cold.get("slowest_plan") or []
    if plan:
        out += ["", "  Its plan (EXPLAIN (ANALYZE, BUFFERS)):", "", "  ```"]
        out += [f"  {line}" for line in plan[:40]]
        out += ["  ```"]
    return out + [""]


def _prune(results: dict, previous: dict | None) -> list[str]:
    p = results.get("prune")
    if not p:
        return []
    was = (previous or {}).get("prune", {})
    removed, base, during = p["removed"], p["webhooks_baseline"], p["webhooks_during"]
    activity = p["activity"]
    out = [
        "## 4b. Retention prune at 1M runs",
        "",
        f"`manage.py hub prune` (what the nightly task runs) with HUB_RETENTION_DAYS="
        f"{p['retention_days']} and batches of {p['batch']}, over the run log's "
        f"{p['runs_loaded']:,} runs (one delivery each, an attempt for every other) and "
        f"{p['before']['events']:,} webhook events with their GitLab payloads, half older "
        f"than 30 days (loaded and vacuumed in {p['load_seconds']} s). Webhooks arrive at "
        f"{p['webhook_rate']:g} a second over 10 kept-alive connections throughout: 30 s "
        "before the prune (baseline), then for as long as it runs.",
        "",
        "| | now | previous run |",
        "|---|---|---|",
    ]
    rows = [
        ("prune, `hub prune` wall (s)", p["wall_seconds"], was.get("wall_seconds")),
        ("prune, its own timing (s)", p["prune_seconds"], was.get("prune_seconds")),
        (
            "of which payloads, to the first run batch (s)",
            p.get("payload_seconds"),
            was.get("payload_seconds"),
        ),
        (
            "rows removed (or payloads emptied) per second",
            p["rows_per_second"],
            was.get("rows_per_second"),
        ),
        ("runs removed per second", p["runs_per_second"], was.get("runs_per_second")),
    ]
    for key in ("runs", "deliveries", "attempts", "payloads"):
        rows.append((f"{key} removed", _int(removed.get(key)), _int(_get(was, "removed", key))))
    for label, key in (("p50", "p50_ms"), ("p99", "p99_ms"), ("max", "max_ms")):
        rows.append(
            (f"webhook {label} before (ms)", base[key], _get(was, "webhooks_baseline", key))
        )
        rows.append(
            (f"webhook {label} during (ms)", during[key], _get(was, "webhooks_during", key))
        )
    rows += [
        ("webhooks during (answers)", _answers(during), _answers(was.get("webhooks_during"))),
        (
            "longest batch transaction seen (s)",
            activity["longest_write_seconds"],
            _get(was, "activity", "longest_write_seconds"),
        ),
        (
            "web backends seen waiting on a lock (samples)",
            activity["web_lock_wait_samples"],
            _get(was, "activity", "web_lock_wait_samples"),
        ),
    ]
    out += [f"| {label} | {_cell(now)} | {_cell(before)} |" for label, now, before in rows]
    statement = activity["longest_write_statement"]
    checks = " (where a batch's deferred foreign-key checks run)" if statement == "COMMIT" else ""
    shares = activity["prune_waits_share"].items()
    waits = ", ".join(f"{'running' if k == 'CPU' else k} {v:.0%}" for k, v in shares)
    out += [
        "",
        f"- `hub prune --dry-run` first counted {_int(p['due'].get('runs'))} runs and "
        f"{_int(p['due'].get('payloads'))} payloads due, in {p['dry_run_seconds']} s.",
        f"- The prune's PostgreSQL backend, sampled every 0.1 s ({activity['samples']} "
        f"samples), when active: {waits or '—'}. Its longest batch transaction seen, "
        f"{activity['longest_write_seconds']} s, was then in "
        f"`{statement[:60]}`{checks}; its longest SELECT of the next ids "
        f"{activity['longest_read_seconds']} s.",
        f"- Webhook p99 during the prune: **{during['p99_ms']} ms** against {base['p99_ms']} ms "
        f"before ({during['requests']} webhooks during, {during['late_over_100ms']} sent more "
        "than 100 ms late because all 10 connections were waiting).",
        "",
    ]
    return out


def _get(values: dict | None, *keys: str):
    for key in keys:
        values = values.get(key) if isinstance(values, dict) else None
    return values


def _int(value) -> str | None:
    return f"{int(value):,}" if value is not None else None


def _answers(window: dict | None) -> str | None:
    if not window:
        return None
    return ", ".join(f"{n} × {status}" for status, n in sorted(window["statuses"].items()))


def _cell(value) -> str:
    return "—" if value is None else str(value)


def _projection(results: dict) -> list[str]:
    """What the CPU per unit implies for a bigger machine (the wall times do not carry over)."""
    r, hub = results.get("reviews"), results.get("ingest_hub")
    if not r or not hub:
        return []
    web = hub.get("web_cpu_ms_per_webhook", 0)
    per_review = r["worker_cpu_ms_per_review"] + web
    cpu_bound = 3_600_000 / per_review if per_review else 0
    threads = int(os.environ.get("HUB_WORKER_CONCURRENCY") or 100)
    workflow = 10
    thread_bound = threads * 3600 / workflow  # one process's threads, each waiting per review
    needed = cpu_bound * workflow / 3600
    limit = (
        f"so with one process per core the threads, not the CPU, are the limit at a "
        f"{workflow} s workflow: raise HUB_WORKER_CONCURRENCY to about {needed:,.0f} to use a "
        "whole core"
        if thread_bound < cpu_bound
        else "so per core the CPU, not the threads, is the limit"
    )
    return [
        "## 5. What this implies",
        "",
        f"- One review costs {r['worker_cpu_ms_per_review']} ms of worker CPU (claim to note, "
        f"2 worker processes) and {web} ms of web CPU: **{cpu_bound:,.0f} reviews per hour "
        "per core** at most, whatever the workflow takes, since a thread waiting on Dify uses "
        "no CPU. Each added core adds about that much, Dify's own `max_active_requests` and "
        "the app's `max_concurrent_runs` permitting.",
        f"- At a {workflow} s workflow one worker process's {threads} threads hold {threads} "
        f"reviews at once, {thread_bound:,.0f} an hour; {limit}.",
        "",
    ]
