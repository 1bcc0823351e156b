"""The hub objects the benchmarks configure: a Dify app, a review endpoint, a digest."""

from __future__ import annotations


def dify_app(name: str, url: str, key: str, **fields):
    """A workflow app on a fake Dify, its connection checked (the form loaded)."""
    from integrations.checks.dify_app import check_app
    from integrations.models import DifyApp

    app = DifyApp.objects.create(
        name=name, base_url=url, api_key=key, mode=DifyApp.Mode.WORKFLOW, **fields
    )
    report = check_app(app)
    if not report.ok:
        raise SystemExit(f"fake Dify check failed: {report.summary}")
    return app


def review_endpoint(name: str, app, *, gitlab_url: str, token: str, secret: str):
    """A GitLab endpoint on the fake GitLab, reviewing with `app` (slug = name)."""
    from integrations.models import ReviewEndpoint

    endpoint = ReviewEndpoint(
        name=name,
        slug=name,
        app=app,
        base_url=gitlab_url,
        access_token=token,
        input_mapping={"query": "Review {{ title }}"},
        output_key="echo",
    )
    endpoint.set_secret_token(secret)
    endpoint.full_clean()
    endpoint.save()
    return endpoint


def digest(name: str, app, recipients, *, query: str):
    """A daily digest sending the `echo` output to these recipients."""
    from integrations.models import Digest

    made = Digest(
        name=name,
        app=app,
        inputs={"query": query},
        output_key="echo",
        cron="0 8 * * *",
        timezone="UTC",
    )
    made.full_clean()
    made.save()
    made.recipients.set(recipients)
    return made
