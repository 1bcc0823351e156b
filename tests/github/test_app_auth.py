"""GitHub App authentication: the JWT, installation tokens cached per process, and a review
made as an App installation against the fake GitHub."""

from __future__ import annotations

import json
import time
import uuid

import jwt
import pytest
from django.core.exceptions import ValidationError

from integrations.forges.github.app_auth import InstallationTokens, app_jwt
from integrations.forges.github.errors import GitHubAuthError, GitHubNotFound
from integrations.forges.github.signing import signature
from integrations.models import ReviewEndpoint, Run
from integrations.runs import engine
from integrations.runs.delivery import deliver_one
from tests.fakes import dify as fd
from tests.github.support import NEWER, PRIVATE_KEY, PUBLIC_KEY, REPO, SECRET, key_pair, payload
from tests.reviews.support import REVIEW_TEXT, as_django_headers

APP_ID, INSTALLATION = 424242, 1  # the installation id of the octokit "with-installation" fixture


@pytest.fixture
def app_github(fake_github):
    fake_github.enable_app(APP_ID, "dify-hub-reviews", PUBLIC_KEY, {INSTALLATION})
    return fake_github


def test_the_jwt_is_what_github_asks_for():
    token = app_jwt(APP_ID, PRIVATE_KEY, now=1_800_000_000)
    claims = jwt.decode(
        token, PUBLIC_KEY, algorithms=["RS256"], options={"verify_exp": False, "verify_iat": False}
    )
    assert claims == {"iat": 1_799_999_940, "exp": 1_800_000_540, "iss": str(APP_ID)}


def test_a_key_that_is_not_a_pem_says_so_and_is_the_hubs_error():
    with pytest.raises(GitHubAuthError) as caught:
        app_jwt(APP_ID, "not a key", now=1_800_000_000)
    assert caught.value.who == "The hub" and "not a PEM RSA key" in str(caught.value)


def test_an_installation_token_is_fetched_once_and_again_near_its_expiry(app_github):
    clock = [time.time()]
    cache = InstallationTokens(clock=lambda: clock[0])
    first = cache.token(app_github.url, APP_ID, PRIVATE_KEY, INSTALLATION)
    assert (
        first.startswith("ghs_")
        and cache.token(app_github.url, APP_ID, PRIVATE_KEY, INSTALLATION) == first
    )
    assert len(app_github.requests_to("/access_tokens")) == 1
    clock[0] += 3600 - 299  # within five minutes of the hour's end: a new one
    assert cache.token(app_github.url, APP_ID, PRIVATE_KEY, INSTALLATION) != first
    assert len(app_github.requests_to("/access_tokens")) == 2


def test_an_installation_github_does_not_know_is_not_found(app_github):
    with pytest.raises(GitHubNotFound):
        InstallationTokens().token(app_github.url, APP_ID, PRIVATE_KEY, 99)


def test_a_key_of_another_app_is_refused_by_github(app_github):
    other, _ = key_pair()
    with pytest.raises(GitHubAuthError, match="A JSON web token could not be decoded"):
        InstallationTokens().token(app_github.url, APP_ID, other, INSTALLATION)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fields", "field", "problem"),
    [
        (
            {
                "access_token": "ghp_x",
                "github_app_id": APP_ID,
                "github_app_private_key": PRIVATE_KEY,
            },
            "access_token",
            "not both",
        ),
        (
            {"access_token": "", "github_app_private_key": PRIVATE_KEY},
            "github_app_id",
            "goes with its private key",
        ),
        (
            {"access_token": "", "github_app_id": APP_ID},
            "github_app_private_key",
            "goes with its id",
        ),
        (
            {"access_token": "", "github_app_id": APP_ID, "github_app_private_key": "abc"},
            "github_app_private_key",
            "whole .pem",
        ),
        ({"access_token": ""}, "access_token", "A token or a GitHub App is required"),
    ],
    ids=["both", "key-only", "id-only", "not-pem", "neither"],
)
def test_an_endpoint_has_a_token_or_an_app(review_app, fields, field, problem):
    endpoint = ReviewEndpoint(
        name="x", forge="github", slug="x", app=review_app, base_url="https://github.com", **fields
    )
    endpoint.set_secret_token(SECRET)
    with pytest.raises(ValidationError) as caught:
        endpoint.full_clean()
    assert any(problem in m for m in caught.value.message_dict[field])


@pytest.mark.django_db
def test_a_review_as_an_app_installation(client, review_app, review_dify, app_github):
    endpoint = ReviewEndpoint(
        name="app-reviews",
        forge="github",
        slug="app",
        app=review_app,
        base_url=app_github.url,
        github_app_id=APP_ID,
        github_app_private_key=PRIVATE_KEY,
        output_key="review",
    )
    endpoint.set_secret_token(SECRET)
    endpoint.full_clean()
    endpoint.save()
    body = payload("pull_request.ready_for_review.with-installation")
    raw = json.dumps(body).encode()
    headers = {
        "X-GitHub-Event": "pull_request",
        "X-GitHub-Delivery": str(uuid.uuid4()),
        "X-Hub-Signature-256": signature(SECRET, raw),
    }
    response = client.post(
        "/hooks/github/app/",
        data=raw,
        content_type="application/json",
        **as_django_headers(headers),
    )
    assert response.status_code == 202, response.json()
    run = Run.objects.get(pk=response.json()["run"])
    review_dify.script("run", fd.success({"review": REVIEW_TEXT}))

    assert engine.execute(run.pk) == engine.DONE
    run.refresh_from_db()
    for item in run.deliveries.all():
        assert deliver_one(item.pk) is None
    run.refresh_from_db()
    assert run.status == Run.Status.SUCCEEDED
    (comment,) = app_github.comments(REPO, 2)
    assert REVIEW_TEXT in comment["body"]
    # Every repository call went with the installation's token, fetched once.
    repo_calls = [r for r in app_github.requests if "/repos/" in r.path]
    assert repo_calls and all(
        r.header("authorization").startswith("Bearer ghs_") for r in repo_calls
    )
    endpoint.refresh_from_db()
    assert endpoint.bot_username == "dify-hub-reviews[bot]"  # from GET /app, not /user

    # A new push through the App: the same comment is edited, the cached token reused.
    app_github.repos[REPO.lower()].pulls[2]["head"]["sha"] = NEWER
    pushed = payload("pull_request.ready_for_review.with-installation")
    pushed["action"], pushed["pull_request"]["head"]["sha"] = "synchronize", NEWER
    raw = json.dumps(pushed).encode()
    headers["X-GitHub-Delivery"], headers["X-Hub-Signature-256"] = (
        str(uuid.uuid4()),
        signature(SECRET, raw),
    )
    second = client.post(
        "/hooks/github/app/",
        data=raw,
        content_type="application/json",
        **as_django_headers(headers),
    )
    again = Run.objects.get(pk=second.json()["run"])
    review_dify.script("run", fd.success({"review": "Second pass."}))
    engine.execute(again.pk)
    for item in again.deliveries.all():
        assert deliver_one(item.pk) is None
    (comment,) = app_github.comments(REPO, 2)
    assert "Second pass." in comment["body"]
    assert len(app_github.requests_to("/access_tokens")) == 1
