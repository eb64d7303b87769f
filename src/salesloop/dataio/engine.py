"""Running an import: read the file in chunks, parse, resolve, write, collect rejected rows.

- All-or-nothing (default): the file runs in one transaction; if any row is rejected, or for a dry
  run, everything is rolled back — the counts then say what *would* have happened.
- Valid rows only: each row runs in a savepoint; rejected rows are skipped and the rest committed.
- Memory stays bounded: rows are read as a stream and handled CHUNK rows at a time; rejected rows
  go straight to a CSV file on disk.
"""

from __future__ import annotations

import csv
import gc
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import islice, repeat
from operator import itemgetter
from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from salesloop.common.words import labelled, sentences
from salesloop.dataio.context import Context, RowError
from salesloop.dataio.formats import (
    COLUMN_PARSERS,
    CellError,
    clean_text,
    is_blank,
)
from salesloop.dataio.handlers import HANDLERS
from salesloop.dataio.kinds import KINDS, Column, Kind
from salesloop.dataio.readers import FileRejected, Table, open_table
from salesloop.org.visibility import can_write

CHUNK = 10_000
SAMPLE_LIMIT = 50


@dataclass
class ImportResult:
    kind: str
    dry_run: bool
    valid_rows_only: bool
    total: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    committed: bool = False
    error: str = ""
    seconds: float = 0.0
    samples: list[dict[str, Any]] = field(default_factory=list)  # first rejected rows, for the page
    rejects_path: str = ""

    @property
    def rows_per_second(self) -> float:
        return self.total / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            k: getattr(self, k)
            for k in (
                "dry_run",
                "valid_rows_only",
                "total",
                "created",
                "updated",
                "unchanged",
                "rejected",
                "committed",
                "error",
                "seconds",
            )
        }


class _Rollback(Exception):
    pass


Progress = Callable[[int, int | None, ImportResult], None]


def check_mapping(kind: Kind, headers: list[str], mapping: dict[str, str]) -> dict[str, int]:
    """{field: column index}; refuses a mapping that misses a required column or names one twice."""
    fields: dict[str, int] = {}
    names = {c.name for c in kind.columns}
    for index, header in enumerate(headers):
        target = mapping.get(header)
        if not header or not target:
            continue
        if target not in names:
            raise FileRejected(
                _("Unknown field %(f)s for %(kind)s.") % {"f": target, "kind": kind.label}
            )
        if target in fields:
            raise FileRejected(
                _("Two columns are mapped to %(f)s: %(a)s and %(b)s.")
                % {"f": kind.column(target).label, "a": headers[fields[target]], "b": header}
            )
        fields[target] = index
    missing = [str(c.label) for c in kind.columns if c.required and c.name not in fields]
    if missing:
        raise FileRejected(
            _("These required columns are missing or not mapped: %(cols)s.")
            % {"cols": ", ".join(missing)}
        )
    return fields


# a cell's message with its column's position in the kind (so a row's messages read left to right)
Message = tuple[int, str]


def parse_row(
    kind: Kind, fields: dict[str, int], values: list[Any]
) -> tuple[dict[str, Any], list[Message]]:
    """One row, cell by cell (the reference for :class:`ChunkParser`, which gives the same)."""
    row: dict[str, Any] = {}
    errors: list[Message] = []
    for position, column in enumerate(kind.columns):
        index = fields.get(column.name)
        raw = values[index] if index is not None and index < len(values) else None
        if is_blank(raw):
            if column.required:
                errors.append((position, _("%(col)s is required.") % {"col": column.label}))
            row[column.name] = None
            continue
        if column.parse is None:
            row[column.name] = clean_text(raw)
            continue
        try:
            row[column.name] = column.parse(raw)
        except CellError as exc:
            errors.append((position, labelled(column.label, exc)))
            row[column.name] = None
    return row, errors


_MISSING = object()


