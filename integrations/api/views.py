"""The API's views: thin layers over runs.listing, runs.present, digests.firing, runs.rerun
and the engine's stop."""

from __future__ import annotations

from datetime import datetime

from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from integrations import audit
from integrations.api.errors import Conflict
from integrations.api.permissions import CanRead, CanTrigger
from integrations.api.serializers import (
    ErrorSerializer,
    QueuedRunSerializer,
    RedeliveredRunSerializer,
    RetriedRunSerializer,
    RunFilterSerializer,
    RunSerializer,
    StoppedRunSerializer,
    ValidationErrorSerializer,
)
from integrations.digests.firing import run_now
from integrations.models import Digest, Run
from integrations.runs.listing import ORDERING, filter_runs, for_presenting
from integrations.runs.rerun import NotRedeliverable, RunNotFinal, redeliver, retry_run
from integrations.runs.stopping import NotStoppable, request_stop

MAX_ID = 2**63 - 1  # a bigger id cannot exist (and PostgreSQL refuses to compare with it)

AUTH_ERRORS = {
    401: OpenApiResponse(ErrorSerializer, "No key, a malformed header, an unknown or revoked key."),
    403: OpenApiResponse(ErrorSerializer, "The key lacks the scope."),
}
RUN_ID = OpenApiParameter(
    "id",
    {"type": "integer", "minimum": 1, "maximum": MAX_ID},
    OpenApiParameter.PATH,
    description="The run's id.",
)
DIGEST_NAME = OpenApiParameter(
    "name", str, OpenApiParameter.PATH, description="The digest's name (URL-encoded)."
)


class RunPages(CursorPagination):
    """Newest first; a cursor instead of page numbers, so no COUNT over the whole table."""

    ordering = ORDERING
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def decode_cursor(self, request):
        try:
            cursor = super().decode_cursor(request)
            if cursor is not None and cursor.position is not None:
                datetime.fromisoformat(cursor.position)
        except (NotFound, ValueError):
            raise ValidationError(
                {"cursor": ["Invalid cursor: use the next or previous link of a page as given."]}
            ) from None
        return cursor

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["description"] = (
                    f"Runs per page: {self.page_size} by default, at most {self.max_page_size}."
                )
                parameter["schema"] = {"type": "integer", "minimum": 1}
            elif parameter["name"] == self.cursor_query_param:
                parameter["description"] = "From a page's next or previous link."
        return parameters


