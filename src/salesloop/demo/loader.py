"""Bulk loading of generated columns: executemany on SQLite, COPY on PostgreSQL.

A :class:`Table` holds whole columns (NumPy arrays or Polars series) in the units the
generator works with (money in cents, dates as day numbers, times as epoch seconds in UTC).
They are converted chunk by chunk into exactly what Django would store for the same values:

- SQLite: decimals as numbers (Django passes ``str(Decimal)`` into a NUMERIC column, which
  stores the same number), dates as ``YYYY-MM-DD``, datetimes as naive UTC
  ``YYYY-MM-DD HH:MM:SS``, booleans as 0/1;
- PostgreSQL: ``COPY … FROM STDIN`` in text format, decimals as exact strings, datetimes with an
  explicit ``+00`` offset.
"""

from __future__ import annotations

import contextlib
import io
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management.color import no_style
from django.db import connection
from django.db.models import Model

CHUNK_ROWS = 250_000
SQLITE_DATETIME = "%Y-%m-%d %H:%M:%S"
PG_DATETIME = "%Y-%m-%d %H:%M:%S+00"


@dataclass
class Col:
    kind: str  # int | money | date | datetime | str | bool
    values: Any  # np.ndarray, or pl.Series for str
    null: np.ndarray | None = None  # True where NULL


@dataclass
class Table:
    model: type[Model]
    cols: dict[str, Col]
    rows: int = field(init=False)

    def __post_init__(self) -> None:
        lengths = {len(c.values) for c in self.cols.values()}
        if len(lengths) != 1:
            raise ValueError(f"{self.model.__name__}: columns of different lengths {lengths}")
        self.rows = lengths.pop()


