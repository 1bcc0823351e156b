"""The review run kind, for every forge: each run goes to its forge's review module.

A run's context says which forge's event started it (``merge_request`` for GitLab,
``pull_request`` for GitHub, Gitea and Forgejo), so a run whose endpoint was deleted still finds its way.
"""

from __future__ import annotations

from types import ModuleType

from integrations.forges import parts, pull_review
from integrations.gitlab import review as gitlab
from integrations.models import Run


def _forge(run: Run) -> ModuleType:
    return pull_review if "pull_request" in (run.context or {}) else gitlab


def prepare(run: Run) -> dict:
    if parts.started(run):  # a review in parts: put together what its parts found
        parts.collect(run)
    return _forge(run).prepare(run)


def after_success(run: Run) -> None:
    forge = _forge(run)
    (forge.send_comment if forge is pull_review else forge.send_note)(run)


def compose(run: Run) -> dict:
    return _forge(run).compose(run)