class RunList(generics.ListAPIView):
    serializer_class = RunSerializer
    pagination_class = RunPages
    permission_classes = [CanRead]

    @extend_schema(
        operation_id="runs_list",
        summary="List runs, newest first",
        parameters=[RunFilterSerializer],
        responses={200: RunSerializer(many=True), 400: ValidationErrorSerializer, **AUTH_ERRORS},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        filters = RunFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        return for_presenting(filter_runs(Run.objects.all(), **filters.validated_data))


class RunDetail(generics.RetrieveAPIView):
    serializer_class = RunSerializer
    permission_classes = [CanRead]

    @extend_schema(
        operation_id="runs_retrieve",
        summary="Read one run",
        parameters=[RUN_ID],
        responses={200: RunSerializer, 404: ErrorSerializer, **AUTH_ERRORS},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        return for_presenting(Run.objects.all())

    def get_object(self) -> Run:
        return find_run(self.get_queryset(), self.kwargs["pk"])


class DigestRun(APIView):
    permission_classes = [CanTrigger]

    @extend_schema(
        operation_id="digests_run",
        summary="Run a digest now",
        description="Queues a run of the digest outside its schedule, as the admin's Run now.",
        parameters=[DIGEST_NAME],
        request=None,
        responses={202: QueuedRunSerializer, 404: ErrorSerializer, **AUTH_ERRORS},
    )
    def post(self, request, name: str):
        digest = None if "\x00" in name else Digest.objects.filter(name=name).first()
        if digest is None:
            raise NotFound(f"No digest named '{name}'.")
        run = run_now(digest, requested_by=request.user.get_username(), now=timezone.now())
        _audit(request, "ran now", digest, note=f"run #{run.pk}")
        return queued(request, run, QueuedRunSerializer)


class RunRetry(APIView):
    permission_classes = [CanTrigger]

    @extend_schema(
        operation_id="runs_retry",
        summary="Retry a run that has ended",
        description="Queues a new run with the same app and inputs, linked by retry_of.",
        parameters=[RUN_ID],
        request=None,
        responses={
            202: RetriedRunSerializer,
            404: ErrorSerializer,
            409: OpenApiResponse(ErrorSerializer, "The run has not ended yet."),
            **AUTH_ERRORS,
        },
    )
    def post(self, request, pk: int):
        run = find_run(Run.objects.all(), pk)
        try:
            retry = retry_run(run)
        except RunNotFinal as exc:
            raise Conflict(str(exc), code="run_not_final") from None
        _audit(request, "retried", run, note=f"as run #{retry.pk}")
        return queued(request, retry, RetriedRunSerializer)


class RunStop(APIView):
    permission_classes = [CanTrigger]

    @extend_schema(
        operation_id="runs_stop",
        summary="Stop a queued or running run",
        description="A queued run ends cancelled at once. For a running run Dify is asked to "
        "stop it; the run ends cancelled when Dify confirms (its stream ends), and says "
        "'stop requested' until then. Dify's own run record may keep saying running.",
        parameters=[RUN_ID],
        request=None,
        responses={
            202: StoppedRunSerializer,
            404: ErrorSerializer,
            409: OpenApiResponse(
                ErrorSerializer,
                "The run has no Dify work left to stop: it has ended or is delivering.",
            ),
            **AUTH_ERRORS,
        },
    )
    def post(self, request, pk: int):
        run = find_run(Run.objects.all(), pk)
        try:
            outcome = request_stop(run, by=request.user.get_username())
        except NotStoppable as exc:
            raise Conflict(str(exc), code="run_not_stoppable") from None
        _audit(request, "stopped", run, note=outcome)
        run.refresh_from_db(fields=["status"])
        url = request.build_absolute_uri(reverse("api-run", args=[run.pk]))
        body = {"run": run.pk, "status": run.status, "outcome": outcome, "url": url}
        return Response(StoppedRunSerializer(body).data, status=status.HTTP_202_ACCEPTED)


class RunRedeliver(APIView):
    permission_classes = [CanTrigger]

    @extend_schema(
        operation_id="runs_redeliver",
        summary="Send a run's output again where it failed",
        description="Queues the run's failed deliveries again, without running Dify again. "
        "When no output could be picked before, the message is composed from the run's "
        "outputs and the digest's or endpoint's settings as they are now.",
        parameters=[RUN_ID],
        request=None,
        responses={
            202: RedeliveredRunSerializer,
            404: ErrorSerializer,
            409: OpenApiResponse(
                ErrorSerializer,
                "The run has not ended, has no failed delivery, or still has no output to send.",
            ),
            **AUTH_ERRORS,
        },
    )
    def post(self, request, pk: int):
        run = find_run(Run.objects.select_related("digest", "review_endpoint"), pk)
        try:
            count = redeliver(run)
        except NotRedeliverable as exc:
            raise Conflict(str(exc), code="run_not_redeliverable") from None
        _audit(request, "sent again", run, note=f"{count} deliveries")
        url = request.build_absolute_uri(reverse("api-run", args=[run.pk]))
        body = {"run": run.pk, "status": run.status, "deliveries": count, "url": url}
        return Response(RedeliveredRunSerializer(body).data, status=status.HTTP_202_ACCEPTED)


def _audit(request, action: str, obj, note: str = "") -> None:
    """The audit trail's entry for an action through the API, in the API key's name."""
    audit.record(audit.Door.API, request.user.get_username(), action, obj, note=note)


def find_run(runs, pk: int) -> Run:
    run = runs.filter(pk=pk).first() if 0 < pk <= MAX_ID else None
    if run is None:
        raise NotFound(f"No run #{pk}.")
    return run


def queued(request, run: Run, serializer) -> Response:
    url = request.build_absolute_uri(reverse("api-run", args=[run.pk]))
    body = {"run": run.pk, "status": run.status, "url": url}
    if run.retry_of_id:
        body["retry_of"] = run.retry_of_id
    return Response(
        serializer(body).data, status=status.HTTP_202_ACCEPTED, headers={"Location": url}
    )
