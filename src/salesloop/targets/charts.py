"""Plotly figure specs built in Python (so tests can assert on them); rendered by Plotly.js."""

from __future__ import annotations

import math
import statistics
from datetime import date
from typing import Any

from django.utils.translation import get_language
from django.utils.translation import gettext as _

BLUE, GREEN, ORANGE, RED, GREY = "#2563eb", "#15803d", "#b45309", "#c2410c", "#94a3b8"
PURPLE = "#7c3aed"  # the stretch: told apart from the floor's orange at a glance
LAYOUT = {
    "margin": {"l": 60, "r": 20, "t": 30, "b": 40},
    "paper_bgcolor": "rgba(0,0,0,0)",
    "plot_bgcolor": "rgba(0,0,0,0)",
    "font": {
        "family": "-apple-system, 'PingFang SC', 'Microsoft YaHei', 'Noto Sans CJK SC', sans-serif",
        "size": 12,
    },
    "legend": {"orientation": "h", "y": -0.15},
    "hovermode": "x unified",
}


def _short(number: float) -> str:
    """Up to two decimals, without trailing zeros: 5 → "5", 2.5 → "2.5", 1.25 → "1.25"."""
    text = f"{number:,.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def compact(value: float, money: bool = True, *, dense: bool = False) -> str:
    """A figure for a chart label: ¥5亿, ¥1,250万 in Chinese; ¥500M, ¥12.5k in English.

    ``dense`` (table cells, e.g. a month row) keeps about six characters: two decimals under
    the unit's hundred (¥19.24M, ¥1.25亿), fewer above (¥3,713万, ¥860k)."""
    sign = "−" if value < 0 else ""
    amount = abs(float(value))
    unit = "¥" if money else ""
    zh = (get_language() or "").startswith("zh")
    # (size, suffix, decimals below 100 of the unit, decimals from 100 on) for dense cells
    steps = (
        ((1e8, "亿", 2, 2), (1e4, "万", 1, 0))
        if zh
        else ((1e9, "B", 2, 2), (1e6, "M", 2, 2), (1e3, "k", 1, 0))
    )
    for size, suffix, places, big_places in steps:
        if amount >= size:
            scaled = amount / size
            if not dense:
                return f"{sign}{unit}{_short(scaled)}{suffix}"
            return f"{sign}{unit}{scaled:,.{big_places if scaled >= 100 else places}f}{suffix}"
    return f"{sign}{unit}{amount:,.0f}" if dense else f"{sign}{unit}{_short(amount)}"


def value_axis(
    top: float, money: bool = True, ticks: int = 5, *, bottom: float = 0.0
) -> dict[str, Any]:
    """A y axis from ``bottom`` (0 unless some bars go below it) to above ``top`` with round
    steps (1, 2, 2.5 or 5 × 10^k) labelled compactly, so large amounts read as ¥5亿 rather
    than 500,000,000."""
    bottom = min(float(bottom), 0.0)
    top = max(float(top), 0.0)
    if top - bottom < 1.0:
        top = bottom + 1.0
    raw = (top - bottom) / ticks
    power = 10 ** math.floor(math.log10(raw))
    step = next(k * power for k in (1, 2, 2.5, 5, 10) if k * power >= raw)
    low, high = math.floor(bottom / step + 1e-9), math.ceil(top / step - 1e-9)
    values = [i * step for i in range(low, max(high, low + 1) + 1)]
    pad = (values[-1] - values[0]) * 0.04
    return {
        "tickvals": values,
        "ticktext": [compact(v, money) for v in values],
        "range": [values[0] - pad if low < 0 else 0, values[-1] + pad],
        "automargin": True,
        "gridcolor": "#eef1f6",
        "zeroline": low < 0,
        "zerolinecolor": "#94a3b8",
    }


def waterfall_text(y: list[float], measure: list[str], money: bool = True) -> list[str]:
    """Bar labels of a waterfall, about six characters each: totals as they are, steps
    signed (¥17.59M, +¥1.68M, −¥140.7万)."""
    return [
        ("+" if m == "relative" and v >= 0 else "") + compact(v, money, dense=True)
        for v, m in zip(y, measure, strict=True)
    ]


def waterfall_hover(y: list[float], measure: list[str], money: bool = True) -> list[str]:
    """Each bar's exact amount for its hover: steps signed (+¥69,780,000, −¥1,200), totals as
    they are."""
    out = []
    for v, m in zip(y, measure, strict=True):
        sign = ("+" if v >= 0 else "−") if m == "relative" else ("−" if v < 0 else "")
        out.append(f"{sign}{'¥' if money else ''}{abs(v):,.0f}")
    return out


