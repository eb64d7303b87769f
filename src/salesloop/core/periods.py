"""Periods, fiscal calendars, working days and seasonal pacing.

Pure Python (plus numpy): no Django, no I/O. Dates are plain :class:`datetime.date`
values; ``datetime`` instances are refused so that a time zone mistake cannot slip in
silently (callers convert "now" to the tenant's local date first).

Conventions
-----------
* A :class:`Period` is inclusive at both ends.
* A fiscal year is named by the calendar year in which it *starts*: with a fiscal year
  starting in April, FY2025 runs from 2025-04-01 to 2026-03-31.
* Fiscal month indices run 1..12 from the first month of the fiscal year; fiscal
  quarters 1..4 are three consecutive fiscal months each.
* Seasonal pacing: every fiscal month *m* carries a weight ``w_m`` (the 12 weights sum
  to 1). Inside a month the weight is spread evenly over the month's working days
  (non-working days weigh 0); a month without any working day spreads it evenly over
  its calendar days. A period's weight is the sum of the weights of its days, so a
  period partly covering a month gets that month's share per working day covered.
* "To date" includes the day ``t`` itself: by the end of day ``t`` the whole weight of
  ``t`` has elapsed. ``t`` before the period means nothing elapsed, ``t`` after it means
  everything elapsed.
"""

from __future__ import annotations

import calendar as _stdlib_calendar
import math
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import Enum
from functools import lru_cache
from typing import Any, overload

import chinese_calendar
import numpy as np
import numpy.typing as npt

__all__ = [
    "ChinaWorkCalendar",
    "FiscalCalendar",
    "OverrideWorkCalendar",
    "Period",
    "PeriodKind",
    "SeasonalWeights",
    "WeekdayCalendar",
    "WorkCalendar",
    "add_months",
    "day_weights",
    "default_work_calendar",
    "elapsed_fraction",
    "elapsed_weight",
    "expected_to_date",
    "iso_week",
    "iso_week_start",
    "month_period",
    "months_between",
    "pace_begun",
    "pace_index",
    "run_rate_projection",
    "weight_of",
]

BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]

_ONE_DAY = timedelta(days=1)


def _check_date(value: object, name: str) -> date:
    if isinstance(value, datetime) or not isinstance(value, date):
        raise TypeError(f"{name} must be a datetime.date (not a datetime), got {value!r}")
    return value


def _month_end(year: int, month: int) -> date:
    return date(year, month, _stdlib_calendar.monthrange(year, month)[1])


def add_months(d: date, n: int) -> date:
    """``d`` moved by ``n`` calendar months; the day is clamped to the target month's
    length (2024-01-31 + 1 month = 2024-02-29)."""
    index = d.year * 12 + (d.month - 1) + n
    year, month0 = divmod(index, 12)
    last = _stdlib_calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(d.day, last))


def months_between(a: date, b: date) -> int:
    """Number of calendar-month steps from ``a``'s month to ``b``'s month, ignoring the
    day of month (2024-01-31 → 2024-02-01 is 1; negative when ``b`` is earlier)."""
    return (b.year - a.year) * 12 + (b.month - a.month)


def iso_week_start(d: date) -> date:
    """The Monday of ``d``'s ISO week."""
    return d - timedelta(days=d.weekday())


# --------------------------------------------------------------------------- Period


