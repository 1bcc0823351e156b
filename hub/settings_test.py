"""Settings for the test suite: the same as production, kept apart from a dev instance.

Queues get their own names (a dev worker on the same Redis never takes a test's message),
the file broker its own folder, and password hashing is made cheap.
"""

from hub.settings import *  # noqa: F403
from hub.settings import CELERY_BROKER_TRANSPORT_OPTIONS, REDIS_URL, VAR_DIR, celery_queues

HUB_QUEUES = {"default": "hub-test", "runs": "hub-test.runs", "deliveries": "hub-test.deliveries"}
CELERY_TASK_DEFAULT_QUEUE, CELERY_TASK_QUEUES, CELERY_TASK_ROUTES = celery_queues(HUB_QUEUES)
if not REDIS_URL:
    _folder = VAR_DIR / "test-broker"
    for _sub in ("queue", "processed", "control"):
        (_folder / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        **CELERY_BROKER_TRANSPORT_OPTIONS,
        "data_folder_in": str(_folder / "queue"),
        "data_folder_out": str(_folder / "queue"),
        "processed_folder": str(_folder / "processed"),
        "control_folder": str(_folder / "control"),
    }
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Short backoff so retry paths run in seconds; tests that check the maths use their own values.
HUB_RETRY_BASE_SECONDS = 1
HUB_RETRY_MAX_SECONDS = 2
HUB_GITLAB_DIFF_WAIT_SECONDS = 1
HUB_GITLAB_DIFF_WAITS = 4
