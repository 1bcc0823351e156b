from integrations.models.dify import DifyApp
from integrations.models.digests import Digest
from integrations.models.recipients import Recipient
from integrations.models.runs import Delivery, DeliveryAttempt, Run

__all__ = ["DifyApp", "Digest", "Recipient", "Run", "Delivery", "DeliveryAttempt"]
