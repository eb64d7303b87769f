"""A target's SMART check follows its value: an edit by hand, a revision or an accepted proposal
checks it again from the basis stored when the plan was computed (no forecast needed)."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from salesloop.targets import services as s
from salesloop.targets import smart
from salesloop.targets.models import Target
from salesloop.targets.planning import Inputs, recommend_plan


def _reasons(checks):
    return {c["reason"]: c["figures"] for c in checks if not c["ok"]}


BASIS = {
    "metric_defined": True,
    "relevant_to": "Hardware",
    "last_year": 1_000_000.0,
    "growth_p90": 0.20,
    "fte": 2.0,
    "top_decile": 600_000.0,
    "totals": None,
}


def test_growth_and_productivity_are_judged_at_the_new_value():
    # 1.3 M: +30 % on last year's 1 M (above the 20 % p90), 650 k per FTE (above 600 k)
    high = _reasons(smart.recheck(BASIS, 1_300_000.0))
    assert high["growth_above_p90"]["implied_growth"] == pytest.approx(0.30)
    assert high["growth_above_p90"]["p90_growth"] == pytest.approx(0.20)
    assert high["productivity_above_top_decile"]["implied_productivity"] == pytest.approx(650_000)
    # 1.15 M: +15 % and 575 k per FTE: both within what the owner and the team have done
    assert _reasons(smart.recheck(BASIS, 1_150_000.0)) == {}
    # 1.2 M is the edge of both (+20 %, 600 k per FTE): not above, not flagged; 100 more is
    assert _reasons(smart.recheck(BASIS, 1_200_000.0)) == {}
    assert set(_reasons(smart.recheck(BASIS, 1_200_100.0))) == {
        "growth_above_p90",
        "productivity_above_top_decile",
    }


def test_without_a_basis_nothing_is_rechecked():
    assert smart.recheck({}, 123.0) is None


def test_the_probability_is_read_from_the_quantiles_of_the_total():
    # a total uniform on [0, 100]: its quantile at p is 100 p
    totals = [100 * p for p in smart.BASIS_PROBS]
    assert smart.probability_from(totals, 30.0) == pytest.approx(0.70)
    assert smart.probability_from(totals, 96.0) == pytest.approx(0.04)  # between 0.95 and 0.975
    assert smart.probability_from(totals, 250.0) == pytest.approx(0.005)  # beyond the last
    assert smart.probability_from(totals, -5.0) == pytest.approx(0.995)
    checks = smart.recheck({**BASIS, "last_year": None, "fte": None, "totals": totals}, 90.0)
    assert _reasons(checks)["probability_low"]["probability"] == pytest.approx(0.10)
    checks = smart.recheck({**BASIS, "last_year": None, "fte": None, "totals": totals}, 3.0)
    assert _reasons(checks)["probability_high"]["probability"] == pytest.approx(0.97)


def test_a_probability_flag_says_what_the_trend_alone_reaches():
    """The numbers behind "too high": the chance, the band, and the total the trend reaches
    with even odds (the median of the forecast total: 50 for a total uniform on [0, 100])."""
    from django.utils import translation

    totals = [100 * p for p in smart.BASIS_PROBS]
    basis = {**BASIS, "last_year": None, "fte": None, "totals": totals}
    low = next(c for c in smart.recheck(basis, 90.0) if not c["ok"])
    assert low["figures"]["trend_median"] == pytest.approx(50.0)
    with translation.override("en"):
        assert smart.sentence(low) == (
            "Only 10% chance of reaching it on the current trend (below 20%): likely too high "
            "to motivate. The trend alone reaches about 50 with even odds."
        )
    with translation.override("zh-hans"):
        assert "50" in smart.sentence(low) and "五成" in smart.sentence(low)
    high = next(c for c in smart.recheck(basis, 3.0) if not c["ok"])
    with translation.override("en"):
        assert smart.sentence(high).endswith("The trend alone reaches about 50 with even odds.")
    # a check stored before the median was kept reads as before
    old = {**low, "figures": {k: v for k, v in low["figures"].items() if k != "trend_median"}}
    with translation.override("en"):
        assert smart.sentence(old).endswith("likely too high to motivate.")


def test_the_quantiles_give_the_draws_share_within_a_point():
    """Against the share of 1,000 draws themselves (what the plan computes), everywhere."""
    draws = np.random.default_rng(7).lognormal(mean=13.0, sigma=0.25, size=1000)
    totals = np.quantile(draws, smart.BASIS_PROBS).tolist()
    for value in np.quantile(draws, np.linspace(0.02, 0.98, 49)):
        share = float(np.mean(draws >= value))
        assert smart.probability_from(totals, float(value)) == pytest.approx(share, abs=0.012)


@pytest.mark.django_db
def test_an_edit_by_hand_and_a_revision_check_the_target_again(org, history):
    plan = s.plan_create(fiscal_year=2027, owner=org.director, actor=org.director.user)
    recommend_plan(plan=plan, metric="booked_revenue", inputs=Inputs(), actor=org.director.user)
    rep = Target.objects.get(plan=plan, member=org.rep_a1, product_line=None)
    basis = rep.smart_basis
    assert basis["last_year"] > 0 and basis["fte"] == pytest.approx(1.0)
    assert len(basis["totals"]) == len(smart.BASIS_PROBS)
    assert basis["totals"] == sorted(basis["totals"])
    stored = next(c for c in rep.smart if c["letter"] == "A")
    # the basis read back at the computed value gives the computed probability (within a point)
    again = next(c for c in smart.recheck(basis, float(rep.target)) if c["letter"] == "A")
    assert again["figures"]["probability"] == pytest.approx(
        stored["figures"]["probability"], abs=0.015
    )

    # three times the target: far beyond the trend and the owner's growth
    tripled = rep.target * 3
    rep = s.target_set(
        target=rep,
        floor=rep.floor * 3,
        target_value=tripled,
        stretch=rep.stretch * 3,
        actor=org.mgr_a.user,
    )
    rep.refresh_from_db()
    flags = _reasons(rep.smart)
    assert flags["probability_low"]["probability"] < 0.05
    assert flags["growth_above_p90"]["implied_growth"] == pytest.approx(
        float(tripled) / basis["last_year"] - 1
    )
    assert rep.smart_basis == basis  # the basis is the history's: an edit does not touch it
    # its product lines were realigned to the tripled total and checked again too
    for line in Target.objects.filter(plan=plan, member=org.rep_a1, product_line__isnull=False):
        if line.smart_basis.get("totals") and line.target > 0:
            p = next(c for c in line.smart if c["letter"] == "A")["figures"]["probability"]
            assert p == pytest.approx(
                smart.probability_from(line.smart_basis["totals"], float(line.target))
            )

    # the plan goes live; a revision back to a tenth of the tripled figure is checked again
    s.plan_submit(plan=plan, actor=org.director.user)
    s.plan_approve(plan=plan, actor=org.admin.user)
    s.plan_activate(plan=plan, actor=org.director.user)
    low = (tripled / 10).quantize(Decimal("0.01"))
    s.target_revise(
        target=rep,
        floor=(low * Decimal("0.9")).quantize(Decimal("0.01")),
        target_value=low,
        stretch=(low * Decimal("1.1")).quantize(Decimal("0.01")),
        reason="Key account moved to another rep",
        actor=org.mgr_a.user,
    )
    rep.refresh_from_db()
    assert "growth_above_p90" not in _reasons(rep.smart)
    achievable = next(c for c in rep.smart if c["letter"] == "A")
    assert achievable["figures"]["probability"] == pytest.approx(
        smart.probability_from(basis["totals"], float(low))
    )
    sentences = smart.summary(rep.smart)["sentences"]
    assert not any(f"{float(tripled):,.0f}" in x for x in sentences)


@pytest.mark.django_db
def test_the_roots_trend_median_is_its_waterfalls_baseline(org, history):
    """The director reads one figure for "the trend": the root's SMART check (probability,
    trend median) and its waterfall's baseline come from the same draws."""
    plan = s.plan_create(fiscal_year=2027, owner=org.director, actor=org.director.user)
    recommend_plan(
        plan=plan,
        metric="booked_revenue",
        inputs=Inputs(growth_rate=0.5),
        actor=org.director.user,
    )
    root = Target.objects.get(
        plan=plan, unit__parent__isnull=True, member__isnull=True, product_line=None
    )
    baseline = next(
        step["amount"] for step in root.recommendation["waterfall"] if step["key"] == "baseline"
    )
    assert smart.median_of(root.smart_basis["totals"]) == pytest.approx(baseline, abs=0.01)
    flag = _reasons(root.smart)["probability_low"]  # +50 % on the trend: far above it
    assert flag["trend_median"] == pytest.approx(baseline, abs=0.01)


