"""'Check connection' for a review endpoint (GitLab or GitHub): who the access token is,
remembered as the bot.

Used by the admin, by `hub check`, and (identity only) by a review that finds it unknown.
"""

from __future__ import annotations

from django.utils import timezone

from integrations.checks import CheckReport
from integrations.errors import HubError
from integrations.forges.github.app_auth import AppClient
from integrations.forges.github.types import User as GitHubUser
from integrations.gitlab.types import User
from integrations.models import ReviewEndpoint


def check_endpoint(endpoint: ReviewEndpoint) -> CheckReport:
    """GET /user with the endpoint's token; the result (or the forge's error) is stored."""
    try:
        user = whoami(endpoint)
    except HubError as exc:
        error = str(exc)
        ReviewEndpoint.objects.filter(pk=endpoint.pk).update(
            check_error=error, checked_at=timezone.now()
        )
        endpoint.check_error = error
        return CheckReport(False, error)
    remember_bot(endpoint, user, checked=True)
    if isinstance(user, GitHubUser):
        kind = "a bot" if user.type == "Bot" else "a user account (a bot account is better)"
        name = user.login
    else:
        kind = "a bot user" if user.bot else "a regular user (a project access token is better)"
        name = user.username
    return CheckReport(True, f"connected to {endpoint.base_url} as @{name}, {kind}.")


def whoami(endpoint: ReviewEndpoint) -> User | GitHubUser:
    """The token's user, or a GitHub App's bot."""
    if endpoint.uses_github_app:  # the App itself: its bot posts as <slug>[bot]
        verify = endpoint.client_verify()
        with AppClient(
            endpoint.base_url,
            endpoint.github_app_id,
            endpoint.github_app_private_key,
            verify=verify,
        ) as app:
            return app.app()
    with endpoint.client() as forge:
        return forge.current_user()


def remember_bot(
    endpoint: ReviewEndpoint, user: User | GitHubUser, *, checked: bool = False
) -> None:
    """The token's user posts the notes; knowing it keeps its own notes from triggering."""
    name = user.login if isinstance(user, GitHubUser) else user.username
    fields = {"bot_user_id": user.id, "bot_username": name[:255]}
    if checked:
        fields.update(check_error="", checked_at=timezone.now())
    ReviewEndpoint.objects.filter(pk=endpoint.pk).update(**fields)
    for name, value in fields.items():
        setattr(endpoint, name, value)
