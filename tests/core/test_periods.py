"""Tests for salesloop.core.periods (pure math, no database)."""

from __future__ import annotations

import calendar as stdlib_calendar
from datetime import date, datetime, timedelta
from decimal import Decimal

import chinese_calendar
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from salesloop.core.periods import (
    ChinaWorkCalendar,
    FiscalCalendar,
    OverrideWorkCalendar,
    Period,
    PeriodKind,
    SeasonalWeights,
    WeekdayCalendar,
    WorkCalendar,
    add_months,
    day_weights,
    default_work_calendar,
    elapsed_fraction,
    elapsed_weight,
    expected_to_date,
    iso_week,
    iso_week_start,
    month_period,
    months_between,
    pace_begun,
    pace_index,
    run_rate_projection,
    weight_of,
)

WEEKDAYS = WeekdayCalendar()
CHINA = default_work_calendar()

# -------------------------------------------------------------------- Period


def test_period_basics() -> None:
    p = Period(date(2024, 1, 15), date(2024, 3, 10))
    # 17 days of January (15..31) + 29 of February (leap year) + 10 of March = 56
    assert p.days == 56
    assert p.contains(date(2024, 2, 29))
    assert not p.contains(date(2024, 3, 11))
    assert p.clamp(date(2023, 12, 1)) == date(2024, 1, 15)
    assert p.clamp(date(2024, 12, 1)) == date(2024, 3, 10)
    assert p.clamp(date(2024, 2, 2)) == date(2024, 2, 2)
    assert [m.label for m in p] == ["2024-01", "2024-02", "2024-03"]
    assert p.months()[1] == Period(date(2024, 2, 1), date(2024, 2, 29))
    assert p.label == "2024-01-15..2024-03-10"
    assert len(list(p.iter_days())) == 56
    assert p.index_of(date(2024, 1, 16)) == 1


def test_period_validation() -> None:
    with pytest.raises(ValueError, match="after its end"):
        Period(date(2024, 2, 1), date(2024, 1, 31))
    with pytest.raises(TypeError):
        Period(datetime(2024, 1, 1), date(2024, 1, 31))
    single = Period(date(2024, 5, 5), date(2024, 5, 5))
    assert single.days == 1
    assert single.label == "2024-05-05"


def test_period_labels() -> None:
    assert Period(date(2024, 1, 1), date(2024, 12, 31)).label == "2024"
    assert Period(date(2024, 10, 1), date(2024, 12, 31)).label == "2024-Q4"
    assert month_period(2024, 2).label == "2024-02"
    assert Period(date(2024, 2, 1), date(2024, 4, 30)).label == "2024-02-01..2024-04-30"


def test_intersection() -> None:
    a = Period(date(2024, 1, 1), date(2024, 1, 31))
    assert a.intersection(Period(date(2024, 1, 20), date(2024, 2, 5))) == Period(
        date(2024, 1, 20), date(2024, 1, 31)
    )
    assert a.intersection(Period(date(2024, 2, 1), date(2024, 2, 5))) is None


def test_small_helpers() -> None:
    # 2024-10-06 is a Sunday; its ISO week starts on Monday 2024-09-30.
    assert iso_week_start(date(2024, 10, 6)) == date(2024, 9, 30)
    assert iso_week_start(date(2024, 9, 30)) == date(2024, 9, 30)
    assert iso_week(date(2025, 1, 1)) == Period(date(2024, 12, 30), date(2025, 1, 5))
    assert months_between(date(2024, 1, 31), date(2024, 2, 1)) == 1
    assert months_between(date(2024, 11, 15), date(2025, 2, 1)) == 3
    assert months_between(date(2025, 2, 1), date(2024, 11, 15)) == -3
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2024, 3, 31), -13) == date(2023, 2, 28)


# ------------------------------------------------------------ FiscalCalendar


