"""A small, pure Server-Sent-Events reader for Dify streams.

Dify frames every real event as one ``data: {json}`` line followed by a blank line, with no
``event:`` line; keep-alives are a bare ``event: ping`` block with no data line. This reader
yields the parsed JSON object of every block that has data, and ignores everything else
(``event:``/``id:``/``retry:`` fields, ``:`` comments, data-less blocks such as pings).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

__all__ = ["SSEDecodeError", "iter_events", "split_lines"]


class SSEDecodeError(ValueError):
    """A ``data:`` block was not valid UTF-8 JSON. ``text`` holds the (trimmed) offending text."""

    def __init__(self, reason: str, text: str) -> None:
        self.reason = reason
        self.text = text if len(text) <= 200 else text[:197] + "..."
        super().__init__(f"{reason}: {self.text!r}")


def split_lines(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Re-split arbitrary byte chunks into lines (without their ``\\n`` / ``\\r\\n`` ending).

    Splitting happens on bytes, so a multi-byte UTF-8 character cut across two chunks is
    reassembled before decoding. A trailing partial line is yielded at the end.
    """
    pending = b""
    for chunk in chunks:
        if not chunk:
            continue
        pending += chunk
        if b"\n" not in chunk:
            continue
        *lines, pending = pending.split(b"\n")
        for line in lines:
            yield line[:-1] if line.endswith(b"\r") else line
    if pending:
        yield pending[:-1] if pending.endswith(b"\r") else pending


def _decode(line: bytes | str) -> str:
    if isinstance(line, str):
        text = line
    else:
        try:
            text = bytes(line).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SSEDecodeError("stream line is not valid UTF-8", repr(bytes(line)[:200])) from exc
    return text.rstrip("\r\n")


def _parse(data_lines: list[str]) -> Any:
    text = "\n".join(data_lines)
    try:
        return json.loads(text)
    except ValueError as exc:
        raise SSEDecodeError("data block is not valid JSON", text) from exc


def iter_events(lines: Iterable[bytes | str]) -> Iterator[dict]:
    """Yield the parsed JSON of each ``data:`` block in ``lines``.

    ``lines`` are single lines (bytes or str, with or without their line ending), e.g. from
    :func:`split_lines` or ``requests.Response.iter_lines()``. A block ends at a blank line
    (or at the end of input). ``data:`` works with or without the space after the colon;
    several data lines in one block are joined with ``"\\n"``. Raises :class:`SSEDecodeError`
    when a data block is not valid JSON (or not UTF-8).
    """
    data_lines: list[str] = []
    for raw in lines:
        line = _decode(raw)
        if line == "":
            if data_lines:
                yield _parse(data_lines)
                data_lines = []
            continue
        if line.startswith(":"):
            continue  # comment
        field, sep, value = line.partition(":")
        if not sep:
            continue  # a bare field name with no value; nothing we use
        if value.startswith(" "):
            value = value[1:]
        if field == "data":
            data_lines.append(value)
        # "event", "id", "retry" and unknown fields are ignored.
    if data_lines:
        yield _parse(data_lines)
