"""Plotly figure specs for the dashboards, built in Python so tests can assert on them."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from django.utils.translation import gettext as _

from salesloop.core.rounding import half_up, percent
from salesloop.targets.charts import (
    BLUE,
    GREEN,
    GREY,
    LAYOUT,
    ORANGE,
    RED,
    value_axis,
    waterfall_extent,
    waterfall_text,
)
from salesloop.web.templatetags.salesloop import yuan

DRIVER_LABELS = {"opportunities": "Opportunities", "win_rate": "Win rate", "deal_size": "Deal size"}


def _layout(**extra: Any) -> dict[str, Any]:
    return {**LAYOUT, **extra}


def hover_amounts(values: list[Any], money: bool = True, *, signed: bool = False) -> list[str]:
    """Each point's figure for its hover, as the page writes money (``yuan``: ¥2,122.4万, ¥5.12亿;
    ¥1,234,567 in English) rather than Plotly's raw 21,224,722; counts with separators.
    ``signed``: a step of a waterfall or a driver's contribution (+¥129万, −¥6.2万)."""
    out = []
    for v in values:
        if v is None:
            out.append("")
            continue
        text = yuan(v) if money else f"{'−' if v < 0 else ''}{abs(float(v)):,.0f}"
        out.append("+" + text if signed and v >= 0 else text)
    return out


# hover of a trace in an "x unified" box: its name, then its figure (precomputed in customdata)
NAMED_HOVER = "%{fullData.name}: %{customdata}<extra></extra>"

# On a narrow screen (a phone, under 600 px: see insights/static/insights/charts.js) a figure's
# layout is merged with its "narrow" overrides: the legend below the plot in small type, small
# margins (the axes push them as they need: automargin), long category labels wrapped or tilted.
NARROW_LEGEND = {
    "orientation": "h",
    "x": 0,
    "xanchor": "left",
    "y": -0.12,
    "yanchor": "top",
    "font": {"size": 10},
    "itemwidth": 30,
}
NARROW_MARGIN = {"l": 8, "r": 8, "t": 24, "b": 8}


def _narrow(**extra: Any) -> dict[str, Any]:
    return {"legend": NARROW_LEGEND, "margin": NARROW_MARGIN, **extra}