def test_fiscal_year_starting_april() -> None:
    fc = FiscalCalendar(4)
    # FY2025 is named by the year it starts in.
    assert fc.year(2025) == Period(date(2025, 4, 1), date(2026, 3, 31))
    assert fc.fiscal_year_of(date(2025, 4, 1)) == 2025
    assert fc.fiscal_year_of(date(2026, 3, 31)) == 2025
    assert fc.fiscal_year_of(date(2025, 3, 31)) == 2024
    assert fc.quarter(2025, 1) == Period(date(2025, 4, 1), date(2025, 6, 30))
    assert fc.quarter(2025, 3) == Period(date(2025, 10, 1), date(2025, 12, 31))
    assert fc.quarter(2025, 4) == Period(date(2026, 1, 1), date(2026, 3, 31))
    assert fc.quarter_of(date(2026, 2, 15)) == (2025, 4)
    assert fc.quarter_of(date(2025, 7, 1)) == (2025, 2)
    assert fc.quarter_of(date(2025, 6, 30)) == (2025, 1)
    assert fc.month(2025, 1) == month_period(2025, 4)
    assert fc.month(2025, 10) == month_period(2026, 1)
    assert fc.month(2025, 12) == month_period(2026, 3)
    assert [m.start.month for m in fc.months(2025)] == [4, 5, 6, 7, 8, 9, 10, 11, 12, 1, 2, 3]
    assert fc.fiscal_month_index(4) == 1
    assert fc.fiscal_month_index(3) == 12
    assert fc.calendar_month(12) == 3
    assert fc.month_of(date(2026, 1, 20)) == (2025, 10)
    assert fc.label(fc.year(2025)) == "FY2025"
    assert fc.label(fc.quarter(2025, 2)) == "FY2025-Q2"
    assert fc.label(fc.month(2025, 1)) == "2025-04"


def test_calendar_year_quarter_boundaries() -> None:
    fc = FiscalCalendar()
    assert fc.year(2024) == Period(date(2024, 1, 1), date(2024, 12, 31))
    assert [(q.start, q.end) for q in fc.quarters(2024)] == [
        (date(2024, 1, 1), date(2024, 3, 31)),
        (date(2024, 4, 1), date(2024, 6, 30)),
        (date(2024, 7, 1), date(2024, 9, 30)),
        (date(2024, 10, 1), date(2024, 12, 31)),
    ]
    assert fc.quarter_of(date(2024, 3, 31)) == (2024, 1)
    assert fc.quarter_of(date(2024, 4, 1)) == (2024, 2)
    assert fc.label(fc.quarter(2024, 4)) == "2024-Q4"


def test_fiscal_year_starting_november() -> None:
    fc = FiscalCalendar(11)
    assert fc.year(2024) == Period(date(2024, 11, 1), date(2025, 10, 31))
    assert fc.quarter(2024, 1) == Period(date(2024, 11, 1), date(2025, 1, 31))
    assert fc.year_containing(date(2025, 10, 31)) == fc.year(2024)


def test_fiscal_validation() -> None:
    for bad in (0, 13):
        with pytest.raises(ValueError, match="start_month"):
            FiscalCalendar(bad)
    with pytest.raises(ValueError, match="fiscal quarter"):
        FiscalCalendar().quarter(2024, 5)
    with pytest.raises(ValueError, match="fiscal month"):
        FiscalCalendar().month(2024, 0)


def test_containing_previous_and_last_year() -> None:
    fc = FiscalCalendar(4)
    d = date(2025, 5, 20)
    assert fc.containing(d, PeriodKind.MONTH) == month_period(2025, 5)
    assert fc.containing(d, PeriodKind.QUARTER) == fc.quarter(2025, 1)
    assert fc.containing(d, PeriodKind.YEAR) == fc.year(2025)
    assert fc.kind_of(fc.quarter(2025, 1)) is PeriodKind.QUARTER
    assert fc.kind_of(Period(date(2025, 1, 1), date(2025, 1, 10))) is None
    # previous quarter of FY2025 Q1 is FY2024 Q4 (Jan-Mar 2025)
    assert fc.previous(fc.quarter(2025, 1)) == fc.quarter(2024, 4)
    assert fc.previous(fc.year(2025)) == fc.year(2024)
    assert fc.previous(month_period(2024, 3)) == month_period(2024, 2)  # ends on the 29th
    # an arbitrary 10-day window steps back 10 days
    assert fc.previous(Period(date(2024, 3, 5), date(2024, 3, 14))) == Period(
        date(2024, 2, 24), date(2024, 3, 4)
    )
    assert fc.same_period_last_year(month_period(2025, 2)) == month_period(2024, 2)
    assert fc.same_period_last_year(month_period(2024, 2)) == month_period(2023, 2)
    assert fc.same_period_last_year(fc.quarter(2025, 4)) == fc.quarter(2024, 4)
    assert fc.same_period_last_year(Period(date(2024, 2, 10), date(2024, 2, 29))) == Period(
        date(2023, 2, 10), date(2023, 2, 28)
    )


