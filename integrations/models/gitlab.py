from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from integrations.forges.gitea.api import GiteaClient, api_root
from integrations.forges.gitea.events import GiteaRules
from integrations.forges.github import app_auth
from integrations.forges.github.api import GitHubClient, api_url
from integrations.forges.github.errors import GitHubAuthError
from integrations.forges.github.events import ASSOCIATIONS, DEFAULT_ASSOCIATIONS, GitHubRules
from integrations.gitlab.api import GitLabClient, normalise_base_url
from integrations.gitlab.events import TRIGGERS, ReviewRules
from integrations.gitlab.review_inputs import check_mapping
from integrations.gitlab.signing import check_signing_secret, hash_token
from integrations.models.ca import ca_bundle_path
from integrations.models.fields import EncryptedTextField


def _triggers_problem(triggers: object) -> str | None:
    if not isinstance(triggers, list) or not all(isinstance(t, str) for t in triggers):
        return "A list of trigger names."
    if unknown := sorted(set(triggers) - set(TRIGGERS)):
        return f"Unknown trigger {', '.join(unknown)}; choose from {', '.join(TRIGGERS)}."
    if not triggers:
        return "Choose at least one trigger, or disable the endpoint."
    return None


def all_triggers() -> list[str]:
    return list(TRIGGERS)


def trusted_associations() -> list[str]:
    return list(DEFAULT_ASSOCIATIONS)


def _normalised_url(forge: str, url: str) -> str:
    """What an admin typed, checked; GitHub's is kept as typed (github.com reads better than
    its API's address), the others lose a trailing / or API path."""
    if forge == "github":
        api_url(url)
        return url
    if forge == "gitea":
        return api_root(url).removesuffix("/api/v1")
    return normalise_base_url(url)


def _github_auth_problems(endpoint) -> dict[str, str]:
    has_app = bool(endpoint.github_app_id or endpoint.github_app_private_key)
    if endpoint.access_token and has_app:
        return {"access_token": "Use a token or a GitHub App, not both."}
    if not has_app:
        return (
            {}
            if endpoint.access_token
            else {"access_token": "A token or a GitHub App is required."}
        )
    if not endpoint.github_app_id:
        return {"github_app_id": "The GitHub App's id goes with its private key."}
    if not endpoint.github_app_private_key:
        return {"github_app_private_key": "The GitHub App's private key goes with its id."}
    if "PRIVATE KEY-----" not in endpoint.github_app_private_key:
        return {
            "github_app_private_key": "Paste the whole .pem file, BEGIN and END lines included."
        }
    return {}


def _associations_problem(value: object) -> str | None:
    if not isinstance(value, list) or not all(isinstance(a, str) for a in value):
        return 'A list of GitHub author associations, e.g. ["OWNER", "MEMBER"].'
    if unknown := sorted(set(value) - set(ASSOCIATIONS)):
        return f"Unknown association {', '.join(unknown)}; choose from {', '.join(ASSOCIATIONS)}."
    return None


