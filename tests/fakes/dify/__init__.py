"""A local fake of the Dify service API (``/v1``), shaped after real Dify 1.14.1 captures.

Real HTTP/1.1 on 127.0.0.1 (ephemeral port by default), stdlib only. Streams are sent with
``Transfer-Encoding: chunked`` and ``text/event-stream; charset=utf-8`` exactly like Dify:
a bare ``event: ping`` prologue, ``data: {json}`` events with no ``event:`` line, and
keep-alive pings while a node runs (every ``ping_interval`` seconds, 10 s like Dify unless
configured smaller for fast tests).

Use in tests::

    with FakeDify() as fake:
        fake.script("run", too_many_requests(), success())
        client = DifyClient(fake.url, fake.api_key)
        ...
        fake.requests   # recorded requests
        fake.runs       # workflow_run_id -> run detail (what GET /workflows/run/{id} returns)

When a queue is empty a request gets the default behaviour: a successful run of the
"echo-workflow" app (outputs ``{"echo": query, "count": count, "color": color}``).
Inputs are validated against the app's form the way Dify does it: blocking runs with bad
inputs get ``400 invalid_param`` (or the 500 Dify gives for an object in a number field);
*streaming* workflow runs with bad inputs get 200, one ping, and then silence (Dify's real
behaviour) until the client goes away, the fake stops, or ``stall_seconds`` pass.

Quirks reproduced on purpose: the stop endpoint always answers 200 ``{"result":"success"}``
(even for unknown tasks); a stopped run ends its stream with ``workflow_finished`` status
``stopped`` but keeps reading back as ``running`` from ``GET /workflows/run/{id}``; an
unknown ``/v1`` path gives Flask's HTML 404; a non-UUID run id gives the ``"code":"unknown"``
500; run detail ``inputs`` is a JSON string.

Run it standalone for manual testing (serves until Ctrl-C)::

    python -m tests.fakes.dify --port 5001 --api-key app-demo [--mode workflow]
        [--host 127.0.0.1] [--ping-interval 10]

and point the hub at ``http://127.0.0.1:5001/v1`` with API key ``app-demo``.
"""

from tests.fakes.base import RecordedRequest
from tests.fakes.dify.app import FakeDify
from tests.fakes.dify.behaviours import (
    Behaviour,
    api_error,
    app_unavailable,
    concurrency_limit,
    cut_after_started,
    drop_connection,
    forbidden,
    gateway_error,
    internal_server_error,
    invalid_param,
    node_failed,
    not_found,
    not_published,
    paused,
    rate_limit_error,
    raw_response,
    replay,
    slow,
    stall,
    stream_error,
    success,
    too_many_requests,
    unauthorized,
    unknown_500,
)
from tests.fakes.dify.forms import (
    DEFAULT_CHAT_INPUT_FORM,
    DEFAULT_INPUT_FORM,
    ECHO_CHATFLOW,
    MULTI_OUTPUT,
    MULTI_OUTPUT_FORM,
)

__all__ = [
    "DEFAULT_CHAT_INPUT_FORM",
    "DEFAULT_INPUT_FORM",
    "ECHO_CHATFLOW",
    "MULTI_OUTPUT",
    "MULTI_OUTPUT_FORM",
    "Behaviour",
    "FakeDify",
    "RecordedRequest",
    "api_error",
    "app_unavailable",
    "concurrency_limit",
    "cut_after_started",
    "drop_connection",
    "forbidden",
    "gateway_error",
    "internal_server_error",
    "invalid_param",
    "node_failed",
    "not_found",
    "not_published",
    "paused",
    "rate_limit_error",
    "raw_response",
    "replay",
    "slow",
    "stall",
    "stream_error",
    "success",
    "too_many_requests",
    "unauthorized",
    "unknown_500",
]
