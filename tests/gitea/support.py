"""What the Gitea review tests share: the repository and head of the woodpecker fixtures."""

from __future__ import annotations

import copy
import json
from pathlib import Path

WEBHOOKS = Path(__file__).resolve().parent.parent / "fixtures" / "gitea" / "webhooks"
SECRET = "a-gitea-webhook-secret-of-some-length"
REPO = "Test-CI/multi-line-secrets"
HEAD = "788ed8d02d3b7fcfcf6386dbcbca696aa1d4dc25"  # pull request #2 in gitea.HookPullRequestUpdated
NEWER = "2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f"


def payload(name: str) -> dict:
    return copy.deepcopy(json.loads((WEBHOOKS / f"{name}.json").read_text()))
