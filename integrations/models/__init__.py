from integrations.models.alerts import Alert
from integrations.models.apikeys import HubAPIKey
from integrations.models.audit import AuditEntry
from integrations.models.dify import DifyApp
from integrations.models.digests import Digest
from integrations.models.engine import RunSlot, WorkerHeartbeat
from integrations.models.gitlab import ReviewEndpoint, WebhookEvent
from integrations.models.preferences import Preference
from integrations.models.recipients import Recipient
from integrations.models.runs import Delivery, DeliveryAttempt, Run

__all__ = [
    "Alert",
    "AuditEntry",
    "DifyApp",
    "Digest",
    "ReviewEndpoint",
    "WebhookEvent",
    "Recipient",
    "Run",
    "Delivery",
    "DeliveryAttempt",
    "HubAPIKey",
    "RunSlot",
    "WorkerHeartbeat",
    "Preference",
]
