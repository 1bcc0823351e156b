from django.apps import AppConfig
from django.conf import settings


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "dify-hub"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The run engine (runs/) knows no kind of run; each kind registers what it adds here,
        # so runs/ never imports the packages built on it. Imported here, not at the top:
        # models can only be imported once Django's app registry is ready.
        from integrations import signals  # noqa: F401  (connects the model signals)
        from integrations.digests import alerting, sending
        from integrations.forges import parts, pull_comment, pull_review, reviews
        from integrations.gitlab import line_comments, note, review
        from integrations.http.client import before_each_request, keep_connections
        from integrations.models import Run
        from integrations.runs import alerts, delivery, kinds
        from integrations.runs.connections import release_pooled_connections

        before_each_request(release_pooled_connections)
        keep_connections(settings.CELERY_WORKER_CONCURRENCY)  # one kept per worker thread
        kinds.register(
            Run.Kind.DIGEST,
            kinds.RunKind(
                after_success=sending.send,
                compose=sending.compose,
                after_trouble=alerting.digest_trouble,
            ),
        )
        # An alert's message is the hub's own, stored when it was raised; it raises none.
        kinds.register(Run.Kind.ALERT, kinds.RunKind(compose=alerts.stored_message))
        kinds.register(
            Run.Kind.MERGE_REQUEST_REVIEW,
            kinds.RunKind(
                prepare=reviews.prepare,
                after_success=reviews.after_success,
                compose=reviews.compose,
            ),
        )
        # A part of a review in parts sends nothing: its review puts the parts together.
        kinds.register(Run.Kind.REVIEW_PART, kinds.RunKind(prepare=parts.prepare_part))
        delivery.register_target(review.NOTE_KIND, note.sender_for, resend_safe=True)
        delivery.register_target(review.LINES_KIND, line_comments.sender_for, resend_safe=True)
        delivery.register_target(
            pull_review.COMMENT_KIND, pull_comment.sender_for, resend_safe=True
        )
        delivery.register_target(
            pull_review.INLINE_KIND, pull_comment.line_sender_for, resend_safe=True
        )
