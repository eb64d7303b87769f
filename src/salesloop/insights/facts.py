"""Read day-keyed figures for a set of members: the rollup for filled days, raw rows for the
tail after the fill cursor. Every read is a GROUP BY in the database; the tail is the same
``raw_daily`` computation the fill writes, so both halves follow one definition."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Q, Sum
from django.db.models.functions import TruncMonth, TruncWeek

from salesloop.insights.models import DailyCount, FillState
from salesloop.insights.rollups import ROLLUP, raw_daily


class Facts:
    """Aggregates of rollup metrics over members and days (one instance per request: the
    fill cursor and the tail rows are read once)."""

    def __init__(self, member_ids: Iterable[int], product_line: int | None = None, *, _parent: Facts | None = None) -> None:
        self.members = sorted(set(member_ids))
        self._member_set = set(self.members)
        self.line = product_line
        if _parent is None:
            self.filled_through: date | None = (
                FillState.objects.filter(property=ROLLUP).values_list("end", flat=True).first())
            self._raw: dict[tuple[date, date], list[tuple[str, int, date, int | None, Decimal]]] = {}
        else:
            self.filled_through = _parent.filled_through
            self._raw = _parent._raw  # one raw read of the tail per request
        self._tail: dict[tuple[date, date], list[tuple[str, int, date, int | None, Decimal]]] = {}

    def for_line(self, product_line: int | None) -> Facts:
        """The same members cut by another product line, sharing the fill cursor and the tail."""
        return Facts(self.members, product_line, _parent=self)

    # -- helpers
    def _split(self, start: date, end: date) -> tuple[tuple[date, date] | None, tuple[date, date] | None]:
        f = self.filled_through
        if f is None or f < start:
            return None, (start, end)
        if f >= end:
            return (start, end), None
        return (start, f), (f + timedelta(days=1), end)

    def _tail_rows(self, start: date, end: date) -> list[tuple[str, int, date, int | None, Decimal]]:
        key = (start, end)
        if key not in self._tail:
            if key not in self._raw:
                self._raw[key] = raw_daily(start, end)
            self._tail[key] = [r for r in self._raw[key] if r[1] in self._member_set and r[3] == self.line]
        return self._tail[key]

    def _rollup(self, metrics: Sequence[str], start: date, end: date) -> Any:
        qs = DailyCount.objects.filter(metric__in=list(metrics), day__gte=start, day__lte=end)
        qs = qs.filter(product_line_id=self.line) if self.line is not None else qs.filter(product_line__isnull=True)
        return qs.filter(member_id__in=self.members)

    def _collect(self, metrics: Sequence[str], start: date, end: date, keys: Sequence[str],
                 trunc: Callable[[date], date] | None, db_keys: dict[str, Any]) -> dict[tuple[Any, ...], Decimal]:
        out: dict[tuple[Any, ...], Decimal] = defaultdict(Decimal)
        if not self.members or start > end:
            return out
        filled, tail = self._split(start, end)
        if filled:
            qs = self._rollup(metrics, *filled).annotate(**db_keys).values(*keys).annotate(v=Sum("value")).order_by()
            for r in qs:
                k = tuple(r[x].date() if hasattr(r[x], "date") and callable(r[x].date) else r[x] for x in keys)
                out[k] += r["v"] or Decimal(0)
        if tail:
            wanted = set(metrics)
            for metric, member, day, _pl, value in self._tail_rows(*tail):
                if metric not in wanted:
                    continue
                fields = {"metric": metric, "member_id": member, "day": day,
                          "bucket": trunc(day) if trunc else day}
                out[tuple(fields[x] for x in keys)] += value
        return out

    # -- public reads
    def by_member(self, metrics: Sequence[str], start: date, end: date) -> dict[tuple[str, int], Decimal]:
        """{(metric, member): total over [start, end]}."""
        return self._collect(metrics, start, end, ("metric", "member_id"), None, {})  # type: ignore[return-value]

    def by_day(self, metrics: Sequence[str], start: date, end: date) -> dict[tuple[str, date], Decimal]:
        """{(metric, day): total over the members}."""
        return self._collect(metrics, start, end, ("metric", "day"), None, {})  # type: ignore[return-value]

    def by_month(self, metrics: Sequence[str], start: date, end: date) -> dict[tuple[str, date], Decimal]:
        """{(metric, first day of month): total over the members}."""
        return self._collect(metrics, start, end, ("metric", "bucket"), lambda d: d.replace(day=1),
                             {"bucket": TruncMonth("day")})  # type: ignore[return-value]

    def by_member_week(self, metrics: Sequence[str], start: date, end: date) -> dict[tuple[str, int, date], Decimal]:
        """{(metric, member, Monday of the ISO week): total}."""
        return self._collect(metrics, start, end, ("metric", "member_id", "bucket"),
                             lambda d: d - timedelta(days=d.weekday()), {"bucket": TruncWeek("day")})  # type: ignore[return-value]

    def total(self, metric: str, start: date, end: date) -> Decimal:
        return sum((v for (_m, _x), v in self.by_member([metric], start, end).items()), Decimal(0))


def by_product_line(facts: Facts, metric: str, start: date, end: date) -> dict[int, Decimal]:
    """{product line: total} of ``metric`` over the members (lines with rows only)."""
    members = facts.members
    out: dict[int, Decimal] = defaultdict(Decimal)
    if not members:
        return out
    probe = facts
    filled, tail = probe._split(start, end)
    if filled:
        qs = (DailyCount.objects.filter(Q(metric=metric) & Q(day__gte=filled[0]) & Q(day__lte=filled[1]),
                                        product_line__isnull=False, member_id__in=members)
              .values("product_line_id").annotate(v=Sum("value")).order_by())
        for r in qs:
            out[r["product_line_id"]] += r["v"] or Decimal(0)
    if tail:
        keep = set(members)
        if tail not in facts._raw:
            facts._raw[tail] = raw_daily(*tail)
        for m, member, _day, pl, value in facts._raw[tail]:
            if m == metric and pl is not None and member in keep:
                out[pl] += value
    return out
