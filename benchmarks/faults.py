"""`make faults`: the hub as `make run` runs it, under injected faults; figures into FAULTS.md.

Scenarios (each prints one JSON line, then benchmarks/FAULTS.md is written):
  broker    Redis killed after 300 of 1,000 MR events (concurrency 20), back 10 s after the
            last one: answers, latency in the outage, processes, time to the last note,
            notes and Dify runs per MR.
  worker    the worker SIGKILLed while a 10 s review runs in Dify (app run timeout at its
            default): kill to note, Dify POSTs and notes for that MR.
  postgres  PostgreSQL restarted in the middle of 300 events: 503s with a clear message,
            nothing half stored, everything accepted reviewed once.
  dify      Dify answering 502 and 504 pages and cutting streams for 30 s: runs reconcile,
            no duplicate Dify run where the run id was known.
  fuzz      5,000 malformed or hostile webhook requests: no 5xx, no hang, nothing stored
            for a bad token.

Everything runs on a private PostgreSQL and Redis (benchmarks/harness.py). Figures are
printed and written; nothing here fails on timing.

    .venv/bin/python benchmarks/faults.py [--only broker,worker,postgres,dify,fuzz]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import contextlib

from benchmarks import harness as h  # noqa: E402
from benchmarks.loadgen import build_bodies  # noqa: E402

DIFY_USER = "gitlab:payments/billing-service!{iid}"  # the fixture's project path


def hub_env(pg: h.PrivatePostgres, redis: h.PrivateRedis) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="hub.settings",
        DATABASE_URL=pg.url,
        REDIS_URL=redis.url,
        HUB_BIND=h.WEB,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        PYTHONUNBUFFERED="1",
    )
    return env


def setup_django(env: dict[str, str]) -> None:
    for name in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "REDIS_URL"):
        os.environ[name] = env[name]
    import django

    django.setup()


def create_config():
    from integrations.checks.dify_app import check_app
    from integrations.models import DifyApp, ReviewEndpoint

    app = DifyApp.objects.create(
        name="faults", base_url=f"http://127.0.0.1:{h.DIFY_PORT}/v1", api_key=h.DIFY_KEY
    )  # every other setting as a user gets it: max_concurrent_runs 2, run timeout 1500 s
    report = check_app(app)
    if not report.ok:
        raise SystemExit(f"fake Dify check failed: {report.summary}")
    endpoint = ReviewEndpoint(
        name="faults",
        slug="faults",
        app=app,
        base_url=f"http://127.0.0.1:{h.GITLAB_PORT}",
        access_token=h.GITLAB_TOKEN,
        input_mapping={"query": "Review {{ title }}"},
        output_key="echo",
    )
    endpoint.set_secret_token(h.HOOK_SECRET)
    endpoint.full_clean()
    endpoint.save()
    return app


def notes_done(iids: list[int]) -> int:
    from integrations.models import Delivery

    keys = [f"{h.PROJECT}!{iid}" for iid in iids]
    return Delivery.objects.filter(
        run__merge_request_key__in=keys, kind="gitlab_note", status="delivered"
    ).count()


def per_mr(iids: list[int]) -> dict:
    """Notes on GitLab and runs in Dify per MR: anything but exactly one is a duplicate or a
    loss."""
    stats = h.dify_control("/_fake/stats")
    notes = {iid: len(h.gitlab_notes(iid)) for iid in iids}
    runs = {iid: stats["runs"].get(DIFY_USER.format(iid=iid), 0) for iid in iids}
    posts = {iid: stats["run_posts"].get(DIFY_USER.format(iid=iid), 0) for iid in iids}
    return {
        "mrs": len(iids),
        "notes_not_one": sum(1 for n in notes.values() if n != 1),
        "dify_runs_not_one": sum(1 for n in runs.values() if n != 1),
        "dify_posts_total": sum(posts.values()),
        "max_notes_per_mr": max(notes.values(), default=0),
        "max_dify_runs_per_mr": max(runs.values(), default=0),
    }


def processes(hub: h.Hub, exits_before: int) -> dict:
    """Whether every process is up (a restarted one gets its 5 s to count as running)."""
    with contextlib.suppress(TimeoutError):
        h.wait_until(lambda: set(hub.states().values()) == {"RUNNING"}, 20, "the processes")
    states = hub.states()
    exits = hub.exits()[exits_before:]
    return {
        "all_running": bool(states) and all(state == "RUNNING" for state in states.values()),
        "states": states,
        "restarts": len(exits),
        "exits": [line.split("exited:", 1)[1].strip() for line in exits][:5],
    }


# --- scenarios -----------------------------------------------------------------------------


def broker_outage(hub, redis, count=1000, node=0.2, kill_after=300) -> dict:
    h.dify_control("/_fake/config", {"node_seconds": node})
    first = 100_000
    iids = list(range(first, first + count))
    exits_before = len(hub.exits())
    marks: dict[str, float] = {}

    def on_answer(done: int) -> None:
        if done == kill_after and "killed" not in marks:
            marks["killed"] = time.monotonic()
            redis.kill()

    began = time.monotonic()
    burst = h.send(h.hook_path(), build_bodies(count, h.PROJECT, first), concurrency=20,
                   on_answer=on_answer)  # fmt: skip
    last_event = time.monotonic()
    time.sleep(10)
    redis.start()
    marks["restarted"] = time.monotonic()
    outage = burst.between(marks["killed"], marks["restarted"])
    ideal = count * node / 2
    try:
        h.wait_until(lambda: notes_done(iids) >= count, ideal + 600, "every note", interval=1)
        done_at = time.monotonic()
    except TimeoutError:
        done_at = None
    return {
        "events": count,
        "answers": burst.statuses(),
        "answered_2xx_pct": round(
            100 * sum(1 for a in burst.answers if str(a.status).startswith("2")) / count, 2
        ),
        "outage_seconds": round(marks["restarted"] - marks["killed"], 1),
        "answers_in_outage": len(outage),
        "outage_p50_ms": h.percentile_ms(outage, 50),
        "outage_p99_ms": h.percentile_ms(outage, 99),
        "burst_seconds": round(last_event - began, 1),
        "processes": processes(hub, exits_before),
        "workflow_seconds": node,
        "cap": 2,
        "ideal_drain_seconds": ideal,
        "first_event_to_last_note_seconds": round(done_at - began, 1) if done_at else None,
        "broker_back_to_last_note_seconds": (
            round(done_at - marks["restarted"], 1) if done_at else None
        ),
        "notes_delivered": notes_done(iids),
        **per_mr(iids),
    }


def worker_kill(hub, node=10.0) -> dict:
    from integrations.models import Run

    h.dify_control("/_fake/config", {"node_seconds": node})
    iid = 200_000
    exits_before = len(hub.exits())
    burst = h.send(h.hook_path(), build_bodies(1, h.PROJECT, iid), concurrency=1)
    run_id = json.loads(burst.answers[0].body)["run"]
    h.wait_until(
        lambda: Run.objects.filter(pk=run_id).exclude(dify_workflow_run_id="").exists(),
        60,
        "Dify to start the review",
    )
    time.sleep(2)  # well inside the 10 s node
    os.kill(hub.pid("worker-1"), signal.SIGKILL)
    killed = time.monotonic()
    try:
        h.wait_until(lambda: notes_done([iid]) >= 1, 600, "the note", interval=0.5)
        to_note = round(time.monotonic() - killed, 1)
    except TimeoutError:
        to_note = None
    run = Run.objects.get(pk=run_id)
    return {
        "workflow_seconds": node,
        "app_run_timeout": run.app.run_timeout,
        "kill_to_note_seconds": to_note,
        "run_status": run.status,
        "processes": processes(hub, exits_before),
        **per_mr([iid]),
    }


def postgres_restart(hub, pg, count=300, node=0.2, restart_after=100, down_seconds=3) -> dict:
    from integrations.models import Run, WebhookEvent

    h.dify_control("/_fake/config", {"node_seconds": node})
    first = 300_000

    exits_before = len(hub.exits())
    marks: dict[str, float] = {}

    def on_answer(done: int) -> None:
        if done == restart_after and "down" not in marks:
            marks["down"] = time.monotonic()
            pg.stop()
            time.sleep(down_seconds)
            pg.start()
            marks["up"] = time.monotonic()

    from django.db import connections

    # Paced (about 30 a second), so events arrive before, during and after the restart.
    burst = h.send(h.hook_path(), build_bodies(count, h.PROJECT, first), concurrency=10,
                   on_answer=on_answer, pace=0.3)  # fmt: skip
    connections.close_all()  # this process's own connection died with the restart
    accepted = [a for a in burst.answers if a.status == 202]
    refused = [a for a in burst.answers if a.status == 503]
    messages = sorted({json.loads(a.body).get("error", "") for a in refused if a.body})
    stored = set(WebhookEvent.objects.filter(idempotency_key__in=[a.key for a in burst.answers])
                 .values_list("idempotency_key", flat=True))  # fmt: skip
    half_stored = sum(1 for a in refused if a.key in stored)
    lost = sum(1 for a in accepted if a.key not in stored)
    accepted_iids = [first + a.index for a in accepted]
    runs = Run.objects.filter(merge_request_key__in=[f"{h.PROJECT}!{i}" for i in accepted_iids])
    with contextlib.suppress(TimeoutError):
        h.wait_until(
            lambda: notes_done(accepted_iids) >= len(accepted_iids), 600, "the notes", interval=1
        )
    return {
        "events": count,
        "answers": burst.statuses(),
        "restart_seconds": round(marks["up"] - marks["down"], 1),
        "refused_messages": messages,
        "refused_but_stored": half_stored,
        "accepted_but_not_stored": lost,
        "accepted_runs": runs.count(),
        "processes": processes(hub, exits_before),
        **per_mr(accepted_iids),
    }


def dify_faults(hub, count=60, node=0.5, window=30.0) -> dict:
    from integrations.models import Run

    h.dify_control("/_fake/config", {"node_seconds": node})
    first = 400_000
    iids = list(range(first, first + count))
    h.dify_control("/_fake/faults", {"seconds": window})
    began = time.monotonic()
    burst = h.send(h.hook_path(), build_bodies(count, h.PROJECT, first), concurrency=1,
                   pace=window / count)  # fmt: skip
    try:
        h.wait_until(lambda: notes_done(iids) >= count, 900, "every note", interval=1)
        done = round(time.monotonic() - began, 1)
    except TimeoutError:
        done = None
    figures = per_mr(iids)
    keys = [f"{h.PROJECT}!{iid}" for iid in iids]
    return {
        "events": count,
        "fault_window_seconds": window,
        "answers": burst.statuses(),
        "first_event_to_last_note_seconds": done,
        # Runs tried more than once: a 502 that never reached Dify is tried again once the
        # logs show it never started; a 504 or a cut stream is followed, not re-sent.
        "runs_tried_again": Run.objects.filter(merge_request_key__in=keys, attempts__gt=1).count(),
        **figures,
    }


def fuzz(hub, count=5000) -> dict:
    from integrations.models import ReviewEndpoint, WebhookEvent

    rng = random.Random(7)
    template = build_bodies(1, h.PROJECT, 900_000)[0]
    exits_before = len(hub.exits())
    cases = []
    for n in range(count):
        kind = n % 12
        body, headers, path, method = template, {}, h.hook_path(), "POST"
        if kind == 0:
            body = rng.randbytes(rng.randint(1, 4000))
        elif kind == 1:
            body = template[: rng.randint(1, len(template) - 1)]
        elif kind == 2:
            depth = rng.choice([33, 100, 1000, 5000, 50000])
            body = (
                ("[" * depth + "]" * depth).encode()
                if n % 2
                else ('{"a":' * depth + "1" + "}" * depth).encode()
            )
        elif kind == 3:
            headers = {
                "Content-Type": rng.choice(["text/plain", "application/x-www-form-urlencoded", ""])
            }
        elif kind == 4:
            headers = {"X-Gitlab-Event": "x" * rng.choice([9000, 20000])}
        elif kind == 5:
            body = b'{"a": "' + b"x" * (6 * 1024 * 1024) + b'"}'
        elif kind == 6:
            headers = {"X-Gitlab-Token": rng.choice(["", "wrong", "x" * 300, "dhgl_" + "0" * 32])}
        elif kind == 7:
            path = rng.choice(["/hooks/gitlab/nope/", "/hooks/gitlab/../admin/", "/hooks/gitlab//"])
        elif kind == 8:
            body = b'{"object_kind": "merge_request", "x": "\xff\xfe"}'
        elif kind == 9:
            body = rng.choice([b"[]", b"1", b'"x"', b"null", b"true"])
        elif kind == 10:
            data = json.loads(template)
            data["object_attributes"] = rng.choice([[], "x", 5, {"iid": "7", "state": []}])
            body = json.dumps(data).encode()
        else:
            method = rng.choice(["GET", "PUT", "DELETE", "PATCH"])
        cases.append((kind, body, headers, path, method))

    rejected_before = ReviewEndpoint.objects.get(slug="faults").rejected_count
    results: dict[int, h.Burst] = {}
    stored_for_bad_tokens = 0
    for kind in range(12):
        events_before = WebhookEvent.objects.count()
        by_shape: dict = {}
        for _, body, headers, path, method in (c for c in cases if c[0] == kind):
            by_shape.setdefault((json.dumps(headers), path, method), []).append(body)
        burst = h.Burst()
        for (headers_json, path, method), bodies in by_shape.items():
            part = h.send(path, bodies, concurrency=10, headers=json.loads(headers_json),
                          method=method, timeout=15)  # fmt: skip
            burst.answers += part.answers
        results[kind] = burst
        if kind == 6:  # only the token is wrong: nothing may be stored
            stored_for_bad_tokens = WebhookEvent.objects.count() - events_before
    names = ["random bytes", "truncated JSON", "nested JSON", "wrong content type",
             "huge header", "6 MB body", "bad token", "bad slug", "invalid UTF-8",
             "JSON not an object", "wrong shapes inside", "wrong method"]  # fmt: skip
    by_kind = {names[kind]: burst.statuses() for kind, burst in results.items()}
    answers = [a for burst in results.values() for a in burst.answers]
    fivexx = [a for a in answers if isinstance(a.status, int) and a.status >= 500]
    hangs = [a for a in answers if a.status == "error" and "timed out" in a.body]
    errors = [a for a in answers if a.status == "error" and "timed out" not in a.body]
    return {
        "requests": len(answers),
        "answers": h.Burst(answers).statuses(),
        "5xx": len(fivexx),
        "hangs": len(hangs),
        "connection_errors": len(errors),
        "first_5xx": [a.body[:200] for a in fivexx[:3]],
        "by_kind": by_kind,
        "stored_for_bad_tokens": stored_for_bad_tokens,
        "rejections_counted": ReviewEndpoint.objects.get(slug="faults").rejected_count
        - rejected_before,
        "p99_ms": h.percentile_ms(answers, 99),
        "processes": processes(hub, exits_before),
    }


SCENARIOS = ("broker", "worker", "postgres", "dify", "fuzz")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", default=",".join(SCENARIOS))
    parser.add_argument("--out", default=str(h.ROOT / "benchmarks" / "FAULTS.md"))
    args = parser.parse_args()
    chosen = [s for s in SCENARIOS if s in args.only.split(",")]
    began = time.monotonic()
    if not h.PrivatePostgres.available():
        raise SystemExit("make faults needs PostgreSQL's server binaries (initdb, pg_ctl)")
    pg, redis = h.PrivatePostgres(), h.PrivateRedis()
    pg.start()
    redis.start()
    pg.fresh_database()
    env = hub_env(pg, redis)
    subprocess.run([h.PY, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=h.ROOT, env=env,
                   check=True)  # fmt: skip
    setup_django(env)
    fakes = [
        h.Process("fake-dify", [h.PY, "-m", "tests.fakes.dify", "--port", str(h.DIFY_PORT),
                                "--api-key", h.DIFY_KEY, "--ping-interval", "0.5", "--control"]),
        h.Process("fake-gitlab", [h.PY, "-m", "tests.fakes.gitlab_server", "--port",
                                  str(h.GITLAB_PORT), "--token", h.GITLAB_TOKEN, "--any-mr",
                                  "--quiet"]),
    ]  # fmt: skip
    for port in (h.DIFY_PORT, h.GITLAB_PORT):
        h.wait_until(lambda port=port: h.port_open(port), 30, f"the fake on port {port}")
    create_config()
    hub = h.Hub(env)
    results: dict = {}
    try:
        hub.start()
        runners = {
            "broker": lambda: broker_outage(hub, redis),
            "worker": lambda: worker_kill(hub),
            "postgres": lambda: postgres_restart(hub, pg),
            "dify": lambda: dify_faults(hub),
            "fuzz": lambda: fuzz(hub),
        }
        for name in chosen:
            started = time.monotonic()
            results[name] = runners[name]()
            results[name]["scenario_seconds"] = round(time.monotonic() - started, 1)
            print(json.dumps({name: results[name]}), flush=True)
    finally:
        hub.stop()
        for fake in fakes:
            fake.stop()
        redis.process and redis.process.stop()
        pg.stop()
    results["total_seconds"] = round(time.monotonic() - began, 1)
    (h.WORK / "results.json").write_text(json.dumps(results, indent=2, default=str))
    from benchmarks.faults_report import write_report

    write_report(results, Path(args.out))
    print(f"wrote {args.out} in {results['total_seconds']} s")


if __name__ == "__main__":
    main()
