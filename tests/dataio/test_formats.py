from datetime import date, datetime, time
from decimal import Decimal

import pytest

from salesloop.dataio.formats import (
    CellError,
    parse_bool,
    parse_date,
    parse_date_time,
    parse_money,
    parse_percent,
)


@pytest.mark.parametrize(
    "raw",
    [
        "2025/3/7",
        "2025-03-07",
        "2025年3月7日",
        "2025.3.7",
        "20250307",
        45723,
        "45723",
        date(2025, 3, 7),
        datetime(2025, 3, 7),
        "２０２５－０３－０７",
    ],
)
def test_dates_as_people_type_them(raw):
    assert parse_date(raw) == date(2025, 3, 7)


def test_date_with_time_and_serial_fraction():
    assert parse_date_time("2025-03-07 14:30") == (date(2025, 3, 7), time(14, 30))
    assert parse_date_time(45723.5) == (date(2025, 3, 7), time(12, 0))


@pytest.mark.parametrize("raw", ["2025-02-30", "next week", "7/3/2025", "12", True])
def test_bad_dates_say_why(raw):
    with pytest.raises(CellError):
        parse_date(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("¥1,234.50", "1234.50"),
        ("￥1,234.5", "1234.50"),
        ("1.2万", "12000.00"),
        ("3亿", "300000000.00"),
        ("(300)", "-300.00"),
        ("-300", "-300.00"),
        ("1 234.50", "1234.50"),
        ("RMB 88", "88.00"),
        ("88元", "88.00"),
        (1234.5, "1234.50"),
        (12, "12.00"),
        ("0.005", "0.01"),
        ("１２３", "123.00"),
        ("5千", "5000.00"),
    ],
)
def test_amounts(raw, expected):
    assert parse_money(raw) == Decimal(expected)


@pytest.mark.parametrize("raw", ["1 234,50", "3,5", "1,23", "abc", "1.2.3", "NaN"])
def test_ambiguous_or_bad_amounts_are_refused(raw):
    with pytest.raises(CellError):
        parse_money(raw)


def test_percentages_and_booleans():
    assert parse_percent("35%") == 35
    assert parse_percent(0.35) == Decimal("35.00")
    assert parse_percent("35") == 35
    assert parse_bool("是") is True and parse_bool("否") is False and parse_bool("Yes") is True