class ReviewEndpoint(models.Model):
    """A webhook URL a forge (GitLab, GitHub) posts pull/merge request events to, and how to
    review them."""

    class Forge(models.TextChoices):
        GITLAB = "gitlab", "GitLab"
        GITHUB = "github", "GitHub"
        GITEA = "gitea", "Gitea or Forgejo"

    name = models.CharField(max_length=100, unique=True)
    forge = models.CharField(
        max_length=20,
        choices=Forge.choices,
        default=Forge.GITLAB,
        help_text=_("Where the code lives; the webhook URL becomes /hooks/FORGE/SLUG/."),
    )
    slug = models.SlugField(
        max_length=100, unique=True, help_text=_("The webhook URL becomes /hooks/FORGE/SLUG/.")
    )
    secret_token_hash = models.CharField(max_length=200, editable=False)
    signing_secret = EncryptedTextField(
        blank=True,
        help_text=_("GitLab: optional signing token (whsec_…), for Standard Webhooks signatures "
        "on recent GitLab versions; when set, every request must carry a valid signature. "
        "GitHub: the webhook's secret (required), which signs every delivery. Stored "
        "encrypted."),
    )
    app = models.ForeignKey(
        "integrations.DifyApp",
        on_delete=models.PROTECT,
        related_name="review_endpoints",
        verbose_name=_("Dify app"),
        help_text=_("The review workflow."),
    )
    base_url = models.URLField(
        _("forge URL"),
        help_text=_("The instance the hub reads diffs from and posts comments to, e.g. "
        "https://gitlab.example.com or https://github.com. URLs inside webhook payloads are "
        "never used for this."),
    )
    access_token = EncryptedTextField(
        blank=True,
        help_text=_("GitLab: a project or group access token (or a bot user's personal token) "
        "with the api scope and at least the Reporter role. GitHub: a fine-grained token with "
        "Pull requests (read and write) and Contents (read) on the repositories, or a classic "
        "token with the repo scope (or leave it empty and use a GitHub App). Stored "
        "encrypted; never shown again."),
    )
    github_app_id = models.PositiveBigIntegerField(
        _("GitHub App id"),
        null=True,
        blank=True,
        help_text=_("GitHub: authenticate as a GitHub App instead of with a token (the App's "
        "page shows its id). Organisations install bots this way."),
    )
    github_app_private_key = EncryptedTextField(
        "GitHub App private key",
        blank=True,
        help_text=_("The App's private key (.pem), whole. Stored encrypted; never shown again."),
    )
    github_installation_id = models.PositiveBigIntegerField(
        _("GitHub App installation id"),
        null=True,
        blank=True,
        help_text=_("Optional: normally taken from each delivery (installation.id); needed only "
        "when the webhook is the repository's own rather than the App's."),
    )
    ca_bundle = models.TextField(
        _("CA bundle (PEM)"),
        blank=True,
        help_text=_("For a self-hosted GitLab behind a private CA. TLS is always verified."),
    )
    triggers = models.JSONField(
        default=all_triggers,
        help_text=_("Which events start a review."),
    )
    target_branches = models.JSONField(
        default=list,
        blank=True,
        help_text=_("Only review MRs into these branches (globs such as release/*). Empty: any."),
    )
    input_mapping = models.JSONField(
        _("input mapping"),
        default=dict,
        blank=True,
        help_text=_('Extra Dify inputs and renames, e.g. {"code": "{{ diff }}", "language": "en"}.'),
    )
    output_key = models.CharField(
        _("output with the review"),
        max_length=100,
        blank=True,
        help_text=_("Name of the app output holding the review. Empty: the only output, or `text`."),
    )
    diff_budget = models.PositiveIntegerField(
        _("diff budget (characters)"),
        default=60_000,
        validators=[MinValueValidator(1_000), MaxValueValidator(2_000_000)],
        help_text=_("The unified diff sent to Dify is trimmed to this size, file by file; what "
        "was left out is listed in the omitted_files input."),
    )
    comments_output = models.CharField(
        _("output with inline comments"),
        max_length=100,
        blank=True,
        default="comments",
        help_text=_("The app output holding line comments, a list of {path, line, body} with "
        "optional severity, end_line and suggestion (a JSON array, a JSON string, or JSON in "
        "a ``` block). Comments on changed lines are posted on them (GitHub, Gitea); others "
        "are listed in the summary with why. Empty: none."),
    )
    new_part_when_large = models.BooleanField(
        _("only the new part when too large"),
        default=False,
        help_text=_("On a re-review whose whole diff does not fit the diff budget, send only what "
        "changed since the last review as the diff (new_diff always has it)."),
    )
    review_in_parts = models.BooleanField(
        _("review a large diff in parts"),
        default=False,
        help_text=_("When the diff does not fit the diff budget, split it by file into parts that "
        "each fit, run the app once per part (in parallel, within the app's concurrent runs; "
        "the inputs chunk and chunks say which part), and post one summary of them all."),
    )
    max_parts = models.PositiveSmallIntegerField(
        _("at most this many parts"),
        default=5,
        validators=[MinValueValidator(2), MaxValueValidator(20)],
        help_text=_("Files that do not fit into this many parts are left out and named."),
    )
    resolve_stale_comments = models.BooleanField(
        _("resolve stale line comments (GitLab)"),
        default=True,
        help_text=_("On a re-review, the bot's earlier line discussions that the new review no "
        "longer raises are resolved."),
    )
    post_note = models.BooleanField(
        _("post the review as a note"),
        default=True,
        help_text=_("One note per MR, edited in place on every re-review."),
    )
    recipients = models.ManyToManyField(
        "integrations.Recipient",
        blank=True,
        related_name="review_endpoints",
        help_text=_("Optional: chat recipients that also get each review."),
    )
    review_command_from = models.JSONField(
        _("who may ask with /review"),
        default=trusted_associations,
        blank=True,
        help_text=_("On public projects anyone can comment and every review costs LLM tokens, so "
        "by default /review counts only from members: on GitHub the author associations "
        "OWNER, MEMBER and COLLABORATOR; on GitLab members with Developer access or more; on "
        "Gitea and Forgejo the owner and collaborators with write access. NONE: anyone."),
    )
    enabled = models.BooleanField(default=True)
    bot_user_id = models.PositiveIntegerField(
        null=True,
        blank=True,
        editable=False,
        help_text=_("The access token's user, learnt from GitLab; its own notes never trigger."),
    )
    bot_username = models.CharField(max_length=255, blank=True, editable=False)
    checked_at = models.DateTimeField(null=True, blank=True, editable=False)
    check_error = models.TextField(blank=True, editable=False)
    rejected_count = models.PositiveIntegerField(default=0, editable=False)
    last_rejected_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_rejected_reason = models.CharField(max_length=200, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("review endpoint")
        verbose_name_plural = _("review endpoints")
        ordering = ["name"]
        permissions = [("regenerate_secret", "Can regenerate an endpoint's webhook secret")]

    def __str__(self) -> str:
        return self.name

    @property
    def is_github(self) -> bool:
        return self.forge == self.Forge.GITHUB

    @property
    def is_gitea(self) -> bool:
        return self.forge == self.Forge.GITEA

    @property
    def uses_github_app(self) -> bool:
        return self.is_github and bool(self.github_app_id and self.github_app_private_key)

    @property
    def webhook_path(self) -> str:
        return reverse(f"{self.forge}-webhook", args=[self.slug])

    def set_secret_token(self, token: str) -> None:
        self.secret_token_hash = hash_token(token)
        if self.is_github or self.is_gitea:
            # The forge signs each delivery with it (HMAC), so it is kept, encrypted, not hashed.
            self.signing_secret = token

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if problem := _triggers_problem(self.triggers):
            errors["triggers"] = problem
        branches = self.target_branches
        if not isinstance(branches, list) or not all(
            isinstance(b, str) and b.strip() for b in branches
        ):
            errors["target_branches"] = (
                'A list of branch names or globs, e.g. ["main", "release/*"].'
            )
        app = self.app if self.app_id else None
        form = app.fields if app is not None and app.input_form else None
        if problems := check_mapping(self.input_mapping, form):
            errors["input_mapping"] = " ".join(problems)
        if app is not None and (
            problem := app.output_problem(self.output_key, "Output with the review")
        ):
            errors["output_key"] = problem
        errors.update(self._forge_problems())
        if errors:
            raise ValidationError(errors)

    def _forge_problems(self) -> dict[str, str]:
        errors: dict[str, str] = {}
        if (self.is_github or self.is_gitea) and (
            problem := _associations_problem(self.review_command_from)
        ):
            errors["review_command_from"] = problem
        if self.is_github:
            errors.update(_github_auth_problems(self))
        else:
            if not self.access_token:
                errors["access_token"] = "An access token is required."
            gitlab_signs = self.forge == self.Forge.GITLAB and self.signing_secret
            if gitlab_signs and (problem := check_signing_secret(self.signing_secret)):
                errors["signing_secret"] = problem
        if self.base_url:
            try:
                self.base_url = _normalised_url(self.forge, self.base_url)
            except ValueError as exc:
                errors["base_url"] = str(exc)
        return errors

    def review_rules(self) -> ReviewRules | GitHubRules | GiteaRules:
        if self.is_gitea:
            return GiteaRules(
                triggers=frozenset(self.triggers or ()),
                target_branches=tuple(self.target_branches or ()),
                bot_login=self.bot_username,
            )
        if self.is_github:
            return GitHubRules(
                triggers=frozenset(self.triggers or ()),
                target_branches=tuple(self.target_branches or ()),
                bot_login=self.bot_username,
                associations=frozenset(self.review_command_from or ()),
            )
        return ReviewRules(
            triggers=frozenset(self.triggers or ()),
            target_branches=tuple(self.target_branches or ()),
            bot_user_id=self.bot_user_id,
            bot_username=self.bot_username,
        )

    def _installation_token(self, installation_id: int | None, verify: bool | str) -> str:
        installation = installation_id or self.github_installation_id
        if not installation:
            raise GitHubAuthError(
                f"The hub: GitHub endpoint '{self.name}' authenticates as a GitHub App, but "
                "the delivery named no installation (is the webhook the App's own?); set "
                "the installation id on the endpoint.",
                code="no_installation",
                who="The hub",
            )
        return app_auth.tokens.token(
            self.base_url,
            self.github_app_id,
            self.github_app_private_key,
            installation,
            verify=verify,
        )

    def client_verify(self) -> bool | str:
        return ca_bundle_path(self.ca_bundle) if self.ca_bundle.strip() else True

    def client(self, installation_id: int | None = None) -> GitLabClient | GitHubClient:
        """The forge's client; for a GitHub App, as the installation a delivery named."""
        verify = self.client_verify()
        if self.uses_github_app:
            token = self._installation_token(installation_id, verify)
            return GitHubClient(self.base_url, token, verify=verify)
        if self.is_github:
            return GitHubClient(self.base_url, self.access_token, verify=verify)
        if self.is_gitea:
            return GiteaClient(self.base_url, self.access_token, verify=verify)
        return GitLabClient(self.base_url, self.access_token, verify=verify)


class WebhookEvent(models.Model):
    """One authenticated request a forge sent, kept with what the hub made of it."""

    class Outcome(models.TextChoices):
        ACCEPTED = "accepted", _("Accepted")
        IGNORED = "ignored", _("Ignored")
        INVALID = "invalid", _("Invalid")

    endpoint = models.ForeignKey(ReviewEndpoint, on_delete=models.CASCADE, related_name="events")
    event_name = models.CharField(max_length=100, blank=True)
    idempotency_key = models.CharField(
        max_length=200,
        help_text=_("GitLab's Idempotency-Key (the same on retries and 'Resend request'; a "
        "hash of the body before GitLab 17.4), or GitHub's X-GitHub-Delivery (kept on "
        "redelivery)."),
    )
    headers = models.JSONField(default=dict, blank=True)
    payload = models.JSONField(null=True, blank=True)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    trigger = models.CharField(max_length=30, blank=True)
    reason = models.TextField(blank=True)
    merge_request_key = models.CharField(
        "merge request", max_length=100, blank=True, help_text=_("project id!iid")
    )
    head_sha = models.CharField(max_length=64, blank=True)
    run = models.ForeignKey(
        "integrations.Run",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="webhook_events",
    )
    duplicate_count = models.PositiveIntegerField(
        default=0, help_text=_("Deliveries of this same event received again (same key).")
    )
    last_duplicate_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("webhook event")
        verbose_name_plural = _("webhook events")
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["endpoint", "idempotency_key"], name="webhookevent_unique_key"
            ),
        ]
        indexes = [
            models.Index(fields=["endpoint", "merge_request_key"], name="webhookevent_mr"),
            # The nightly prune finds the payloads still kept without reading every event it
            # emptied before (integrations/retention.py).
            models.Index(
                fields=["received_at"],
                condition=models.Q(payload__isnull=False),
                name="webhookevent_payload_kept",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_name or 'event'} #{self.pk} ({self.get_outcome_display()})"
