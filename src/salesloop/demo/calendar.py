"""The demo company's calendar: day axis, seasonality, Chinese New Year, time zone offsets.

Everything here works on a day axis: day 0 is the first day of history, day ``n_days`` is
"today" (no event happens on or after the start of today), and days beyond are the future
(expected closes of the open pipeline).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np

# Lunar New Year's Day (春节), from the official calendar.
CNY_DATES: dict[int, date] = {
    2016: date(2016, 2, 8),
    2017: date(2017, 1, 28),
    2018: date(2018, 2, 16),
    2019: date(2019, 2, 5),
    2020: date(2020, 1, 25),
    2021: date(2021, 2, 12),
    2022: date(2022, 2, 1),
    2023: date(2023, 1, 22),
    2024: date(2024, 2, 10),
    2025: date(2025, 1, 29),
    2026: date(2026, 2, 17),
    2027: date(2027, 2, 6),
    2028: date(2028, 1, 26),
    2029: date(2029, 2, 13),
    2030: date(2030, 2, 3),
    2031: date(2031, 1, 23),
    2032: date(2032, 2, 11),
    2033: date(2033, 1, 31),
    2034: date(2034, 2, 19),
    2035: date(2035, 2, 8),
}
FIRST_YEAR = min(CNY_DATES) + 3
LAST_YEAR = max(CNY_DATES) - 1

# Relative weight of each calendar month for signing orders (Jan … Dec).
MONTH_FACTOR = np.array([0.92, 0.90, 1.00, 0.98, 1.00, 1.04, 0.96, 0.95, 0.98, 0.92, 1.35, 1.55])
# Monday … Sunday.
WEEKDAY_FACTOR = np.array([1.0, 1.05, 1.05, 1.0, 0.95, 0.12, 0.06])
YEARLY_GROWTH = 0.15
HISTORY_YEARS = 3
FUTURE_DAYS = 200
SECONDS_PER_DAY = 86_400


def years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


@dataclass(frozen=True)
class DayAxis:
    today: date
    start: date
    n_days: int  # history days: 0 … n_days - 1
    n_total: int  # history + future
    weekday: np.ndarray  # 0 = Monday
    month: np.ndarray  # 1 … 12
    year: np.ndarray
    midnight_utc: np.ndarray  # int64 epoch seconds of local midnight of each day
    order_weight: np.ndarray  # relative intensity of signing on each day (with growth)
    activity_weight: np.ndarray  # relative intensity of logging activities on each day

    @property
    def now(self) -> int:
        """Epoch seconds of the start of today (local): every generated event is before it."""
        return int(self.midnight_utc[self.n_days])

    def day_of(self, seconds: np.ndarray) -> np.ndarray:
        """Local day index of epoch seconds."""
        idx = np.searchsorted(self.midnight_utc, seconds, side="right") - 1
        return np.clip(idx, 0, self.n_total - 1)

    def day_date(self, day: int) -> date:
        return self.start + timedelta(days=int(day))

    def dates64(self, days: np.ndarray) -> np.ndarray:
        return np.datetime64(self.start, "D") + days.astype("timedelta64[D]")


def build_axis(today: date, time_zone: str) -> DayAxis:
    start = years_before(today, HISTORY_YEARS)
    n_days = (today - start).days
    n_total = n_days + FUTURE_DAYS
    days = np.datetime64(start, "D") + np.arange(n_total + 1).astype("timedelta64[D]")
    weekday = ((days.astype("int64") + 3) % 7).astype(np.int64)  # 1970-01-01 was a Thursday
    years = days.astype("datetime64[Y]").astype(np.int64) + 1970
    months = days.astype("datetime64[M]").astype(np.int64) % 12 + 1
    dom = (days - days.astype("datetime64[M]")).astype(np.int64) + 1

    zone = ZoneInfo(time_zone)
    midnight = np.empty(n_total + 1, dtype=np.int64)
    for i in range(n_total + 1):
        local = datetime.combine(start + timedelta(days=i), time(0), tzinfo=zone)
        midnight[i] = int(local.timestamp())

    # Chinese New Year: a deep dip around the holiday, a slow start before and after.
    cny = np.ones(n_total + 1)
    day_numbers = days.astype(np.int64)
    for year in range(int(years.min()) - 1, int(years.max()) + 2):
        if year not in CNY_DATES:
            continue
        delta = day_numbers - np.datetime64(CNY_DATES[year], "D").astype(np.int64)
        cny = np.where((delta >= -7) & (delta <= 10), 0.2, cny)
        cny = np.where((delta >= -16) & (delta < -7), cny * 0.65, cny)
        cny = np.where((delta > 10) & (delta <= 21), cny * 0.7, cny)
    national_day = np.where((months == 10) & (dom <= 7), 0.2, 1.0)
    labour_day = np.where((months == 5) & (dom <= 3), 0.3, 1.0)
    # End-of-quarter push (and the year-end rush in December's second half).
    quarter_end = np.where(np.isin(months, [3, 6, 9]) & (dom >= 21), 1.25, 1.0)
    quarter_end = np.where((months == 12) & (dom >= 15), 1.25, quarter_end)
    growth = np.exp(np.log1p(YEARLY_GROWTH) * (np.arange(n_total + 1) - n_days) / 365.25)

    holidays = cny * national_day * labour_day
    order_weight = (
        MONTH_FACTOR[months - 1] * WEEKDAY_FACTOR[weekday] * holidays * quarter_end * growth
    )
    activity_weight = WEEKDAY_FACTOR[weekday] * np.sqrt(holidays) * growth
    return DayAxis(
        today=today,
        start=start,
        n_days=n_days,
        n_total=n_total,
        weekday=weekday[:n_total],
        month=months[:n_total],
        year=years[:n_total],
        midnight_utc=midnight,
        order_weight=order_weight[:n_total],
        activity_weight=activity_weight[:n_total],
    )