def waterfall_extent(y: list[float], measure: list[str]) -> tuple[float, float]:
    """Lowest and highest level a waterfall's bars reach (0 included)."""
    running, bottom, top = 0.0, 0.0, 0.0
    for v, m in zip(y, measure, strict=True):
        running = running + v if m == "relative" else v
        bottom, top = min(bottom, running), max(top, running)
    return bottom, top


def _month_labels(start: date, n: int) -> list[str]:
    out = []
    y, m = start.year, start.month
    for _i in range(n):
        out.append(f"{y}-{m:02d}")
        m += 1
        if m == 13:
            y, m = y + 1, 1
    return out


def forecast_fan(
    *,
    history: list[float],
    history_start: date,
    recommendation: dict[str, Any],
    plan_start: date,
    actual: list[float] | None = None,
    actual_start: date | None = None,
    money: bool = True,
) -> dict[str, Any]:
    """History, the forecast with its 80 % / 95 % bands, the monthly floor / target / stretch,
    and the actual figures recorded since the history (the plan year's months so far)."""
    # months before the first record are no sales history: the line starts at the first one,
    # or at the next when the first is a fragment (records begun mid-month), as the forecast
    # reads it (``planning._observed``)
    first = next((i for i, v in enumerate(history) if v), len(history))
    following = history[first + 1 : first + 13]
    if len(following) == 12 and history[first] < 0.5 * statistics.median(following):
        first += 1
    hx = _month_labels(history_start, len(history))[first:]
    history = history[first:]
    fx = _month_labels(plan_start, 12)
    fan = recommendation.get("fan", {})
    monthly = recommendation.get("monthly", [])
    # xgettext:no-python-format
    band95 = _("95% interval")
    # xgettext:no-python-format
    band80 = _("80% interval")
    hover = "%{y:,.0f}"
    traces: list[dict[str, Any]] = [
        {
            "type": "scatter",
            "x": hx,
            "y": history,
            "name": _("History"),
            "mode": "lines",
            "line": {"color": GREY, "width": 2},
            "hovertemplate": hover,
        },
        {
            "type": "scatter",
            "x": fx,
            "y": fan.get("hi95", []),
            "mode": "lines",
            "line": {"width": 0},
            "showlegend": False,
            "hoverinfo": "skip",
            "name": "hi95",
        },
        {
            "type": "scatter",
            "x": fx,
            "y": fan.get("lo95", []),
            "mode": "lines",
            "fill": "tonexty",
            "fillcolor": "rgba(37,99,235,0.10)",
            "line": {"width": 0},
            "name": band95,
            "hoverinfo": "skip",
        },
        {
            "type": "scatter",
            "x": fx,
            "y": fan.get("hi80", []),
            "mode": "lines",
            "line": {"width": 0},
            "showlegend": False,
            "hoverinfo": "skip",
            "name": "hi80",
        },
        {
            "type": "scatter",
            "x": fx,
            "y": fan.get("lo80", []),
            "mode": "lines",
            "fill": "tonexty",
            "fillcolor": "rgba(37,99,235,0.22)",
            "line": {"width": 0},
            "name": band80,
            "hoverinfo": "skip",
        },
        {
            "type": "scatter",
            "x": fx,
            "y": fan.get("mean", []),
            "name": _("Baseline forecast"),
            "mode": "lines",
            "line": {"color": BLUE, "dash": "dot"},
            "hovertemplate": hover,
        },
    ]
    if monthly:
        for index, (label, colour) in enumerate(
            ((_("Floor"), ORANGE), (_("Target"), GREEN), (_("Stretch"), PURPLE))
        ):
            traces.append(
                {
                    "type": "scatter",
                    "x": fx,
                    "y": [m[index] for m in monthly],
                    "name": label,
                    "mode": "lines",
                    "line": {
                        "color": colour,
                        "width": 2 if index == 1 else 1.5,
                        "dash": "solid" if index == 1 else "dash",
                    },
                    "hovertemplate": hover,
                }
            )
    lead = recommendation.get("lead_in") or {}
    lead_x: list[str] = []
    if lead.get("mean") and hx:
        # the rest of this year, joined to the last month known; months recorded since the
        # history (a plan made before its year, looked at during it) show as actual instead
        y0, m0 = (int(v) for v in lead["start"].split("-"))
        lead_x = _month_labels(date(y0, m0, 1), len(lead["mean"]))
        known = len(actual or []) if actual_start is not None else 0
        lead_x, lead_y = lead_x[known:], lead["mean"][known:]
        last_x, last_y = (
            (_month_labels(actual_start, known)[-1], (actual or [])[-1])
            if known and actual_start is not None
            else (hx[-1], history[-1])
        )
    if lead_x:
        traces.append(
            {
                "type": "scatter",
                "x": [last_x, *lead_x],
                "y": [last_y, *lead_y],
                "name": _("Rest of year (forecast)"),
                "mode": "lines",
                "line": {"color": GREY, "dash": "dot", "width": 2},
                "hovertemplate": hover,
            }
        )
    if actual and actual_start is not None:
        ax, ay = _month_labels(actual_start, len(actual)), list(actual)
        sizes = [5] * len(ax)
        if hx and _month_labels(date.fromisoformat(hx[-1] + "-01"), 2)[1] == ax[0]:
            # the months recorded since follow the history's last: the line goes on from it
            # (no marker there: that month is the history's), instead of a gap that read as
            # a shift of a month
            ax, ay, sizes = [hx[-1], *ax], [history[-1], *ay], [0, *sizes]
        traces.append(
            {
                "type": "scatter",
                "x": ax,
                "y": ay,
                "name": _("Actual"),
                "mode": "lines+markers",
                "line": {"color": "#0f172a", "width": 2.5},
                "marker": {"size": sizes},
                "hovertemplate": hover,
            }
        )
    highs = [
        *history,
        *(actual or []),
        *(lead.get("mean", []) if lead_x else []),
        *fan.get("hi95", []),
        *(max(m) for m in monthly),
    ]
    return {
        "data": traces,
        "layout": {
            **LAYOUT,
            "legend": {"orientation": "h", "y": -0.12, "font": {"size": 11}},
            "margin": {"l": 10, "r": 10, "t": 10, "b": 10},
            "xaxis": {
                "type": "date",
                "automargin": True,
                "tickformat": "%Y",
                "dtick": "M12",
                "hoverformat": "%Y-%m",  # a point is a month, not a year
            },
            "yaxis": value_axis(max(highs, default=1.0), money),
        },
        # on a phone, or in a half-width card (a laptop), the eight legend entries stood in one
        # column that scrolled: two a row
        "narrow_below": 520,
        "narrow": {
            "legend": {
                "entrywidth": 0.5,
                "entrywidthmode": "fraction",
                "font": {"size": 10},
                "y": -0.14,
            }
        },
    }


