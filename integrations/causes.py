"""Walking an exception's chain of causes, for the HTTP clients' error classification.

requests wraps urllib3 errors, which wrap socket errors, in args, `reason` and __cause__;
the clients look for the innermost OS-level reason to say what happened in plain words.
Pure: no Django, shared by integrations.dify and integrations.gitlab.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from urllib3.exceptions import MaxRetryError


def exception_chain(exc: BaseException, *, context: bool = False) -> Iterator[BaseException]:
    """`exc` and everything it wraps, each once; with `context`, also what it was raised in."""
    seen: set[int] = set()
    stack: list[Any] = [exc]
    while stack:
        item = stack.pop()
        if not isinstance(item, BaseException) or id(item) in seen:
            continue
        seen.add(id(item))
        yield item
        if isinstance(item, MaxRetryError):
            stack.append(item.reason)
        stack.extend(arg for arg in item.args if isinstance(arg, BaseException))
        stack.append(item.__cause__)
        if context:
            stack.append(item.__context__)