@given(st.integers(1, 12), st.integers(1990, 2060))
def test_fiscal_year_is_12_contiguous_months(start_month: int, fy: int) -> None:
    fc = FiscalCalendar(start_month)
    months = fc.months(fy)
    assert months[0].start == fc.year(fy).start
    assert months[-1].end == fc.year(fy).end
    for a, b in zip(months, months[1:], strict=False):
        assert b.start == a.end + timedelta(days=1)
    for m in months:
        assert fc.fiscal_year_of(m.start) == fy
        assert fc.fiscal_year_of(m.end) == fy
    for q in range(1, 5):
        assert fc.quarter_of(fc.quarter(fy, q).start) == (fy, q)
        assert fc.quarter_of(fc.quarter(fy, q).end) == (fy, q)


# --------------------------------------------------------------- work days


def test_china_october_2024_by_hand() -> None:
    # October 2024 starts on a Tuesday: Tue/Wed/Thu occur 5 times, Mon/Fri 4 times
    # -> 23 weekdays. National Day Oct 1-7 removes the weekdays 1, 2, 3, 4 and 7
    # (5 days) -> 18. Saturday Oct 12 is an adjusted working day -> 19.
    october = month_period(2024, 10)
    assert CHINA.workdays_in(october) == 19
    assert not CHINA.is_workday(date(2024, 10, 1))
    assert not CHINA.is_workday(date(2024, 10, 7))
    assert CHINA.is_workday(date(2024, 10, 12))  # Saturday, 调休
    assert CHINA.is_workday(date(2024, 9, 29))  # Sunday, 调休
    assert WEEKDAYS.workdays_in(october) == 23


def test_china_september_2024_by_hand() -> None:
    # September 2024 starts on a Sunday: weekdays 2-6, 9-13, 16-20, 23-27, 30 = 21.
    # Mid-Autumn holiday removes Mon 16 and Tue 17 -> 19; Sat 14 and Sun 29 are
    # adjusted working days -> 21.
    assert CHINA.workdays_in(month_period(2024, 9)) == 21


def test_china_spring_festival_2025_by_hand() -> None:
    # Holidays Jan 28 - Feb 4 2025; Sun Jan 26 and Sat Feb 8 are working days.
    # January 2025 starts on a Wednesday: Wed/Thu/Fri x5, Mon/Tue x4 -> 23 weekdays;
    # minus New Year (Wed 1) and Tue 28 .. Fri 31 (4 days) -> 18; plus Sun 26 -> 19.
    assert CHINA.workdays_in(month_period(2025, 1)) == 19
    # February 2025 starts on a Saturday: 20 weekdays; minus Mon 3, Tue 4 -> 18;
    # plus Sat 8 -> 19.
    assert CHINA.workdays_in(month_period(2025, 2)) == 19
    assert CHINA.is_workday(date(2025, 1, 26))
    assert CHINA.is_workday(date(2025, 2, 8))
    for day in range(28, 32):
        assert not CHINA.is_workday(date(2025, 1, day))
    assert not CHINA.is_workday(date(2025, 2, 4))
    assert CHINA.is_workday(date(2025, 2, 5))