def waterfall(
    recommendation: dict[str, Any],
    *,
    line_names: dict[str, str] | None = None,
    money: bool = True,
) -> dict[str, Any]:
    """The contribution of each input to the recommended target."""
    names = {
        "baseline": _("Baseline"),
        "growth": _("Market growth"),
        "hires": _("New hires"),
        "cap": _("Capacity cap"),
    }
    x, y, measure = [], [], []
    for step in recommendation.get("waterfall", []):
        key = step["key"]
        if key.startswith("uplift:"):
            code = key.split(":", 1)[1]
            label = _("Uplift: %(line)s") % {"line": (line_names or {}).get(code, code)}
            label = label.replace(": ", ":<br>", 1).replace("：", "：<br>", 1)
        else:
            # two lines where the words allow ("Market<br>growth"): at 1,100 px the English
            # labels ran into each other ("BaselineMarket growth")
            label = str(names.get(key, key)).replace(" ", "<br>", 1)
        x.append(label)
        y.append(step["amount"])
        measure.append("absolute" if key == "baseline" else "relative")
    x.append(_("Target"))
    y.append(recommendation.get("target", 0))
    measure.append("total")
    text = waterfall_text(y, measure, money)
    bottom, top = waterfall_extent(y, measure)
    trace = {
        "type": "waterfall",
        "x": x,
        "y": y,
        "measure": measure,
        "text": text,
        "textposition": "outside",
        "connector": {"line": {"color": GREY}},
        "increasing": {"marker": {"color": GREEN}},
        "decreasing": {"marker": {"color": RED}},
        "totals": {"marker": {"color": BLUE}},
        # a step's own amount (Plotly's %{y} of a step is the running total)
        "customdata": waterfall_hover(y, measure, money),
        "hovertemplate": "%{x}<br>%{customdata}<extra></extra>",
    }
    axis = value_axis(top * 1.12, money, bottom=bottom * 1.12)
    return {
        "data": [trace],
        "layout": {
            **LAYOUT,
            "showlegend": False,
            "hovermode": "closest",
            "margin": {"l": 10, "r": 10, "t": 24, "b": 10},
            "xaxis": {"type": "category", "automargin": True, "tickangle": 0},
            "yaxis": axis,
        },
    }
