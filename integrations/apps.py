from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "dify-hub"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The run engine (runs/) knows no kind of run; each kind registers what it adds here,
        # so runs/ never imports the packages built on it.
        from integrations import signals  # noqa: F401  (connects the model signals)
        from integrations.digests import delivery as digest_delivery
        from integrations.gitlab import note, review
        from integrations.models import Run
        from integrations.runs import delivery, kinds

        kinds.register(
            Run.Kind.DIGEST,
            kinds.RunKind(
                after_success=digest_delivery.start_deliveries, compose=digest_delivery.compose
            ),
        )
        kinds.register(
            Run.Kind.MERGE_REQUEST_REVIEW,
            kinds.RunKind(
                prepare=review.prepare,
                after_success=review.start_deliveries,
                compose=review.compose,
            ),
        )
        delivery.register_target(review.NOTE_KIND, note.sender_for, resend_safe=True)
