"""Send the demo MR's "opened" webhook to a hub, as GitLab would, for trying reviews by hand
against the fake GitLab (README, "No Dify at hand?"):

    python -m tests.fakes.gitlab.demo_hook http://127.0.0.1:8000/hooks/gitlab/demo/ SECRET

The body is GitLab's real "merge request opened" payload (tests/fixtures/gitlab/mr_open.json)
for the MR the fake serves, at the head commit the fake serves, so the review goes ahead.
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from pathlib import Path

import requests

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "gitlab" / "mr_open.json"


def demo_delivery() -> tuple[dict, dict]:
    """(headers, body) of the recorded delivery, without the recorded secret token and with
    new delivery ids, so sending it again is a new delivery, not a duplicate."""
    recorded = json.loads(FIXTURE.read_text())
    headers = {k: v for k, v in recorded["headers"].items() if k.lower() != "x-gitlab-token"}
    headers["Idempotency-Key"] = headers["X-Gitlab-Event-UUID"] = str(uuid.uuid4())
    return headers, recorded["body"]


def demo_head_sha() -> str:
    """The head commit the payload names: the fake's demo MR is served at it."""
    return demo_delivery()[1]["object_attributes"]["last_commit"]["id"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="the endpoint's webhook URL, as the admin shows it")
    parser.add_argument("secret", help="the endpoint's secret token")
    args = parser.parse_args(argv)
    headers, body = demo_delivery()
    headers = {**headers, "X-Gitlab-Token": args.secret, "Content-Type": "application/json"}
    answer = requests.post(args.url, data=json.dumps(body), headers=headers, timeout=10)
    print(f"HTTP {answer.status_code} {answer.text}")
    sys.exit(0 if answer.ok else 1)


if __name__ == "__main__":
    main()