def _ascii_texts(raws: list[Any]) -> list[Any] | None:
    """clean_text of each cell when all are ASCII text (the text stripped); else None."""
    try:
        joined = "".join(raws)
    except TypeError:  # not all text
        return None
    return list(map(str.strip, raws)) if joined.isascii() else None


class ChunkParser:
    """Parses a chunk of rows column by column; the same values and messages as :func:`parse_row`.

    Parsers are pure functions of the cell, so the outcome for a text cell (the value, or the
    message) is remembered per column and reused for the next cells with the same text: a file
    of a million orders names a few thousand customers, a few hundred owners, a few dates. A
    column whose cells are mostly distinct (contract numbers, amounts) stops remembering.
    """

    MEMO_LIMIT = 50_000

    def __init__(self, kind: Kind, fields: dict[str, int]):
        self.names = [column.name for column in kind.columns]
        self.plan = [(column, fields.get(column.name)) for column in kind.columns]
        self.memos: list[dict[str, Any] | None] = [{} for _column in kind.columns]

    def parse(
        self, chunk: list[tuple[int, list[Any]]]
    ) -> tuple[list[dict[str, Any]], dict[int, list[Message]]]:
        """(one dict per row, {row position in the chunk: messages}) for ``chunk``."""
        lines = [values for _number, values in chunk]
        width = 1 + max((index for _c, index in self.plan if index is not None), default=-1)
        if lines and min(map(len, lines)) < width:
            lines = [v if len(v) >= width else v + [None] * (width - len(v)) for v in lines]
        errors: dict[int, list[Message]] = {}
        columns: list[list[Any]] = []
        for position, (column, index) in enumerate(self.plan):
            if index is None:  # not in the file (a required column always is: check_mapping)
                columns.append([None] * len(lines))
                if column.required:
                    for at in range(len(lines)):
                        self._required(position, column, errors, at)
                continue
            raws = [values[index] for values in lines]
            memo = self.memos[position]
            if memo is not None and len(memo) > self.MEMO_LIMIT:
                memo.clear()
            before = len(memo) if memo is not None else 0
            out: list[Any] | None
            if column.parse is None:
                out = _ascii_texts(raws)
                if out is None:
                    out = self._text(position, column, raws, memo, errors)
                elif "" in out:
                    for at, text in enumerate(out):
                        if not text:
                            out[at] = None
                            self._required(position, column, errors, at)
            else:
                whole = COLUMN_PARSERS.get(column.parse)
                out = whole(raws) if whole is not None else None
                if out is None:
                    out = self._parsed(position, column, raws, memo, errors)
            if memo is not None and len(memo) - before > len(lines) // 2 > 0:
                self.memos[position] = None  # mostly distinct values: remembering does not pay
            columns.append(out)
        rows = list(map(dict, map(zip, repeat(self.names), zip(*columns, strict=True))))
        return rows, errors

    @staticmethod
    def _required(position: int, column: Column, errors: dict[int, list[Message]], at: int) -> None:
        if column.required:
            message = _("%(col)s is required.") % {"col": column.label}
            errors.setdefault(at, []).append((position, message))

    def _text(
        self,
        position: int,
        column: Column,
        raws: list[Any],
        memo: dict[str, Any] | None,
        errors: dict[int, list[Message]],
    ) -> list[Any]:
        out: list[Any] = []
        append = out.append
        text: Any
        for at, raw in enumerate(raws):
            if raw.__class__ is str:
                if raw.isascii():  # clean_text of ASCII text is the text stripped
                    text = raw.strip()
                    if text:
                        append(text)
                        continue
                    blank = True
                else:
                    text = memo.get(raw, _MISSING) if memo is not None else _MISSING
                    if text is _MISSING:
                        text = None if is_blank(raw) else clean_text(raw)
                        if memo is not None:
                            memo[raw] = text
                    if text is not None:
                        append(text)
                        continue
                    blank = True
            else:
                blank = is_blank(raw)
                if not blank:
                    append(clean_text(raw))
                    continue
            append(None)
            self._required(position, column, errors, at)
        return out

    def _parsed(
        self,
        position: int,
        column: Column,
        raws: list[Any],
        memo: dict[str, Any] | None,
        errors: dict[int, list[Message]],
    ) -> list[Any]:
        parse = column.parse
        assert parse is not None
        out: list[Any] = []
        append = out.append
        for at, raw in enumerate(raws):
            if memo is not None and raw.__class__ is str:
                hit = memo.get(raw, _MISSING)
                if hit is _MISSING:
                    if is_blank(raw):
                        hit = None
                    else:
                        try:
                            hit = (parse(raw),)
                        except CellError as exc:
                            hit = labelled(column.label, exc)
                    memo[raw] = hit
                if hit.__class__ is tuple:
                    append(hit[0])
                elif hit is None:
                    append(None)
                    self._required(position, column, errors, at)
                else:
                    append(None)
                    errors.setdefault(at, []).append((position, hit))
                continue
            if is_blank(raw):
                append(None)
                self._required(position, column, errors, at)
                continue
            try:
                append(parse(raw))
            except CellError as exc:
                append(None)
                errors.setdefault(at, []).append((position, labelled(column.label, exc)))
        return out


