"""What the GitHub review tests share: the repository of the octokit fixtures, its heads."""

from __future__ import annotations

import copy
import json
from pathlib import Path

WEBHOOKS = Path(__file__).resolve().parent.parent / "fixtures" / "github" / "webhooks"
SECRET = "a-github-webhook-secret-of-some-length"
REPO = "Codertocat/Hello-World"
HEAD = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"  # pull request #2 in the fixtures
NEWER = "1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e"


def payload(name: str) -> dict:
    return copy.deepcopy(json.loads((WEBHOOKS / f"{name}.json").read_text()))
