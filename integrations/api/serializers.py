"""Run output (via the shared presenter), query filters, and the shapes the schema documents."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from integrations.errors import SOURCES
from integrations.models import Delivery, Run
from integrations.runs.listing import parse_since
from integrations.runs.present import present_run


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


class ValidationErrorSerializer(ErrorSerializer):
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="The problems of each parameter.",
    )


class RunErrorSerializer(serializers.Serializer):
    code = serializers.CharField(allow_null=True, help_text="Dify's or the hub's error code.")
    source = serializers.ChoiceField(
        choices=list(SOURCES),
        allow_null=True,
        help_text="Who said it: Dify, GitLab, GitHub, the recipient's chat service, or the hub "
        "itself.",
    )
    message = serializers.CharField(help_text="Starts with who said it.")


class DeliverySerializer(serializers.Serializer):
    recipient = serializers.CharField()
    kind = serializers.CharField(
        help_text="The recipient's kind (slack, rocketchat, …), or for a review gitlab_note (a "
        "note on a GitLab MR) or pr_comment (a comment on a GitHub, Gitea or Forgejo pull "
        "request)."
    )
    status = serializers.ChoiceField(choices=Delivery.Status.choices)
    attempts = serializers.IntegerField()
    last_http_status = serializers.IntegerField(
        allow_null=True, help_text="The HTTP status of the last attempt, if it got an answer."
    )
    error = serializers.CharField(allow_null=True)


class RunSerializer(serializers.Serializer):
    # Read-only. The fields document the shape; `present_run` writes it, as for
    # `hub runs --json`, so both are the same by construction.

    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=Run.Kind.choices)
    source = serializers.CharField(help_text="What triggered the run.")
    app = serializers.CharField(
        allow_null=True, help_text="The Dify app's name; null for the hub's own alerts."
    )
    status = serializers.ChoiceField(choices=Run.Status.choices)
    inputs = serializers.JSONField()
    outputs = serializers.JSONField(allow_null=True)
    error = RunErrorSerializer(allow_null=True)
    workflow_run_id = serializers.CharField(allow_null=True, help_text="Dify's run id.")
    attempts = serializers.IntegerField(
        help_text="Calls to Dify so far (the hub's own refusals are not counted)."
    )
    total_tokens = serializers.IntegerField(allow_null=True, help_text="As Dify counted them.")
    elapsed = serializers.FloatField(
        allow_null=True, help_text="Seconds the run took in Dify, as Dify measured."
    )
    duration = serializers.FloatField(
        allow_null=True,
        help_text="Seconds from the run's start to its end in the hub, deliveries included.",
    )
    stop_requested_at = serializers.DateTimeField(
        allow_null=True, help_text="When someone asked for the run to be stopped."
    )
    retry_of = serializers.IntegerField(allow_null=True, help_text="The run this one retries.")
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    deliveries = DeliverySerializer(many=True)

    def to_representation(self, instance: Run) -> dict:
        return present_run(instance)


class QueuedRunSerializer(serializers.Serializer):
    run = serializers.IntegerField(help_text="The new run's id.")
    status = serializers.ChoiceField(choices=Run.Status.choices)
    url = serializers.URLField(help_text="Where to read the run.")


class RetriedRunSerializer(QueuedRunSerializer):
    retry_of = serializers.IntegerField(help_text="The run that was retried.")


class StoppedRunSerializer(serializers.Serializer):
    run = serializers.IntegerField()
    status = serializers.ChoiceField(choices=Run.Status.choices)
    outcome = serializers.ChoiceField(
        choices=["cancelled", "stop requested"],
        help_text="cancelled: it had not started. stop requested: Dify was asked to stop it; "
        "the run ends cancelled once Dify confirms.",
    )
    url = serializers.URLField()


class RedeliveredRunSerializer(serializers.Serializer):
    run = serializers.IntegerField()
    status = serializers.ChoiceField(choices=Run.Status.choices)
    deliveries = serializers.IntegerField(help_text="How many failed deliveries were queued.")
    url = serializers.URLField()


@extend_schema_field(OpenApiTypes.DATETIME)
class SinceField(serializers.CharField):
    def to_internal_value(self, data):
        try:
            return parse_since(super().to_internal_value(data))
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from None


class RunFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Run.Status.choices, required=False)
    kind = serializers.ChoiceField(choices=Run.Kind.choices, required=False)
    source = serializers.CharField(
        required=False,
        max_length=255,
        help_text="A digest's or GitLab endpoint's name, or a run's exact source text.",
    )
    since = SinceField(
        required=False,
        help_text="Runs created at or after this ISO 8601 time (a date, or a time without an "
        "offset, is read as UTC).",
    )
