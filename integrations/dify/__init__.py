"""Dify service-API integration: a plain Python package (no Django imports).

The Django side imports everything it needs from here.
"""

from .client import DifyClient
from .errors import (
    DifyAuthError,
    DifyConcurrencyLimit,
    DifyError,
    DifyInputError,
    DifyOutcomeUnknown,
    DifyPermanentError,
    DifyRetryableError,
    DifySilentRefusal,
    DifyStreamStalled,
    error_from_response,
)
from .inputs import InputField, form_from_json, form_to_json, parse_input_form, validate_inputs
from .results import AppInfo, AppParameters, LogEntry, RunResult
from .sse import SSEDecodeError, iter_events

__all__ = [
    "AppInfo",
    "AppParameters",
    "DifyAuthError",
    "DifyClient",
    "DifyConcurrencyLimit",
    "DifyError",
    "DifyInputError",
    "DifyOutcomeUnknown",
    "DifyPermanentError",
    "DifyRetryableError",
    "DifySilentRefusal",
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
