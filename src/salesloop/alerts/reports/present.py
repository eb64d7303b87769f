"""A stored report in the reader's language.

A report's snapshot (``Report.data``, :mod:`salesloop.alerts.reports.builders`) holds figures,
ids, names and keys with the parameters of each sentence, and the alerts' own titles and
actions in every interface language. Its words — the period's label, the title, the
recommended actions, the calibration finding, the charts' labels and hovers — are written here,
when it is read, in the active language: a Chinese director reading a report built while
English was active (or the reverse) reads it in Chinese, with the same figures. The page, the
email, the workbook, the notification centre and the report list all read it through here.

Reports stored before the snapshot was language-neutral (no ``"v"``) carry their text as it was
built: they are shown as they were stored.
"""

from __future__ import annotations

import copy
from types import SimpleNamespace
from typing import Any

from django.conf import settings
from django.utils import translation
from django.utils.translation import get_language, gettext_lazy, ngettext
from django.utils.translation import gettext as _

from salesloop.alerts.choices import ReportKind, RuleKey, Severity
from salesloop.alerts.reports.builders import DRIVERS, SCHEMA
from salesloop.common.words import sentences
from salesloop.core.rounding import percent
from salesloop.insights import charts
from salesloop.insights.scope import period_text
from salesloop.targets.choices import Metric
from salesloop.web.templatetags.salesloop import figure, signed_pct, yuan

ACTION_KINDS = {
    "driver": gettext_lazy("Gap driver"),
    "bottleneck": gettext_lazy("Bottleneck"),
    "target": gettext_lazy("Target adjustment"),
}
# the fixed labels a stored figure refers to by key
FIGURE_LABELS = {
    "expected_from_deals": gettext_lazy("Expected from deals"),
    "won_to_date": gettext_lazy("Won to date"),
    "won": gettext_lazy("Won"),
}


def is_neutral(data: dict[str, Any] | None) -> bool:
    """Whether a snapshot is language-neutral (else it carries the text it was built with)."""
    return bool(data) and (data or {}).get("v") == SCHEMA


def report_present(data: dict[str, Any], language: str | None = None) -> dict[str, Any]:
    """The snapshot with its words written in ``language`` (default: the active one): the same
    shape the page, the email and the workbook read (``period.label``, ``card.label``,
    ``risks[].title``, ``actions[].text``, ``calibration.message``, built ``figures`` …)."""
    if language:
        with translation.override(language):
            return report_present(data)
    if not is_neutral(data):
        return _legacy(data)
    out = copy.deepcopy(data)
    period = out["period"]
    period["label"] = period_text(period)
    if isinstance(period.get("previous"), dict):
        period["previous"] = period_text(period["previous"])
    out["card"]["label"] = period["label"]
    month = out.get("month")
    if month:
        month["label"] = period_text(month["period"]) if month.get("period") else ""
    for risk in out.get("risks") or []:
        risk["title"] = _in_language(risk.get("title"))
        risk["action"] = _in_language(risk.get("action"))
        risk["severity_label"] = _label(Severity, risk.get("severity"))
        risk["rule_label"] = _label(RuleKey, risk.get("rule"))
    out["risk_kinds"] = [
        {"rule": rule, "label": _label(RuleKey, rule), "count": count}
        for rule, count in out.get("risk_kinds") or []
    ]
    calibration = out.get("calibration")
    if calibration:
        calibration["message"] = calibration_text(calibration)
    for adj in out.get("adjustments") or []:
        adj["why"] = _why(adj["median_pace"])
    if isinstance(out.get("actions"), list):  # a review's recommendations (a weekly: what is due)
        out["actions"] = [
            {**a, "kind_label": str(ACTION_KINDS.get(a["kind"], a["kind"])), "text": action_text(a)}
            for a in out["actions"]
        ]
    for row in out.get("planning") or []:
        row["metric_label"] = _label(Metric, row["metric"])
        row["text"] = planning_text(row)
    out["figures"] = {
        key: _figure(spec, out) for key, spec in (data.get("figures") or {}).items() if spec
    }
    return out


