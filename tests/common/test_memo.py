"""The per-request memo: one read per key inside a scope, a fresh read outside."""

from __future__ import annotations

from salesloop.common.memo import memo_scope, once


def test_once_reads_once_per_scope_and_always_outside():
    calls = []

    def read() -> int:
        calls.append(1)
        return len(calls)

    assert once("k", read) == 1 and once("k", read) == 2  # no scope: every call reads
    with memo_scope():
        assert once("k", read) == 3
        assert once("k", read) == 3  # the same key: the first read
        assert once("other", read) == 4
        with memo_scope():  # a nested scope shares the outer memo
            assert once("k", read) == 3
    with memo_scope():  # a new scope starts empty
        assert once("k", read) == 5
    assert len(calls) == 5