def test_china_calendar_matches_library_everywhere() -> None:
    cal = ChinaWorkCalendar()
    first = min(chinese_calendar.holidays).year
    last = max(chinese_calendar.holidays).year
    for year in range(first, last + 1):
        assert cal.supports(year)
        days = Period(date(year, 1, 1), date(year, 12, 31))
        expected = np.array([chinese_calendar.is_workday(d) for d in days.iter_days()])
        assert np.array_equal(cal.mask(days), expected), year


def test_china_falls_back_to_weekdays() -> None:
    cal = ChinaWorkCalendar()
    assert not cal.supports(2090)
    year = Period(date(2090, 1, 1), date(2090, 12, 31))
    assert np.array_equal(cal.mask(year), WEEKDAYS.mask(year))


def test_weekday_calendar_and_masks_across_years() -> None:
    p = Period(date(2024, 12, 28), date(2025, 1, 3))  # Sat .. Fri
    assert WEEKDAYS.mask(p).tolist() == [False, False, True, True, True, True, True]
    # in China, Jan 1 2025 is New Year's Day
    assert CHINA.mask(p).tolist() == [False, False, True, True, False, True, True]
    mask = CHINA.year_mask(2024)
    assert not mask.flags.writeable


def test_override_calendar() -> None:
    cal = OverrideWorkCalendar(
        CHINA, extra_holidays=[date(2024, 10, 8)], extra_workdays=[date(2024, 10, 13)]
    )
    assert not cal.is_workday(date(2024, 10, 8))
    assert cal.is_workday(date(2024, 10, 13))
    assert cal.workdays_in(month_period(2024, 10)) == 19  # -1 + 1


# ------------------------------------------------------------ seasonal weights


def test_seasonal_weights_validation() -> None:
    assert sum(SeasonalWeights.equal().values) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="12 values"):
        SeasonalWeights((0.5, 0.5))
    with pytest.raises(ValueError, match="sum to 1"):
        SeasonalWeights((0.1,) * 12)
    with pytest.raises(ValueError, match=">= 0"):
        SeasonalWeights((-0.1, 0.2) + (0.9 / 10,) * 10)
    w = SeasonalWeights.from_raw([2] + [1] * 11)
    assert w.weight(1) == pytest.approx(2 / 13)
    with pytest.raises(ValueError, match="sum to zero"):
        SeasonalWeights.from_raw([0] * 12)


def test_from_history_hand_example() -> None:
    # Two years; year A sells everything in fiscal month 1, year B is flat.
    # Shares: A = (1, 0, ..., 0), B = (1/12, ...). Equal year weighting averages
    # them: month 1 = (1 + 1/12) / 2 = 13/24, others = (1/12) / 2 = 1/24.
    # lam = 2 / (2 + 1) = 2/3 -> month 1 = 2/3 * 13/24 + 1/3 * 1/12 = 26/72 + 2/72 = 28/72.
    a = [120.0] + [0.0] * 11
    b = [10.0] * 12
    w = SeasonalWeights.from_history([a, b], shrink=1.0)
    assert w.values[0] == pytest.approx(28 / 72)
    assert w.values[1] == pytest.approx((2 / 3) * (1 / 24) + (1 / 3) / 12)
    # Weighting years by total: both totals are 120, so identical here.
    assert SeasonalWeights.from_history({2023: a, 2024: b}, weight_years_by_total=True) == w
    # No shrinkage: plain average.
    assert SeasonalWeights.from_history([a, b], shrink=0).values[0] == pytest.approx(13 / 24)


def test_from_history_thin_vs_thick() -> None:
    peaky = [50.0] + [50.0 / 11] * 11  # half of the year in the first month
    one = SeasonalWeights.from_history([peaky], shrink=2.0)
    five = SeasonalWeights.from_history([peaky] * 5, shrink=2.0)
    # lam = 1/3 vs 5/7: more years -> closer to the observed 0.5
    assert one.values[0] == pytest.approx(1 / 3 * 0.5 + 2 / 3 / 12)
    assert five.values[0] == pytest.approx(5 / 7 * 0.5 + 2 / 7 / 12)
    assert 1 / 12 < one.values[0] < five.values[0] < 0.5


