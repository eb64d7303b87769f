"""Template filters for money and small display helpers."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template
from django.contrib.humanize.templatetags.humanize import intcomma
from django.utils.translation import get_language, pgettext
from django.utils.translation import gettext as _

from salesloop.common.words import labelled as words_labelled
from salesloop.common.words import listed, sentence_gap
from salesloop.common.words import sentences as words_sentences
from salesloop.core.rounding import half_up, percent

register = template.Library()


@register.filter
def yuan(value: Any) -> str:
    """Money in the company currency, compact: ¥1,234,567 or, in Chinese, ¥123.5万."""
    if value is None or value == "":
        return "—"
    amount = Decimal(value)
    sign = "−" if amount < 0 else ""  # the sign before the currency: −¥5,611,773
    amount = abs(amount)
    if (get_language() or "").startswith("zh") and amount >= 10_000:
        if amount >= 100_000_000:
            return f"{sign}¥{amount / 100_000_000:,.2f}亿"
        # ¥123.5万, but ¥9,514万 rather than ¥9,514.0万
        return f"{sign}¥{amount / 10_000:,.1f}".removesuffix(".0") + "万"
    whole = int(amount.quantize(Decimal(1)))
    return f"{sign if whole else ''}¥{intcomma(whole)}"


@register.filter
def signed_yuan(value: Any) -> str:
    """A change in money, compact (:func:`yuan`) with its sign: +¥2.97亿, −¥574.5万, ¥0."""
    return _with_plus(yuan(value), value)


def _with_plus(text: str, value: Any) -> str:
    """``text`` (a figure of ``value``) with a + when ``value`` is positive and does not read
    as zero."""
    return f"+{text}" if text not in ("—", "¥0", "0") and Decimal(value) > 0 else text


@register.filter
def money2(value: Any) -> str:
    """Exact money with two places and thousands separators."""
    if value is None or value == "":
        return "—"
    return f"{Decimal(value):,.2f}"


@register.filter
def money_exact(value: Any) -> str:
    """Exact money in the company currency, the cents only when there are some: ¥1,017,300,
    ¥1,017,300.50 (a list where the figure is looked up, not skimmed)."""
    if value is None or value == "":
        return "—"
    amount = Decimal(value)
    sign = "−" if amount < 0 else ""
    amount = abs(amount)
    text = f"{amount:,.0f}" if amount == amount.to_integral_value() else f"{amount:,.2f}"
    return f"{sign}¥{text}"


@register.filter
def amount_input(value: Any) -> str:
    """A value for an editable amount box: thousands separators, cents only when there are
    any (``AmountField`` reads the separators back)."""
    if value is None or value == "":
        return ""
    amount = Decimal(value)
    if amount == amount.to_integral_value():
        return f"{amount:,.0f}"
    return f"{amount:,.2f}"


@register.filter
def figure(value: Any, metric: str = "") -> str:
    """A metric's value for reading: compact money for revenue metrics, whole counts else."""
    from salesloop.targets.choices import MONEY_METRICS

    if value is None or value == "":
        return "—"
    if metric in MONEY_METRICS:
        return yuan(value)
    return intcomma(int(Decimal(value).quantize(Decimal(1))))


@register.filter
def exact_figure(value: Any, metric: str = "") -> str:
    """A metric's exact value: money as ``money_exact`` (¥1,017,300), whole counts else."""
    from salesloop.targets.choices import MONEY_METRICS

    if value is None or value == "":
        return "—"
    if metric in MONEY_METRICS:
        return money_exact(value)
    count = int(Decimal(value).quantize(Decimal(1)))
    return f"{'−' if count < 0 else ''}{intcomma(abs(count))}"


@register.filter
def signed_figure(value: Any, metric: str = "") -> str:
    """A difference in a metric: ``exact_figure`` with a + on the positive side."""
    return _with_plus(exact_figure(value, metric), value)


@register.filter
def split_gap(value: Any, metric: str = "") -> str:
    """What a parent's target less its children's sum means, in words: ``¥21,540,000 left to
    split`` (the children fall short) or ``¥1,000 over the target`` (they exceed it)."""
    if value is None or value == "":
        return ""
    gap = Decimal(value)
    text = exact_figure(abs(gap), metric)
    if gap > 0:
        return _("%(figure)s left to split") % {"figure": text}
    return _("%(figure)s over the target") % {"figure": text}


@register.filter
def short_figure(value: Any, metric: str = "") -> str:
    """A metric's value in few characters, for dense tables (a month row): compact money
    (¥19.24M, ¥3,713万) for revenue metrics, whole counts else."""
    from salesloop.targets.charts import compact
    from salesloop.targets.choices import MONEY_METRICS

    if value is None or value == "":
        return "—"
    if metric in MONEY_METRICS:
        return compact(float(value), dense=True)
    return intcomma(int(Decimal(value).quantize(Decimal(1))))


@register.filter
def signed_compact_figure(value: Any, metric: str = "") -> str:
    """A difference in a sentence: :func:`figure` (¥147.42亿 in Chinese, whole yuan in English)
    with a + on the positive side; no sign on a figure that reads as zero."""
    return _with_plus(figure(value, metric), value)


@register.filter
def signed_short_figure(value: Any, metric: str = "") -> str:
    """A difference in a dense table: :func:`short_figure` with a + on the positive side
    (+¥147.42亿, −¥2,319万); its exact figure goes in the cell's title."""
    return _with_plus(short_figure(value, metric), value)


