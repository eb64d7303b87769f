"""Values as people type them into spreadsheets: dates, amounts, percentages, choices.

Every parser takes the raw cell (a string from a CSV, or a str / int / float / date / datetime /
bool from an XLSX) and returns a Python value or raises :class:`CellError` with a message the user
can act on. Parsers are pure functions (no database) so they are cheap to call a million times;
the hot ones memoise on the raw text.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from operator import methodcaller
from typing import Any

from django.utils.translation import gettext as _

from salesloop.common.words import listed

CENT = Decimal("0.01")
EXCEL_EPOCH = date(1899, 12, 30)  # Excel's day 0 (it counts 1900-02-29, so the epoch is the 30th)
# Serial numbers accepted as dates: 1954-10-08 .. 2119-01-15 — a plain number outside this range is
# far more likely a typing mistake than a date.
SERIAL_MIN, SERIAL_MAX = 20000, 80000


class CellError(ValueError):
    """A value that cannot be read; the message is shown to the user beside the row."""


def clean_text(value: Any) -> str:
    """The cell as text: full-width letters and digits folded, spaces trimmed, None → ''."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value)
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    return text.strip()


def is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


# ------------------------------------------------------------------ dates

_DATE_PATTERNS = (
    # 2025-03-07, 2025/3/7, 2025.3.7, 2025年3月7日, optionally followed by a time
    re.compile(
        r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2}))?)?$"
    ),
    # 20250307
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)


@lru_cache(maxsize=4096)
def _date_from_text(text: str) -> tuple[date, time | None]:
    for pattern in _DATE_PATTERNS:
        match = pattern.match(text)
        if match:
            groups = match.groups()
            try:
                day = date(int(groups[0]), int(groups[1]), int(groups[2]))
                at = None
                if len(groups) > 3 and groups[3] is not None:
                    at = time(int(groups[3]), int(groups[4]), int(groups[5] or 0))
            except ValueError as exc:
                raise CellError(_("%(value)s is not a real date.") % {"value": text}) from exc
            return day, at
    if re.fullmatch(r"\d+(\.\d+)?", text):
        serial = float(text)
        if SERIAL_MIN <= serial <= SERIAL_MAX:
            return _from_serial(serial)
    raise CellError(
        _("%(value)s is not a date. Write dates as 2025-03-07, 2025/3/7 or 2025年3月7日.")
        % {"value": text}
    )


