"""Read day-keyed figures for a set of members from the rollup, with raw rows where the rollup
holds nothing: every read is a GROUP BY in the database.

A range [start, end] is planned month by month (:meth:`Facts._plan`):

* a month whose rollup row covers exactly the part asked for → its **month** row (the cursor's
  open month covers its first day through the cursor);
* a partial month of the daily horizon, for daily metrics → **day** rows;
* anything else (a partial month of an old period, non-daily metrics at a partial month, the
  days after the cursor — normally today) → **raw** rows from
  :func:`salesloop.insights.rollups.raw_rows`, the same definition the fill writes, so both
  halves follow one definition. Raw reads are cached per request and shared between the
  instances of one request (``for_line``).
"""

from __future__ import annotations

import threading
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Q, QuerySet, Sum

from salesloop.common.memo import once
from salesloop.core.periods import add_months
from salesloop.insights.keys import WeekStart, key_date
from salesloop.insights.models import FillState, RollupCount
from salesloop.insights.rollups import (
    DAILY_METRICS,
    DAY,
    MONTH,
    ROLLUP,
    Row,
    month_end,
    raw_rows,
    source_of,
)
from salesloop.org.models import Member

Key = tuple[Any, ...]


@dataclass
class Plan:
    months: list[date] = field(default_factory=list)  # month rows to read (first days)
    month_ends: dict[date, date] = field(default_factory=dict)  # last day each month row covers
    days: list[tuple[date, date]] = field(default_factory=list)  # day-row ranges
    raw: list[tuple[date, date]] = field(default_factory=list)  # raw ranges


ZERO = Decimal(0)
MAX_CACHED_READS = 256
_reads: OrderedDict[Key, dict[Key, Decimal]] = OrderedDict()
_reads_lock = threading.Lock()


def _cached_read(
    version: str | None, key: Key, read: Callable[[], dict[Key, Decimal]]
) -> dict[Key, Decimal]:
    """``read()`` of rollup rows, kept per process under the rollup's version (least recently
    used first out). Exact: every write of rollup rows gives the rollup a new version in the
    same transaction (:func:`salesloop.insights.rollups._write`), so a cached read is always
    what the database would answer. The raw rows (today) are never cached. Returned dicts are
    shared: callers copy them."""
    if version is None:
        return read()
    full = (version, *key)
    with _reads_lock:
        hit = _reads.get(full)
        if hit is not None:
            _reads.move_to_end(full)
            return hit
    value = read()
    with _reads_lock:
        if _reads and next(iter(_reads))[0] != version:
            _reads.clear()  # an older version's reads will never be asked for again
        _reads[full] = value
        while len(_reads) > MAX_CACHED_READS:
            _reads.popitem(last=False)
    return value


def _merge(ranges: list[tuple[date, date]]) -> list[tuple[date, date]]:
    out: list[tuple[date, date]] = []
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1] + timedelta(days=1):
            out[-1] = (out[-1][0], max(hi, out[-1][1]))
        else:
            out.append((lo, hi))
    return out