def _series(name: str, col: Col, lo: int, hi: int, vendor: str) -> pl.Series:
    values = col.values[lo:hi] if not isinstance(col.values, pl.Series) else None
    if col.kind == "str":
        s = (
            col.values.slice(lo, hi - lo)
            if isinstance(col.values, pl.Series)
            else pl.Series(name, values, dtype=pl.String)
        )
        s = s.alias(name)
    elif col.kind == "int":
        s = pl.Series(name, values.astype(np.int64))
    elif col.kind == "money":
        cents = values.astype(np.int64)
        if vendor == "sqlite":
            s = pl.Series(name, cents / 100.0)
        else:
            c = pl.Series(name, cents)
            s = pl.select(
                ((c // 100).cast(pl.String) + "." + (c % 100).cast(pl.String).str.zfill(2)).alias(
                    name
                )
            ).to_series()
    elif col.kind == "date":
        s = pl.Series(name, values.astype("datetime64[D]")).dt.strftime("%Y-%m-%d")
    elif col.kind == "datetime":
        fmt = SQLITE_DATETIME if vendor == "sqlite" else PG_DATETIME
        secs = values.astype(np.int64)
        if col.null is not None:
            secs = np.where(col.null[lo:hi], 0, secs)
        s = pl.from_epoch(pl.Series(name, secs), time_unit="s").dt.strftime(fmt)
    elif col.kind == "bool":
        b = values.astype(bool)
        s = (
            pl.Series(name, b.astype(np.int64))
            if vendor == "sqlite"
            else pl.Series(name, np.where(b, "t", "f"))
        )
    else:  # pragma: no cover - programming error
        raise ValueError(col.kind)
    if col.null is not None:
        mask = pl.Series(col.null[lo:hi])
        s = pl.select(pl.when(mask).then(None).otherwise(s).alias(name)).to_series()
    return s


def table_frame(table: Table, lo: int, hi: int, vendor: str) -> pl.DataFrame:
    return pl.DataFrame([_series(name, col, lo, hi, vendor) for name, col in table.cols.items()])


# --- wiping -----------------------------------------------------------------------------


def business_models() -> list[type[Model]]:
    """Every concrete table of the salesloop apps, plus users and what hangs on them."""
    out: list[type[Model]] = []
    for config in apps.get_app_configs():
        if config.name.startswith("salesloop."):
            out.extend(
                m
                for m in config.get_models(include_auto_created=True)
                if m._meta.managed and not m._meta.proxy
            )
    user = get_user_model()
    out += [user, user.groups.through, user.user_permissions.through]
    for label in ("admin.LogEntry", "sessions.Session"):
        with contextlib.suppress(LookupError):
            out.append(apps.get_model(label))
    existing = set(connection.introspection.table_names())
    return [m for m in out if m._meta.db_table in existing]


def wipe() -> None:
    """Delete every row of the business tables and restart their ids (inside a transaction)."""
    models = business_models()
    tables = [m._meta.db_table for m in models]
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Check the deferred foreign keys of rows written earlier in this transaction now:
            # PostgreSQL refuses to TRUNCATE a table with pending trigger events.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f"TRUNCATE {', '.join(qn(t) for t in tables)} RESTART IDENTITY CASCADE")
        else:
            for t in tables:
                cursor.execute(f"DELETE FROM {qn(t)}")
            if connection.vendor == "sqlite":
                marks = ", ".join("%s" for _ in tables)
                cursor.execute(f"DELETE FROM sqlite_sequence WHERE name IN ({marks})", tables)


# --- secondary indexes and foreign keys ----------------------------------------------------


def drop_secondary(tables: Iterable[str]) -> list[str]:
    """Drop the secondary indexes (and, on PostgreSQL, foreign keys) of ``tables``.

    Returns the statements that recreate them exactly as the migrations made them.
    """
    restore: list[str] = []
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Fire the deferred checks of the rows written so far: a table with pending
            # trigger events cannot be altered.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        for table in tables:
            if connection.vendor == "sqlite":
                cursor.execute(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s "
                    "AND sql IS NOT NULL",
                    [table],
                )
                for name, sql in cursor.fetchall():
                    cursor.execute(f"DROP INDEX {qn(name)}")
                    restore.append(sql)
            elif connection.vendor == "postgresql":
                cursor.execute(
                    "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                    "WHERE conrelid = %s::regclass AND contype = 'f'",
                    [table],
                )
                for name, definition in cursor.fetchall():
                    cursor.execute(f"ALTER TABLE {qn(table)} DROP CONSTRAINT {qn(name)}")
                    restore.append(
                        f"ALTER TABLE {qn(table)} ADD CONSTRAINT {qn(name)} {definition}"
                    )
                cursor.execute(
                    "SELECT i.relname, pg_get_indexdef(ix.indexrelid) FROM pg_index ix "
                    "JOIN pg_class i ON i.oid = ix.indexrelid "
                    "WHERE ix.indrelid = %s::regclass AND NOT ix.indisprimary "
                    "AND NOT ix.indisunique AND NOT EXISTS "
                    "(SELECT 1 FROM pg_constraint c WHERE c.conindid = ix.indexrelid)",
                    [table],
                )
                for name, definition in cursor.fetchall():
                    cursor.execute(f"DROP INDEX {qn(name)}")
                    restore.insert(0, definition)  # indexes before foreign keys
    return restore


def restore_secondary(statements: list[str]) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Index builds and foreign-key validation sort and join millions of rows.
            cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
            cursor.execute("SET LOCAL work_mem = '256MB'")
        for sql in statements:
            cursor.execute(sql)


def reset_sequences(models: Iterable[type[Model]]) -> None:
    statements = connection.ops.sequence_reset_sql(no_style(), list(models))
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


# --- inserting ----------------------------------------------------------------------------


@dataclass
class Timing:
    rows: int = 0
    seconds: float = 0.0


Progress = Callable[[str, int, int], None]  # (table label, rows done, rows total)


def insert(table: Table, timings: dict[str, Timing], progress: Progress | None = None) -> None:
    """Insert every row of ``table`` (explicit ids included)."""
    meta = table.model._meta
    label = meta.db_table
    names = list(table.cols)
    qn = connection.ops.quote_name
    start = time.perf_counter()
    vendor = connection.vendor
    if table.rows:
        connection.ensure_connection()
        raw = connection.connection
        if progress is not None:
            progress(label, 0, table.rows)
        for lo in range(0, table.rows, CHUNK_ROWS):
            hi = min(lo + CHUNK_ROWS, table.rows)
            frame = table_frame(table, lo, hi, vendor)
            if vendor == "postgresql":
                buffer = io.BytesIO()
                frame.write_csv(
                    buffer,
                    include_header=False,
                    separator="\t",
                    null_value="\\N",
                    quote_style="never",
                )
                columns = ", ".join(qn(n) for n in names)
                with (
                    raw.cursor() as cur,
                    cur.copy(f"COPY {qn(label)} ({columns}) FROM STDIN") as copy,
                ):
                    copy.write(buffer.getvalue())
            else:
                columns = ", ".join(qn(n) for n in names)
                marks = ", ".join("?" for _ in names)
                raw.executemany(
                    f"INSERT INTO {qn(label)} ({columns}) VALUES ({marks})", frame.rows()
                )
            if progress is not None:
                progress(label, hi, table.rows)
    timing = timings.setdefault(label, Timing())
    timing.rows += table.rows
    timing.seconds += time.perf_counter() - start