def _from_serial(serial: float) -> tuple[date, time | None]:
    whole = int(serial)
    day = EXCEL_EPOCH + timedelta(days=whole)
    seconds = round((serial - whole) * 86400)
    at = None
    if seconds:
        seconds = min(seconds, 86399)
        at = time(seconds // 3600, seconds % 3600 // 60, seconds % 60)
    return day, at


def parse_date_time(value: Any) -> tuple[date, time | None]:
    """A date (and a time of day when the cell has one)."""
    if isinstance(value, datetime):
        return value.date(), (value.time() if value.time() != time(0) else None)
    if isinstance(value, date):
        return value, None
    if isinstance(value, bool):
        raise CellError(_("%(value)s is not a date.") % {"value": value})
    if isinstance(value, int | float):
        if SERIAL_MIN <= value <= SERIAL_MAX:
            return _from_serial(float(value))
        raise CellError(_("%(value)s is not a date.") % {"value": value})
    return _date_from_text(clean_text(value))


def parse_date(value: Any) -> date:
    return parse_date_time(value)[0]


# ------------------------------------------------------------------ numbers

_CURRENCY_MARKS = re.compile(
    r"(?i)^(?:¥|￥|\$|€|HK\$|rmb|cny|usd|eur|hkd|jpy)\s*|\s*(?:元|块|rmb|cny|usd|eur|hkd|jpy)$"
)
_UNITS = {
    "万": Decimal(10_000),
    "亿": Decimal(100_000_000),
    "千": Decimal(1000),
    "百万": Decimal(1_000_000),
}
_GROUPED = re.compile(r"^\d{1,3}(?:,\d{3})+(?:\.\d+)?$")


@lru_cache(maxsize=65536)
def _number_from_text(text: str) -> Decimal:
    original = text
    negative = False
    if text.startswith("(") and text.endswith(")"):  # accounting: (300) means −300
        negative, text = True, text[1:-1].strip()
    if text[:1] in {"-", "−", "–"}:
        negative, text = not negative, text[1:].strip()
    text = _CURRENCY_MARKS.sub("", text).strip()
    if text[:1] in {"-", "−"}:  # ¥-300
        negative, text = not negative, text[1:].strip()
    factor = Decimal(1)
    for unit in ("百万", "亿", "万", "千"):
        if text.endswith(unit):
            factor, text = _UNITS[unit], text[: -len(unit)].strip()
            text = _CURRENCY_MARKS.sub("", text).strip()
            break
    text = text.replace(" ", "").replace("\u00a0", "").replace("'", "")
    if "," in text:
        # A comma is accepted only as a thousands separator (1,234,567.50). "1 234,50" or "3,5"
        # (a decimal comma) is refused rather than guessed: 1,234 could mean either.
        if not _GROUPED.match(text):
            raise CellError(
                _(
                    "%(value)s: use a point for decimals and commas only between thousands (1,234.50)."
                )
                % {"value": original}
            )
        text = text.replace(",", "")
    try:
        number = Decimal(text)
    except InvalidOperation as exc:
        raise CellError(_("%(value)s is not a number.") % {"value": original}) from exc
    if not number.is_finite():
        raise CellError(_("%(value)s is not a number.") % {"value": original})
    number *= factor
    return -number if negative else number


# A plain unsigned ASCII number ("1234", "1234.50"): what most cells hold. Short enough that the
# general path's arithmetic is exact, so reading it directly gives the very same Decimal.
_PLAIN_NUMBER = re.compile(r"[0-9]{1,18}(?:\.[0-9]{1,8})?")


def parse_decimal(value: Any) -> Decimal:
    if value.__class__ is str and _PLAIN_NUMBER.fullmatch(value):
        return Decimal(value)
    if isinstance(value, bool):
        raise CellError(_("%(value)s is not a number.") % {"value": value})
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        # A float cell from Excel: its shortest repr is what the user typed (1234.5, not 1234.4999…)
        return Decimal(repr(value))
    text = clean_text(value)
    if not text:
        raise CellError(_("The value is empty."))
    return _number_from_text(text)


def parse_money(value: Any) -> Decimal:
    """An amount of money, rounded half up to cents: ¥1,234.50, 1.2万, 3亿, (300), -300."""
    return parse_decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


# Whole columns at once (see ChunkParser): when every cell is a plain number, the values are what
# the parser gives cell by cell; otherwise None, and the cells are parsed one by one.
_PLAIN_COLUMN = re.compile(r"(?:[0-9]{1,18}(?:\.[0-9]{1,8})?\n)*[0-9]{1,18}(?:\.[0-9]{1,8})?")
_TO_CENTS = methodcaller("quantize", CENT, rounding=ROUND_HALF_UP)


def parse_decimal_column(values: list[Any]) -> list[Decimal] | None:
    if values and values[0].__class__ is float and set(map(type, values)) == {float}:
        return list(map(Decimal, map(repr, values)))  # number cells of a workbook
    try:
        joined = "\n".join(values)
    except TypeError:  # not all text
        return None
    if joined.count("\n") != len(values) - 1 or not _PLAIN_COLUMN.fullmatch(joined):
        return None
    return list(map(Decimal, values))


def parse_money_column(values: list[Any]) -> list[Decimal] | None:
    numbers = parse_decimal_column(values)
    return None if numbers is None else list(map(_TO_CENTS, numbers))


COLUMN_PARSERS: dict[Any, Any] = {
    parse_decimal: parse_decimal_column,
    parse_money: parse_money_column,
}


def parse_int(value: Any) -> int:
    number = parse_decimal(value)
    if number != number.to_integral_value():
        raise CellError(_("%(value)s is not a whole number.") % {"value": clean_text(value)})
    return int(number)


def parse_percent(value: Any) -> Decimal:
    """A percentage as a number of percent: "35%", "35" and 0.35 (a %-formatted cell) all give 35.

    A bare number below 1 is read as a fraction (Excel stores 35 % as 0.35); 1 and above as percent.
    """
    if isinstance(value, float | int) and not isinstance(value, bool):
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
        return number * 100 if abs(number) < 1 else number
    text = clean_text(value)
    if text.endswith("%"):
        return parse_decimal(text[:-1])
    number = parse_decimal(text)
    return number * 100 if abs(number) < 1 else number


_TRUE = {"1", "y", "yes", "true", "x", "✓", "是", "对", "有", "t"}
_FALSE = {"0", "n", "no", "false", "否", "不", "无", "f", ""}


def parse_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = clean_text(value).lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise CellError(_("%(value)s is not yes or no.") % {"value": text})


def normalise_label(text: str) -> str:
    """A header or choice label folded for matching: NFKC, lower case, no spaces or punctuation."""
    text = unicodedata.normalize("NFKC", str(text)).casefold()
    return re.sub(r"[\s_\-./:：()（）*#]+", "", text)


class ChoiceParser:
    """Reads a choice by its stored value, its English label, its Chinese label or a synonym."""

    def __init__(self, choices: Iterable[tuple[str, Any]], synonyms: dict[str, str] | None = None):
        from django.utils import translation

        self.lookup: dict[str, str] = {}
        self.values: list[str] = []
        self.labels: list[Any] = []  # lazy: named in the reader's language when refused
        for value, label in choices:
            self.values.append(value)
            self.labels.append(label)
            self.lookup[normalise_label(value)] = value
            for language in ("en", "zh-hans"):
                with translation.override(language):
                    self.lookup.setdefault(normalise_label(str(label)), value)
        for word, value in (synonyms or {}).items():
            self.lookup[normalise_label(word)] = value

    def __call__(self, value: Any) -> str:
        text = clean_text(value)
        found = self.lookup.get(normalise_label(text))
        if found is None:
            raise CellError(
                _("%(value)s is not one of: %(choices)s.")
                % {"value": text, "choices": listed(self.labels)}
            )
        return found