@dataclass(frozen=True, slots=True)
class Period:
    """A closed date interval ``[start, end]`` (both ends included)."""

    start: date
    end: date

    def __post_init__(self) -> None:
        _check_date(self.start, "start")
        _check_date(self.end, "end")
        if self.start > self.end:
            raise ValueError(f"period start {self.start} is after its end {self.end}")

    @property
    def days(self) -> int:
        """Number of calendar days, both ends included."""
        return (self.end - self.start).days + 1

    def contains(self, d: date) -> bool:
        return self.start <= d <= self.end

    def clamp(self, d: date) -> date:
        """``d`` moved into the period: before it → ``start``, after it → ``end``."""
        if d < self.start:
            return self.start
        if d > self.end:
            return self.end
        return d

    def index_of(self, d: date) -> int:
        """Zero-based position of ``d`` within the period (``d`` must be inside)."""
        if not self.contains(d):
            raise ValueError(f"{d} is outside {self.label}")
        return (d - self.start).days

    def iter_days(self) -> Iterator[date]:
        d = self.start
        while d <= self.end:
            yield d
            d += _ONE_DAY

    def months(self) -> list[Period]:
        """The whole calendar months the period touches, in order (a period from
        2024-01-15 to 2024-03-10 touches January, February and March)."""
        result: list[Period] = []
        y, m = self.start.year, self.start.month
        while (y, m) <= (self.end.year, self.end.month):
            result.append(month_period(y, m))
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        return result

    def __iter__(self) -> Iterator[Period]:
        """Iterating a period yields the calendar months it touches (see :meth:`months`)."""
        return iter(self.months())

    def intersection(self, other: Period) -> Period | None:
        lo, hi = max(self.start, other.start), min(self.end, other.end)
        return Period(lo, hi) if lo <= hi else None

    @property
    def is_whole_months(self) -> bool:
        """True when the period starts on a 1st and ends on a month's last day."""
        return self.start.day == 1 and self.end == _month_end(self.end.year, self.end.month)

    @property
    def month_count(self) -> int:
        """Number of calendar months touched."""
        return months_between(self.start, self.end) + 1

    @property
    def label(self) -> str:
        """Short calendar label: ``2024`` (a calendar year), ``2024-Q4`` (a calendar
        quarter), ``2024-10`` (a month), ``2024-10-01`` (a day), otherwise
        ``2024-10-01..2024-11-15``. See :meth:`FiscalCalendar.label` for fiscal names."""
        s, e = self.start, self.end
        if self.is_whole_months:
            n = self.month_count
            if n == 12 and s.month == 1:
                return f"{s.year}"
            if n == 3 and s.month in (1, 4, 7, 10):
                return f"{s.year}-Q{(s.month - 1) // 3 + 1}"
            if n == 1:
                return f"{s.year}-{s.month:02d}"
        if s == e:
            return s.isoformat()
        return f"{s.isoformat()}..{e.isoformat()}"

    def __str__(self) -> str:
        return self.label


def month_period(year: int, month: int) -> Period:
    """The whole calendar month ``year-month``."""
    return Period(date(year, month, 1), _month_end(year, month))


def iso_week(d: date) -> Period:
    """The ISO week (Monday..Sunday) containing ``d``."""
    start = iso_week_start(d)
    return Period(start, start + timedelta(days=6))


# ------------------------------------------------------------------ FiscalCalendar


class PeriodKind(Enum):
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


