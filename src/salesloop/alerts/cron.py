"""Cron expressions (minute hour day-of-month month day-of-week) in a given time zone.

Pure Python, no Django. ``*``, ``*/n``, ``a-b``, ``a-b/n``, lists with ``,`` and the names
``mon``…``sun`` / ``jan``…``dec`` are understood. Day of week: 0 or 7 = Sunday. As in classic
cron, when both day-of-month and day-of-week are restricted a day matching either fires.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DOW_NAMES = {"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}
MONTH_NAMES = {
    m: i + 1
    for i, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
    )
}
FIELDS = (
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day of month", 1, 31, {}),
    ("month", 1, 12, MONTH_NAMES),
    ("day of week", 0, 7, DOW_NAMES),
)
MAX_DAYS = 5 * 366


class CronError(ValueError):
    """An expression that is not a valid cron schedule (the message says why)."""


def _value(raw: str, names: dict[str, int], name: str, lo: int, hi: int) -> int:
    raw = raw.strip().lower()
    if raw in names:
        return names[raw]
    if not raw.isdigit():
        raise CronError(f"{name}: '{raw}' is not a number")
    v = int(raw)
    if not lo <= v <= hi:
        raise CronError(f"{name}: {v} is outside {lo}–{hi}")
    return v


def _field(
    raw: str, name: str, lo: int, hi: int, names: dict[str, int]
) -> tuple[frozenset[int], bool]:
    values: set[int] = set()
    for part in raw.split(","):
        if not part:
            raise CronError(f"{name}: empty list item")
        body, _sep, step_raw = part.partition("/")
        step = 1
        if _sep:
            if not step_raw.isdigit() or int(step_raw) == 0:
                raise CronError(f"{name}: step '{step_raw}' must be a positive number")
            step = int(step_raw)
        if body == "*":
            start, end = lo, hi
        elif "-" in body:
            a, b = body.split("-", 1)
            start, end = _value(a, names, name, lo, hi), _value(b, names, name, lo, hi)
            if start > end:
                raise CronError(f"{name}: range {body} runs backwards")
        else:
            start = _value(body, names, name, lo, hi)
            end = hi if _sep else start
        values.update(range(start, end + 1, step))
    return frozenset(values), raw.strip() == "*"


@dataclass(frozen=True)
class Cron:
    expression: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    any_day: bool
    any_weekday: bool

    @classmethod
    def parse(cls, expression: str) -> Cron:
        parts = expression.split()
        if len(parts) != 5:
            raise CronError(
                f"a cron expression has 5 fields (minute hour day month weekday), got {len(parts)}"
            )
        parsed = [
            _field(p, name, lo, hi, names)
            for p, (name, lo, hi, names) in zip(parts, FIELDS, strict=True)
        ]
        weekdays = frozenset(0 if d == 7 else d for d in parsed[4][0])
        return cls(
            expression,
            parsed[0][0],
            parsed[1][0],
            parsed[2][0],
            parsed[3][0],
            weekdays,
            parsed[2][1],
            parsed[4][1],
        )

    def matches_day(self, d: date) -> bool:
        if d.month not in self.months:
            return False
        dom = d.day in self.days
        dow = (d.isoweekday() % 7) in self.weekdays
        if self.any_day and self.any_weekday:
            return True
        if self.any_day:
            return dow
        if self.any_weekday:
            return dom
        return dom or dow

    def next_after(self, moment: datetime, tz: ZoneInfo) -> datetime:
        """The first firing time strictly after ``moment`` (aware), as an aware datetime in ``tz``."""
        local = moment.astimezone(tz).replace(second=0, microsecond=0) + timedelta(minutes=1)
        day = local.date()
        hours, minutes = sorted(self.hours), sorted(self.minutes)
        for i in range(MAX_DAYS):
            d = day + timedelta(days=i)
            if not self.matches_day(d):
                continue
            for h in hours:
                if i == 0 and h < local.hour:
                    continue
                for m in minutes:
                    if i == 0 and h == local.hour and m < local.minute:
                        continue
                    return datetime.combine(d, time(h, m), tzinfo=tz)
        raise CronError(f"'{self.expression}' never fires")