def test_a_probability_just_outside_its_band_never_reads_as_the_band_itself():
    from salesloop.targets.smart import sentence

    def check(p, band):
        figures = {"probability": p, "band_low": band}
        return sentence({"letter": "A", "reason": "probability_low", "figures": figures})

    assert check(0.196, 0.20).startswith("Only 19.6% chance of reaching it")
    assert "(below 20%)" in check(0.196, 0.20)
    assert check(0.12, 0.20).startswith("Only 12% chance")  # whole percents where they differ


def test_sentences_read_money_as_the_pages_do():
    """A money check's figures carry ¥ and, in Chinese, 万 and 亿 (as the plan page writes
    money); a count's stay whole numbers."""
    from django.utils import translation

    from salesloop.targets.smart import sentence

    low = {
        "letter": "A",
        "ok": False,
        "reason": "probability_low",
        "figures": {"probability": 0.12, "band_low": 0.2, "trend_median": 578_720_398.0},
    }
    growth = {
        "letter": "R",
        "ok": False,
        "reason": "growth_above_p90",
        "figures": {"implied_growth": 0.38, "last_year": 28_056_180.0, "p90_growth": 0.2},
    }
    with translation.override("en"):
        assert sentence(low, "booked_revenue").endswith(
            "The trend alone reaches about ¥579,000,000 with even odds."
        )
        assert "about 579,000,000 with" in sentence(low, "deals_won")
        assert "over last year (¥28,056,180)" in sentence(growth, "booked_revenue")
    with translation.override("zh-hans"):
        assert "¥5.79亿" in sentence(low, "booked_revenue")
        assert "¥2,805.6万" in sentence(growth, "collected_revenue")