def _legacy(data: dict[str, Any]) -> dict[str, Any]:
    """A report stored with its text: as it was, under the keys the templates now read."""
    out = dict(data or {})
    if out.get("risks"):
        out["risks"] = [{"rule_label": r.get("rule"), **r} for r in out["risks"]]
    if isinstance(out.get("actions"), list):
        out["actions"] = [{"kind_label": a.get("kind"), **a} for a in out["actions"]]
    return out


def report_title(data: dict[str, Any]) -> str:
    """The title of a presented snapshot (:func:`report_present`), in the active language."""
    kind = data["kind"]
    if kind == ReportKind.WEEKLY:
        return _("Weekly progress report · %(node)s · week to %(end)s") % {
            "node": data["node"]["name"],
            "end": data["week"]["end"],
        }
    label = _("Monthly review") if kind == ReportKind.MONTHLY else _("Quarterly review")
    return _("%(label)s · %(node)s · %(period)s") % {
        "label": label,
        "node": data["node"]["name"],
        "period": data["period"]["label"],
    }


def report_localized_title(report: Any, language: str | None = None) -> str:
    """A stored report's title in ``language`` (default: the active one); as stored for a
    report that carries its text. A list reads only the snapshot's keys the title needs
    (``title_data``, see :func:`salesloop.alerts.selectors.report_list`)."""
    data = getattr(report, "title_data", None) or report.data
    return title_in(data, str(report.title), language)


def title_in(data: dict[str, Any] | None, stored: str, language: str | None = None) -> str:
    """The title written from a snapshot (or its title keys) in ``language``; ``stored`` for a
    report that carries its text."""
    if not is_neutral(data):
        return stored
    if language:
        with translation.override(language):
            return neutral_title(data or {})
    return neutral_title(data or {})


def neutral_title(data: dict[str, Any]) -> str:
    """The title of a language-neutral snapshot in the active language (without drawing the
    rest of the report: the report list and the notification centre show many)."""
    return report_title(
        {**data, "period": {**data["period"], "label": period_text(data["period"])}}
    )


# ------------------------------------------------------------------ sentences


def _pct(v: float | None) -> str:
    return "–" if v is None else percent(v)


def _in_language(texts: Any) -> str:
    """A text kept in every interface language, in the active one (else the company's)."""
    if not isinstance(texts, dict):
        return "" if texts is None else str(texts)
    code = get_language() or settings.LANGUAGE_CODE
    for key in (code, settings.LANGUAGE_CODE):
        if texts.get(key):
            return str(texts[key])
    return str(next((v for v in texts.values() if v), ""))


def _label(choices: Any, value: Any) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return "" if value is None else str(value)


def _why(median_pace: float) -> str:
    return _(
        "the unit's median pace index was %(p).2f — the target, not the person, looks wrong."
    ) % {"p": median_pace}


def calibration_text(c: dict[str, Any]) -> str:
    return _(
        "%(share)s of %(n)s members were below %(b)s of pace (median pace index %(m).2f): the "
        "target is more likely miscalibrated than the people."
    ) % {
        "share": _pct(c["share_behind"]),
        "n": c["members"],
        "b": _pct(c["behind"]),
        "m": c["median_pace"],
    }


