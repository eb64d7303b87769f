"""Database helpers that keep SQLite and PostgreSQL on the same (fast) path."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import models
from django.db.models.functions import TruncMonth


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
