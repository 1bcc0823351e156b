from django.db.models.signals import post_delete
from django.dispatch import receiver

from integrations.digests.sync import remove_schedule
from integrations.models import Digest


@receiver(post_delete, sender=Digest, dispatch_uid="digest-remove-schedule")
def digest_deleted(sender, instance: Digest, **kwargs) -> None:
    # Runs for Digest.delete() and for queryset/admin bulk deletes, inside their transaction.
    remove_schedule(instance)
