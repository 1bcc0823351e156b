"""How a kind's preparation step (reading a merge request, say) tells the engine what to do."""

from __future__ import annotations


class StepError(Exception):
    """Preparing the run failed; retryable errors are retried with the run's backoff."""

    def __init__(
        self, code: str, message: str, *, retryable: bool, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retryable = retryable
        self.retry_after = retry_after


class NotReady(Exception):
    """What the run needs is not there yet (GitLab still preparing a diff): look again later
    without counting an attempt."""

    def __init__(self, message: str, *, waits: int, delay: float) -> None:
        super().__init__(message)
        self.message = message
        self.waits = waits  # how many times this run has waited so far, this one included
        self.delay = delay  # seconds until the next look


class RunEnded(Exception):
    """The run should not go ahead at all: it ends with this status and explanation."""

    def __init__(self, status: str, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
