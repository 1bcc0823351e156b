"""Recorded GitLab deliveries and the review app's shape, shared by the review tests; the
fixtures that use them live in tests/conftest.py."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from integrations.models import Run
from integrations.runs import engine
from integrations.runs.delivery import deliver_one

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "gitlab"
SECRET = "dhgl_test-secret-token-0123456789"
PROJECT_ID = 1187
PROJECT_PATH = "payments/billing-service"
IID = 342
# Heads in the recorded deliveries: mr_open (first push) and mr_update_new_commits (second).
FIRST_HEAD = "9f3c1a7be2d84410c5e6a9b0d1f2e3c4b5a69788"
SECOND_HEAD = "c41e0d2f7a9b8c6d5e4f3a2b1c0d9e8f7a6b5c4d"

# A review workflow's input form, as Dify's GET /parameters returns it.
REVIEW_FORM = [
    {"text-input": {"variable": "title", "label": "MR title", "required": True, "max_length": 40}},
    {"paragraph": {"variable": "diff", "label": "Diff", "required": True, "max_length": 100000}},
    {"paragraph": {"variable": "changed_files", "label": "Files", "required": False}},
    {"text-input": {"variable": "focus", "label": "Focus", "required": False, "max_length": 200}},
    {"text-input": {"variable": "language", "label": "Language", "required": False}},
]
REVIEW_TEXT = "**Looks good.** One nit: cap the retry delay."

FILES = [
    {
        "old_path": "billing/capture.py",
        "new_path": "billing/capture.py",
        "diff": "@@ -10,3 +10,8 @@ def capture(card):\n-    return psp.capture(card)\n"
        "+    for attempt in range(5):\n+        try:\n+            return psp.capture(card)\n"
        "+        except psp.Timeout:\n+            sleep(2 ** attempt)\n",
    },
    {
        "old_path": "poetry.lock",
        "new_path": "poetry.lock",
        "diff": "@@ -1 +1 @@\n-a\n+b\n",
    },
]


def delivery(name: str, *, token: str | None = SECRET, **header_changes) -> tuple[dict, dict]:
    """A recorded GitLab delivery (headers, body) with our test secret as its token."""
    data = json.loads((FIXTURES / f"{name}.json").read_text())
    headers = dict(data["headers"])
    if token is None:
        headers.pop("X-Gitlab-Token", None)
    else:
        headers["X-Gitlab-Token"] = token
    for key, value in header_changes.items():
        header = key.replace("_", "-")
        if value is None:
            headers.pop(header, None)
        else:
            headers[header] = value
    return headers, copy.deepcopy(data["body"])


def as_django_headers(headers: dict) -> dict:
    extra = {}
    for name, value in headers.items():
        if name.lower() == "content-type":
            continue
        extra["HTTP_" + name.upper().replace("-", "_")] = value
    return extra


def execute(run: Run) -> engine.Next:
    """What the run's Celery message does when it arrives (after any countdown it had)."""
    Run.objects.filter(pk=run.pk, status=Run.Status.QUEUED).update(next_attempt_at=None)
    step = engine.execute(run.pk)
    run.refresh_from_db()
    return step


def deliver_all(run: Run) -> None:
    """Each of the run's deliveries, attempted once, each to success."""
    for item in run.deliveries.all():
        assert deliver_one(item.pk) is None
    run.refresh_from_db()
