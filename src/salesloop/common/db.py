"""Database helpers that keep SQLite and PostgreSQL on the same (fast) path."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import DatabaseError, connection, connections, models
from django.db.models.functions import TruncMonth

logger = logging.getLogger(__name__)


def _fixed_offset_hours(tz_name: str) -> float | None:
    """The zone's UTC offset in hours if it is the same all year (no daylight saving), else None."""
    zone = ZoneInfo(tz_name)
    offsets = {datetime(2001, month, 1, tzinfo=zone).utcoffset() for month in (1, 4, 7, 10)}
    if len(offsets) != 1:
        return None
    offset = offsets.pop()
    return offset.total_seconds() / 3600 if offset is not None else 0.0


class MonthKey(models.Func):
    """``'YYYY-MM'`` of a date or datetime (in the company's time zone), as text.

    Django's ``TruncMonth`` runs a Python function per row on SQLite; this uses the databases'
    own functions: ``strftime`` on SQLite (with the zone's fixed offset), ``to_char`` on
    PostgreSQL. For a time zone with daylight saving on SQLite it falls back to ``TruncMonth``.
    """

    output_field = models.CharField()

    def __init__(self, expression: Any, **extra: Any) -> None:
        super().__init__(expression, **extra)

    def _is_datetime(self) -> bool:
        field = self.source_expressions[0].output_field
        return isinstance(field, models.DateTimeField)

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        sql, params = compiler.compile(self.source_expressions[0])
        if not self._is_datetime():
            return f"substr({sql}, 1, 7)", params
        hours = _fixed_offset_hours(settings.TIME_ZONE)
        if hours is None:
            trunc_sql, trunc_params = compiler.compile(TruncMonth(self.source_expressions[0]))
            return f"substr({trunc_sql}, 1, 7)", trunc_params
        return f"strftime('%%Y-%%m', {sql}, '{hours:+g} hours')", params

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        sql, params = compiler.compile(self.source_expressions[0])
        if self._is_datetime():
            return f"to_char(({sql}) AT TIME ZONE %s, 'YYYY-MM')", (*params, settings.TIME_ZONE)
        return f"to_char({sql}, 'YYYY-MM')", params

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> Any:  # other databases
        trunc_sql, params = compiler.compile(TruncMonth(self.source_expressions[0]))
        return trunc_sql, params


class MonthIndex(models.Func):
    """``year * 12 + month - 1`` of a date (a ``DateField``) as an integer: consecutive months
    are consecutive numbers. Computed by the database (no Python function per row on SQLite,
    no date object per row in Python)."""

    output_field = models.IntegerField()

    def _source(self, compiler: Any) -> tuple[str, list[Any]]:
        expression = self.source_expressions[0]
        field = getattr(expression, "output_field", None)
        if isinstance(field, models.DateTimeField) or not isinstance(field, models.DateField):
            raise TypeError("MonthIndex takes a date (a DateField), not a datetime")
        sql, params = compiler.compile(expression)
        return sql, list(params)

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        sql, params = self._source(compiler)
        return (
            f"(CAST(substr({sql}, 1, 4) AS INTEGER) * 12 + CAST(substr({sql}, 6, 2) AS INTEGER) - 1)",
            params * 2,
        )

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        sql, params = self._source(compiler)
        return (
            f"(CAST(EXTRACT(YEAR FROM {sql}) AS INTEGER) * 12"
            f" + CAST(EXTRACT(MONTH FROM {sql}) AS INTEGER) - 1)",
            params * 2,
        )


class EpochSeconds(models.Func):
    """Seconds from 1970-01-01 UTC to a datetime, as a float computed by the database: reading
    tens of thousands of ``timestamptz`` values as Python datetimes cost 0.09 s at S1 (for the
    ages of the open deals), reading them as numbers a tenth of that."""

    output_field = models.FloatField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        sql, params = compiler.compile(self.source_expressions[0])
        return f"((julianday({sql}) - 2440587.5) * 86400.0)", params

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        sql, params = compiler.compile(self.source_expressions[0])
        return f"CAST(EXTRACT(EPOCH FROM {sql}) AS double precision)", params


