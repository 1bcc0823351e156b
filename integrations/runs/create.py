"""Creating a run and handing it to the workers once it is stored."""

from __future__ import annotations

from django.db import transaction

from integrations.models import DifyApp, Run
from integrations.runs import dispatch


def create_run(
    app: DifyApp,
    *,
    kind: str,
    source: str,
    inputs: dict,
    dify_user: str,
    query: str = "",
    **fields,
) -> Run:
    with transaction.atomic():
        run = Run.objects.create(
            app=app,
            kind=kind,
            source=source[:255],
            inputs=inputs,
            query=query,
            dify_user=dify_user[:255],
            **fields,
        )
        dispatch.execute(run.pk)
    return run