class Facts:
    """Aggregates of rollup metrics over members and days (one instance per request: the fill
    cursor and the raw rows are read once)."""

    def __init__(
        self,
        member_ids: Iterable[int],
        product_line: int | None = None,
        *,
        _parent: Facts | None = None,
    ) -> None:
        self.members = sorted(set(member_ids))
        self._member_set = set(self.members)
        self.line = product_line
        if _parent is None:
            row = FillState.objects.filter(property=ROLLUP).values_list("end", "payload").first()
            self.filled_through: date | None = row[0] if row else None
            version = (row[1] or {}).get("version") if row else None
            # the rollup's version: its reads are cached under it (None: not cached)
            self.version: str | None = (
                f"{connection.settings_dict.get('NAME')}:{version}" if version else None
            )
            daily = (row[1] or {}).get("daily_from") if row and self.filled_through else None
            self.daily_from: dict[str, date] = (
                {m: date.fromisoformat(d) for m, d in daily.items()}
                if isinstance(daily, dict)
                else {}
            )
            self._raw: dict[tuple[date, date, str], list[Row]] = {}
            self.memo: dict[Any, Any] = {}  # other per-request reads shared by the selectors
            # the whole company (a director's root): no member filter, the same rows
            self.everyone = bool(self.members) and len(self.members) == once(
                "member_count", Member.objects.count
            )
        else:
            self.memo = _parent.memo
            self.everyone = _parent.everyone and self.members == _parent.members
            self.filled_through = _parent.filled_through
            self.version = _parent.version
            self.daily_from = _parent.daily_from
            self._raw = _parent._raw  # one raw read per range and source per request

    def for_line(self, product_line: int | None) -> Facts:
        """The same members cut by another product line, sharing the fill cursor and the raw reads."""
        return Facts(self.members, product_line, _parent=self)

    # -- planning
    def _plan(
        self, metrics: Sequence[str], start: date, end: date, *, prefer_days: bool = False
    ) -> Plan:
        plan = Plan()
        c = self.filled_through
        if start > end:
            return plan
        if c is None or c < start:
            plan.raw.append((start, end))
            return plan
        if end > c:
            plan.raw.append((c + timedelta(days=1), end))
            end = c
        daily_ok = (
            bool(metrics) and set(metrics) <= DAILY_METRICS and set(metrics) <= set(self.daily_from)
        )
        daily_from = max(self.daily_from[m] for m in metrics) if daily_ok else None
        m = start.replace(day=1)
        while m <= end:
            lo, hi = max(start, m), min(end, month_end(m))
            covers = min(month_end(m), c)
            in_daily = daily_from is not None and lo >= daily_from
            if in_daily and prefer_days:
                plan.days.append((lo, hi))
            elif lo == m and hi == covers:
                plan.months.append(m)
                plan.month_ends[m] = covers
            elif in_daily:
                plan.days.append((lo, hi))
            else:
                plan.raw.append((lo, hi))
            m = add_months(m, 1)
        plan.days, plan.raw = _merge(plan.days), _merge(plan.raw)
        return plan

    def _raw_rows(self, metrics: Sequence[str], lo: date, hi: date) -> Iterable[Row]:
        wanted = set(metrics)
        for source in sorted({source_of(m) for m in wanted}):
            key = (lo, hi, source)
            # rows are keyed by day: a range already read for this request holds any range
            # inside it (e.g. the tail through today and the same tail through yesterday)
            held = key if key in self._raw else None
            if held is None:
                held = next(
                    (k for k in self._raw if k[2] == source and k[0] <= lo and hi <= k[1]), None
                )
            if held is None:
                self._raw[key] = raw_rows(lo, hi, sources={source})
                held = key
            inside = held != key
            for r in self._raw[held]:
                if (
                    r[0] in wanted
                    and r[1] in self._member_set
                    and not (inside and not lo <= r[2] <= hi)
                ):
                    yield r

    def _line_filter(self, qs: QuerySet[Any], lines: bool = False) -> QuerySet[Any]:
        if lines:
            return qs.filter(product_line__isnull=False)
        return (
            qs.filter(product_line_id=self.line)
            if self.line is not None
            else qs.filter(product_line__isnull=True)
        )

    def _rows(self, grain: str, metrics: Sequence[str], lines: bool = False) -> QuerySet[Any]:
        qs = RollupCount.objects.filter(grain=grain, metric__in=list(metrics))
        if not self.everyone:
            qs = qs.filter(member_id__in=self.members)
        return self._line_filter(qs, lines)

    def _collect(
        self,
        metrics: Sequence[str],
        start: date,
        end: date,
        keys: Sequence[str],
        *,
        shape: str,
        bucket: Callable[[date], date] | None = None,
        db_bucket: Any = None,
        prefer_days: bool = False,
        month_point: Callable[[date, date], date] | None = None,
        lines: bool = False,
    ) -> dict[Key, Decimal]:
        """Sum ``metrics`` over [start, end] grouped by ``keys`` (of metric, member_id,
        product_line_id, bucket — the bucket always last; ``shape`` names the read for the
        cache: the bucket functions of one shape are always the same)."""
        out: dict[Key, Decimal] = defaultdict(Decimal)
        if not self.members or start > end:
            return out
        plan = self._plan(metrics, start, end, prefer_days=prefer_days)
        if plan.months or plan.days:
            key = (
                shape,
                tuple(metrics),
                tuple(keys),
                tuple(plan.months),
                tuple(plan.days),
                lines,
                self.line,
                (len(self.members),) if self.everyone else tuple(self.members),
            )
            out.update(
                _cached_read(
                    self.version,
                    key,
                    lambda: self._rollup_part(
                        plan, metrics, keys, bucket, db_bucket, month_point, lines
                    ),
                )
            )
        for lo, hi in plan.raw:
            for metric, member, day, pl, value in self._raw_rows(metrics, lo, hi):
                if lines:
                    if pl is None:
                        continue
                elif pl != self.line:
                    continue
                fields = {
                    "metric": metric,
                    "member_id": member,
                    "product_line_id": pl,
                    "bucket": bucket(day) if bucket else day,
                }
                out[tuple(fields[k] for k in keys)] += value
        return out

    def _rollup_part(
        self,
        plan: Plan,
        metrics: Sequence[str],
        keys: Sequence[str],
        bucket: Callable[[date], date] | None,
        db_bucket: Any,
        month_point: Callable[[date, date], date] | None,
        lines: bool,
    ) -> dict[Key, Decimal]:
        """The month and day rows of ``plan``, summed by the database per ``keys``."""
        out: dict[Key, Decimal] = defaultdict(Decimal)
        bucketed = "bucket" in keys
        db_keys = [k for k in keys if k != "bucket"]
        if plan.months:
            qs = self._rows(MONTH, metrics, lines).filter(day__in=plan.months)
            cols = [*db_keys, "day"] if bucketed else db_keys
            for *head, v in (
                qs.values(*cols).annotate(v=Sum("value")).order_by().values_list(*cols, "v")
            ):
                if bucketed:
                    first = head.pop()
                    head.append(
                        month_point(first, plan.month_ends[first]) if month_point else bucket(first)  # type: ignore[misc]
                    )
                out[tuple(head)] += v or ZERO
        if plan.days:
            cond = Q()
            for lo, hi in plan.days:
                cond |= Q(day__gte=lo, day__lte=hi)
            qs = self._rows(DAY, metrics, lines).filter(cond)
            if bucketed and db_bucket is not None:
                qs = qs.annotate(b=db_bucket)
                cols = [*db_keys, "b"]
            else:
                cols = [*db_keys, "day"] if bucketed else db_keys
            for *head, v in (
                qs.values(*cols).annotate(v=Sum("value")).order_by().values_list(*cols, "v")
            ):
                if bucketed:
                    last = head.pop()
                    head.append(
                        key_date(last)
                        if db_bucket is not None
                        else bucket(last)
                        if bucket
                        else last
                    )
                out[tuple(head)] += v or ZERO
        return dict(out)

    def _memo(
        self, name: str, metrics: Sequence[str], start: date, end: date, read: Callable[[], Any]
    ) -> Any:
        """One database read per figure set and request: the cards, the funnel, the gap split and
        the bottlenecks ask for the same sums (callers get a copy they may change)."""
        key = (
            "facts",
            name,
            tuple(metrics),
            start,
            end,
            self.line,
            tuple(self.members),
        )
        if key not in self.memo:
            self.memo[key] = read()
        out = defaultdict(Decimal)
        out.update(self.memo[key])
        return out

    # -- public reads
    def by_member(
        self, metrics: Sequence[str], start: date, end: date
    ) -> dict[tuple[str, int], Decimal]:
        """{(metric, member): total over [start, end]}."""
        return self._memo(  # type: ignore[no-any-return]
            "member",
            metrics,
            start,
            end,
            lambda: self._collect(metrics, start, end, ("metric", "member_id"), shape="member"),
        )

    def by_day(
        self, metrics: Sequence[str], start: date, end: date
    ) -> dict[tuple[str, date], Decimal]:
        """{(metric, day): total over the members}: daily where the rollup keeps days (the
        daily horizon, raw tail); before it, one point per month on the last day it covers."""
        return self._collect(
            metrics,
            start,
            end,
            ("metric", "bucket"),
            shape="day",
            prefer_days=True,
            month_point=lambda _first, last: last,
        )  # type: ignore[return-value]

    def by_month(
        self, metrics: Sequence[str], start: date, end: date
    ) -> dict[tuple[str, date], Decimal]:
        """{(metric, first day of month): total over the members}."""
        return self._collect(
            metrics,
            start,
            end,
            ("metric", "bucket"),
            shape="month",
            bucket=lambda d: d.replace(day=1),
        )  # type: ignore[return-value]

    def by_member_week(
        self, metrics: Sequence[str], start: date, end: date
    ) -> dict[tuple[str, int, date], Decimal]:
        """{(metric, member, Monday of the ISO week): total} (``start`` should be a Monday)."""
        return self._collect(
            metrics,
            start,
            end,
            ("metric", "member_id", "bucket"),
            shape="week",
            prefer_days=True,
            bucket=lambda d: d - timedelta(days=d.weekday()),
            db_bucket=WeekStart("day"),
            month_point=lambda first, _last: first - timedelta(days=first.weekday()),
        )  # type: ignore[return-value]

    def by_line(
        self, metrics: Sequence[str], start: date, end: date
    ) -> dict[tuple[str, int], Decimal]:
        """{(metric, product line): total over the members} (lines with rows only)."""
        return self._collect(
            metrics, start, end, ("metric", "product_line_id"), shape="line", lines=True
        )  # type: ignore[return-value]

    def total(self, metric: str, start: date, end: date) -> Decimal:
        return sum((v for (_m, _x), v in self.by_member([metric], start, end).items()), Decimal(0))


def by_product_line(facts: Facts, metric: str, start: date, end: date) -> dict[int, Decimal]:
    """{product line: total} of ``metric`` over the members (lines with rows only)."""
    return {line: v for (_m, line), v in facts.by_line([metric], start, end).items()}
