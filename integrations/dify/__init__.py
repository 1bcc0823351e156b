"""Dify service-API integration: a plain Python package (no Django imports).

The Django side imports everything it needs from here.
"""

from .client import AppInfo, AppParameters, DifyClient, LogEntry, RunResult
from .errors import (
    DifyAuthError,
    DifyError,
    DifyInputError,
    DifyOutcomeUnknown,
    DifyPermanentError,
    DifyRetryableError,
    DifyStreamStalled,
    error_from_response,
)
from .inputs import InputField, form_from_json, form_to_json, parse_input_form, validate_inputs
from .sse import SSEDecodeError, iter_events

__all__ = [
    "AppInfo",
    "AppParameters",
    "DifyAuthError",
    "DifyClient",
    "DifyError",
    "DifyInputError",
    "DifyOutcomeUnknown",
    "DifyPermanentError",
    "DifyRetryableError",
    "DifyStreamStalled",
    "InputField",
    "LogEntry",
    "RunResult",
    "SSEDecodeError",
    "error_from_response",
    "form_from_json",
    "form_to_json",
    "iter_events",
    "parse_input_form",
    "validate_inputs",
]
