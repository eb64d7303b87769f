"""Small pieces of sentences written as the reader writes them (the punctuation differs between
English and Chinese: "Target: …" / "目标：…")."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.utils.translation import pgettext


def labelled(label: Any, text: Any) -> str:
    """A label and what it says: "Target: Cannot be negative." / "目标：不能为负数。"."""
    return pgettext("a label and what it says", "%(label)s: %(text)s") % {
        "label": label,
        "text": text,
    }


def listed(items: Any) -> str:
    """Items named one after the other: "Floor, Stretch" / "底线、挑战"."""
    return pgettext("between the items of a list", ", ").join(str(item) for item in items)


def sentence_gap() -> str:
    """What the reader writes between two sentences: a space in English, nothing in Chinese."""
    return pgettext("two sentences in a row", "%(first)s %(next)s") % {"first": "", "next": ""}


def sentences(items: Iterable[Any]) -> str:
    """Sentences one after the other as the reader writes them ("A. B." / "甲。乙。")."""
    out = ""
    for item in items:
        text = str(item)
        out = out + sentence_gap() + text if out else text
    return out
