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


def test_a_template_joins_sentences_as_the_reader_writes_them():
    """``|sentences`` (a form's errors, a target's SMART sentences) and ``{% gap %}`` (between
    two translated sentences): a space in English, none after a Chinese full stop; the
    sentences are escaped."""
    from django.template import Context, Template

    page = Template("{% load salesloop %}{{ errors|sentences }}|{{ first }}{% gap %}{{ next }}")
    with translation.override("en"):
        context = Context(
            {"errors": ["A is wrong.", "<B> is missing."], "first": "X.", "next": "Y."}
        )
        assert page.render(context) == "A is wrong. &lt;B&gt; is missing.|X. Y."
    with translation.override("zh-hans"):
        context = Context(
            {"errors": ["甲有误。", "乙缺失。"], "first": "本目标较此增长 +34%。", "next": "其中…"}
        )
        assert page.render(context) == "甲有误。乙缺失。|本目标较此增长 +34%。其中…"


def test_a_smart_sentence_and_its_trend_hint_join_as_the_reader_writes_them():
    from salesloop.targets.smart import sentence

    check = {
        "letter": "A",
        "ok": False,
        "reason": "probability_low",
        "figures": {"probability": 0.13, "band_low": 0.2, "trend_median": 2420000},
    }
    with translation.override("en"):
        text = sentence(check, "booked_revenue")
        assert "likely too high to motivate. The trend alone reaches about" in text
    with translation.override("zh-hans"):
        text = sentence(check, "booked_revenue")
        assert "起不到激励作用。仅按趋势" in text, text
