from integrations.admin import (  # noqa: F401  (registers ModelAdmins)
    alerts,
    apikeys,
    audit,
    beat,
    dify,
    digests,
    gitlab,
    overview,
    recipients,
    runs,
    users,
)
