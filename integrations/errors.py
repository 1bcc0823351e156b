"""The one error tree: every failure the hub reports is a HubError.

A HubError says who said it (`source`: dify, gitlab, github, chat or hub; `who`: the name a
person reads, such as "Dify", "GitLab", "GitHub", "Rocket.Chat" or "The hub"), what happened
(`code`, a short stable word, and `message`, a sentence that starts with who said it and ends
with what to do), and whether trying again can help (`retryable`, with the service's `retry_after` hint in
seconds when it gave one). `status` and `body` keep the HTTP answer when there was one.

`OutcomeUnknown` is the one special case: the request may have been carried out (a run may
exist in Dify), so it must be looked up before it is sent again. It is not `retryable`.

The engine, the delivery code and the admin decide on these fields alone; each service's
errors are subclasses with their own codes (integrations/dify/errors.py, gitlab/errors.py,
forges/github/errors.py, channels/base.py). Pure Python: no Django, no requests.
"""

from __future__ import annotations

from typing import Any, ClassVar

SOURCES = ("dify", "gitlab", "github", "gitea", "chat", "hub")
_MESSAGE_LIMIT = 2000


class HubError(Exception):
    """Base of every error the hub reports. See the module docstring for the fields."""

    source: ClassVar[str] = "hub"
    default_who: ClassVar[str] = "The hub"
    default_code: ClassVar[str] = "hub_error"
    default_retryable: ClassVar[bool] = False

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        retryable: bool | None = None,
        retry_after: float | None = None,
        body: str = "",
        who: str | None = None,
    ) -> None:
        self.message = str(message)[:_MESSAGE_LIMIT]
        self.code = code or self.default_code
        self.status = status
        self.retryable = self.default_retryable if retryable is None else bool(retryable)
        self.retry_after = retry_after
        self.body = body
        self.who = who or self.default_who
        super().__init__(self.message)

    def __str__(self) -> str:
        if self.message.startswith(self.who):
            return self.message
        return f"{self.who}: {self.message}"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(source={self.source!r}, code={self.code!r}, "
            f"status={self.status!r}, retryable={self.retryable!r}, "
            f"retry_after={self.retry_after!r}, message={self.message!r})"
        )

    def __reduce__(self) -> tuple:
        # Keyword-only arguments break Exception's default pickling (Celery, multiprocessing).
        return (_rebuild, (type(self), dict(self.__dict__)))

    def redact(self, *secrets: str) -> None:
        """Replace each secret everywhere this error could show it."""
        for secret in sorted((s for s in secrets if s), key=len, reverse=True):
            self.message = self.message.replace(secret, "***")
            self.body = self.body.replace(secret, "***")
        self.args = (self.message,)

    def to_dict(self) -> dict[str, Any]:
        """What the run records, the API and `hub runs --json` show."""
        return {
            "source": self.source,
            "code": self.code,
            "message": str(self),
            "status": self.status,
            "retryable": self.retryable,
        }


def _rebuild(cls: type[HubError], state: dict) -> HubError:
    error = cls.__new__(cls)
    Exception.__init__(error, state.get("message", ""))
    error.__dict__.update(state)
    return error


class OutcomeUnknown(HubError):
    """The request may have been carried out: look it up before sending it again."""

    default_code = "outcome_unknown"
    default_retryable = False


class HubRefusal(HubError):
    """The hub itself refused before calling anyone (bad inputs, no output to send, a disabled
    app). Nothing was sent, so it does not count as an attempt at the outside service."""

    default_code = "hub_refused"


def source_of(error: BaseException | None) -> str:
    """Who said it, for any exception: a HubError's source, else the hub (a bug of ours)."""
    return error.source if isinstance(error, HubError) else "hub"
