"""What happens after a run succeeds, per kind. Registered here, in one place."""

from __future__ import annotations

from django.utils.module_loading import import_string

from integrations.models import Run

FOLLOWUPS: dict[str, str] = {
    Run.Kind.DIGEST: "integrations.digests.delivery.start_deliveries",
}


def after_success(run: Run) -> None:
    """Called inside the transaction that marked the run succeeded."""
    path = FOLLOWUPS.get(run.kind)
    if path:
        import_string(path)(run)
