from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from integrations.dify import DifyClient, InputField, form_from_json
from integrations.models.ca import ca_bundle_path
from integrations.models.fields import EncryptedTextField
from integrations.runs.outputs import choice_problem


class DifyApp(models.Model):
    """A published Dify app the hub may run, with the key of its service API."""

    class Mode(models.TextChoices):
        WORKFLOW = "workflow", "Workflow"
        ADVANCED_CHAT = "advanced-chat", "Chatflow (advanced-chat)"
        CHAT = "chat", "Chatbot"
        AGENT_CHAT = "agent-chat", "Agent"
        COMPLETION = "completion", "Text generator (completion)"

    class ResponseMode(models.TextChoices):
        STREAMING = "streaming", "Streaming"
        BLOCKING = "blocking", "Blocking"

    name = models.CharField(max_length=100, unique=True)
    base_url = models.URLField(
        _("API base URL"),
        default="https://api.dify.ai/v1",
        help_text=_("Dify Cloud: https://api.dify.ai/v1. Self-hosted: https://your-dify-host/v1."),
    )
    api_key = EncryptedTextField(
        "API key",
        help_text=_("The app's service API key (app-…). Stored encrypted; never shown again."),
    )
    mode = models.CharField(
        max_length=20, choices=Mode.choices, blank=True, help_text=_("Detected from GET /info.")
    )
    input_form = models.JSONField(
        default=list, blank=True, help_text=_("Input variables, cached from GET /parameters.")
    )
    checked_at = models.DateTimeField(null=True, blank=True, editable=False)
    check_error = models.TextField(blank=True, editable=False)
    form_loaded_at = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text=_("When the input form was last read from Dify; runs read it again when it "
        "is older than HUB_DIFY_FORM_MAX_AGE."),
    )
    output_names = models.JSONField(
        default=list,
        blank=True,
        editable=False,
        help_text=_("The outputs the app returned in its last succeeded run; digests and "
        "endpoints are checked against them."),
    )
    outputs_seen_at = models.DateTimeField(null=True, blank=True, editable=False)
    notice = models.TextField(
        blank=True,
        editable=False,
        help_text=_("Something the hub changed or noticed about this app by itself."),
    )
    response_mode = models.CharField(
        max_length=10,
        choices=ResponseMode.choices,
        default=ResponseMode.STREAMING,
        help_text=_("Streaming is recommended: it survives gateway timeouts on long runs. "
        "Blocking only suits short, fast apps."),
    )
    connect_timeout = models.FloatField(
        default=10.0, validators=[MinValueValidator(0.5), MaxValueValidator(120)]
    )
    read_timeout = models.FloatField(
        default=60.0,
        validators=[MinValueValidator(1), MaxValueValidator(3600)],
        help_text=_("Longest silence between bytes. Dify pings every 10 s while streaming."),
    )
    first_event_timeout = models.FloatField(
        default=30.0,
        validators=[MinValueValidator(1), MaxValueValidator(600)],
        help_text=_("Longest wait for the first event of a stream. Dify answers a streaming call "
        "with bad inputs with one ping and then silence, so this bound turns it into an error."),
    )
    run_timeout = models.PositiveIntegerField(
        default=1500,
        validators=[MinValueValidator(10), MaxValueValidator(7200)],
        help_text=_("Seconds after which a run still marked running is ended by the watchdog. "
        "Dify stops runs itself after APP_MAX_EXECUTION_TIME (1200 s by default)."),
    )
    # Self-hosted Dify runs streaming workflow runs one at a time by default (its Celery
    # worker starts with -c 1, capture 96) and serves 10 connections (gunicorn's
    # SERVER_WORKER_CONNECTIONS): 2 keeps the next run waiting inside Dify without taking
    # many of its connections. Raise it with Dify's CELERY_WORKER_AMOUNT, or on Dify Cloud.
    max_concurrent_runs = models.PositiveSmallIntegerField(
        default=2,
        validators=[MinValueValidator(1), MaxValueValidator(500)],
        help_text=_("Runs of this app the hub lets Dify work on at once; more wait in the hub's "
        "queue and start in the order they arrived. See the README (Reliability) for how to "
        "choose it."),
    )
    ca_bundle = models.TextField(
        _("CA bundle (PEM)"),
        blank=True,
        help_text=_("For self-hosted Dify behind a private CA. TLS is always verified."),
    )
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("Dify app")
        verbose_name_plural = _("Dify apps")
        ordering = ["name"]
        # The admin's buttons each need one of these (admin/common.py; the roles, docs/security.md).
        permissions = [
            ("check_connection", "Can check the connection of apps and review endpoints"),
        ]

    def __str__(self) -> str:
        return self.name

    CHAT_MODES = (Mode.CHAT, Mode.ADVANCED_CHAT, Mode.AGENT_CHAT)

    @property
    def is_chat(self) -> bool:
        """Chat apps take a query (the user's message) besides their inputs."""
        return self.mode in self.CHAT_MODES

    def output_problem(self, key: str, setting: str) -> str | None:
        """Why `key` cannot pick one of this app's outputs (as of its last success), or None."""
        problem = choice_problem(self.output_names or [], key, setting=setting)
        if problem is None:
            return None
        return f"{problem[0].upper()}{problem[1:]} (outputs of its last successful run)."

    @property
    def fields(self) -> list[InputField]:
        return form_from_json(self.input_form or [])

    def client(self) -> DifyClient:
        return DifyClient(
            self.base_url,
            self.api_key,
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
            first_event_timeout=self.first_event_timeout,
            ca_bundle=ca_bundle_path(self.ca_bundle) if self.ca_bundle.strip() else None,
        )
