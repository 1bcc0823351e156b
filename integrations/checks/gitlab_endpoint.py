"""'Check connection' for a GitLab endpoint: who the access token is, remembered as the bot.

Used by the admin, by `hub check`, and (identity only) by a review that finds it unknown.
"""

from __future__ import annotations

from django.utils import timezone

from integrations.checks import CheckReport
from integrations.gitlab.errors import GitLabError
from integrations.gitlab.types import User
from integrations.models import GitLabEndpoint


def check_endpoint(endpoint: GitLabEndpoint) -> CheckReport:
    """GET /user with the endpoint's token; the result (or GitLab's error) is stored."""
    try:
        with endpoint.client() as gitlab:
            user = gitlab.current_user()
    except GitLabError as exc:
        error = str(exc)
        GitLabEndpoint.objects.filter(pk=endpoint.pk).update(
            check_error=error, checked_at=timezone.now()
        )
        endpoint.check_error = error
        return CheckReport(False, error)
    remember_bot(endpoint, user, checked=True)
    kind = "a bot user" if user.bot else "a regular user (a project access token is better)"
    return CheckReport(True, f"connected to {endpoint.gitlab_url} as @{user.username}, {kind}.")


def remember_bot(endpoint: GitLabEndpoint, user: User, *, checked: bool = False) -> None:
    """The token's user posts the notes; knowing it keeps its own notes from triggering."""
    fields = {"bot_user_id": user.id, "bot_username": user.username[:255]}
    if checked:
        fields.update(check_error="", checked_at=timezone.now())
    GitLabEndpoint.objects.filter(pk=endpoint.pk).update(**fields)
    for name, value in fields.items():
        setattr(endpoint, name, value)