@register.filter
def startswith(value: Any, prefix: Any) -> bool:
    """Whether ``value`` starts with ``prefix`` (a deal named after its customer)."""
    return bool(prefix) and str(value).startswith(str(prefix))


@register.filter
def add_list(first: Any, second: Any) -> list[Any]:
    return [*list(first or []), *list(second or [])]


@register.simple_tag(takes_context=True)
def query_with(context: Any, **changes: Any) -> str:
    """The current query string with some parameters changed (for sorting and paging links)."""
    query = context.get("query")
    params = query.copy() if query is not None else context["request"].GET.copy()
    for key, value in changes.items():
        if value in (None, ""):
            params.pop(key, None)
        else:
            params[key] = value
    return params.urlencode()


@register.filter
def pct(value: Any) -> str:
    """0.8 → 80%."""
    if value is None or value == "":
        return "—"
    return percent(float(value))


@register.filter
def chance(value: Any) -> str:
    """A simulated probability: 0.42 → 42%, but "> 99%" and "< 1%" at the ends — 2,000 draws
    that all reach a target say it is very likely, not certain."""
    if value is None or value == "":
        return "—"
    return chance_text(float(value))


def chance_text(p: float) -> str:
    """:func:`chance` for a number (the alerts' messages use it too)."""
    if p >= 0.995:
        return "> 99%"
    if p <= 0.005:
        return "< 1%"
    return percent(p)


@register.filter
def signed_pct(value: Any, places: Any = "") -> str:
    """0.287 → +29%, -0.05 → −5%, 0.0004 → +0.04% (a growth rate). ``places``: decimals to
    keep (``|signed_pct:1``: −9.8%, where a gap of −9.77% must not read as the −10% that
    would have flagged it)."""
    if value is None or value == "":
        return "—"
    exact = float(value)
    if places not in ("", None) and abs(exact) >= 0.5 * 10 ** -(2 + int(places)):
        return ("+" if exact > 0 else "−") + percent(abs(exact), int(places))
    rate = int(half_up(exact, 2).scaleb(2))  # whole percents, half away from zero
    if rate == 0 and exact != 0:  # a small change is not no change: +0.4%, −0.04%, +<0.01%
        sign, size = ("+" if exact > 0 else "−"), abs(exact)
        if size >= 0.0001:
            return sign + percent(size, 1 if size >= 0.001 else 2)
        return f"{sign}<0.01%"
    return f"+{rate}%" if rate > 0 else (f"−{-rate}%" if rate < 0 else "0%")


@register.simple_tag
def labelled(label: Any, text: Any) -> str:
    """``{% labelled _("Actual") value %}``: a label and what it says with the reader's colon
    ("Actual: ¥1" / "实际：¥1"; :func:`salesloop.common.words.labelled`)."""
    return words_labelled(label, text)


@register.simple_tag
def colon() -> str:
    """The reader's colon after a label whose value the template writes itself (with markup):
    ``{% translate "Owner" %}{% colon %}<strong>…</strong>`` — ": " / "：" (the colon of
    :func:`salesloop.common.words.labelled`)."""
    return words_labelled("", "")


@register.filter(name="sentences")
def sentences_filter(items: Any) -> str:
    """``{{ form.non_field_errors|sentences }}``: sentences one after the other as the reader
    writes them ("A. B." / "甲。乙。"), in place of ``|join:" "``."""
    return words_sentences(items or [])


@register.simple_tag
def gap() -> str:
    """What the reader writes between two sentences the template writes one after the other:
    ``{% blocktranslate %}…{% endblocktranslate %}{% gap %}{% blocktranslate %}…`` — a space
    in English, nothing in Chinese (the sentences of :func:`salesloop.common.words.sentences`)."""
    return sentence_gap()


@register.filter
def owners_with_ratios(rows: Any) -> str:
    """People named with their change, listed as the reader writes a list: "Rep_A1 +20%,
    Rep_B2 +12%" / "刘桂香 +201%、杨慧 +147%"."""
    return listed(f"{row.owner_name} {signed_pct(row.ratio)}" for row in rows)


@register.filter
def follow_up_items(rows: Any) -> str:
    """Follow-ups named with their owner and due day, listed as the reader writes a list:
    "Acme (Zhang, 2026-04-10); Beta (Li, 2026-04-25)" / "甲公司（张，2026-04-10）；乙公司（李，…）"."""
    one = pgettext(
        "a follow-up: its customer, owner and due day", "%(customer)s (%(owner)s, %(due)s)"
    )
    return pgettext("between longer items of a list", "; ").join(
        one % {"customer": row["customer"], "owner": row["owner"], "due": row["due"]}
        for row in rows
    )


@register.filter
def indent(depth: Any) -> int:
    return 14 + 22 * int(depth or 0)


@register.filter
def signed(value: Any) -> str:
    if value is None or value == "":
        return "—"
    amount = Decimal(value)
    return f"{'+' if amount > 0 else ''}{amount:,.2f}"


@register.filter
def localized(alert: Any, field: str) -> str:
    """An alert's title, message or action in the reader's language when the evaluation stored
    it (``data["i18n"]``), else as stored (in the company language)."""
    if hasattr(alert, "localized"):
        return str(alert.localized(field))
    return str(getattr(alert, field, ""))


@register.filter
def since(value: Any) -> str:
    """How long ago, in its largest unit only ("4 days", "2 hours"): what waits on someone
    reads at a glance, where Django's ``timesince`` says "4 days, 17 hours"."""
    from django.utils.timesince import timesince

    if not value:
        return ""
    return timesince(value, depth=1)
