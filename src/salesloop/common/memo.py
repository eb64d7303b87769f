"""A memo for one read-only unit of work (e.g. rendering one dashboard): reads that many parts
of it ask for — the stage lists, the member count — run once.

Outside :func:`memo_scope` :func:`once` simply calls ``read``, so code that writes between
reads (forms, imports, tests) never sees a stale value unless it opted in.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

T = TypeVar("T")

_memo: ContextVar[dict[Hashable, Any] | None] = ContextVar("salesloop_memo", default=None)


@contextmanager
def memo_scope() -> Iterator[None]:
    """Share :func:`once` reads until the block ends (nested scopes share the outer one)."""
    if _memo.get() is not None:
        yield
        return
    token = _memo.set({})
    try:
        yield
    finally:
        _memo.reset(token)


def once(key: Hashable, read: Callable[[], T]) -> T:
    """``read()``, run once per :func:`memo_scope` for ``key`` (every time outside one)."""
    memo = _memo.get()
    if memo is None:
        return read()
    if key not in memo:
        memo[key] = read()
    return memo[key]  # type: ignore[no-any-return]
