"""Plotly figure specs built in Python (so tests can assert on them); rendered by Plotly.js."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.utils.translation import gettext as _

BLUE, GREEN, ORANGE, RED, GREY = "#2563eb", "#15803d", "#b45309", "#c2410c", "#94a3b8"
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
    *, history: list[float], history_start: date, recommendation: dict[str, Any], plan_start: date
) -> dict[str, Any]:
    """History, the forecast with its 80 % / 95 % bands, and monthly floor / target / stretch."""
    hx = _month_labels(history_start, len(history))
    fx = _month_labels(plan_start, 12)
    fan = recommendation.get("fan", {})
    monthly = recommendation.get("monthly", [])
    # xgettext:no-python-format
    band95 = _("95% interval")
    # xgettext:no-python-format
    band80 = _("80% interval")
    traces: list[dict[str, Any]] = [
        {
            "type": "scatter",
            "x": hx,
            "y": history,
            "name": _("History"),
            "mode": "lines",
            "line": {"color": GREY, "width": 2},
        },
        {
            "type": "scatter",
            "x": fx,
            "y": fan.get("hi95", []),
            "line": {"width": 0},
            "showlegend": False,
            "hoverinfo": "skip",
            "name": "hi95",
        },
        {
            "type": "scatter",
            "x": fx,
            "y": fan.get("lo95", []),
            "fill": "tonexty",
            "fillcolor": "rgba(37,99,235,0.10)",
            "line": {"width": 0},
            "name": band95,
        },
        {
            "type": "scatter",
            "x": fx,
            "y": fan.get("hi80", []),
            "line": {"width": 0},
            "showlegend": False,
            "hoverinfo": "skip",
            "name": "hi80",
        },
        {
            "type": "scatter",
            "x": fx,
            "y": fan.get("lo80", []),
            "fill": "tonexty",
            "fillcolor": "rgba(37,99,235,0.22)",
            "line": {"width": 0},
            "name": band80,
        },
        {
            "type": "scatter",
            "x": fx,
            "y": fan.get("mean", []),
            "name": _("Baseline forecast"),
            "mode": "lines",
            "line": {"color": BLUE, "dash": "dot"},
        },
    ]
    if monthly:
        for index, (label, colour) in enumerate(
            ((_("Floor"), ORANGE), (_("Target"), GREEN), (_("Stretch"), RED))
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
                }
            )
    return {
        "data": traces,
        "layout": {**LAYOUT, "yaxis": {"tickformat": ",.0f", "rangemode": "tozero"}},
    }


def waterfall(
    recommendation: dict[str, Any], *, line_names: dict[str, str] | None = None
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
        else:
            label = names.get(key, key)
        x.append(label)
        y.append(step["amount"])
        measure.append("absolute" if key == "baseline" else "relative")
    x.append(_("Target"))
    y.append(recommendation.get("target", 0))
    measure.append("total")
    trace = {
        "type": "waterfall",
        "x": x,
        "y": y,
        "measure": measure,
        "connector": {"line": {"color": GREY}},
        "increasing": {"marker": {"color": GREEN}},
        "decreasing": {"marker": {"color": RED}},
        "totals": {"marker": {"color": BLUE}},
        "texttemplate": "%{y:,.0f}",
        "textposition": "outside",
    }
    return {
        "data": [trace],
        "layout": {**LAYOUT, "showlegend": False, "yaxis": {"tickformat": ",.0f"}},
    }
