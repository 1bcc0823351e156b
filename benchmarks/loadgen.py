"""A small HTTP load generator for the ingest benchmark: N GitLab MR `open` deliveries,
C at a time, each a distinct MR head with its own Idempotency-Key. Prints one JSON line.

    python benchmarks/loadgen.py --url http://127.0.0.1:8100/hooks/gitlab/bench/ \
        --token SECRET --requests 5000 --concurrency 50

Each of the C threads keeps one HTTP/1.1 connection open (as a proxy in front of the hub
would), so the figures measure the server, not TCP set-up.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import http.client
import json
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

FIXTURE = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "gitlab" / "mr_open.json"


def percentile(sorted_values: list[float], pct: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, round(pct / 100 * len(sorted_values)) - 1))
    return sorted_values[index]


def bench_head(project_id: int, iid: int) -> str:
    # The head the fake GitLab gives an MR it makes up (tests.fakes.gitlab_server.bench_head_sha).
    return hashlib.sha1(f"bench:{project_id}!{iid}".encode()).hexdigest()


def build_bodies(count: int, project_id: int, first_iid: int) -> list[bytes]:
    template = json.loads(FIXTURE.read_text())["body"]
    bodies = []
    for n in range(count):
        body = copy.deepcopy(template)
        body["project"]["id"] = project_id
        attributes = body["object_attributes"]
        attributes["iid"] = first_iid + n
        attributes["target_project_id"] = attributes["source_project_id"] = project_id
        attributes["last_commit"]["id"] = bench_head(project_id, first_iid + n)
        bodies.append(json.dumps(body).encode())
    return bodies


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", default="")
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--project-id", type=int, default=1187)
    parser.add_argument("--first-iid", type=int, default=1)
    args = parser.parse_args()

    target = urlsplit(args.url)
    bodies = build_bodies(args.requests, args.project_id, args.first_iid)
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    errors: list[str] = []
    lock = threading.Lock()
    next_index = iter(range(len(bodies)))

    def worker() -> None:
        conn = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
        while True:
            with lock:
                index = next(next_index, None)
            if index is None:
                break
            headers = {
                "Content-Type": "application/json",
                "X-Gitlab-Event": "Merge Request Hook",
                "X-Gitlab-Token": args.token,
                "Idempotency-Key": str(uuid.uuid4()),
                "User-Agent": "GitLab/18.9.1-ee",
            }
            started = time.perf_counter()
            try:
                conn.request("POST", target.path, body=bodies[index], headers=headers)
                response = conn.getresponse()
                response.read()
                status = str(response.status)
            except (OSError, http.client.HTTPException) as exc:
                status = "error"
                conn.close()
                conn = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
                with lock:
                    errors.append(f"{type(exc).__name__}: {exc}")
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                statuses[status] = statuses.get(status, 0) + 1
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(args.concurrency)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    latencies.sort()
    print(
        json.dumps(
            {
                "requests": len(latencies),
                "concurrency": args.concurrency,
                "wall_seconds": round(wall, 3),
                "rps": round(len(latencies) / wall, 1),
                "p50_ms": round(percentile(latencies, 50) * 1000, 1),
                "p95_ms": round(percentile(latencies, 95) * 1000, 1),
                "p99_ms": round(percentile(latencies, 99) * 1000, 1),
                "max_ms": round(latencies[-1] * 1000, 1) if latencies else 0,
                "statuses": statuses,
                "errors": len(errors),
                "first_errors": errors[:5],
            }
        )
    )


if __name__ == "__main__":
    main()