def wrap_narrow(label: str, width: int = 4) -> str:
    """A category label in lines that fit a phone's narrow bar: words kept whole when there are
    spaces ("2026财年<br>Q3", "Expected<br>from deals"; a Chinese character counts as two
    letters), otherwise Chinese in balanced lines of at most ``width`` characters
    ("应由赢<br>单带来")."""
    plain = label.replace("<br>", " ")

    def units(text: str) -> int:
        return sum(1 if ord(c) < 0x2E80 else 2 for c in text)

    if " " in plain.strip():
        lines: list[str] = []
        for word in plain.split():
            if lines and units(lines[-1]) + 1 + units(word) <= width * 2 + 2:
                lines[-1] += " " + word
            else:
                lines.append(word)
        return "<br>".join(lines)
    if len(plain) <= width + 1:
        return plain
    parts = -(-len(plain) // width)
    size = -(-len(plain) // parts)
    return "<br>".join(plain[i : i + size] for i in range(0, len(plain), size))


def _category_ticks(labels: list[str], width: int = 4) -> dict[str, Any]:
    return {
        "tickmode": "array",
        "tickvals": labels,
        "ticktext": [wrap_narrow(str(v), width) for v in labels],
        "tickangle": 0,
        "automargin": True,
        "tickfont": {"size": 11},
    }


def _top(*series: list[float | None] | None) -> float:
    return max((v for ys in series for v in (ys or []) if v is not None), default=0.0)


def burn_up(data: dict[str, Any], money: bool = True) -> dict[str, Any]:
    x = data["days"]
    traces = [
        {
            "type": "scatter",
            "x": x,
            "y": data["expected"],
            "name": _("Expected (seasonal, working days)"),
            "mode": "lines",
            "line": {"color": GREY, "dash": "dot"},
            "customdata": hover_amounts(data["expected"], money),
            "hovertemplate": NAMED_HOVER,
        },
        {
            "type": "scatter",
            "x": x,
            "y": data["actual"],
            "name": _("Actual"),
            "mode": "lines",
            "line": {"color": BLUE, "width": 3},
            "connectgaps": True,
            "customdata": hover_amounts(data["actual"], money),
            "hovertemplate": NAMED_HOVER,
        },
    ]
    if data["run_rate"]:
        traces.append(
            {
                "type": "scatter",
                "x": x,
                "y": data["run_rate"],
                "name": _("Run-rate projection"),
                "mode": "lines",
                "line": {"color": ORANGE, "dash": "dash"},
                "customdata": hover_amounts(data["run_rate"], money),
                "hovertemplate": NAMED_HOVER,
            }
        )
    shapes = []
    # the three levels across the period (the target's line solid: where the expected line ends)
    for key, colour, dash in (
        ("floor", ORANGE, "dot"),
        ("target", GREEN, "solid"),
        ("stretch", RED, "dot"),
    ):
        if data[key]:
            shapes.append(
                {
                    "type": "line",
                    "xref": "paper",
                    "x0": 0,
                    "x1": 1,
                    "y0": data[key],
                    "y1": data[key],
                    "line": {"color": colour, "width": 1, "dash": dash},
                }
            )
    # labelled at the left end: the cumulative lines start near zero there, while at the right
    # end the projection usually runs close to the floor or stretch line and hid the label
    annotations = [
        {
            "xref": "paper",
            "x": 0,
            "y": data[k],
            "text": label,
            "showarrow": False,
            "xanchor": "left",
            "yanchor": "bottom",
            "font": {"size": 10, "color": GREY},
        }
        for k, label in (("floor", _("Floor")), ("target", _("Target")), ("stretch", _("Stretch")))
        if data[k]
    ]
    # dates as numbers (12-06, 2026-03): Plotly's own labels are English ("Dec 6")
    short = len(x) <= 92
    return {
        "data": traces,
        "layout": _layout(
            xaxis={"tickformat": "%m-%d" if short else "%Y-%m", "hoverformat": "%Y-%m-%d"},
            yaxis={
                **value_axis(
                    _top(
                        data["expected"],
                        data["actual"],
                        data["run_rate"],
                        [data["floor"], data["target"], data["stretch"]],
                    ),
                    money,
                ),
                "hoverformat": ",.0f",
            },
            shapes=shapes,
            annotations=annotations,
        ),
        "narrow": _narrow(),
    }


def leaderboard(rows: list[tuple[str, float | None, float | None]]) -> dict[str, Any]:
    """Horizontal bars of attainment vs target per child (rows: name, vs target, pace index),
    coloured by pace — attainment alone reads as "behind" early in the period: green at or
    above the expected-to-date pace, orange from 0.9, red below."""
    rows = sorted(rows, key=lambda r: (r[1] is None, r[1] or 0))
    names = [r[0] for r in rows]
    fractions = [r[1] or 0 for r in rows]
    values = [round(v * 100, 1) for v in fractions]
    paces = [r[2] for r in rows]
    colours = [
        GREY if p is None else GREEN if p >= 1 else ORANGE if p >= 0.9 else RED for p in paces
    ]
    # the label reads the unrounded figure as the table beside it does, half up: 86.52 % is
    # "87%" in both (from the bar's 86.5 it read "86%" half to even), 12.5 % is "13%"
    text = [
        f"{percent(v)} · {_('pace')} {half_up(p, 2)}" if p is not None else percent(v)
        for v, p in zip(fractions, paces, strict=True)
    ]
    trace = {
        "type": "bar",
        "orientation": "h",
        "y": names,
        "x": values,
        "marker": {"color": colours},
        "text": text,
        "textposition": "auto",
        "name": _("Attainment vs target"),
        "hovertemplate": "%{y}: %{x:.1f}%<extra></extra>",
    }
    return {
        "data": [trace],
        "layout": _layout(
            hovermode="closest",
            showlegend=False,
            xaxis={"ticksuffix": "%", "rangemode": "tozero"},
            yaxis={"type": "category", "automargin": True},
            margin={"l": 20, "r": 20, "t": 10, "b": 30},
        ),
    }


def funnel_hover(reached: list[float]) -> list[str]:
    """Each step's hover in the reader's language: how many reached it, and its share of the
    previous and of the first step (Plotly's own funnel hover is English: "80% of previous")."""
    out = []
    for i, n in enumerate(reached):
        lines = [_("Reached: %(n)s") % {"n": hover_amounts([n], money=False)[0]}]
        if i > 0:
            lines.append(_("%(pct)s of the previous step") % {"pct": _share(n, reached[i - 1])})
            lines.append(_("%(pct)s of the first step") % {"pct": _share(n, reached[0])})
        out.append("<br>".join(lines))
    return out


def _share(part: float, whole: float) -> str:
    return "—" if not whole else percent(float(part) / float(whole))


def funnel(labels: list[str], reached: list[float]) -> dict[str, Any]:
    trace = {
        "type": "funnel",
        "y": labels,
        "x": reached,
        # the counts grouped as the tables write them (Plotly wrote 173.828k), with each step's
        # share of the previous one
        "text": [
            hover_amounts([n], money=False)[0]
            + ("" if i == 0 else f"<br>{_share(n, reached[i - 1])}")
            for i, n in enumerate(reached)
        ],
        "textinfo": "text",
        "marker": {"color": [BLUE] * (len(labels) - 1) + [GREEN]},
        "name": _("Reached"),
        # the hover written here, in the reader's language (Plotly's default is English)
        "customdata": funnel_hover(reached),
        "hovertemplate": "%{y}<br>%{customdata}<extra></extra>",
    }
    return {
        "data": [trace],
        "layout": _layout(
            hovermode="closest",
            showlegend=False,
            yaxis={"type": "category"},
            margin={"l": 190, "r": 20, "t": 10, "b": 20},
        ),
        # long stage names on two lines: a 190 px margin is half a phone
        "narrow": {
            "margin": {"l": 8, "r": 8, "t": 10, "b": 10},
            "yaxis": {"type": "category", **_category_ticks(labels, width=6)},
        },
    }


def gap_waterfall(split: Any, *, reference_label: str, current_label: str) -> dict[str, Any]:
    """Reference → three drivers → current: the LMDI contributions add up exactly."""
    # long labels wrap onto two lines rather than tilt
    # (all of them where they have two words: at 1,100 px "Deal size" and "Won to date" ran
    # into each other)
    x = [
        _wrap(reference_label, 0),
        _("Opportunities"),
        _wrap(str(_("Win rate")), 0),
        _wrap(str(_("Deal size")), 0),
        _wrap(current_label, 0),
    ]
    y = [
        float(split.reference),
        float(split.opportunities),
        float(split.win_rate),
        float(split.deal_size),
        float(split.current),
    ]
    measure = ["absolute", "relative", "relative", "relative", "total"]
    bottom, top = waterfall_extent(y, measure)
    trace = {
        "type": "waterfall",
        "x": x,
        "y": y,
        "measure": measure,
        "connector": {"line": {"color": GREY}},
        "increasing": {"marker": {"color": GREEN}},
        "decreasing": {"marker": {"color": RED}},
        "totals": {"marker": {"color": BLUE}},
        # compact labels on the bars (¥1,759万, +¥168万); on hover the step's own amount (Plotly's
        # %{y} of a step is the running total), as the page writes money
        "text": waterfall_text(y, measure),
        "textposition": "outside",
        "customdata": [
            hover_amounts([v], signed=m == "relative")[0] for v, m in zip(y, measure, strict=True)
        ],
        "hovertemplate": "%{x}: %{customdata}<extra></extra>",
    }
    return {
        "data": [trace],
        "layout": _layout(
            showlegend=False,
            hovermode="closest",
            # category: a month's label ("2026-11") would otherwise make Plotly read the axis as
            # dates and drop the other bars
            xaxis={"type": "category", "tickangle": 0, "automargin": True},
            yaxis=value_axis(top * 1.15, bottom=bottom * 1.15),
        ),
        # five bars in a phone's width: the labels on short lines rather than over each other
        "narrow": _narrow(
            xaxis={"type": "category", **_category_ticks(x)},
            uniformtext={"mode": "hide", "minsize": 9},
        ),
    }


def with_category_axes(figure: dict[str, Any]) -> dict[str, Any]:
    """``figure`` with its axes of labels typed as categories, for figures stored before the
    charts above typed them (archived reports): Plotly reads an axis with one date-like label
    ("2026-09") among words as dates and drops the other bars."""
    layout = dict(figure.get("layout") or {})
    for trace in figure.get("data") or []:
        if trace.get("type") not in ("waterfall", "bar"):
            continue
        name = "yaxis" if trace.get("orientation") == "h" else "xaxis"
        labels = trace.get("y" if name == "yaxis" else "x") or []
        if any(isinstance(v, str) and not _DATE_LIKE.fullmatch(v) for v in labels):
            layout[name] = {"type": "category", **(layout.get(name) or {})}
    return {**figure, "layout": layout}


_DATE_LIKE = re.compile(r"\d{4}-\d{2}(-\d{2})?")


def _wrap(label: str, longer_than: int = 12) -> str:
    words = label.split(" ")
    if len(label) <= longer_than or len(words) < 2:
        return label
    # the break that makes the longer line shortest ("Expected<br>to date", not "Expected to<br>date")
    best = min(
        range(1, len(words)),
        key=lambda i: max(len(" ".join(words[:i])), len(" ".join(words[i:]))),
    )
    return " ".join(words[:best]) + "<br>" + " ".join(words[best:])


def children_drivers(names: list[str], splits: list[Any]) -> dict[str, Any]:
    """Stacked bars: each child's gap split by driver."""
    traces = []
    for key, label, colour in (
        ("opportunities", _("Opportunities"), BLUE),
        ("win_rate", _("Win rate"), ORANGE),
        ("deal_size", _("Deal size"), GREEN),
    ):
        traces.append(
            {
                "type": "bar",
                "name": label,
                "x": names,
                "y": [float(getattr(s, key)) for s in splits],
                "marker": {"color": colour},
                "customdata": hover_amounts([float(getattr(s, key)) for s in splits], signed=True),
                "hovertemplate": NAMED_HOVER,
            }
        )
    ups = [sum(max(float(getattr(s, k)), 0.0) for k in DRIVER_LABELS) for s in splits]
    downs = [sum(min(float(getattr(s, k)), 0.0) for k in DRIVER_LABELS) for s in splits]
    return {
        "data": traces,
        "layout": _layout(
            barmode="relative",
            xaxis={"type": "category"},
            yaxis={
                **value_axis(max(ups, default=0.0), bottom=min(downs, default=0.0)),
                "hoverformat": ",.0f",
            },
            hovermode="x unified",
        ),
        "narrow": _narrow(
            xaxis={
                "type": "category",
                "automargin": True,
                "tickangle": -45 if len(names) > 4 else 0,
            }
        ),
    }


def trend(data: dict[str, Any], money: bool = True) -> dict[str, Any]:
    this_hover = hover_amounts(data["this"], money)
    partial = data.get("partial")
    shapes = [""] * len(data["this"])
    if partial is not None and data["this"][partial] is not None:
        # the month in progress: hatched, its hover says to which day and what last year's
        # same days made (its grey bar is last year's whole month)
        shapes[partial] = "/"
        day = date.fromisoformat(data["through"])
        this_hover[partial] = _("%(amount)s to %(day)s (last year's same days: %(last)s)") % {
            "amount": this_hover[partial],
            "day": f"{day:%m-%d}",
            "last": hover_amounts([data.get("same_days_last_year") or 0.0], money)[0],
        }
    traces = [
        {
            "type": "bar",
            "x": data["labels"],
            "y": data["last"],
            "name": _("Last year"),
            "marker": {"color": GREY},
            "customdata": hover_amounts(data["last"], money),
            "hovertemplate": NAMED_HOVER,
        },
        {
            "type": "bar",
            "x": data["labels"],
            "y": data["this"],
            "name": _("This year"),
            "marker": {"color": BLUE, "pattern": {"shape": shapes, "fgcolor": "#ffffff"}},
            "customdata": this_hover,
            "hovertemplate": NAMED_HOVER,
        },
    ]
    return {
        "data": traces,
        "layout": _layout(
            barmode="group",
            xaxis={"tickformat": "%Y-%m", "hoverformat": "%Y-%m"},
            yaxis={**value_axis(_top(data["last"], data["this"]), money), "hoverformat": ",.0f"},
        ),
        "narrow": _narrow(
            xaxis={"tickformat": "%Y-%m", "hoverformat": "%Y-%m", "tickangle": -45, "nticks": 6}
        ),
    }


def heatmap(data: dict[str, Any]) -> dict[str, Any]:
    names = [n.name for n, _v in data["rows"]]
    z = [v for _n, v in data["rows"]]
    trace = {
        "type": "heatmap",
        "x": data["weeks"],
        "y": names,
        "z": z,
        "colorscale": "Blues",
        "reversescale": True,
        "zmin": 0,
        # "Rep_A1 · 2026-03-02: 3 activities", the unit in the reader's language
        "hovertemplate": "%{y} · %{x}: "
        + _("%(n)s activities") % {"n": "%{z}"}
        + "<extra></extra>",
        "colorbar": {"thickness": 10},
    }
    margin = {"l": 20, "r": 20, "t": 10, "b": 40}
    return {
        "data": [trace],
        "layout": _layout(
            hovermode="closest",
            margin=margin,
            xaxis={"tickformat": "%m-%d", "hoverformat": "%Y-%m-%d"},
            yaxis={"type": "category", "autorange": "reversed", "automargin": True},
        ),
        "narrow": {"margin": NARROW_MARGIN, "xaxis": {"tickangle": -45}},
    }


def product_mix(names: list[str], values: list[float], money: bool = True) -> dict[str, Any]:
    trace = {
        "type": "pie",
        "labels": names,
        "values": values,
        "hole": 0.55,
        "textinfo": "label+percent",
        "sort": False,
        # labels read level, and a small slice's label outside the ring gets the room it needs
        # (it was cut off at the card's edge)
        "insidetextorientation": "horizontal",
        "automargin": True,
        "customdata": hover_amounts(values, money),
        "hovertemplate": "%{label}: %{customdata} (%{percent})<extra></extra>",
    }
    return {
        "data": [trace],
        "layout": _layout(
            showlegend=False, hovermode="closest", margin={"l": 20, "r": 20, "t": 30, "b": 30}
        ),
    }


__all__ = [
    "burn_up",
    "children_drivers",
    "funnel",
    "funnel_hover",
    "gap_waterfall",
    "heatmap",
    "hover_amounts",
    "leaderboard",
    "product_mix",
    "trend",
    "with_category_axes",
    "RED",
]
