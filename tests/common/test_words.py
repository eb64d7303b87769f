"""A label and what it says, and a list, written as the reader writes them."""

from __future__ import annotations

from django.utils import translation

from salesloop.common.words import labelled, listed


def test_a_label_reads_with_the_readers_colon():
    with translation.override("en"):
        assert labelled("Target", "Cannot be negative.") == "Target: Cannot be negative."
        assert listed(["Floor", "Stretch"]) == "Floor, Stretch"
    with translation.override("zh-hans"):  # full-width, no space after it
        assert labelled("目标", "不能为负数。") == "目标：不能为负数。"
        assert listed(["底线", "挑战"]) == "底线、挑战"