def test_from_history_ignores_unusable_years() -> None:
    assert SeasonalWeights.from_history([]) == SeasonalWeights.equal()
    assert SeasonalWeights.from_history([[0.0] * 12]) == SeasonalWeights.equal()
    incomplete = [float("nan")] + [5.0] * 11
    zero = [0.0] * 12
    good = [1.0] * 6 + [3.0] * 6
    assert SeasonalWeights.from_history([good, incomplete, zero]) == (
        SeasonalWeights.from_history([good])
    )
    # negative months (returns) clip to zero
    assert SeasonalWeights.from_history([[-5.0] + [1.0] * 11], shrink=0).values[0] == 0.0
    with pytest.raises(ValueError, match="expected 12"):
        SeasonalWeights.from_history([[1.0] * 11])


@given(
    st.lists(
        st.lists(st.floats(-10, 1e6, allow_nan=False), min_size=12, max_size=12),
        max_size=6,
    ),
    st.floats(0, 10),
    st.booleans(),
)
def test_from_history_sums_to_one(
    history: list[list[float]], shrink: float, by_total: bool
) -> None:
    w = SeasonalWeights.from_history(history, shrink=shrink, weight_years_by_total=by_total)
    assert sum(w.values) == pytest.approx(1.0)
    assert all(v >= 0 for v in w.values)


# ------------------------------------------------------------------- pacing


def test_day_weights_hand_example_weekdays() -> None:
    # June 2024 has 20 weekdays (3-7, 10-14, 17-21, 24-28); equal weights give June
    # 1/12, so each weekday weighs 1/240 and weekends 0.
    june = month_period(2024, 6)
    dw = day_weights(june, calendar=WEEKDAYS)
    assert dw.shape == (30,)
    assert dw[0] == 0.0  # Saturday June 1
    assert dw[2] == pytest.approx(1 / 240)
    assert weight_of(june, calendar=WEEKDAYS) == pytest.approx(1 / 12)
    # to date 2024-06-12 (Wed), today included: 3,4,5,6,7,10,11,12 = 8 working days
    assert elapsed_weight(june, date(2024, 6, 12), calendar=WEEKDAYS) == pytest.approx(8 / 240)
    assert expected_to_date(10_000.0, june, date(2024, 6, 12), calendar=WEEKDAYS) == (
        pytest.approx(4_000.0)
    )
    # In China the Dragon Boat holiday (Mon June 10) leaves 19 working days, 7 elapsed.
    assert expected_to_date(10_000.0, june, date(2024, 6, 12)) == pytest.approx(10_000 * 7 / 19)


def test_partial_month_and_seasonal_quarter() -> None:
    weights = SeasonalWeights.from_raw([1, 1, 1, 3] + [1] * 8)  # April weighs 3/14
    q2 = Period(date(2024, 4, 1), date(2024, 6, 30))
    assert weight_of(q2, weights, calendar=WEEKDAYS) == pytest.approx(5 / 14)
    # end of April: 3/14 of 5/14 elapsed -> 60 % of the target
    assert expected_to_date(Decimal(10_000), q2, date(2024, 4, 30), weights, calendar=WEEKDAYS) == (
        pytest.approx(Decimal(6_000))
    )
    # first half of June (10 of its 20 weekdays) = half of June's 1/14
    half = Period(date(2024, 6, 1), date(2024, 6, 14))
    assert weight_of(half, weights, calendar=WEEKDAYS) == pytest.approx(1 / 28)


def test_fiscal_pacing_uses_fiscal_month_order() -> None:
    fc = FiscalCalendar(4)
    weights = SeasonalWeights.from_raw([6] + [0.5] * 11)  # fiscal month 1 = April
    april = month_period(2025, 4)
    assert weight_of(april, weights, fc, WEEKDAYS) == pytest.approx(6 / 11.5)
    assert weight_of(month_period(2025, 1), weights, fc, WEEKDAYS) == pytest.approx(0.5 / 11.5)