@dataclass(frozen=True, slots=True)
class FiscalCalendar:
    """Fiscal year layout. ``start_month`` is the calendar month (1..12) in which the
    fiscal year starts. The fiscal year is named by the calendar year in which it
    starts: with ``start_month=4``, FY2025 = 2025-04-01..2026-03-31."""

    start_month: int = 1

    def __post_init__(self) -> None:
        if isinstance(self.start_month, bool) or not isinstance(self.start_month, int):
            raise TypeError(f"start_month must be an int, got {self.start_month!r}")
        if not 1 <= self.start_month <= 12:
            raise ValueError(f"start_month must be between 1 and 12, got {self.start_month}")

    # -- index arithmetic
    def fiscal_year_of(self, d: date) -> int:
        return d.year if d.month >= self.start_month else d.year - 1

    def fiscal_month_index(self, calendar_month: int) -> int:
        """Fiscal month index (1..12) of a calendar month (1..12)."""
        if not 1 <= calendar_month <= 12:
            raise ValueError(f"calendar month must be between 1 and 12, got {calendar_month}")
        return (calendar_month - self.start_month) % 12 + 1

    def calendar_month(self, fiscal_month: int) -> int:
        """Calendar month (1..12) of a fiscal month index (1..12)."""
        _check_range(fiscal_month, 1, 12, "fiscal month")
        return (self.start_month - 1 + fiscal_month - 1) % 12 + 1

    def month_of(self, d: date) -> tuple[int, int]:
        """``(fiscal_year, fiscal_month_index)`` of ``d``."""
        return self.fiscal_year_of(d), self.fiscal_month_index(d.month)

    def quarter_of(self, d: date) -> tuple[int, int]:
        """``(fiscal_year, fiscal_quarter)`` of ``d``."""
        fy, m = self.month_of(d)
        return fy, (m - 1) // 3 + 1

    # -- periods by index
    def month(self, fy: int, m: int) -> Period:
        """Fiscal month ``m`` (1..12) of fiscal year ``fy``."""
        _check_range(m, 1, 12, "fiscal month")
        year, month0 = divmod(fy * 12 + self.start_month - 1 + m - 1, 12)
        return month_period(year, month0 + 1)

    def quarter(self, fy: int, q: int) -> Period:
        """Fiscal quarter ``q`` (1..4) of fiscal year ``fy``."""
        _check_range(q, 1, 4, "fiscal quarter")
        return Period(self.month(fy, 3 * q - 2).start, self.month(fy, 3 * q).end)

    def year(self, fy: int) -> Period:
        return Period(self.month(fy, 1).start, self.month(fy, 12).end)

    def months(self, fy: int) -> list[Period]:
        """The 12 calendar months of fiscal year ``fy`` in fiscal order."""
        return [self.month(fy, m) for m in range(1, 13)]

    def quarters(self, fy: int) -> list[Period]:
        return [self.quarter(fy, q) for q in range(1, 5)]

    # -- periods containing a date
    def month_containing(self, d: date) -> Period:
        return month_period(d.year, d.month)

    def quarter_containing(self, d: date) -> Period:
        return self.quarter(*self.quarter_of(d))

    def year_containing(self, d: date) -> Period:
        return self.year(self.fiscal_year_of(d))

    def containing(self, d: date, kind: PeriodKind) -> Period:
        if kind is PeriodKind.MONTH:
            return self.month_containing(d)
        if kind is PeriodKind.QUARTER:
            return self.quarter_containing(d)
        return self.year_containing(d)

    def kind_of(self, period: Period) -> PeriodKind | None:
        """Which fiscal kind ``period`` is exactly, or None for an arbitrary range."""
        for kind in (PeriodKind.MONTH, PeriodKind.QUARTER, PeriodKind.YEAR):
            if self.containing(period.start, kind) == period:
                return kind
        return None

    # -- relative periods
    def previous(self, period: Period) -> Period:
        """The previous period of the same kind. Whole-month periods (months, quarters,
        fiscal years, any run of whole months) step back by their number of months;
        other periods step back by their length in days (the adjacent window)."""
        if period.is_whole_months:
            n = period.month_count
            start = add_months(period.start, -n)
            return Period(start, _month_end(*_year_month(add_months(period.end, -n))))
        return Period(period.start - timedelta(days=period.days), period.start - _ONE_DAY)

    def same_period_last_year(self, period: Period) -> Period:
        """The same period one year earlier. Whole-month periods move by 12 months
        (so February ends on its own last day); other dates move by one calendar year
        with 29 February mapped to 28 February."""
        if period.is_whole_months:
            start = add_months(period.start, -12)
            return Period(start, _month_end(*_year_month(add_months(period.end, -12))))
        return Period(add_months(period.start, -12), add_months(period.end, -12))

    def label(self, period: Period) -> str:
        """Fiscal label: ``FY2025``, ``FY2025-Q1``, ``2025-04`` for a month; other periods
        fall back to :attr:`Period.label`. With a January start, the calendar labels
        (``2025``, ``2025-Q1``) are used."""
        kind = self.kind_of(period)
        if kind is None or kind is PeriodKind.MONTH or self.start_month == 1:
            return period.label
        fy = self.fiscal_year_of(period.start)
        if kind is PeriodKind.YEAR:
            return f"FY{fy}"
        return f"FY{fy}-Q{self.quarter_of(period.start)[1]}"


def _year_month(d: date) -> tuple[int, int]:
    return d.year, d.month


