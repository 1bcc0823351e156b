from integrations.admin import (  # noqa: F401  (registers ModelAdmins)
    alerts,
    apikeys,
    audit,
    dify,
    digests,
    gitlab,
    recipients,
    runs,
    users,
)