def fetch_rows(query: models.QuerySet[Any]) -> list[tuple[Any, ...]]:
    """The rows of a ``values_list()`` query, fetched at once and converted as Django converts
    them (the same values as ``list(query)``), without Django's per-chunk and per-row iteration:
    for tens of thousands of rows that iteration costs more than the query."""
    compiler = query.query.get_compiler(using=query.db)
    try:
        sql, params = compiler.as_sql()
    except EmptyResultSet:
        return []
    with connections[query.db].cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    converters = compiler.get_converters(
        [expression for expression, _sql, _alias in compiler.select]
    )
    if not converters or not rows:
        return list(rows)
    # Django's converters, applied column by column rather than row by row
    columns: list[Sequence[Any]] = list(zip(*rows, strict=True))
    for position, (functions, expression) in converters.items():
        values = columns[position]
        for convert in functions:
            values = [convert(value, expression, compiler.connection) for value in values]
        columns[position] = values
    return list(zip(*columns, strict=True))


def fetch_numbers(query: models.QuerySet[Any]) -> npt.NDArray[np.float64]:
    """The rows of a ``values_list()`` query of numbers (ids, counts, floats — e.g. an amount
    ``Cast`` to a ``FloatField``) as a float array of shape rows × columns, straight from the
    database driver: no Django converter is run per row (a ``Cast`` to float has one, which
    was 0.2 s of reading a company's 233,000 won amounts at S1). Decimals and dates are not
    numbers here: cast them in the query."""
    compiler = query.query.get_compiler(using=query.db)
    width = len(query.query.values_select) + len(query.query.annotation_select)
    try:
        sql, params = compiler.as_sql()
    except EmptyResultSet:
        return np.zeros((0, width))
    with connections[query.db].cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if not rows:
        return np.zeros((0, width))
    return np.array(rows, dtype=np.float64).reshape(len(rows), -1)


FEW_ROWS = 50  # update_rows: up to this many rows in one statement on PostgreSQL


