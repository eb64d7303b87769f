"""Tests for salesloop.core.funnel (pure math, no database)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from salesloop.core.funnel import (
    activity_counts,
    closed_metrics,
    conversion_matrix,
    follow_up_timeliness,
    funnel,
    stage_durations,
    stage_stints,
    stalled_deals,
)
from salesloop.core.periods import Period

Q1 = Period(date(2025, 1, 1), date(2025, 3, 31))
STAGES = [10, 20, 30]  # open stages; 40 = won, 50 = lost (not in STAGES)


def _d(m: int, d: int, y: int = 2025) -> date:
    return date(y, m, d)


OPPS = pl.DataFrame(
    {
        "id": [1, 2, 3, 4, 5, 6],
        "owner": [1, 1, 1, 1, 1, 2],
        "created_at": [_d(1, 2), _d(1, 5), _d(1, 10), _d(1, 20), _d(12, 20, 2024), _d(2, 1)],
        "status": ["won", "lost", "open", "open", "won", "lost"],
        "amount": [100_000.0, 50_000.0, 10_000.0, 20_000.0, 30_000.0, 20_000.0],
        "closed_at": [_d(2, 1), _d(2, 4), None, None, _d(1, 10), _d(2, 11)],
    }
)
CHANGES = pl.DataFrame(
    {
        "opportunity_id": [1, 1, 1, 1, 2, 2, 2, 3, 4, 4, 5, 5, 6, 6],
        "stage": [10, 20, 30, 40, 10, 30, 50, 10, 10, 20, 10, 40, 10, 50],
        "changed_at": [
            _d(1, 2),
            _d(1, 12),
            _d(1, 22),
            _d(2, 1),
            _d(1, 5),
            _d(1, 15),  # opp 2 skips stage 20
            _d(2, 4),
            _d(1, 10),
            _d(1, 20),
            _d(1, 25),
            _d(12, 20, 2024),
            _d(1, 10),
            _d(2, 1),
            _d(2, 11),
        ],
    }
)


# --------------------------------------------------------------------- funnel


def test_funnel_hand_example() -> None:
    f = funnel(OPPS, CHANGES, STAGES, Q1)
    # cohort Q1 = opps 1, 2, 3, 4, 6 (opp 5 was created in December)
    # furthest step: 1 → won (3); 2 → stage 30 (2, so stage 20 counts as reached);
    # 3 → stage 10 (0); 4 → stage 20 (1); 6 → stage 10 (0; lost is not a funnel step)
    # reached: step 0 = 5; step 1 = {1, 2, 4} = 3; step 2 = {1, 2} = 2; won = {1} = 1
    assert f.get_column("reached").to_list() == [5, 3, 2, 1]
    assert f.get_column("stage").to_list() == [10, 20, 30, None]
    # conversions 3/5, 2/3, 1/2, none on the won step
    assert f.get_column("conversion").to_list() == pytest.approx([0.6, 2 / 3, 0.5, None])


def test_funnel_by_owner_and_conversion_matrix() -> None:
    f = funnel(OPPS, CHANGES, STAGES, Q1, by="owner")
    owner2 = f.filter(pl.col("owner") == 2)
    # owner 2: only opp 6 (reached stage 10, lost) → reached 1, 0, 0, 0
    assert owner2.get_column("reached").to_list() == [1, 0, 0, 0]
    # conversion 0 / 1 = 0, then undefined (nothing reached step 1)
    assert owner2.get_column("conversion").to_list()[:2] == [0.0, None]
    keys, entries, conv = conversion_matrix(f, by="owner")
    assert keys == [1, 2]
    # owner 1: opps 1, 2, 3, 4 → reached 4, 3, 2, 1 → conversions 3/4, 2/3, 1/2
    assert entries.tolist() == [4.0, 1.0]
    assert conv[0].tolist() == pytest.approx([0.75, 2 / 3, 0.5])
    assert conv[1, 0] == 0.0 and conv[1, 1] != conv[1, 1]  # NaN where undefined


@st.composite
def _funnel_data(draw: st.DrawFn) -> tuple[pl.DataFrame, pl.DataFrame]:
    n = draw(st.integers(1, 25))
    ids, created, status, ch_id, ch_stage, ch_at = [], [], [], [], [], []
    for i in range(n):
        ids.append(i)
        created.append(_d(1, 1) + timedelta(days=draw(st.integers(0, 80))))
        status.append(draw(st.sampled_from(["open", "won", "lost"])))
        visits = draw(st.lists(st.sampled_from([*STAGES, 40, 50, 99]), max_size=6))
        for j, s in enumerate(visits):
            ch_id.append(i)
            ch_stage.append(s)
            ch_at.append(datetime(2025, 1, 1) + timedelta(days=j))
    opps = pl.DataFrame(
        {
            "id": ids,
            "owner": [i % 3 for i in ids],
            "created_at": created,
            "status": status,
            "amount": [1.0] * n,
            "closed_at": [None] * n,
        },
        schema_overrides={"closed_at": pl.Date},
    )
    changes = pl.DataFrame(
        {"opportunity_id": ch_id, "stage": ch_stage, "changed_at": ch_at},
        schema={"opportunity_id": pl.Int64, "stage": pl.Int64, "changed_at": pl.Datetime("us")},
    )
    return opps, changes


@given(_funnel_data())
@settings(max_examples=60, deadline=None)
def test_funnel_reached_non_increasing_and_conversions_at_most_one(
    data: tuple[pl.DataFrame, pl.DataFrame],
) -> None:
    opps, changes = data
    for by in (None, "owner"):
        f = funnel(opps, changes, STAGES, Q1, by=by)
        groups = [f] if by is None else f.partition_by(by)
        for g in groups:
            reached = g.sort("step").get_column("reached").to_list()
            assert reached == sorted(reached, reverse=True)
            conv = [c for c in g.get_column("conversion").to_list() if c is not None]
            assert all(0.0 <= c <= 1.0 for c in conv)
    total = funnel(opps, changes, STAGES, Q1)
    # every opportunity created in the cohort is in the funnel's entry
    assert total.get_column("reached")[0] == opps.height


# ------------------------------------------------------------ closed metrics


def test_closed_metrics_hand_example() -> None:
    m = closed_metrics(OPPS, Q1).row(0, named=True)
    # closed in Q1: won 1 (100 000, 01-02 → 02-01 = 30 days), won 5 (30 000,
    # 2024-12-20 → 01-10 = 21 days), lost 2 and 6
    assert (m["won"], m["lost"]) == (2, 2)
    assert m["win_rate"] == pytest.approx(0.5)  # 2 / (2 + 2)
    assert m["won_amount"] == 130_000.0
    assert m["average_deal_size"] == pytest.approx(65_000.0)  # 130 000 / 2
    assert m["sales_cycle_days"] == pytest.approx(25.5)  # median(30, 21)
    by = closed_metrics(OPPS, Q1, by="owner")
    o1, o2 = by.row(0, named=True), by.row(1, named=True)
    assert o1["win_rate"] == pytest.approx(2 / 3)  # won 1 and 5, lost 2
    # owner 2: lost one, won none → win rate 0, no deal size, no cycle
    assert o2["win_rate"] == 0.0
    assert o2["average_deal_size"] is None and o2["sales_cycle_days"] is None


def test_closed_metrics_with_aware_datetimes() -> None:
    shanghai = timezone(timedelta(hours=8))
    opps = pl.DataFrame(
        {
            "id": [1],
            "created_at": [datetime(2025, 1, 1, 9, tzinfo=shanghai)],
            "status": ["won"],
            "amount": [10.0],
            # 2025-03-31 23:30 local is still Q1 (it is 15:30 UTC)
            "closed_at": [datetime(2025, 3, 31, 23, 30, tzinfo=shanghai)],
        }
    ).with_columns(pl.col("created_at", "closed_at").dt.convert_time_zone("Asia/Shanghai"))
    m = closed_metrics(opps, Q1).row(0, named=True)
    assert m["won"] == 1
    # 01-01 09:00 → 03-31 23:30 = 89 days 14.5 hours
    assert m["sales_cycle_days"] == pytest.approx(89 + 14.5 / 24)


# -------------------------------------------------------- stints, durations


def _stints() -> pl.DataFrame:
    return stage_stints(CHANGES, OPPS, as_of=_d(3, 1), stages=STAGES)


def test_stage_stints_hand_example() -> None:
    s = _stints()
    got = {
        (r["opportunity_id"], r["stage"]): (r["days_in_stage"], r["completed"])
        for r in s.iter_rows(named=True)
    }
    assert got == {
        (1, 10): (10.0, True),  # 01-02 → 01-12
        (1, 20): (10.0, True),  # 01-12 → 01-22
        (1, 30): (10.0, True),  # 01-22 → 02-01 (won)
        (2, 10): (10.0, True),  # 01-05 → 01-15
        (2, 30): (20.0, True),  # 01-15 → 02-04 (lost)
        (3, 10): (50.0, False),  # 01-10 → as of 03-01, still open
        (4, 10): (5.0, True),  # 01-20 → 01-25
        (4, 20): (35.0, False),  # 01-25 → as of 03-01, still open
        (5, 10): (21.0, True),  # 2024-12-20 → 01-10
        (6, 10): (10.0, True),  # 02-01 → 02-11
    }
    assert s.filter(pl.col("opportunity_id") == 2).get_column("won").to_list() == [False, False]


def test_stage_durations_completed() -> None:
    d = stage_durations(_stints())
    rows = {r["stage"]: r for r in d.iter_rows(named=True)}
    # stage 10 completed: 10, 10, 5, 21, 10 → median 10 (opp 3's 50 days are ongoing)
    assert rows[10]["median_days"] == 10.0 and rows[10]["stints"] == 6
    assert rows[10]["completed"] == 5
    assert rows[20]["median_days"] == 10.0  # only opp 1's 10 days completed
    assert rows[30]["median_days"] == 15.0  # median(10, 20)


def test_stage_durations_kaplan_meier_uses_ongoing_stints() -> None:
    stints = pl.DataFrame(
        {
            "stage": [1, 1, 1, 1],
            "days_in_stage": [2.0, 4.0, 6.0, 8.0],
            "completed": [True, False, False, True],
        }
    )
    # completed only: median(2, 8) = 5
    assert stage_durations(stints).get_column("median_days").to_list() == [5.0]
    # Kaplan–Meier: at 2, 4 at risk, 1 event → S = 3/4; 4 and 6 censored;
    # at 8, 1 at risk, 1 event → S = 0 <= 0.5 → median 8
    km = stage_durations(stints, method="kaplan_meier")
    assert km.get_column("median_days").to_list() == [8.0]
    # more than half still running and never dropping to 0.5: no median
    running = pl.DataFrame(
        {"stage": [1, 1, 1], "days_in_stage": [1.0, 5.0, 6.0], "completed": [True, False, False]}
    )
    assert stage_durations(running, method="kaplan_meier").get_column("median_days").to_list() == [
        None
    ]


def test_stalled_deals_hand_example() -> None:
    st_ = stalled_deals(_stints())
    rows = {r["opportunity_id"]: r for r in st_.iter_rows(named=True)}
    assert set(rows) == {3, 4}  # the open deals' current stints
    # stage 10 completed sorted: 5, 10, 10, 10, 21; p80 at position 0.8 × 4 = 3.2:
    # 10 + 0.2 × (21 − 10) = 12.2 → opp 3 (50 days) is stalled
    assert rows[3]["limit_days"] == pytest.approx(12.2) and rows[3]["stalled"]
    # stage 20 completed: just 10 → p80 = 10 → opp 4 (35 days) is stalled
    assert rows[4]["limit_days"] == pytest.approx(10.0) and rows[4]["stalled"]
    # a configured limit wins: 40 days for stage 20 → 35 days is fine
    limited = stalled_deals(_stints(), limits={20: 40})
    assert not limited.filter(pl.col("opportunity_id") == 4).get_column("stalled")[0]


# ---------------------------------------------------------------- activities

ACTIVITIES = pl.DataFrame(
    {
        "member": [1, 1, 1, 1, 1, 2],
        "type": ["visit", "call", "call", "visit", "email", "visit"],
        "occurred_at": [_d(1, 6), _d(1, 7), _d(1, 12), _d(1, 13), _d(1, 13), _d(1, 14)],
        "follow_up_due": [_d(1, 8), _d(1, 9), _d(1, 15), _d(1, 25), None, _d(1, 20)],
        "followed_up_at": [
            datetime(2025, 1, 8, 17),
            datetime(2025, 1, 10, 9),
            None,
            None,
            None,
            None,
        ],
    }
)


def test_activity_counts_by_iso_week() -> None:
    c = activity_counts(ACTIVITIES)
    got = {(r["member"], r["iso_week"], r["type"]): r["count"] for r in c.iter_rows(named=True)}
    # 2025-01-06 (Mon) .. 01-12 (Sun) is ISO week 2: member 1 visit 1, calls 2 (the
    # Sunday call included); week 3 from Monday 01-13
    assert got == {
        (1, 2, "call"): 2,
        (1, 2, "visit"): 1,
        (1, 3, "email"): 1,
        (1, 3, "visit"): 1,
        (2, 3, "visit"): 1,
    }
    assert set(c.get_column("week_start").to_list()) == {_d(1, 6), _d(1, 13)}


def test_follow_up_timeliness_hand_example() -> None:
    t = follow_up_timeliness(ACTIVITIES, today=_d(1, 20))
    m1, m2 = t.row(0, named=True), t.row(1, named=True)
    # member 1: 4 with a follow-up; decided = on time (01-08), late (01-10 > 01-09) and
    # not done but due 01-15 < today → 3; the one due 01-25 is not judged yet
    assert (m1["with_follow_up"], m1["decided"], m1["on_time"]) == (4, 3, 1)
    assert m1["timeliness"] == pytest.approx(1 / 3)
    assert m1["overdue"] == 1
    # member 2: due today, not done → not decided, not overdue
    assert (m2["decided"], m2["timeliness"], m2["overdue"]) == (0, None, 0)
    # restricted to follow-ups due in the week of 01-13..01-19: only member 1's 01-15 one
    week = follow_up_timeliness(ACTIVITIES, today=_d(1, 20), period=Period(_d(1, 13), _d(1, 19)))
    assert week.get_column("member").to_list() == [1]
    assert week.row(0, named=True)["timeliness"] == 0.0
