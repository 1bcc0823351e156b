from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "dify-hub"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from integrations import signals  # noqa: F401