def update_rows(
    model: type[models.Model],
    keys: Sequence[str],
    fields: Sequence[str],
    rows: Sequence[Sequence[Any]] | npt.NDArray[np.int64],
    *,
    minor_places: int | None = None,
) -> int:
    """Update many rows, each with its own values, in a few statements.

    ``keys`` are the fields that pick a row (the primary key, or a unique set), ``fields`` the
    fields to set; each row of ``rows`` holds the key values, then the field values, in that
    order, as Python values (converted like ``save()`` converts them). Django's ``bulk_update``
    writes one ``CASE WHEN`` per field over the whole batch, whose cost grows with the batch;
    here PostgreSQL gets the rows by ``COPY`` into a temporary table and one joined ``UPDATE``,
    SQLite runs one prepared ``UPDATE`` per row (``executemany``); a few rows on PostgreSQL
    (``FEW_ROWS``) go in one ``UPDATE`` from a typed ``VALUES`` list. Returns the rows updated.

    ``minor_places``: every value is an integer, and those of decimal fields are amounts in
    units of ``10**-minor_places`` (cents for 2), not negative: they are written as the
    decimals they stand for without a ``Decimal`` per value (e.g. an integer table from numpy).
    """
    if len(rows) == 0:
        return 0
    meta = model._meta
    columns = [meta.get_field(name) for name in (*keys, *fields)]
    pg = connection.vendor == "postgresql"
    names = [f"c{i}" for i in range(len(columns))]  # the temporary table's columns
    qn = connection.ops.quote_name
    table = qn(meta.db_table)
    sets = ", ".join(
        f"{qn(columns[i].column)} = v.{names[i]}" for i in range(len(keys), len(columns))
    )
    where = " AND ".join(
        f"{table}.{qn(columns[i].column)} = v.{names[i]}" for i in range(len(keys))
    )
    preps = [_prep(field) for field in columns]
    # checked and converted before any statement (an error inside COPY aborts the transaction)
    minor = _minor_columns(columns, rows, minor_places) if minor_places is not None else None
    with connection.cursor() as cursor:
        if pg and minor is None and len(rows) <= FEW_ROWS:
            # a few rows (an edit by hand): one UPDATE from a typed VALUES list, rather than
            # the temporary table's five statements
            cast = [f"%s::{col.db_type(connection)}" for col in columns]
            values = ", ".join(f"({', '.join(cast)})" for _row in rows)
            cursor.execute(
                f"UPDATE {table} SET {sets} FROM (VALUES {values}) AS v({', '.join(names)}) "
                f"WHERE {where}",
                [prep(v) for row in rows for prep, v in zip(preps, row, strict=True)],
            )
            return cursor.rowcount
        if pg:
            temp = qn(f"_update_{meta.db_table}")
            typed = ", ".join(
                f"{name} {col.db_type(connection)}"
                for name, col in zip(names, columns, strict=True)
            )
            cursor.execute(f"DROP TABLE IF EXISTS {temp}")
            cursor.execute(f"CREATE TEMPORARY TABLE {temp} ({typed})")
            with cursor.cursor.copy(f"COPY {temp} ({', '.join(names)}) FROM STDIN") as copy:
                if minor is not None:
                    texts = [
                        values if isinstance(col, models.DecimalField) else list(map(str, values))
                        for values, col in zip(minor, columns, strict=True)
                    ]
                    copy.write("\n".join(map("\t".join, zip(*texts, strict=True))) + "\n")
                elif all(isinstance(c, _NUMERIC_FIELDS) for c in columns):
                    # numbers only: one block of COPY text lines (see insert_rows)
                    copy.write("".join(_numeric_line(row) for row in rows))
                else:
                    for row in rows:
                        copy.write_row([prep(v) for prep, v in zip(preps, row, strict=True)])
            cursor.execute(f"UPDATE {table} SET {sets} FROM {temp} AS v WHERE {where}")
            count = cursor.rowcount
            cursor.execute(f"DROP TABLE {temp}")
            return count
        # SQLite: one prepared UPDATE run for each row (an index lookup and a write in place,
        # in C), cheaper than joining a VALUES list and with no long statement to parse
        assign = ", ".join(f"{qn(c.column)} = %s" for c in columns[len(keys) :])
        match = " AND ".join(f"{qn(c.column)} = %s" for c in columns[: len(keys)])
        width = len(columns)
        if minor is not None:
            # amounts as the text str(Decimal) gives: SQLite stores exactly what it would store
            cells = [*minor[len(keys) :], *minor[: len(keys)]]
            params: Any = zip(*cells, strict=True)
        else:
            order = [*range(len(keys), width), *range(len(keys))]  # the fields, then the keys
            params = ([preps[i](row[i]) for i in order] for row in rows)
        cursor.executemany(f"UPDATE {table} SET {assign} WHERE {match}", params)
        return cursor.rowcount