class RejectsWriter:
    """Rejected rows, as the user sent them, with the row number and the reason beside each."""

    def __init__(self, path: Path | None, headers: list[str]):
        self.path = path
        self.handle = None
        self.writer: Any = None
        self.headers = headers

    def write(self, number: int, values: list[Any], reason: str) -> None:
        if self.path is None:
            return
        if self.writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.handle = self.path.open("w", encoding="utf-8", newline="")
            self.writer = csv.writer(self.handle)
            self.writer.writerow([_("Row"), _("Reason"), *self.headers])
        cells = [
            "" if v is None else (v.isoformat() if hasattr(v, "isoformat") else v)
            for v in values[: len(self.headers)]
        ]
        self.writer.writerow([number, reason, *cells])

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()


_gc_lock = threading.Lock()
_gc_users = 0
_gc_thresholds: tuple[int, ...] = ()


@contextmanager
def _few_collections() -> Iterator[None]:
    """Spare a big import most of Python's cyclic garbage collections.

    The collector runs after every few hundred new container objects and now and then walks all
    live objects: for a million rows that was 10-30 % of the import's time, for no garbage (rows
    make no reference cycles). Meanwhile the objects alive at the start are frozen (left out of
    the walks) and collections come after 50,000 new objects; both are set back after the last
    running import.
    """
    global _gc_users, _gc_thresholds
    with _gc_lock:
        _gc_users += 1
        if _gc_users == 1:
            _gc_thresholds = gc.get_threshold()
            gc.freeze()
            gc.set_threshold(max(_gc_thresholds[0], 50_000), *_gc_thresholds[1:])
    try:
        yield
    finally:
        with _gc_lock:
            _gc_users -= 1
            if _gc_users == 0:
                gc.set_threshold(*_gc_thresholds)
                gc.unfreeze()


def _chunks(
    rows: Iterator[tuple[int, list[Any]]], size: int
) -> Iterator[list[tuple[int, list[Any]]]]:
    while chunk := list(islice(rows, size)):
        yield chunk


