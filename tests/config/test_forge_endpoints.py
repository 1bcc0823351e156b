"""`hub apply` and `hub export` for GitHub and Gitea endpoints (`github_endpoints:`,
`gitea_endpoints:`)."""

from __future__ import annotations

import pytest
import yaml
from django.core.management import CommandError

from integrations.models import ReviewEndpoint
from tests.config.conftest import hub
from tests.github.support import PRIVATE_KEY

pytestmark = pytest.mark.django_db

FILE = """
github_endpoints:
  - name: oss-reviews
    slug: oss
    secret: ${GH_HOOK_SECRET}
    app: reviewer
    access_token: ${GH_TOKEN}
    review_command_from: [OWNER, MEMBER, COLLABORATOR, CONTRIBUTOR]
    target_branches: [main]
    output: review
"""
GITLAB = """
gitlab_endpoints:
  - name: team-reviews
    slug: team-a
    secret_token: dhgl_webhook-secret-token-0123456789
    app: reviewer
    gitlab_url: https://gitlab.example.com
    access_token: glpat-access-token-0123456789
"""


@pytest.fixture
def secrets(monkeypatch):
    monkeypatch.setenv("GH_HOOK_SECRET", "gh-webhook-secret-0123456789")
    monkeypatch.setenv("GH_TOKEN", "github_pat_0123456789abcdef")


def test_a_github_endpoint_is_applied_with_github_com_by_default(
    write, reviewer, secrets, no_network
):
    out = hub("apply", write(FILE))
    assert "1 created" in out and "Check connection" in out
    endpoint = ReviewEndpoint.objects.get(name="oss-reviews")
    assert (endpoint.forge, endpoint.base_url, endpoint.slug) == (
        "github",
        "https://github.com",
        "oss",
    )
    assert endpoint.signing_secret == "gh-webhook-secret-0123456789"  # GitHub signs with it
    assert endpoint.access_token == "github_pat_0123456789abcdef"
    assert endpoint.review_command_from == ["OWNER", "MEMBER", "COLLABORATOR", "CONTRIBUTOR"]
    assert endpoint.webhook_path == "/hooks/github/oss/"
    assert "0 created, 0 changed, 1 unchanged" in hub("apply", write(FILE))


def test_pruning_one_forges_section_leaves_the_others_endpoints(write, reviewer, secrets):
    hub("apply", write(GITLAB + FILE))
    hub("apply", "--prune", write(FILE))
    assert sorted(ReviewEndpoint.objects.values_list("name", "forge")) == [
        ("oss-reviews", "github"),
        ("team-reviews", "gitlab"),
    ]


def test_a_slug_or_name_taken_by_the_other_forge_is_refused(write, reviewer, secrets):
    hub("apply", write(GITLAB))
    clash = FILE.replace("slug: oss", "slug: team-a").replace(
        "name: oss-reviews", "name: team-reviews"
    )
    with pytest.raises(CommandError) as caught:
        hub("apply", write(clash))
    text = str(caught.value)
    assert "'team-a' is the slug of GitLab endpoint 'team-reviews'" in text
    assert "GitLab endpoint 'team-reviews' has this name" in text


def test_an_unknown_association_is_named(write, reviewer, secrets):
    with pytest.raises(CommandError, match="Unknown association FRIEND"):
        hub("apply", write(FILE.replace("CONTRIBUTOR]", "FRIEND]")))


def test_export_writes_each_forge_in_its_section(write, reviewer, secrets):
    hub("apply", write(GITLAB + FILE))
    data = yaml.safe_load(hub("export"))
    assert [e["name"] for e in data["gitlab_endpoints"]] == ["team-reviews"]
    (github,) = data["github_endpoints"]
    assert github["github_url"] == "https://github.com"
    assert github["secret"] == "${GITHUB_OSS_REVIEWS_SECRET}"
    assert github["access_token"] == "${GITHUB_OSS_REVIEWS_ACCESS_TOKEN}"


def test_a_github_app_endpoint_is_applied_from_its_id_and_key(write, reviewer, monkeypatch):
    monkeypatch.setenv("GH_HOOK_SECRET", "gh-webhook-secret-0123456789")
    monkeypatch.setenv("GH_APP_KEY", PRIVATE_KEY)
    text = FILE.replace(
        "    access_token: ${GH_TOKEN}\n", "    app_id: 424242\n    private_key: ${GH_APP_KEY}\n"
    )
    hub("apply", write(text))
    endpoint = ReviewEndpoint.objects.get(name="oss-reviews")
    assert endpoint.uses_github_app and endpoint.access_token == ""
    assert endpoint.github_app_private_key == PRIVATE_KEY
    exported = yaml.safe_load(hub("export"))["github_endpoints"][0]
    assert exported["private_key"] == "${GITHUB_OSS_REVIEWS_PRIVATE_KEY}"
    assert exported["access_token"] == "" and exported["app_id"] == 424242


def test_a_gitea_endpoint_is_applied_and_exported_in_its_own_section(write, reviewer, monkeypatch):
    monkeypatch.setenv("GITEA_SECRET", "gitea-webhook-secret-0123456789")
    monkeypatch.setenv("GITEA_TOKEN", "6d5b3f0f1c2a4e8b9d7c6a5b4e3f2a1b0c9d8e7f")
    text = """
gitea_endpoints:
  - name: home-reviews
    slug: home
    secret: ${GITEA_SECRET}
    app: reviewer
    gitea_url: https://git.example.com/api/v1
    access_token: ${GITEA_TOKEN}
"""
    hub("apply", write(text))
    endpoint = ReviewEndpoint.objects.get(name="home-reviews")
    assert (endpoint.forge, endpoint.base_url) == ("gitea", "https://git.example.com")
    assert endpoint.signing_secret == "gitea-webhook-secret-0123456789"
    assert endpoint.webhook_path == "/hooks/gitea/home/"
    exported = yaml.safe_load(hub("export"))["gitea_endpoints"][0]
    assert exported["gitea_url"] == "https://git.example.com"
    assert exported["secret"] == "${GITEA_HOME_REVIEWS_SECRET}"