def insert_rows(
    model: type[models.Model], fields: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Insert many rows of plain values (no model instances, no returned ids): ``COPY`` on
    PostgreSQL, one ``executemany`` on SQLite. Values are converted like ``save()`` would."""
    if not rows:
        return
    meta = model._meta
    columns = [meta.get_field(name) for name in fields]
    preps = [_prep(field) for field in columns]
    qn = connection.ops.quote_name
    quoted = ", ".join(qn(c.column) for c in columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {qn(meta.db_table)} ({quoted}) FROM STDIN") as copy:
                if all(isinstance(c, _NUMERIC_FIELDS) for c in columns):
                    # numbers only (ids, counts, amounts): COPY's text format needs no quoting,
                    # so the rows are written as one block of tab-separated lines
                    copy.write("".join(_numeric_line(row) for row in rows))
                    return
                for row in rows:
                    copy.write_row([prep(v) for prep, v in zip(preps, row, strict=True)])
            return
        marks = ", ".join(["%s"] * len(columns))
        cursor.executemany(
            f"INSERT INTO {qn(meta.db_table)} ({quoted}) VALUES ({marks})",
            [[prep(v) for prep, v in zip(preps, row, strict=True)] for row in rows],
        )


def _minor_columns(
    columns: Sequence[Any],
    rows: Sequence[Sequence[Any]] | npt.NDArray[np.int64],
    places: int,
) -> list[list[Any]]:
    """A table of integers column by column: integers as they are, the values of decimal
    columns (in units of ``10**-places``) as the text of the decimals they stand for
    (123456 with 2 places: "1234.56", as ``str(Decimal)`` writes it)."""
    table = np.asarray(rows)
    if table.ndim != 2 or table.shape[1] != len(columns) or table.dtype.kind not in "iu":
        raise TypeError("minor_places: rows must be a table of integers, one column per field")
    out: list[list[Any]] = []
    scale = 10**places
    for j, column in enumerate(columns):
        values = table[:, j]
        if not isinstance(column, models.DecimalField):
            out.append(values.tolist())
        elif not places:
            out.append([str(v) for v in values.tolist()])
        else:
            if (values < 0).any():
                raise ValueError("minor_places: amounts must not be negative")
            text = f"%d.%0{places}d"
            units, cents = (values // scale).tolist(), (values % scale).tolist()
            out.append([text % pair for pair in zip(units, cents, strict=True)])
    return out


_NUMERIC_FIELDS = (models.IntegerField, models.DecimalField, models.AutoField, models.ForeignKey)


def _numeric_line(row: Sequence[Any]) -> str:
    """One row of ints, Decimals and Nones as a line of COPY's text format (None → \\N)."""
    cells = []
    for v in row:
        if v is None:
            cells.append("\\N")
        elif type(v) is int or (isinstance(v, Decimal) and v.is_finite()):
            cells.append(str(v))
        else:
            raise TypeError(f"insert_rows: {v!r} is not a number")
    return "\t".join(cells) + "\n"


def _prep(field: models.Field[Any, Any]) -> Any:
    """A field's value → the driver's, as ``get_db_prep_save`` would give it; integers and
    decimals (already at the field's precision) go straight to the driver, which is what
    Django's conversion returns for them (and costs a decimal context per value)."""

    def prep(value: Any) -> Any:
        if type(value) is int or (isinstance(value, Decimal) and decimal):
            return value
        return field.get_db_prep_save(value, connection)

    decimal = isinstance(field, models.DecimalField)
    return prep


class SideChannel:
    """Writes that commit at once while the caller's transaction is still open: a long job's
    progress, seen by the page that follows it while the job's own writes stay all or none.

    PostgreSQL only: a second connection to the same database, in autocommit. SQLite admits
    one writer at a time, so there a side write would wait for the job's own transaction;
    ``available`` is then False and ``update`` does nothing (the page says only that the job
    runs). Use as a context manager; the connection is opened on the first write.
    """

    def __init__(self, alias: str = "default") -> None:
        self.alias = alias
        self.available = connections[alias].vendor == "postgresql"
        self._connection: Any = None

    def __enter__(self) -> SideChannel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def update(self, model: type[models.Model], pk: Any, **values: Any) -> None:
        """``UPDATE model SET values WHERE pk``, committed on return (a no-op without a side
        connection). Values must be plain numbers or text (no expressions)."""
        if not self.available or not values:
            return
        if self._connection is None:
            self._connection = connections.create_connection(self.alias)
            with self._connection.cursor() as cursor:
                # a row the caller's own transaction holds would make the side write wait for
                # it for ever: give up after a second instead (the write is best effort)
                cursor.execute("SET lock_timeout = '1s'")
        meta = model._meta
        assert meta.pk is not None
        fields = [meta.get_field(name) for name in values]
        columns = [f.column for f in fields if isinstance(f, models.Field)]
        assert len(columns) == len(fields), "only concrete fields take a side write"
        quote = self._connection.ops.quote_name
        assignments = ", ".join(f"{quote(column)} = %s" for column in columns)
        sql = f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {quote(meta.pk.column)} = %s"
        try:
            with self._connection.cursor() as cursor:  # autocommit: each statement commits
                cursor.execute(sql, [*values.values(), pk])
        except DatabaseError:
            logger.warning("side write to %s %s given up", meta.db_table, pk, exc_info=True)
            self.available = False  # not again for this job

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
