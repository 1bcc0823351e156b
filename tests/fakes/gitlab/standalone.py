"""The fake GitLab on its own, for trying the hub by hand and for the benchmarks
(``python -m tests.fakes.gitlab``, or the older ``python -m tests.fakes.gitlab_server``)."""

from __future__ import annotations

import argparse
import sys
import time

from tests.fakes.gitlab.app import DEMO_IID, DEMO_PATH, DEMO_PROJECT_ID, FakeGitLab
from tests.fakes.gitlab.demo_hook import demo_head_sha


def _print_note(action: str, note: dict) -> None:
    stamp = time.strftime("%H:%M:%S")
    who = note["author"]["username"]
    print(
        f"\n[{stamp}] note {note['id']} {action} on {note['project_id']}!{note['noteable_iid']} "
        f"by {who}:\n{note['body']}",
        flush=True,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Fake GitLab REST API (for manual testing)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5003)
    parser.add_argument("--token", default="glpat-demo")
    parser.add_argument("--prefix", default="", help="relative URL root, e.g. /gitlab")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before every answer")
    parser.add_argument(
        "--not-ready", type=int, default=0, help="first N diff reads of the demo MR: not ready"
    )
    parser.add_argument(
        "--any-mr",
        action="store_true",
        help="serve any MR iid of the demo project, head commit bench_head_sha(project, iid)",
    )
    parser.add_argument("--quiet", action="store_true", help="do not print every note")
    args = parser.parse_args(argv)
    fake = FakeGitLab(
        args.token,
        host=args.host,
        port=args.port,
        delay=args.delay,
        prefix=args.prefix,
        on_note=None if args.quiet else _print_note,
    )
    fake.any_merge_request = args.any_mr
    fake.start()
    # At the head commit the recorded "opened" hook names (demo_hook.py sends it), so a
    # review of it goes ahead instead of ending superseded.
    fake.add_merge_request(head_sha=demo_head_sha())
    if args.not_ready:
        fake.diff_not_ready(DEMO_PROJECT_ID, DEMO_IID, times=args.not_ready)
    print(
        f"Fake GitLab serving on {fake.url} (token {args.token}); demo MR: "
        f"{fake.url}/{DEMO_PATH}/-/merge_requests/{DEMO_IID} (project {DEMO_PROJECT_ID}); "
        "Ctrl-C to stop",
        flush=True,
    )
    sys.stdout.flush()
    fake.serve_forever()
