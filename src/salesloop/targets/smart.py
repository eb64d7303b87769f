"""SMART checks in sentences a director can read, with the numbers behind them."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

LETTERS = {
    "S": _("Specific"),
    "M": _("Measurable"),
    "A": _("Achievable"),
    "R": _("Relevant"),
    "T": _("Time-bound"),
}


def _pct(value: Any) -> str:
    return f"{float(value) * 100:.0f}%" if value is not None else "—"


def _num(value: Any) -> str:
    return f"{float(value):,.0f}" if value is not None else "—"


def sentence(check: dict[str, Any]) -> str:
    """One check as a sentence (translated), e.g. why a target is not achievable."""
    f = check.get("figures") or {}
    reason = check.get("reason")
    if reason == "ok":
        if check.get("letter") == "A" and f.get("probability") is not None:
            return _("Achievable: about %(p)s chance of reaching it on the current trend.") % {
                "p": _pct(f["probability"])
            }
        return _("%(letter)s: fine.") % {"letter": LETTERS.get(check.get("letter", ""), "")}
    messages = {
        "no_owner": _("Nobody owns this target: give it to a person or a team."),
        "metric_undefined": _("The metric is not one salesloop can measure."),
        "probability_low": _(
            "Only %(p)s chance of reaching it on the current trend (below %(band)s): likely too high to motivate."
        )
        % {"p": _pct(f.get("probability")), "band": _pct(f.get("band_low"))},
        "probability_high": _(
            "%(p)s chance of reaching it on the current trend (above %(band)s): likely too easy."
        )
        % {"p": _pct(f.get("probability")), "band": _pct(f.get("band_high"))},
        "growth_above_p90": _(
            "It implies %(g)s growth over last year (%(last)s), above the 90th percentile of this owner's past growth (%(p90)s)."
        )
        % {
            "g": _pct(f.get("implied_growth")),
            "last": _num(f.get("last_year")),
            "p90": _pct(f.get("p90_growth")),
        },
        "productivity_above_top_decile": _(
            "It asks %(v)s per full-time person, more than the team's top 10 %% deliver (%(top)s)."
        )
        % {"v": _num(f.get("implied_productivity")), "top": _num(f.get("top_decile"))},
        "not_tied": _("Not tied to a product line or a strategy line: say what it serves."),
        "no_period": _("No period: a target needs a time limit."),
    }
    return messages.get(str(reason), str(reason))


def summary(checks: list[dict[str, Any]]) -> dict[str, Any]:
    """Letters that failed, with their sentences, for the inline flags."""
    failed = [c for c in checks or [] if not c.get("ok")]
    return {
        "ok": not failed and bool(checks),
        "failed_letters": sorted({c["letter"] for c in failed}),
        "sentences": [sentence(c) for c in failed]
        or [sentence(c) for c in checks or [] if c.get("letter") == "A"],
        "checked": bool(checks),
    }
