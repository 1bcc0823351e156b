"""Fixtures shared by the Django-side tests: a fake Dify app registered in the hub."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from tests.fakes.dify import DEFAULT_INPUT_FORM, FakeDify

# Django models are imported inside the fixtures, so the pure packages' tests
# (tests/dify, tests/channels, tests/digests/test_schedule.py) also run without Django.


@pytest.fixture(autouse=True)
def _fresh_overview_figures():
    """The overview keeps its week of figures for the minute (integrations/overview/
    minutely.py); each test computes its own from its own runs."""
    from integrations.overview import minutely

    minutely.forget()


@pytest.fixture
def fake_dify():
    with FakeDify(ping_interval=0.2, stall_seconds=20) as server:
        yield server


@pytest.fixture
def dify_app(db, fake_dify):
    from django.utils import timezone

    from integrations.dify import form_to_json, parse_input_form
    from integrations.models import DifyApp

    return DifyApp.objects.create(
        name="echo",
        base_url=fake_dify.url,
        api_key=fake_dify.api_key,
        mode=DifyApp.Mode.WORKFLOW,
        input_form=form_to_json(parse_input_form(DEFAULT_INPUT_FORM)),
        form_loaded_at=timezone.now(),
        connect_timeout=2,
        read_timeout=5,
        first_event_timeout=2,
    )


@pytest.fixture
def make_run(dify_app):
    from integrations.models import Run

    def make(app=None, inputs: dict | None = None, **fields) -> Run:
        fields.setdefault("kind", Run.Kind.MANUAL)
        fields.setdefault("source", "test")
        fields.setdefault("dify_user", "hub:test")
        return Run.objects.create(
            app=app or dify_app, inputs={"query": "hello"} if inputs is None else inputs, **fields
        )

    return make


@pytest.fixture
def make_digest(dify_app):
    def make(recipients=(), **fields):
        fields.setdefault("name", "Morning weather")
        fields.setdefault("cron", "0 8 * * *")
        fields.setdefault("timezone", "Europe/Berlin")
        fields.setdefault("inputs", {"query": "Weather for {{ weekday }} {{ date }} at {{ time }}"})
        fields.setdefault("active_since", datetime(2026, 1, 1, tzinfo=UTC))
        from integrations.models import Digest

        digest = Digest(app=dify_app, **fields)
        digest.full_clean()
        digest.save()
        digest.recipients.set(recipients)
        return digest

    return make


@pytest.fixture
def rocketchat():
    from tests.fakes.chat_server import RocketChatReceiver

    with RocketChatReceiver() as server:
        yield server


@pytest.fixture
def rocketchat_recipient(db, rocketchat):
    from integrations.models import Recipient

    return Recipient.objects.create(
        name="family", kind="rocketchat", webhook_url=rocketchat.url, options={"alias": "Weather"}
    )


# --- GitLab merge-request reviews ----------------------------------------------------------


@pytest.fixture
def post_hook(client):
    """POST a delivery to an endpoint through Django's full request stack."""
    from tests.reviews.support import as_django_headers

    def post(endpoint, headers: dict, body, *, raw: bytes | None = None, content_type=None):
        data = raw if raw is not None else json.dumps(body).encode()
        ctype = content_type or headers.get("Content-Type", "application/json")
        return client.post(
            f"/hooks/gitlab/{endpoint.slug}/",
            data=data,
            content_type=ctype,
            **as_django_headers(headers),
        )

    return post


@pytest.fixture
def fake_gitlab():
    from tests.fakes.gitlab_server import FakeGitLab
    from tests.reviews.support import FILES, FIRST_HEAD, IID, PROJECT_ID, PROJECT_PATH

    with FakeGitLab() as server:
        server.add_merge_request(
            PROJECT_ID,
            PROJECT_PATH,
            IID,
            head_sha=FIRST_HEAD,
            files=FILES,
            title="Retry failed card captures with exponential backoff",
            source_branch="feature/capture-retry",
        )
        yield server


@pytest.fixture
def review_dify():
    from tests.reviews.support import REVIEW_FORM

    with FakeDify(
        input_form=REVIEW_FORM, name="mr-reviewer", ping_interval=0.2, stall_seconds=20
    ) as server:
        yield server


@pytest.fixture
def review_app(db, review_dify):
    from django.utils import timezone

    from integrations.dify import form_to_json, parse_input_form
    from integrations.models import DifyApp
    from tests.reviews.support import REVIEW_FORM

    return DifyApp.objects.create(
        name="reviewer",
        base_url=review_dify.url,
        api_key=review_dify.api_key,
        mode=DifyApp.Mode.WORKFLOW,
        input_form=form_to_json(parse_input_form(REVIEW_FORM)),
        form_loaded_at=timezone.now(),
        connect_timeout=2,
        read_timeout=5,
        first_event_timeout=2,
    )


@pytest.fixture
def endpoint(review_app, fake_gitlab):
    from integrations.models import ReviewEndpoint
    from tests.reviews.support import SECRET

    endpoint = ReviewEndpoint(
        name="team-reviews",
        slug="team-a",
        app=review_app,
        base_url=fake_gitlab.url,
        access_token=fake_gitlab.token,
        output_key="review",
        input_mapping={"language": "en"},
    )
    endpoint.set_secret_token(SECRET)
    endpoint.full_clean()
    endpoint.save()
    return endpoint


@pytest.fixture
def fake_github():
    from tests.fakes.github_server import FakeGitHub, file_entry
    from tests.github.support import HEAD, REPO

    with FakeGitHub() as server:
        server.add_pull_request(
            REPO,
            2,
            files=[
                file_entry("README.md", "@@ -1 +1 @@\n-Hello World\n+Hello, World!"),
                file_entry("logo.png", None, status="added"),
            ],
        )
        server.add_pull_request(REPO, 1, head_sha=HEAD)  # the PR the /review comments are on
        yield server


def pull_endpoint(
    review_app, *, forge: str, name: str, slug: str, url: str, token: str, secret: str
):
    """A GitHub or Gitea review endpoint on the review app, posting as the fake's bot."""
    from integrations.models import ReviewEndpoint

    endpoint = ReviewEndpoint(
        name=name,
        forge=forge,
        slug=slug,
        app=review_app,
        base_url=url,
        access_token=token,
        output_key="review",
        input_mapping={"language": "en"},
    )
    endpoint.set_secret_token(secret)
    endpoint.full_clean()
    endpoint.save()
    return endpoint


@pytest.fixture
def github_endpoint(review_app, fake_github):
    from tests.fakes.github_server import DEFAULT_TOKEN
    from tests.github.support import SECRET

    return pull_endpoint(
        review_app,
        forge="github",
        name="oss-reviews",
        slug="oss",
        url=fake_github.url,
        token=DEFAULT_TOKEN,
        secret=SECRET,
    )


@pytest.fixture
def fake_gitea():
    from tests.fakes.gitea_server import FakeGitea
    from tests.gitea.support import REPO

    with FakeGitea() as server:
        server.add_pull_request(REPO, 2)
        yield server


@pytest.fixture
def gitea_endpoint(review_app, fake_gitea):
    from tests.fakes.gitea_server import DEFAULT_TOKEN
    from tests.gitea.support import SECRET

    return pull_endpoint(
        review_app,
        forge="gitea",
        name="home-reviews",
        slug="home",
        url=fake_gitea.url,
        token=DEFAULT_TOKEN,
        secret=SECRET,
    )
