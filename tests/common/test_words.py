"""A label and what it says, and a list, written as the reader writes them."""

from __future__ import annotations

from django.utils import translation

from salesloop.common.words import labelled, listed, sentences


def test_a_label_reads_with_the_readers_colon():
    with translation.override("en"):
        assert labelled("Target", "Cannot be negative.") == "Target: Cannot be negative."
        assert listed(["Floor", "Stretch"]) == "Floor, Stretch"
    with translation.override("zh-hans"):  # full-width, no space after it
        assert labelled("目标", "不能为负数。") == "目标：不能为负数。"
        assert listed(["底线", "挑战"]) == "底线、挑战"


def test_sentences_follow_each_other_as_the_reader_writes_them():
    with translation.override("en"):
        assert sentences(["A is wrong.", "B is missing."]) == "A is wrong. B is missing."
    with translation.override("zh-hans"):  # no space after a full stop
        assert sentences(["甲有误。", "乙缺失。"]) == "甲有误。乙缺失。"


def test_a_template_writes_a_label_with_the_readers_colon():
    """``{% labelled %}`` and ``{% colon %}`` (for a value the template marks up itself), as the
    plan, customer and dashboard pages use them; a name is escaped, the template's markup not."""
    from django.template import Context, Template

    page = Template(
        '{% load i18n salesloop %}{% labelled _("Owner") who %} · '
        '{% translate "Owner" %}{% colon %}<strong>{{ who }}</strong>'
    )
    with translation.override("en"):
        assert page.render(Context({"who": "A&B"})) == (
            "Owner: A&amp;B · Owner: <strong>A&amp;B</strong>"
        )
    with translation.override("zh-hans"):
        assert (
            page.render(Context({"who": "李桂花"}))
            == "负责人：李桂花 · 负责人：<strong>李桂花</strong>"
        )