def test_month_without_working_days_spreads_over_calendar_days() -> None:
    feb = month_period(2024, 2)
    closed = OverrideWorkCalendar(WEEKDAYS, extra_holidays=list(feb.iter_days()))
    dw = day_weights(feb, calendar=closed)
    assert np.allclose(dw, (1 / 12) / 29)
    assert elapsed_fraction(feb, date(2024, 2, 10), calendar=closed) == pytest.approx(10 / 29)


def test_elapsed_outside_period_and_end() -> None:
    p = FiscalCalendar(4).quarter(2025, 3)
    assert elapsed_weight(p, date(2025, 9, 30)) == 0.0
    assert elapsed_weight(p, date(2026, 5, 1)) == weight_of(p)
    assert expected_to_date(Decimal("123456.78"), p, p.end) == Decimal("123456.78")
    assert expected_to_date(Decimal("123456.78"), p, date(2025, 9, 1)) == 0
    assert elapsed_fraction(p, p.end) == 1.0


def test_fiscal_year_months_sum_to_one() -> None:
    for start in (1, 4, 7, 10):
        fc = FiscalCalendar(start)
        w = SeasonalWeights.from_raw(list(range(1, 13)))
        total = sum(weight_of(m, w, fc) for m in fc.months(2024))
        assert total == pytest.approx(1.0)
        assert weight_of(fc.year(2024), w, fc) == pytest.approx(1.0)


def test_pace_and_run_rate() -> None:
    assert pace_index(Decimal(50), Decimal(40)) == pytest.approx(1.25)
    assert pace_index(10.0, 0.0) is None
    june = month_period(2024, 6)
    # 8 of 20 weekdays elapsed; 4000 so far -> 10000 at the end of the month
    assert run_rate_projection(4_000.0, june, date(2024, 6, 12), calendar=WEEKDAYS) == (
        pytest.approx(10_000.0)
    )
    projected = run_rate_projection(Decimal(4_000), june, date(2024, 6, 12), calendar=WEEKDAYS)
    assert projected is not None
    assert projected.quantize(Decimal("0.01")) == Decimal("10000.00")
    # Saturday June 1 only: no working day elapsed yet
    assert run_rate_projection(5.0, june, date(2024, 6, 1), calendar=WEEKDAYS) is None
    assert run_rate_projection(5.0, june, date(2024, 5, 1)) is None
    assert run_rate_projection(Decimal(7), june, date(2024, 7, 1)) == Decimal(7)


def test_pace_begins_after_the_first_working_day() -> None:
    june = month_period(2024, 6)  # Saturday 1 June; Monday the 3rd is the first working day
    for day, begun in [
        (date(2024, 5, 20), False),
        (date(2024, 6, 1), False),
        (date(2024, 6, 3), False),  # nothing expected before today, today not over
        (date(2024, 6, 4), True),
        (date(2024, 6, 30), True),
        (date(2024, 7, 9), True),
    ]:
        assert pace_begun(june, day, calendar=WEEKDAYS) is begun, day
    # China's calendar: 31 May - 2 June 2025 is the Dragon Boat holiday, work resumes on the 3rd
    june25 = month_period(2025, 6)
    assert not pace_begun(june25, date(2025, 6, 3), calendar=CHINA)
    assert pace_begun(june25, date(2025, 6, 4), calendar=CHINA)
    # a month weighted 0 in the split never expects anything: no pace all month
    weights = SeasonalWeights([1 / 11] * 5 + [0.0] + [1 / 11] * 6)
    assert not pace_begun(june25, date(2025, 6, 20), weights, calendar=CHINA)


@settings(max_examples=40)
@given(st.dates(date(2020, 1, 1), date(2027, 12, 31)), st.integers(0, 60))
def test_once_begun_the_pace_stays(t: date, later: int) -> None:
    quarter = Period(date(2024, 4, 1), date(2024, 6, 30))
    if pace_begun(quarter, t, calendar=CHINA):
        assert pace_begun(quarter, t + timedelta(days=later), calendar=CHINA)
    # begun exactly when some weight lies before the day
    before = elapsed_weight(quarter, t - timedelta(days=1), calendar=CHINA)
    assert pace_begun(quarter, t, calendar=CHINA) is (t > quarter.start and before > 0)