def action_text(a: dict[str, Any]) -> str:
    """A recommended action's sentence, with the figures that motivate it (money as the page
    shows it: ¥3,572,190, or ¥357.2万 in Chinese)."""
    if a["kind"] == "driver":
        text = {
            "opportunities": _(
                "Too few deals were closed: raise pipeline creation (more visits, lead follow-up) — "
                "the number of deals explains %(v)s of the gap."
            ),
            "win_rate": _(
                "Too many deals were lost: review the lost deals with each owner and coach qualification "
                "and negotiation — the win rate explains %(v)s of the gap."
            ),
            "deal_size": _(
                "Deals were smaller than usual: push bundles and the higher-value product lines — deal "
                "size explains %(v)s of the gap."
            ),
        }[a["driver"]]
        return text % {"v": yuan(a["amount"])}
    if a["kind"] == "bottleneck":
        return _(
            "Coach %(name)s on %(stage)s (conversion %(conv)s vs team median %(median)s): a median "
            "conversion would have added %(gain)s."
        ) % {
            "name": a["name"],
            "stage": a["stage"],
            "conv": _pct(a["conversion"]),
            "median": _pct(a["team_median"]),
            "gain": yuan(a["gain"]),
        }
    return _(
        "Revise %(name)s's target for the rest of the year from %(old)s to %(new)s (%(chg)s): "
        "%(why)s"
    ) % {
        "name": a["name"],
        "old": yuan(a["old"]),
        "new": yuan(a["new"]),
        "chg": ("+" if a["change"] > 0 else "") + yuan(a["change"]),
        "why": _why(a["median_pace"]),
    }


def planning_text(row: dict[str, Any]) -> str:
    """A draft plan's state for one metric in a sentence (the weekly report's email):
    top-down against bottom-up, the proposals in and awaiting the reader, who has still to
    propose."""
    metric = row["metric"]
    values = {
        "plan": row["plan_name"],
        "metric": _label(Metric, metric),
        "node": row["node"],
        "top": figure(row["top_down"], metric),
    }
    if row["bottom_up"] is None:
        text = _("%(plan)s · %(metric)s, %(node)s: top-down %(top)s, no bottom-up figure yet.")
    else:
        text = _(
            "%(plan)s · %(metric)s, %(node)s: top-down %(top)s, bottom-up %(bottom)s (%(ratio)s)."
        )
        values |= {"bottom": figure(row["bottom_up"], metric), "ratio": signed_pct(row["ratio"])}
    parts = [text % values]
    parts.append(
        ngettext(
            "%(n)s proposal in, %(d)s waiting for your decision.",
            "%(n)s proposals in, %(d)s waiting for your decision.",
            row["proposals"],
        )
        % {"n": row["proposals"], "d": row["to_decide"]}
    )
    if row["not_proposed"]:
        parts.append(
            ngettext(
                "%(n)s person below you has not proposed yet.",
                "%(n)s people below you have not proposed yet.",
                row["not_proposed"],
            )
            % {"n": row["not_proposed"]}
        )
    return sentences(parts)


# ------------------------------------------------------------------ figures


def _split(row: dict[str, Any]) -> SimpleNamespace:
    return SimpleNamespace(**{k: row.get(k) or 0.0 for k in ("reference", "current", *DRIVERS)})


def _figure_label(key: str, data: dict[str, Any]) -> str:
    """A label a stored figure refers to: the (previous) period's, or a fixed one."""
    if key == "period":
        return str(data["period"]["label"])
    if key == "previous":
        return str(data["period"]["previous"])
    return str(FIGURE_LABELS.get(key, key))


def _figure(spec: dict[str, Any], data: dict[str, Any]) -> dict[str, Any] | None:
    """A figure drawn from what the snapshot stored, labelled in the active language."""
    chart = spec.get("chart")
    if chart == "burn_up":
        return charts.burn_up(spec["series"], spec.get("money", True))
    if chart == "gap_waterfall":
        split = data["gaps"].get(spec["split"])
        if not split:
            return None
        return charts.gap_waterfall(
            _split(split),
            reference_label=_figure_label(spec["reference"], data),
            current_label=_figure_label(spec["current"], data),
        )
    if chart == "children_drivers":
        rows = data["gaps"].get("children") or []
        if not rows:
            return None
        return charts.children_drivers([r["name"] for r in rows], [_split(r) for r in rows])
    return None