@pytest.mark.django_db
def test_a_target_without_history_of_its_own_says_its_chance_is_not_judged(org, history):
    """A manager who has sold nothing still carries a share of the team's target (historical
    share shrunk toward equal): it passes A, but the page says that its chance was not judged
    rather than showing a bare SMART ✓; a rep with history gets the chance itself."""
    from django.utils import translation

    plan = s.plan_create(fiscal_year=2027, owner=org.director, actor=org.director.user)
    recommend_plan(plan=plan, metric="booked_revenue", inputs=Inputs(), actor=org.director.user)
    mgr = Target.objects.get(plan=plan, member=org.mgr_a, product_line=None)
    rep = Target.objects.get(plan=plan, member=org.rep_a1, product_line=None)
    assert mgr.target > 0
    achievable = next(c for c in mgr.smart if c["letter"] == "A")
    assert achievable["ok"] and achievable["figures"]["probability"] is None
    with translation.override("en"):
        said = smart.summary(mgr.smart, mgr.metric)
        assert said["ok"] and said["unjudged"]
        assert said["sentences"] == [
            "Achievable: its chance is not judged, as there is no history of its own to read a "
            "trend from (someone new, or who has not sold this yet): the split alone sets it."
        ]
        rep_said = smart.summary(rep.smart, rep.metric)
        assert not rep_said["unjudged"]
        assert "chance of reaching it on the current trend" in " ".join(rep_said["sentences"])
    # a failed check is what the page shows then, not the missing chance
    failed = [{"letter": "S", "ok": False, "reason": "no_owner", "figures": {}}, achievable]
    assert not smart.summary(failed)["unjudged"]
