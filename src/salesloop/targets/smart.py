"""SMART checks in sentences a director can read, with the numbers behind them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from django.utils.translation import gettext as _

from salesloop.common.words import sentences
from salesloop.core import planning as core
from salesloop.core.rounding import half_up, percent

LETTERS = {
    "S": _("Specific"),
    "M": _("Measurable"),
    "A": _("Achievable"),
    "R": _("Relevant"),
    "T": _("Time-bound"),
}


# The probabilities at which a target's forecast total is kept (``basis``): enough to read the
# chance of reaching any other value within about a point where it matters (the band's ends).
BASIS_PROBS: tuple[float, ...] = (
    0.01,
    0.025,
    0.05,
    *(round(0.1 + 0.05 * k, 2) for k in range(17)),
    0.95,
    0.975,
    0.99,
)


def as_json(checks: Iterable[core.SmartCheck]) -> list[dict[str, Any]]:
    """The checks as stored in ``Target.smart``."""
    return [
        {"letter": c.letter, "ok": c.ok, "reason": c.reason, "figures": dict(c.figures)}
        for c in checks
    ]


def basis(inputs: core.SmartInputs, totals: Sequence[float] | None = None) -> dict[str, Any]:
    """What a check needs besides the target's value, as stored in ``Target.smart_basis``:
    the owner's history figures and the quantiles (at ``BASIS_PROBS``) of the forecast total,
    so that a value edited by hand or revised is checked again without the forecast."""
    return {
        "metric_defined": inputs.metric_defined,
        "relevant_to": inputs.relevant_to,
        "last_year": inputs.last_year_actual,
        "growth_p90": (
            inputs.growth_p90
            if inputs.growth_p90 is not None
            else core.growth_p90(inputs.yoy_growth_history)
        ),
        "fte": inputs.fte,
        "top_decile": (
            inputs.productivity_top_decile
            if inputs.productivity_top_decile is not None
            else core.productivity_top_decile(inputs.team_productivity)
        ),
        "totals": None if totals is None else [float(v) for v in totals],
    }


def probability_from(totals: Sequence[float], value: float) -> float:
    """The chance that the total reaches ``value``, read from its quantiles at ``BASIS_PROBS``
    (linear between them; beyond the first and last, half-way to certainty)."""
    below = np.interp(
        value,
        np.asarray(totals, dtype=np.float64),
        BASIS_PROBS,
        left=BASIS_PROBS[0] / 2,
        right=1.0 - (1.0 - BASIS_PROBS[-1]) / 2,
    )
    return float(1.0 - below)


def median_of(totals: Sequence[float] | None) -> float | None:
    """The total the forecast reaches with even odds, from its quantiles at ``BASIS_PROBS``."""
    if not totals:
        return None
    return float(np.interp(0.5, BASIS_PROBS, np.asarray(totals, dtype=np.float64)))


def recheck(stored: dict[str, Any], value: float) -> list[dict[str, Any]] | None:
    """The SMART check of a target whose value is now ``value``, from its stored ``basis``
    (None when there is none: a target never computed keeps what it has)."""
    if not stored:
        return None
    totals = stored.get("totals")
    return as_json(
        core.smart_check(
            core.SmartInputs(
                has_owner=True,
                metric_defined=bool(stored.get("metric_defined", True)),
                target=value,
                period_set=True,
                relevant_to=str(stored.get("relevant_to") or ""),
                probability=probability_from(totals, value) if totals else None,
                trend_median=median_of(totals),
                last_year_actual=stored.get("last_year"),
                fte=stored.get("fte"),
                growth_p90=stored.get("growth_p90"),
                productivity_top_decile=stored.get("top_decile"),
            )
        )
    )


def _pct(value: Any) -> str:
    return percent(float(value)) if value is not None else "—"


def _pct_against(value: Any, band: Any) -> tuple[str, str]:
    """A probability and the band it falls outside, in percent: with a decimal where whole
    percents would read the same ("19.6% (below 20%)", not "20% (below 20%)")."""
    shown, limit = _pct(value), _pct(band)
    if value is not None and shown == limit:
        shown = percent(float(value), 1)
    return shown, limit


def _num(value: Any, metric: str = "") -> str:
    """A figure of the metric as pages show it: money compact with ¥ (¥2,805.6万 in Chinese),
    counts whole; without a metric, a plain whole number."""
    from salesloop.web.templatetags.salesloop import figure

    if value is None or not np.isfinite(float(value)):
        return "—"
    if metric:
        return figure(half_up(float(value), 2), metric)
    return f"{half_up(float(value)):,f}"


def _about(value: float, metric: str = "") -> str:
    """A figure said as "about": three significant digits (578,720,398 → 579,000,000)."""
    v = float(value)
    if v == 0 or not np.isfinite(v):
        return _num(v, metric)
    digits = 2 - int(np.floor(np.log10(abs(v))))
    return _num(float(half_up(v, digits)), metric)


def sentence(check: dict[str, Any], metric: str = "") -> str:
    """One check as a sentence (translated), e.g. why a target is not achievable; figures of
    the ``metric`` read as the pages show them (money with ¥, 万 and 亿 in Chinese)."""
    f = check.get("figures") or {}
    reason = check.get("reason")
    if reason == "ok":
        if check.get("letter") == "A" and f.get("probability") is not None:
            return _("Achievable: about %(p)s chance of reaching it on the current trend.") % {
                "p": _pct(f["probability"])
            }
        if check.get("letter") == "A":
            return _(
                "Achievable: its chance is not judged, as there is no history of its own to "
                "read a trend from (someone new, or who has not sold this yet): the split alone "
                "sets it."
            )
        return _("%(letter)s: fine.") % {"letter": LETTERS.get(check.get("letter", ""), "")}
    messages = {
        "no_owner": _("Nobody owns this target: give it to a person or a team."),
        "metric_undefined": _("The metric is not one salesloop can measure."),
        "probability_low": _(
            "Only %(p)s chance of reaching it on the current trend (below %(band)s): likely too high to motivate."
        )
        % dict(
            zip(("p", "band"), _pct_against(f.get("probability"), f.get("band_low")), strict=True)
        ),
        "probability_high": _(
            "%(p)s chance of reaching it on the current trend (above %(band)s): likely too easy."
        )
        % dict(
            zip(("p", "band"), _pct_against(f.get("probability"), f.get("band_high")), strict=True)
        ),
        "growth_above_p90": _(
            "It implies %(g)s growth over last year (%(last)s), above the 90th percentile of this owner's past growth (%(p90)s)."
        )
        % {
            "g": _pct(f.get("implied_growth")),
            "last": _num(f.get("last_year"), metric),
            "p90": _pct(f.get("p90_growth")),
        },
        "productivity_above_top_decile": _(
            "It asks %(v)s per full-time person, more than the team's top 10 %% deliver (%(top)s)."
        )
        % {
            "v": _num(f.get("implied_productivity"), metric),
            "top": _num(f.get("top_decile"), metric),
        },
        "not_tied": _("Not tied to a product line or a strategy line: say what it serves."),
        "no_period": _("No period: a target needs a time limit."),
    }
    text = messages.get(str(reason), str(reason))
    if reason in ("probability_low", "probability_high") and f.get("trend_median") is not None:
        text = sentences(
            [
                text,
                _("The trend alone reaches about %(median)s with even odds.")
                % {"median": _about(f["trend_median"], metric)},
            ]
        )
    return text


def _unjudged(check: dict[str, Any]) -> bool:
    """An Achievable check passed without a chance of reaching the target (no own history)."""
    return (
        check.get("letter") == "A"
        and check.get("reason") == "ok"
        and (check.get("figures") or {}).get("probability") is None
    )


def summary(checks: list[dict[str, Any]], metric: str = "") -> dict[str, Any]:
    """Letters that failed, with their sentences, for the inline flags."""
    failed = [c for c in checks or [] if not c.get("ok")]
    return {
        "ok": not failed and bool(checks),
        # passed, but without a chance to judge it by: said under the badge, not hidden in it
        "unjudged": not failed and any(_unjudged(c) for c in checks or []),
        "failed_letters": sorted({c["letter"] for c in failed}),
        "sentences": [sentence(c, metric) for c in failed]
        or [sentence(c, metric) for c in checks or [] if c.get("letter") == "A"],
        "checked": bool(checks),
    }