@settings(max_examples=60)
@given(
    st.dates(date(2015, 1, 1), date(2030, 12, 31)),
    st.integers(0, 400),
    st.lists(st.floats(0, 10), min_size=12, max_size=12).filter(lambda v: sum(v) > 0),
    st.integers(1, 12),
    st.sampled_from([CHINA, WEEKDAYS]),
)
def test_elapsed_weight_is_monotone(
    start: date, length: int, raw: list[float], start_month: int, cal: WorkCalendar
) -> None:
    p = Period(start, start + timedelta(days=length))
    w = SeasonalWeights.from_raw(raw)
    fc = FiscalCalendar(start_month)
    days = [p.start - timedelta(days=1), *p.iter_days(), p.end + timedelta(days=1)]
    values = [elapsed_weight(p, d, w, fc, cal) for d in days]
    assert values[0] == 0.0
    assert all(b >= a for a, b in zip(values, values[1:], strict=False))
    assert values[-1] == values[-2] == weight_of(p, w, fc, cal)
    assert weight_of(p, w, fc, cal) == pytest.approx(float(np.sum(day_weights(p, w, fc, cal))))
    fractions = [elapsed_fraction(p, d, w, fc, cal) for d in days]
    assert fractions[0] == 0.0
    assert fractions[-1] == 1.0
    assert all(b >= a for a, b in zip(fractions, fractions[1:], strict=False))
    assert expected_to_date(Decimal("1000.00"), p, p.end, w, fc, cal) == Decimal("1000.00")


def test_day_weights_are_fast() -> None:
    import time

    fc = FiscalCalendar(4)
    t0 = time.perf_counter()
    for member in range(200):
        q = fc.quarter(2025, member % 4 + 1)
        expected_to_date(Decimal(100_000 + member), q, date(2025, 10, 15), fiscal=fc)
        run_rate_projection(Decimal(50_000), q, date(2025, 10, 15), fiscal=fc)
    assert time.perf_counter() - t0 < 0.5


def test_year_masks_have_year_length() -> None:
    for year in (2023, 2024):
        n = 366 if stdlib_calendar.isleap(year) else 365
        assert CHINA.year_mask(year).shape == (n,)
        assert WEEKDAYS.year_mask(year).shape == (n,)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.lists(st.floats(-10, 1e6), min_size=36, max_size=36),
            st.integers(0, 36),  # months missing at the start (NaN)
        ),
        min_size=1,
        max_size=8,
    )
)
def test_many_from_history_equals_one_from_history_per_owner(owners) -> None:
    import numpy as np

    grid = np.array([values for values, _ in owners], dtype=np.float64)
    for row, (_values, missing) in zip(grid, owners, strict=True):
        row[:missing] = np.nan
    many = SeasonalWeights.many_from_history(grid.reshape(len(owners), 3, 12))
    for row, got in zip(grid, many, strict=True):
        one = SeasonalWeights.from_history([list(row[k * 12 : (k + 1) * 12]) for k in range(3)])
        assert got.values == pytest.approx(one.values, rel=1e-12, abs=1e-15)
        assert sum(got.values) == pytest.approx(1.0)


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.lists(
                st.one_of(st.floats(-10, 1e6), st.just(0.0), st.floats(0, 1e-300)),
                min_size=36,
                max_size=36,
            ),
            st.integers(0, 36),  # months missing at the start (NaN)
        ),
        min_size=1,
        max_size=8,
    )
)
def test_many_values_from_history_are_the_weights_bit_for_bit(owners) -> None:
    """The array version gives exactly the floats of the objects (planning splits by them)."""
    import numpy as np

    grid = np.array([values for values, _ in owners], dtype=np.float64)
    for row, (_values, missing) in zip(grid, owners, strict=True):
        row[:missing] = np.nan
    years = grid.reshape(len(owners), 3, 12)
    table = SeasonalWeights.many_values_from_history(years)
    assert table.shape == (len(owners), 12)
    assert [tuple(row) for row in table.tolist()] == [
        w.values for w in SeasonalWeights.many_from_history(years)
    ]
