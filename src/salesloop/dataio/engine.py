"""Running an import: read the file in chunks, parse, resolve, write, collect rejected rows.

- All-or-nothing (default): the file runs in one transaction; if any row is rejected, or for a dry
  run, everything is rolled back — the counts then say what *would* have happened.
- Valid rows only: each row runs in a savepoint; rejected rows are skipped and the rest committed.
- Memory stays bounded: rows are read as a stream and handled CHUNK rows at a time; rejected rows
  go straight to a CSV file on disk.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from salesloop.dataio.context import Context, RowError
from salesloop.dataio.formats import CellError, clean_text, is_blank
from salesloop.dataio.handlers import HANDLERS, service_error_text
from salesloop.dataio.kinds import KINDS, Kind
from salesloop.dataio.readers import FileRejected, Table, open_table
from salesloop.org.visibility import can_write

CHUNK = 2000
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


def parse_row(
    kind: Kind, fields: dict[str, int], values: list[Any]
) -> tuple[dict[str, Any], list[str]]:
    row: dict[str, Any] = {}
    errors: list[str] = []
    for column in kind.columns:
        index = fields.get(column.name)
        raw = values[index] if index is not None and index < len(values) else None
        if is_blank(raw):
            if column.required:
                errors.append(_("%(col)s is required.") % {"col": column.label})
            row[column.name] = None
            continue
        if column.parse is None:
            row[column.name] = clean_text(raw)
            continue
        try:
            row[column.name] = column.parse(raw)
        except CellError as exc:
            errors.append(f"{column.label}: {exc}")
            row[column.name] = None
    return row, errors


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
            with transaction.atomic():
                ctx = Context(user)
                handler = HANDLERS[kind](spec, ctx, bulk=use_bulk)
                for chunk in _chunks(table.rows(), CHUNK):
                    _run_chunk(
                        spec,
                        fields,
                        handler,
                        chunk,
                        result,
                        rejects,
                        savepoints=not handler.bulk or valid_rows_only,
                    )
                    if progress is not None:
                        progress(result.total, table.estimated_rows, result)
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
    spec: Kind,
    fields: dict[str, int],
    handler: Any,
    chunk: list[tuple[int, list[Any]]],
    result: ImportResult,
    rejects: RejectsWriter,
    *,
    savepoints: bool,
) -> None:
    parsed: list[tuple[int, dict[str, Any], list[Any], list[str]]] = []
    for number, values in chunk:
        result.total += 1
        row, errors = parse_row(spec, fields, values)
        parsed.append((number, row, values, errors))
    handler.prepare([(n, r) for n, r, _v, errors in parsed if not errors])
    for number, row, values, errors in parsed:
        if errors:
            _reject(result, rejects, number, values, "; ".join(errors))
            continue
        try:
            if savepoints:
                with transaction.atomic():
                    status = handler.handle(number, row)
            else:
                status = handler.handle(number, row)
        except RowError as exc:
            _reject(result, rejects, number, values, exc.message)
            continue
        except (ValidationError, PermissionDenied) as exc:
            _reject(result, rejects, number, values, service_error_text(exc))
            continue
        setattr(result, status, getattr(result, status) + 1)
    handler.flush()


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
