from integrations.admin import (  # noqa: F401  (registers ModelAdmins)
    alerts,
    apikeys,
    dify,
    digests,
    gitlab,
    recipients,
    runs,
)