def _check_range(value: int, lo: int, hi: int, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {value!r}")
    if not lo <= value <= hi:
        raise ValueError(f"{name} must be between {lo} and {hi}, got {value}")


# ----------------------------------------------------------------- working days


def _weekday_mask(year: int) -> BoolArray:
    n = 366 if _stdlib_calendar.isleap(year) else 365
    first = date(year, 1, 1).weekday()  # Monday = 0
    mask: BoolArray = (np.arange(n) + first) % 7 < 5
    return mask


class WorkCalendar(ABC):
    """A working-day calendar. Subclasses implement :meth:`_build_year`; the per-year
    boolean arrays are computed once and cached on the instance (index = day of year
    - 1, read-only). Instances hash by identity so they can key pacing caches: reuse
    one instance (see :func:`default_work_calendar`)."""

    def __init__(self) -> None:
        self._years: dict[int, BoolArray] = {}

    @abstractmethod
    def _build_year(self, year: int) -> BoolArray:
        """A fresh bool array (365/366 items) for ``year``: True = working day."""

    def year_mask(self, year: int) -> BoolArray:
        mask = self._years.get(year)
        if mask is None:
            mask = np.asarray(self._build_year(year), dtype=np.bool_).copy()
            expected = 366 if _stdlib_calendar.isleap(year) else 365
            if mask.shape != (expected,):
                raise ValueError(f"working-day mask for {year} must have {expected} items")
            mask.flags.writeable = False
            self._years[year] = mask
        return mask

    def is_workday(self, d: date) -> bool:
        return bool(self.year_mask(d.year)[d.timetuple().tm_yday - 1])

    def mask(self, period: Period) -> BoolArray:
        """Working-day flags of every day of ``period`` (index 0 = ``period.start``)."""
        parts: list[BoolArray] = []
        for year in range(period.start.year, period.end.year + 1):
            lo = period.start if year == period.start.year else date(year, 1, 1)
            hi = period.end if year == period.end.year else date(year, 12, 31)
            y = self.year_mask(year)
            parts.append(y[lo.timetuple().tm_yday - 1 : hi.timetuple().tm_yday])
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def workdays_in(self, period: Period) -> int:
        return int(np.count_nonzero(self.mask(period)))


class WeekdayCalendar(WorkCalendar):
    """Monday to Friday are working days; no holidays."""

    def _build_year(self, year: int) -> BoolArray:
        return _weekday_mask(year)


class ChinaWorkCalendar(WorkCalendar):
    """Mainland China statutory holidays and adjusted working days (调休), from the
    ``chinese_calendar`` package. Years outside the package's data (it raises
    NotImplementedError, e.g. for years not yet announced by the State Council) fall
    back to Monday–Friday; :meth:`supports` tells whether real data was used."""

    def __init__(self) -> None:
        super().__init__()
        self._by_year: dict[int, tuple[list[date], list[date]]] | None = None

    def supports(self, year: int) -> bool:
        try:
            chinese_calendar.is_workday(date(year, 1, 1))
        except NotImplementedError:
            return False
        return True

    def _index(self) -> dict[int, tuple[list[date], list[date]]]:
        if self._by_year is None:
            by_year: dict[int, tuple[list[date], list[date]]] = {}
            holidays: Mapping[Any, Any] = chinese_calendar.holidays
            workdays: Mapping[Any, Any] = chinese_calendar.workdays
            for d in holidays:
                by_year.setdefault(d.year, ([], []))[0].append(d)
            for d in workdays:
                by_year.setdefault(d.year, ([], []))[1].append(d)
            self._by_year = by_year
        return self._by_year

    def _build_year(self, year: int) -> BoolArray:
        mask = _weekday_mask(year)
        if not self.supports(year):
            return mask
        # Same rule as chinese_calendar.is_workday: an adjusted working day always
        # works; otherwise Mon-Fri works unless it is a statutory holiday.
        holidays, workdays = self._index().get(year, ([], []))
        for d in holidays:
            mask[d.timetuple().tm_yday - 1] = False
        for d in workdays:
            mask[d.timetuple().tm_yday - 1] = True
        return mask


class OverrideWorkCalendar(WorkCalendar):
    """A base calendar with company-specific changes: extra closing days (e.g. an
    annual company trip) and extra working days. Extra working days win over extra
    holidays on the same date."""

    def __init__(
        self,
        base: WorkCalendar,
        extra_holidays: Iterable[date] = (),
        extra_workdays: Iterable[date] = (),
    ) -> None:
        super().__init__()
        self.base = base
        self.extra_holidays = frozenset(_check_date(d, "holiday") for d in extra_holidays)
        self.extra_workdays = frozenset(_check_date(d, "workday") for d in extra_workdays)

    def _build_year(self, year: int) -> BoolArray:
        mask = self.base.year_mask(year).copy()
        for d in self.extra_holidays:
            if d.year == year:
                mask[d.timetuple().tm_yday - 1] = False
        for d in self.extra_workdays:
            if d.year == year:
                mask[d.timetuple().tm_yday - 1] = True
        return mask


_DEFAULT_CALENDAR = ChinaWorkCalendar()


def default_work_calendar() -> WorkCalendar:
    """The shared China calendar instance (shared so its per-year cache is reused)."""
    return _DEFAULT_CALENDAR


# -------------------------------------------------------------- seasonal weights

_WEIGHT_TOLERANCE = 1e-6


@dataclass(frozen=True, slots=True)
class SeasonalWeights:
    """Twelve month weights in fiscal order (index 0 = first fiscal month).

    Values must be finite, non-negative and sum to 1 within 1e-6; they are then
    normalised to sum to 1 as exactly as floats allow. Use :meth:`from_raw` for
    arbitrary non-negative values (e.g. last year's monthly sales)."""

    values: tuple[float, ...]

    def __post_init__(self) -> None:
        vals = tuple(float(v) for v in self.values)
        if len(vals) != 12:
            raise ValueError(f"seasonal weights need 12 values, got {len(vals)}")
        for i, v in enumerate(vals, start=1):
            if not math.isfinite(v) or v < 0:
                raise ValueError(f"seasonal weight of fiscal month {i} must be >= 0, got {v}")
        total = math.fsum(vals)
        if abs(total - 1.0) > _WEIGHT_TOLERANCE:
            raise ValueError(f"seasonal weights must sum to 1, they sum to {total}")
        object.__setattr__(self, "values", tuple(v / total for v in vals))

    @classmethod
    def equal(cls) -> SeasonalWeights:
        return cls((1.0 / 12,) * 12)

    @classmethod
    def from_raw(cls, values: Sequence[float]) -> SeasonalWeights:
        """Normalise any 12 non-negative values with a positive sum."""
        vals = [float(v) for v in values]
        if len(vals) != 12:
            raise ValueError(f"seasonal weights need 12 values, got {len(vals)}")
        if any(not math.isfinite(v) or v < 0 for v in vals):
            raise ValueError(f"seasonal values must be finite and >= 0, got {vals}")
        try:
            total = math.fsum(vals)
        except OverflowError:  # values near the float limit: as shares of the largest
            top = max(vals)
            vals = [v / top for v in vals]
            total = math.fsum(vals)
        if total <= 0:
            raise ValueError("seasonal values sum to zero; use SeasonalWeights.equal()")
        return cls(tuple(v / total for v in vals))

    @classmethod
    def of_split(cls, values: Iterable[float | Decimal]) -> SeasonalWeights | None:
        """The profile of a target's twelve monthly values (fiscal order), or None when there
        are not twelve or they add up to zero (the caller then falls back, e.g. to equal)."""
        vals = [float(v) for v in values]
        if len(vals) != 12 or math.fsum(vals) <= 0:
            return None
        return cls.from_raw(vals)

    @classmethod
    def from_history(
        cls,
        monthly_totals_by_year: Sequence[Sequence[float]] | Mapping[int, Sequence[float]],
        *,
        shrink: float = 1.0,
        weight_years_by_total: bool = False,
    ) -> SeasonalWeights:
        """Monthly distribution learnt from past fiscal years' actuals.

        Each usable year's 12 monthly totals (fiscal order) become shares of that
        year's total; the shares are averaged across years - equally per year by
        default (so one exceptional year does not dominate), or weighted by each
        year's total with ``weight_years_by_total=True``. The average is then shrunk
        toward equal twelfths::

            w = lam * average_share + (1 - lam) / 12,   lam = n / (n + shrink)

        where ``n`` is the number of usable years (one year with ``shrink=1`` gives half
        credibility; ``shrink=0`` disables shrinkage).

        Negative monthly totals (returns exceeding sales) are clipped to 0. Years whose
        total is 0 are ignored, and so are incomplete years (containing a NaN). With no
        usable year the result is :meth:`equal`. A mapping is read by fiscal year; its
        keys only order the years and do not affect the result.
        """
        if not math.isfinite(shrink) or shrink < 0:
            raise ValueError(f"shrink must be a finite number >= 0, got {shrink}")
        years: Iterable[Sequence[float]]
        if isinstance(monthly_totals_by_year, Mapping):
            years = [monthly_totals_by_year[k] for k in sorted(monthly_totals_by_year)]
        else:
            years = monthly_totals_by_year
        rows: list[FloatArray] = []
        for i, year in enumerate(years):
            row = np.asarray([float(v) for v in year], dtype=np.float64)
            if row.shape != (12,):
                raise ValueError(f"history year #{i + 1} has {row.size} months, expected 12")
            if np.isnan(row).any():
                continue
            if np.isinf(row).any():
                raise ValueError(f"history year #{i + 1} contains an infinite value")
            rows.append(np.clip(row, 0.0, None))
        totals = np.asarray([r.sum() for r in rows], dtype=np.float64)
        usable = [r for r, t in zip(rows, totals, strict=True) if t > 0]
        if not usable:
            return cls.equal()
        grid = np.vstack(usable)
        year_totals = grid.sum(axis=1)
        shares = grid / year_totals[:, None]
        if weight_years_by_total:
            avg = (shares * year_totals[:, None]).sum(axis=0) / year_totals.sum()
        else:
            avg = shares.mean(axis=0)
        n = len(usable)
        lam = n / (n + shrink)
        blended = lam * avg + (1.0 - lam) / 12.0
        return cls.from_raw([float(v) for v in blended])

    @classmethod
    def many_from_history(cls, years: FloatArray) -> list[SeasonalWeights]:
        """:meth:`from_history` (default arguments) for many owners at once: ``years`` has the
        shape (owners, years, 12), NaN marking a month before the owner's records (that year
        is incomplete and skipped). The same figures as one :meth:`from_history` per owner
        (to rounding in the last bits), computed with array operations."""
        blended, n = _blend_history(years)
        equal = cls.equal()
        return [
            cls.from_raw([float(v) for v in row]) if k else equal
            for row, k in zip(blended, n, strict=True)
        ]

    @classmethod
    def many_values_from_history(cls, years: FloatArray) -> FloatArray:
        """``[w.values for w in many_from_history(years)]`` as one (owners, 12) array, bit for
        bit, without building an object per owner: the same per-owner arithmetic (a
        correctly rounded sum per row, then an IEEE division, twice, as :meth:`from_raw` and
        the constructor do)."""
        blended, n = _blend_history(years)
        # from_raw: values / fsum(values); the constructor: the same again
        once = _divide_by_row_fsum(blended, raw=True)
        out = _divide_by_row_fsum(once, raw=False)
        out[n == 0] = cls.equal().values
        return out

    def as_array(self) -> FloatArray:
        return np.asarray(self.values, dtype=np.float64)

    def weight(self, fiscal_month: int) -> float:
        """Weight of fiscal month ``fiscal_month`` (1..12)."""
        _check_range(fiscal_month, 1, 12, "fiscal month")
        return self.values[fiscal_month - 1]

    def for_calendar_month(self, calendar_month: int, fiscal: FiscalCalendar) -> float:
        return self.values[fiscal.fiscal_month_index(calendar_month) - 1]


def _blend_history(years: FloatArray) -> tuple[FloatArray, npt.NDArray[np.int_]]:
    """The shrunk average monthly shares of each owner (before normalising) and the number of
    usable years behind them (see :meth:`SeasonalWeights.many_from_history`)."""
    grid = np.asarray(years, dtype=np.float64)
    if grid.ndim != 3 or grid.shape[2] != 12:
        raise ValueError(f"history must have the shape (owners, years, 12), got {grid.shape}")
    if np.isinf(grid).any():
        raise ValueError("history contains an infinite value")
    complete = ~np.isnan(grid).any(axis=2)
    rows = np.clip(np.where(np.isnan(grid), 0.0, grid), 0.0, None)
    totals = rows.sum(axis=2)
    usable = complete & (totals > 0)
    shares = np.divide(rows, totals[:, :, None], out=np.zeros_like(rows), where=usable[:, :, None])
    n = usable.sum(axis=1)
    avg = np.divide(
        shares.sum(axis=1), n[:, None], out=np.zeros((len(grid), 12)), where=n[:, None] > 0
    )
    lam = n / (n + 1.0)
    blended: FloatArray = lam[:, None] * avg + (1.0 - lam[:, None]) / 12.0
    return blended, n


def _divide_by_row_fsum(values: FloatArray, *, raw: bool) -> FloatArray:
    """Each row divided by its correctly rounded sum (``math.fsum``), with the checks of
    :meth:`SeasonalWeights.from_raw` (``raw``) or of the constructor."""
    totals = np.array([math.fsum(row) for row in values.tolist()], dtype=np.float64)
    if not np.isfinite(values).all() or (values < 0).any():
        raise ValueError("seasonal values must be finite and >= 0")
    if raw and (totals <= 0).any():
        raise ValueError("seasonal values sum to zero; use SeasonalWeights.equal()")
    if not raw and (np.abs(totals - 1.0) > _WEIGHT_TOLERANCE).any():
        raise ValueError("seasonal weights must sum to 1")
    with np.errstate(divide="ignore", invalid="ignore"):
        out: FloatArray = values / totals[:, None]
    return out


# ------------------------------------------------------------------------ pacing


@dataclass(frozen=True, slots=True)
class _PacingCurve:
    period: Period
    daily: FloatArray = field(repr=False)  # weight of each day
    cumulative: FloatArray = field(repr=False)  # running sum, inclusive

    @property
    def total(self) -> float:
        return float(self.cumulative[-1])

    def elapsed(self, t: date) -> float:
        if t < self.period.start:
            return 0.0
        if t >= self.period.end:
            return self.total
        return float(self.cumulative[(t - self.period.start).days])


@lru_cache(maxsize=2048)
def _curve(
    period: Period, weights: SeasonalWeights, fiscal: FiscalCalendar, work: WorkCalendar
) -> _PacingCurve:
    months = period.months()
    full = Period(months[0].start, months[-1].end)
    mask = work.mask(full)
    daily = np.zeros(full.days, dtype=np.float64)
    offset = 0
    for mp in months:
        n = mp.days
        seg = mask[offset : offset + n]
        w = weights.for_calendar_month(mp.start.month, fiscal)
        k = int(np.count_nonzero(seg))
        if k:
            daily[offset : offset + n] = np.where(seg, w / k, 0.0)
        else:
            daily[offset : offset + n] = w / n
        offset += n
    lo = (period.start - full.start).days
    daily = daily[lo : lo + period.days].copy()
    cumulative = np.cumsum(daily)
    daily.flags.writeable = False
    cumulative.flags.writeable = False
    return _PacingCurve(period, daily, cumulative)


def _resolve(
    period: Period,
    weights: SeasonalWeights | None,
    fiscal: FiscalCalendar | None,
    calendar: WorkCalendar | None,
) -> _PacingCurve:
    if not isinstance(period, Period):
        raise TypeError(f"period must be a Period, got {period!r}")
    return _curve(
        period,
        weights if weights is not None else _EQUAL,
        fiscal if fiscal is not None else _JANUARY,
        calendar if calendar is not None else _DEFAULT_CALENDAR,
    )


_EQUAL = SeasonalWeights.equal()
_JANUARY = FiscalCalendar()


def day_weights(
    period: Period,
    weights: SeasonalWeights | None = None,
    fiscal: FiscalCalendar | None = None,
    calendar: WorkCalendar | None = None,
) -> FloatArray:
    """Weight of every day of ``period`` (index 0 = ``period.start``), read-only.

    Defaults: equal month weights, January fiscal start, the China work calendar.
    The weights of the 12 months of a fiscal year add up to 1. Results are cached
    per (period, weights, fiscal, calendar)."""
    return _resolve(period, weights, fiscal, calendar).daily


def weight_of(
    period: Period,
    weights: SeasonalWeights | None = None,
    fiscal: FiscalCalendar | None = None,
    calendar: WorkCalendar | None = None,
) -> float:
    """Sum of the day weights of ``period`` (1.0 for a whole fiscal year)."""
    return _resolve(period, weights, fiscal, calendar).total


def elapsed_weight(
    period: Period,
    t: date,
    weights: SeasonalWeights | None = None,
    fiscal: FiscalCalendar | None = None,
    calendar: WorkCalendar | None = None,
) -> float:
    """Weight of the days of ``period`` up to and including ``t``. ``t`` before the
    period gives 0, ``t`` on or after its end gives :func:`weight_of`."""
    _check_date(t, "t")
    return _resolve(period, weights, fiscal, calendar).elapsed(t)


def elapsed_fraction(
    period: Period,
    t: date,
    weights: SeasonalWeights | None = None,
    fiscal: FiscalCalendar | None = None,
    calendar: WorkCalendar | None = None,
) -> float:
    """``elapsed_weight / weight_of`` in [0, 1]. A period of zero weight (every month
    weighted 0) falls back to the elapsed share of calendar days. Compute this once
    and multiply many targets by it for dashboards."""
    _check_date(t, "t")
    curve = _resolve(period, weights, fiscal, calendar)
    total = curve.total
    if total <= 0:
        if t < period.start:
            return 0.0
        return ((period.clamp(t) - period.start).days + 1) / period.days
    if t >= period.end:
        return 1.0
    return min(1.0, curve.elapsed(t) / total)


@overload
def expected_to_date(
    target: Decimal,
    period: Period,
    t: date,
    weights: SeasonalWeights | None = ...,
    fiscal: FiscalCalendar | None = ...,
    calendar: WorkCalendar | None = ...,
) -> Decimal: ...
@overload
def expected_to_date(
    target: float,
    period: Period,
    t: date,
    weights: SeasonalWeights | None = ...,
    fiscal: FiscalCalendar | None = ...,
    calendar: WorkCalendar | None = ...,
) -> float: ...
def expected_to_date(
    target: Decimal | float,
    period: Period,
    t: date,
    weights: SeasonalWeights | None = None,
    fiscal: FiscalCalendar | None = None,
    calendar: WorkCalendar | None = None,
) -> Decimal | float:
    """E(t) = target × (weight of ``period`` elapsed by ``t``) / (weight of ``period``).

    Equals ``target`` exactly for ``t`` on or after the period's end and 0 before its
    start. A Decimal target gives an unrounded Decimal (quantise for display)."""
    frac = elapsed_fraction(period, t, weights, fiscal, calendar)
    if isinstance(target, Decimal):
        if frac == 1.0:
            return target
        return target * Decimal(frac)
    return float(target) * frac


def pace_begun(
    period: Period,
    t: date,
    weights: SeasonalWeights | None = None,
    fiscal: FiscalCalendar | None = None,
    calendar: WorkCalendar | None = None,
) -> bool:
    """Whether a pace index means anything on day ``t``: some weight of ``period`` lies
    before ``t``. On the period's first working day (and the days off before it) nothing was
    expected before today, and today is not over: a pace of 0.00 at nine in the morning of the
    1st would read as "behind" although nobody is."""
    _check_date(t, "t")
    if t <= period.start:
        return False
    return _resolve(period, weights, fiscal, calendar).elapsed(t - _ONE_DAY) > 0


def pace_index(actual_to_date: Decimal | float, expected: Decimal | float) -> float | None:
    """actual / expected (1.0 = on pace); None when nothing is expected yet."""
    if expected == 0:
        return None
    return float(actual_to_date) / float(expected)


@overload
def run_rate_projection(
    actual_to_date: Decimal,
    period: Period,
    t: date,
    weights: SeasonalWeights | None = ...,
    fiscal: FiscalCalendar | None = ...,
    calendar: WorkCalendar | None = ...,
) -> Decimal | None: ...
@overload
def run_rate_projection(
    actual_to_date: float,
    period: Period,
    t: date,
    weights: SeasonalWeights | None = ...,
    fiscal: FiscalCalendar | None = ...,
    calendar: WorkCalendar | None = ...,
) -> float | None: ...
def run_rate_projection(
    actual_to_date: Decimal | float,
    period: Period,
    t: date,
    weights: SeasonalWeights | None = None,
    fiscal: FiscalCalendar | None = None,
    calendar: WorkCalendar | None = None,
) -> Decimal | float | None:
    """actual_to_date × weight(period) / weight elapsed by ``t``: where the period
    ends if the pace so far continues. None when no weight has elapsed yet."""
    _check_date(t, "t")
    curve = _resolve(period, weights, fiscal, calendar)
    elapsed = curve.elapsed(t)
    if elapsed <= 0:
        return None
    total = curve.total
    if isinstance(actual_to_date, Decimal):
        if elapsed >= total:
            return actual_to_date
        return actual_to_date * Decimal(total / elapsed)
    if elapsed >= total:
        return float(actual_to_date)
    return float(actual_to_date) * (total / elapsed)