def run_import(
    *,
    path: str | Path,
    kind: str,
    user: Any,
    mapping: dict[str, str] | None = None,
    filename: str = "",
    dry_run: bool = False,
    valid_rows_only: bool = False,
    bulk: bool | None = None,
    rejects_path: str | Path | None = None,
    progress: Progress | None = None,
    table: Table | None = None,
) -> ImportResult:
    """Import one file. Never raises for bad data: the result says what happened."""
    from salesloop.dataio.kinds import suggest_mapping

    spec = KINDS[kind]
    result = ImportResult(
        kind=kind,
        dry_run=dry_run,
        valid_rows_only=valid_rows_only,
        rejects_path=str(rejects_path or ""),
    )
    started = time.monotonic()
    rejects: RejectsWriter | None = None
    try:
        if not can_write(user):
            raise PermissionDenied(
                _("Your role may only read: importing needs a role that may change data.")
            )
        if not spec.available():
            raise FileRejected(
                _("Importing %(kind)s is not available in this installation.")
                % {"kind": spec.label}
            )
        table = table or open_table(path, filename=filename)
        mapping = mapping if mapping is not None else suggest_mapping(spec, table.headers)
        fields = check_mapping(spec, table.headers, mapping)
        rejects = RejectsWriter(Path(rejects_path) if rejects_path else None, table.headers)
        use_bulk = spec.bulk if bulk is None else bulk
        try:
            with _few_collections(), transaction.atomic():
                ctx = Context(user)
                handler = HANDLERS[kind](spec, ctx, bulk=use_bulk)
                parser = ChunkParser(spec, fields)
                savepoints = not handler.bulk or valid_rows_only
                try:
                    if not savepoints:
                        handler.overlap_writes()
                    for chunk in _chunks(table.rows(), CHUNK):
                        _run_chunk(parser, handler, chunk, result, rejects, savepoints=savepoints)
                        if progress is not None:
                            progress(result.total, table.estimated_rows, result)
                    handler.finish()
                finally:
                    handler.close()
                if dry_run or (result.rejected and not valid_rows_only):
                    raise _Rollback
                result.committed = True
        except _Rollback:
            result.committed = False
        finally:
            table.close()
    except FileRejected as exc:
        result.error = exc.message
    except PermissionDenied as exc:
        result.error = str(exc) or _("You may not import this kind of record.")
    finally:
        if rejects is not None:
            rejects.close()
        result.seconds = time.monotonic() - started
    return result


def _run_chunk(
    parser: ChunkParser,
    handler: Any,
    chunk: list[tuple[int, list[Any]]],
    result: ImportResult,
    rejects: RejectsWriter,
    *,
    savepoints: bool,
) -> None:
    rows, errors = parser.parse(chunk)
    result.total += len(chunk)
    if errors:
        handler.prepare(
            [
                (n, row)
                for i, ((n, _v), row) in enumerate(zip(chunk, rows, strict=True))
                if i not in errors
            ]
        )
    else:
        handler.prepare([(n, row) for (n, _v), row in zip(chunk, rows, strict=True)])
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    handle = handler.handle
    for at, ((number, values), row) in enumerate(zip(chunk, rows, strict=True)):
        if errors and at in errors:
            _reject(result, rejects, number, values, _reason(errors[at], handler, row))
            continue
        try:
            if savepoints:
                with transaction.atomic():
                    status = handle(number, row)
            else:
                status = handle(number, row)
        except RowError as exc:
            _reject(result, rejects, number, values, _reason([], handler, row, exc.message))
            continue
        except (ValidationError, PermissionDenied) as exc:
            reason = handler.error_text(exc)
            _reject(result, rejects, number, values, _reason([], handler, row, reason))
            continue
        counts[status] += 1
    for status, count in counts.items():
        setattr(result, status, getattr(result, status) + count)
    handler.flush()


def _reason(
    cells: list[Message], handler: Any, row: dict[str, Any], refusal: str | None = None
) -> str:
    """Why a row is refused: every bad cell of the row, left to right — those that cannot be
    read (``cells``) and the look-ups, choices and limits tried again (reading only) — after
    what refused the row when that is not one of them (a duplicate, a service's rule)."""
    messages = [m for _p, m in sorted([*cells, *handler.cell_errors(row)], key=itemgetter(0))]
    if refusal is not None and refusal not in messages:
        messages.insert(0, refusal)
    return sentences(dict.fromkeys(messages))


def _reject(
    result: ImportResult, rejects: RejectsWriter, number: int, values: list[Any], reason: str
) -> None:
    result.rejected += 1
    rejects.write(number, values, reason)
    if len(result.samples) < SAMPLE_LIMIT:
        result.samples.append(
            {
                "row": number,
                "reason": reason,
                "values": ["" if v is None else str(v) for v in values[: len(rejects.headers)]],
            }
        )
