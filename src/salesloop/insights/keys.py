"""Bucket keys computed by the database (no per-row Python function on SQLite).

Django's ``TruncDate`` / ``__date`` call a Python function per row on SQLite; these use the
databases' own functions, like :class:`salesloop.common.db.MonthKey`.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models.functions import TruncDate

from salesloop.common.db import MonthKey, _fixed_offset_hours

__all__ = ["DayKey", "MonthKey", "WeekStart", "key_date"]


class DayKey(models.Func):
    """``'YYYY-MM-DD'`` of a date or datetime (in the company's time zone), as text."""

    output_field = models.CharField()

    def _is_datetime(self) -> bool:
        return isinstance(self.source_expressions[0].output_field, models.DateTimeField)

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        sql, params = compiler.compile(self.source_expressions[0])
        if not self._is_datetime():
            return f"substr({sql}, 1, 10)", params
        hours = _fixed_offset_hours(settings.TIME_ZONE)
        if hours is None:  # daylight saving: Django's (slow) per-row conversion
            trunc_sql, trunc_params = compiler.compile(TruncDate(self.source_expressions[0]))
            return f"substr({trunc_sql}, 1, 10)", trunc_params
        return f"strftime('%%Y-%%m-%%d', {sql}, '{hours:+g} hours')", params

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        sql, params = compiler.compile(self.source_expressions[0])
        if self._is_datetime():
            return f"to_char(({sql}) AT TIME ZONE %s, 'YYYY-MM-DD')", (*params, settings.TIME_ZONE)
        return f"to_char({sql}, 'YYYY-MM-DD')", params

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> Any:  # other databases
        return compiler.compile(TruncDate(self.source_expressions[0]))


class WeekStart(models.Func):
    """The Monday of a date column's ISO week, as ``'YYYY-MM-DD'`` text."""

    output_field = models.CharField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        sql, params = compiler.compile(self.source_expressions[0])
        return f"date({sql}, 'weekday 0', '-6 days')", params

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        sql, params = compiler.compile(self.source_expressions[0])
        return f"to_char(date_trunc('week', {sql}), 'YYYY-MM-DD')", params


def key_date(value: Any) -> date:
    """A DayKey / MonthKey value ('YYYY-MM-DD' or 'YYYY-MM', or a date) as the bucket's first day."""
    if isinstance(value, date):
        return value
    text = str(value)
    return date.fromisoformat(text[:10] if len(text) >= 10 else text[:7] + "-01")


class Median(models.Aggregate):
    """The median of an expression, interpolated (the mean of the two middle values for an even
    count): PostgreSQL's ``percentile_cont(0.5)``. SQLite has no such aggregate; callers sort
    there (see ``insights.selectors._median_cycle``)."""

    template = "percentile_cont(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = models.FloatField()


class DaysBetween(models.Func):
    """Fractional days from ``start`` to ``end`` (two datetimes), computed by the database."""

    output_field = models.FloatField()

    def __init__(self, end: Any, start: Any) -> None:
        super().__init__(end, start)

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        (end, p1), (start, p2) = (compiler.compile(e) for e in self.source_expressions)
        return f"(julianday({end}) - julianday({start}))", (*p1, *p2)

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        (end, p1), (start, p2) = (compiler.compile(e) for e in self.source_expressions)
        # in double precision: EXTRACT gives a numeric, whose division and sort took half
        # again as long over a year's won deals at S1
        return (
            f"(CAST(EXTRACT(EPOCH FROM ({end}) - ({start})) AS double precision) / 86400.0)",
            (*p1, *p2),
        )
