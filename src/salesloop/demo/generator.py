"""Vectorised generation of the demo company's business history.

Every column is drawn with NumPy from one seeded generator, so the same seed, scale and
"today" give exactly the same rows. The rows are those the services would write for the same
history: ``amount_base`` converted at the rate valid on the service's date, one stage change
per transition including the initial one (``from_stage`` NULL), ``stage_entered_at`` and
``closed_at`` as ``opportunity_move_stage`` sets them, order amounts equal to the sum of their
lines, ``followed_up_at`` set by the next activity of the same owner with the same customer.

Model: customers are acquired over time (cohorts) by reps and churn after a lifetime that
depends on their tier; their size is log-normal, which gives the Pareto of key accounts.
Opportunities are drawn per (rep, decision day) with an intensity that follows the season
(Chinese New Year dip, end-of-quarter push, year-end peak) and each rep's profile and ramp;
they walk the default pipeline stage by stage with the rep's conversion rates; the ones still
undecided today form the open pipeline. Won opportunities become orders; customers also
reorder without an opportunity; orders are paid in one to three instalments.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from salesloop.demo import profiles as P
from salesloop.demo.calendar import SECONDS_PER_DAY, DayAxis
from salesloop.demo.loader import Col, Table

USD_APPROX = 7.1
OPEN_STAGES = 4  # stages 1-4 of the default pipeline are open; 5 is won, 6 is lost
LEGACY_SHARE = 0.45
BIG = 1 << 20


@dataclass
class Refs:
    """Ids of the small tables created through the services."""

    rep_member: np.ndarray  # member id of each rep (aligned with the plan's reps)
    stage: np.ndarray  # stage ids, by order 1 … 6
    pipeline: int
    line_ids: np.ndarray
    line_names: list[str]
    product_ids: np.ndarray
    product_line: np.ndarray  # index into line_ids, per product
    product_price: np.ndarray  # list price in cents (CNY), per product
    usd_rate: np.ndarray  # per axis day: USD rate × 10 000
    region_names: list[str]


class OwnedPicker:
    """Weighted choice of a rep's customer among those acquired by a given day."""

    def __init__(self, owner: np.ndarray, acq: np.ndarray, weight: np.ndarray, n_reps: int):
        self.order = np.lexsort((acq, owner))
        key_owner = owner[self.order]
        self.key = key_owner * BIG + (acq[self.order] + BIG // 2)
        self.cw = np.cumsum(weight[self.order])
        reps = np.arange(n_reps)
        self.lo = np.searchsorted(key_owner, reps, "left")
        self.hi = np.searchsorted(key_owner, reps, "right")

    def pick(self, rep: np.ndarray, day: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        lo = self.lo[rep]
        pos = np.searchsorted(self.key, rep * BIG + (day + BIG // 2), "right")
        hi = np.minimum(np.maximum(pos, lo + 1), self.hi[rep])
        base = np.where(lo > 0, self.cw[np.maximum(lo - 1, 0)], 0.0)
        u = base + rng.random(len(rep)) * (self.cw[hi - 1] - base)
        idx = np.clip(np.searchsorted(self.cw, u, "right"), lo, hi - 1)
        return self.order[idx]


def _choice(rng: np.random.Generator, n: int, weights: np.ndarray) -> np.ndarray:
    return rng.choice(len(weights), size=n, p=weights / weights.sum())


def _segments(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For groups of sizes ``counts``: the group of each element and its position in it."""
    group = np.repeat(np.arange(len(counts)), counts)
    starts = np.cumsum(counts) - counts
    return group, np.arange(len(group)) - np.repeat(starts, counts)


class DemoGenerator:
    def __init__(
        self,
        *,
        seed: int,
        scale: float,
        axis: DayAxis,
        plan: P.OrgPlan,
        refs: Refs,
        pools: P.NamePools,
    ) -> None:
        self.rng = np.random.default_rng([seed, 2])
        self.axis = axis
        self.vol = P.volumes(scale)
        self.plan = plan
        self.refs = refs
        self.pools = pools
        self.reps = P.rep_params(plan, np.random.default_rng([seed, 3]), axis.n_days)
        self.n_reps = len(self.reps.profile)
        days = np.arange(axis.n_total)
        since = days[None, :] - (self.reps.hire_day[:, None] + 10)
        self.ramp = np.clip(0.1 + 0.9 * since / P.RAMP_DAYS, 0.0, 1.0)
        self.ramp[since < 0] = 0.0
        veteran = self.reps.profile != P.NEW_HIRE
        self.ramp[veteran] = np.where(since[veteran] < 0, 0.0, 1.0)
        self.planted: dict[str, int] = {}

    # --- helpers ----------------------------------------------------------------------

    def business_time(self, days: np.ndarray) -> np.ndarray:
        """Epoch seconds during office hours (08:30-19:00) of local ``days``."""
        offset = (8.5 * 3600 + self.rng.random(len(days)) * 10.5 * 3600).astype(np.int64)
        return self.axis.midnight_utc[np.clip(days, 0, self.axis.n_total)] + offset

    def to_base(self, cents: np.ndarray, usd: np.ndarray, days: np.ndarray) -> np.ndarray:
        rate = self.refs.usd_rate[np.clip(days, 0, self.axis.n_total - 1)]
        return np.where(usd, (cents * rate + 5000) // 10000, cents)

    def sample_rep_days(self, weight: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        flat = weight.ravel()
        idx = self.rng.choice(flat.size, size=n, p=flat / flat.sum())
        return idx // weight.shape[1], idx % weight.shape[1]

    # --- customers --------------------------------------------------------------------

    def customers(self) -> None:
        rng, ax, reps = self.rng, self.axis, self.reps
        n = self.vol["customers"]
        nr = self.n_reps
        owner = np.empty(n, dtype=np.int64)
        acq = np.empty(n, dtype=np.int64)
        # Every rep starts with one customer (new hires: acquired soon after joining).
        owner[:nr] = np.arange(nr)
        acq[:nr] = np.where(
            reps.hire_day < 0, -rng.integers(30, 1500, nr), reps.hire_day + rng.integers(12, 40, nr)
        )
        rest = n - nr
        legacy = rng.random(rest) < LEGACY_SHARE
        n_leg = int(legacy.sum())
        vet_weight = np.where(reps.hire_day < 0, reps.opp_rate, 0.0)
        leg_owner = _choice(rng, n_leg, vet_weight)
        intensity = (
            reps.opp_rate[:, None] * self.ramp[:, : ax.n_days] * ax.order_weight[None, : ax.n_days]
        )
        new_owner, new_day = self.sample_rep_days(intensity, rest - n_leg)
        owner[nr:][legacy] = leg_owner
        acq[nr:][legacy] = -rng.integers(30, 1500, n_leg)
        owner[nr:][~legacy] = new_owner
        acq[nr:][~legacy] = new_day

        size = rng.lognormal(0.0, 1.75, n)
        rank = np.empty(n, dtype=np.int64)
        rank[np.argsort(-size, kind="stable")] = np.arange(n)
        tier = np.select(
            [rank < 0.07 * n, rank < 0.2 * n, rank < 0.5 * n], [0, 1, 2], 3
        )  # key, a, b, c
        industries = list(P.INDUSTRY_WEIGHTS)
        industry = _choice(rng, n, np.array(list(P.INDUSTRY_WEIGHTS.values())))
        pref = np.array([P.INDUSTRY_LINE[i] for i in industries])[industry]
        pref = np.where(rng.random(n) < 0.75, pref, rng.integers(0, len(P.CATALOGUE), n))
        lifetime = rng.exponential(np.array([9.0, 6.0, 4.0, 2.5])[tier] * 365)
        churn = acq + lifetime.astype(np.int64)
        has_orders = (acq < 0) | (rng.random(n) < 0.85)
        intl = np.zeros(n, dtype=bool)
        candidates = np.flatnonzero((acq < 0) & (tier > 0))
        n_intl = min(len(candidates), max(3, round(0.01 * n)))
        intl[rng.choice(candidates, n_intl, replace=False)] = True

        # The planted key account that went quiet: a big, long-standing customer of the demo
        # manager's team that stopped ordering 5-7 months ago.
        team0 = np.flatnonzero((reps.team == 0) & (reps.profile != P.NEW_HIRE))
        cand = np.flatnonzero((tier == 0) & (acq < -200) & np.isin(owner, team0) & ~intl)
        if len(cand) == 0:
            cand = np.flatnonzero((tier == 0) & ~intl)
            acq[cand[0]] = -400
            owner[cand[0]] = team0[0]
        quiet = int(cand[np.argmax(size[cand])])
        has_orders[quiet] = True
        churn[quiet] = ax.n_days - int(rng.integers(165, 200))
        self.planted["quiet_customer"] = quiet

        self.c_owner, self.c_acq, self.c_size, self.c_tier = owner, acq, size, tier
        self.c_industry, self.c_pref, self.c_churn = industry, pref, churn
        self.c_has_orders, self.c_intl = has_orders, intl
        self.c_first = np.full(n, np.iinfo(np.int64).max)  # first event (epoch seconds)
        self.picker = OwnedPicker(owner, acq, np.sqrt(size), self.n_reps)
        self.picker_light = OwnedPicker(owner, acq, size**0.3, self.n_reps)

    def touch_customers(self, customer: np.ndarray, seconds: np.ndarray) -> None:
        np.minimum.at(self.c_first, customer, seconds)

    def customer_names(self) -> pl.Series:
        return self.make_names(self.c_industry)

    def make_names(self, industry: np.ndarray) -> pl.Series:
        """Unique zh-CN company names: city + trade name + line of business + legal form."""
        rng, pools, n = self.rng, self.pools, len(industry)
        industries = list(P.INDUSTRY_WEIGHTS)
        words = [w for ind in industries for w in P.INDUSTRY_WORDS[ind]]
        word_start = np.cumsum([0] + [len(P.INDUSTRY_WORDS[i]) for i in industries])
        word_len = np.diff(word_start)
        word = word_start[industry] + rng.integers(0, 1 << 30, n) % word_len[industry]
        suffix = _choice(rng, n, np.array([0.7, 0.25, 0.05]))
        frame = pl.DataFrame(
            {
                "city": pl.Series(pools.cities).gather(rng.integers(0, len(pools.cities), n)),
                "prefix": pl.Series(pools.prefixes).gather(rng.integers(0, len(pools.prefixes), n)),
                "word": pl.Series(words).gather(word),
                "suffix": pl.Series(list(P.CORPORATE_SUFFIXES)).gather(suffix),
            }
        )
        names = frame.select(
            name=pl.concat_str("city", "prefix", "word", "suffix"),
        ).with_columns(dup=pl.int_range(pl.len()).over("name"))
        return names.select(
            pl.when(pl.col("dup") == 0)
            .then(pl.col("name"))
            .otherwise(pl.col("name") + "（" + (pl.col("dup") + 1).cast(pl.String) + "）")
        ).to_series()

    # --- opportunities ----------------------------------------------------------------

    def opportunities(self) -> None:
        rng, ax, reps = self.rng, self.axis, self.reps
        target = self.vol["opportunities"]
        intensity = reps.opp_rate[:, None] * self.ramp * ax.order_weight[None, :]
        rep, decision = self.sample_rep_days(intensity, int(target * 1.35))
        cycle = np.clip(rng.lognormal(np.log(30), 0.6, len(rep)), 2, 300).astype(np.int64)
        floor = np.maximum(reps.hire_day[rep] + 10, 0)
        created = np.maximum(decision - cycle, floor)
        decision = np.maximum(decision, created + 1)
        keep = np.flatnonzero(created < ax.n_days)
        if len(keep) > target:
            keep = np.sort(rng.choice(keep, target, replace=False))
        rep, decision, created, floor = rep[keep], decision[keep], created[keep], floor[keep]
        n = len(rep)
        customer = self.picker.pick(rep, created + 30, rng)
        quiet = self.planted["quiet_customer"]
        moved = (customer == quiet) & (decision > self.c_churn[quiet] - 20)
        if moved.any():
            others = self.picker.pick(rep[moved], decision[moved], rng)
            customer[moved] = np.where(others == quiet, rep[moved] % self.n_reps, others)

        ramp_c = self.ramp[rep, created]
        line = np.where(
            rng.random(n) < 0.65, self.c_pref[customer], rng.integers(0, len(P.CATALOGUE), n)
        )
        level = np.array([c[2] for c in P.CATALOGUE], dtype=float)
        value_cny = (
            level[line]
            * self.c_size[customer] ** 0.4
            * reps.deal_size[rep]
            * (0.5 + 0.5 * ramp_c)
            * rng.lognormal(0, 0.45, n)
        )
        value_cny = np.maximum(np.round(value_cny / 100) * 100, 1000) * 100  # cents
        usd = self.c_intl[customer]
        rate_created = self.refs.usd_rate[created]
        amount = np.where(usd, np.round(value_cny * 10000 / rate_created / 10000) * 100, value_cny)
        amount = amount.astype(np.int64)

        # Walk the pipeline: passing step k moves from stage k to k+1 (step 4: to won).
        conversion = reps.conversion[rep] * (0.7 + 0.3 * ramp_c)[:, None]
        passed = np.cumprod(rng.random((n, 4)) < conversion, axis=1).astype(bool)
        last_open = 1 + passed[:, :3].sum(axis=1)  # 1 … 4
        won = passed[:, 3]
        c_sec = self.business_time(created)
        e_sec = np.maximum(self.business_time(decision), c_sec + 3600 * 4)
        means = np.array([0.6, 1.0, 1.5, 1.1])
        weights = rng.exponential(1.0, (n, 4)) * means
        weights[np.arange(4)[None, :] >= last_open[:, None]] = 0.0
        frac = np.cumsum(weights, axis=1) / weights.sum(axis=1, keepdims=True)
        events = np.full((n, 5), np.iinfo(np.int64).max, dtype=np.int64)
        events[:, 0] = c_sec
        span = (e_sec - c_sec).astype(float)
        for j in range(1, 5):
            inner = j < last_open
            events[inner, j] = c_sec[inner] + (span[inner] * frac[inner, j - 1]).astype(np.int64)
        events[np.arange(n), last_open] = e_sec
        now = ax.now
        closed = e_sec < now
        # Stalled deals: some open ones have sat in their stage far longer than usual.
        stalled = ~closed & (rng.random(n) < 0.12)
        lowest = ax.midnight_utc[floor] + 3600
        shift = np.minimum(rng.integers(45, 150, n) * SECONDS_PER_DAY, c_sec - lowest)
        shift = shift // SECONDS_PER_DAY * SECONDS_PER_DAY  # whole days: same time of day
        shift = np.where(stalled, np.maximum(shift, 0), 0).astype(np.int64)
        happened = events < now
        events = np.where(happened, events - shift[:, None], events)
        c_sec = events[:, 0]
        created = ax.day_of(c_sec)

        n_events = happened.sum(axis=1)
        last_event = events[np.arange(n), n_events - 1]
        stage_order = np.where(closed, np.where(won, 5, 6), np.minimum(n_events, 4))
        # Expected close: the planned decision day; slipped for some of the biggest open deals.
        exp_close = np.where(closed, ax.day_of(e_sec) + rng.integers(-20, 15, n), decision)
        exp_close = np.maximum(exp_close, created)
        open_idx = np.flatnonzero(~closed)
        amount_base = self.to_base(amount, usd, created)
        if len(open_idx):
            big = open_idx[np.argsort(-amount_base[open_idx], kind="stable")]
            big = big[: max(3, len(open_idx) // 40)]
            slip = rng.random(len(big)) < 0.6
            exp_close[big[slip]] = ax.n_days - rng.integers(7, 75, int(slip.sum()))
            exp_close[big[slip]] = np.maximum(exp_close[big[slip]], created[big[slip]])
        lost_reason = np.where(closed & ~won, _choice(rng, n, P.LOST_WEIGHTS), -1)
        existing = self.c_acq[customer] < created - 30
        source = np.where(
            existing & (rng.random(n) < 0.7), len(P.SOURCES), _choice(rng, n, P.SOURCE_WEIGHTS)
        )

        order = np.argsort(c_sec, kind="stable")  # ids follow creation time
        for name, arr in (
            ("rep", rep),
            ("customer", customer),
            ("created", created),
            ("c_sec", c_sec),
            ("line", line),
            ("usd", usd),
            ("amount", amount),
            ("amount_base", amount_base),
            ("value_cny", value_cny),
            ("won", won),
            ("closed", closed),
            ("stage_order", stage_order),
            ("last_event", last_event),
            ("e_sec", e_sec),
            ("exp_close", exp_close),
            ("lost_reason", lost_reason),
            ("source", source),
            ("events", events),
            ("happened", happened),
            ("last_open", last_open),
            ("stalled", stalled),
        ):
            setattr(self, f"o_{name}", arr[order])
        self.touch_customers(self.o_customer, self.o_c_sec)

    def stage_changes(self) -> Table:
        n = len(self.o_rep)
        row, col = np.nonzero(self.o_happened)  # row-major: per opportunity, in time order
        last_open = self.o_last_open[row]
        to_order = np.where(col < last_open, col + 1, np.where(self.o_won[row], 5, 6))
        from_order = np.where(col == 0, 0, np.minimum(col, OPEN_STAGES))
        at = self.o_events[row, col]
        order = np.argsort(at, kind="stable")
        row, to_order, from_order, at = row[order], to_order[order], from_order[order], at[order]
        stage = np.concatenate([[0], self.refs.stage])
        self.sc_count = len(row)
        del self.o_events, self.o_happened
        return (
            Table(
                _model("pipeline.StageChange"),
                {
                    "id": Col("int", np.arange(1, len(row) + 1)),
                    "opportunity_id": Col("int", row + 1),
                    "from_stage_id": Col("int", stage[from_order], null=from_order == 0),
                    "to_stage_id": Col("int", stage[to_order]),
                    "changed_at": Col("datetime", at),
                    "changed_by_id": Col("int", self.refs.rep_member[self.o_rep[row]]),
                    "amount_base": Col("money", self.o_amount_base[row]),
                },
            )
            if n
            else _empty("pipeline.StageChange")
        )

    # --- orders and payments ------------------------------------------------------------

    def orders(self) -> None:
        rng, ax = self.rng, self.axis
        won = np.flatnonzero(self.o_won & self.o_closed)
        n_won = len(won)
        won_day = ax.day_of(self.o_e_sec[won])
        won_sec = np.minimum(
            self.o_e_sec[won] + rng.integers(60, 7200, n_won), ax.midnight_utc[won_day + 1] - 1
        )
        first = np.flatnonzero((self.c_acq >= 0) & self.c_has_orders & (self.c_acq < ax.n_days))
        n_first = len(first)
        level = np.array([c[2] for c in P.CATALOGUE], dtype=float)
        n_repeat = max(self.vol["orders"] - n_won - n_first, 0)
        # Reorders: a seasonal process per customer while active (acquired, not yet churned).
        cum = np.concatenate([[0.0], np.cumsum(ax.order_weight[: ax.n_days])])
        a = np.clip(self.c_acq + 1, 0, ax.n_days)
        b = np.clip(self.c_churn, 0, ax.n_days)
        rate = np.where(self.c_has_orders & (b > a), self.c_size**0.6, 0.0)
        mass = rate * np.maximum(cum[b] - cum[a], 0)
        counts = rng.multinomial(n_repeat, mass / mass.sum()) if n_repeat else np.zeros_like(a)
        rep_cust = np.repeat(np.arange(len(a)), counts)
        u = cum[a[rep_cust]] + rng.random(n_repeat) * (cum[b[rep_cust]] - cum[a[rep_cust]])
        rep_day = np.clip(np.searchsorted(cum, u, "right") - 1, a[rep_cust], b[rep_cust] - 1)

        customer = np.concatenate([self.o_customer[won], first, rep_cust])
        day = np.concatenate([won_day, self.c_acq[first], rep_day])
        created_sec = np.concatenate([won_sec, self.business_time(day[n_won:])])
        opp = np.concatenate([won, np.full(n_first + n_repeat, -1)])
        line = np.concatenate([self.o_line[won], self.c_pref[first], self.c_pref[rep_cust]])
        line = np.where(
            (opp < 0) & (rng.random(len(opp)) < 0.2), rng.integers(0, len(level), len(opp)), line
        )
        size_f = self.c_size[customer] ** 0.4
        value = np.concatenate(
            [
                self.o_value_cny[won].astype(float),
                level[line[n_won:]]
                * size_f[n_won:]
                * rng.lognormal(-0.9, 0.5, len(day) - n_won)
                * 100,
            ]
        )
        value[n_won : n_won + n_first] *= 1.6
        owner = np.where(opp >= 0, self.o_rep[np.maximum(opp, 0)], self.c_owner[customer])
        order = np.argsort(created_sec, kind="stable")
        self.r_customer, self.r_day, self.r_sec = customer[order], day[order], created_sec[order]
        self.r_opp, self.r_line, self.r_owner = opp[order], line[order], owner[order]
        self.r_usd = self.c_intl[self.r_customer]
        self.touch_customers(self.r_customer, self.r_sec)
        self.lines(value[order])

    def lines(self, value_cny: np.ndarray) -> None:
        rng, refs = self.rng, self.refs
        n = len(value_cny)
        k = (
            np.where(
                self.r_opp >= 0,
                _choice(rng, n, np.array([0.45, 0.35, 0.2])),
                _choice(rng, n, np.array([0.7, 0.25, 0.05])),
            )
            + 1
        )
        grp, pos = _segments(k)
        w = rng.exponential(1.0, len(grp)) * np.where(pos == 0, 2.0, 1.0)
        share = w / np.bincount(grp, w, n)[grp]
        line = np.where(
            (pos == 0) | (rng.random(len(grp)) < 0.7),
            self.r_line[grp],
            rng.integers(0, len(refs.line_ids), len(grp)),
        )
        starts = np.searchsorted(refs.product_line, np.arange(len(refs.line_ids)), "left")
        counts = np.bincount(refs.product_line, minlength=len(refs.line_ids))
        product = starts[line] + (rng.random(len(grp)) * counts[line]).astype(np.int64)
        usd = self.r_usd[grp]
        rate = refs.usd_rate[self.r_day[grp]] / 10000
        price = refs.product_price[product] / np.where(usd, USD_APPROX, 1.0)
        part = share * value_cny[grp] / np.where(usd, rate, 1.0)
        unit = np.minimum(price * rng.uniform(0.78, 1.0, len(grp)), part)
        unit = np.maximum(np.round(unit / 100), 1).astype(np.int64) * 100
        qty = np.maximum(np.round(part / unit), 1).astype(np.int64)
        amount = qty * unit
        self.l_order, self.l_product, self.l_qty, self.l_unit = grp, product, qty, unit
        self.l_amount = amount
        self.r_amount = np.add.reduceat(amount, np.cumsum(k) - k)
        self.r_base = self.to_base(self.r_amount, self.r_usd, self.r_day)
        # each line converted, then the cents the roundings leave go to the order's last line:
        # an order's lines add up to it in the company currency too
        self.l_base = self.to_base(amount, usd, self.r_day[grp])
        last = np.cumsum(k) - 1
        self.l_base[last] += self.r_base - np.add.reduceat(self.l_base, np.cumsum(k) - k)
        self.r_main_line = line[pos == 0]
        # A won opportunity's amount is what was signed.
        won = self.r_opp >= 0
        self.o_amount[self.r_opp[won]] = self.r_amount[won]
        self.o_amount_base = self.to_base(self.o_amount, self.o_usd, self.o_created)

    def payments(self) -> None:
        rng, ax = self.rng, self.axis
        n = len(self.r_day)
        payer = _choice(rng, len(self.c_owner), np.array([0.85, 0.12, 0.03]))[self.r_customer]
        k = _choice(rng, n, np.array([0.78, 0.15, 0.07])) + 1
        grp, pos = _segments(k)
        kind = payer[grp]
        first_lag = np.select(
            [kind == 0, kind == 1],
            [rng.integers(0, 45, len(grp)), rng.integers(30, 120, len(grp))],
            rng.integers(60, 200, len(grp)),
        )
        step = np.where(pos == 0, first_lag, rng.integers(30, 90, len(grp)))
        starts = np.cumsum(k) - k
        lag = np.cumsum(step)
        lag = lag - np.repeat(np.concatenate([[0], lag[starts[1:] - 1]]), k)
        paid_day = self.r_day[grp] + lag
        fractions = np.array([[1, 0, 0], [0.5, 0.5, 0], [0.3, 0.6, 0.1]])
        alt = np.array([[1, 0, 0], [0.3, 0.7, 0], [0.3, 0.4, 0.3]])
        table = np.where((rng.random(n) < 0.5)[:, None, None], alt[None], fractions[None])
        frac = table[np.arange(n), k - 1][grp, pos]
        cents = np.floor(self.r_amount[grp] * frac).astype(np.int64)
        last = pos == k[grp] - 1
        paid_before = np.cumsum(cents) - cents
        paid_before = paid_before - np.repeat(paid_before[starts], k)
        cents = np.where(last, self.r_amount[grp] - paid_before, cents)
        dropped = (kind == 2) & last & (k[grp] > 1) & (rng.random(len(grp)) < 0.6)
        keep = (paid_day < ax.n_days) & (cents > 0) & ~dropped
        grp, paid_day, cents = grp[keep], paid_day[keep], cents[keep]
        sec = self.business_time(paid_day)
        order = np.argsort(sec, kind="stable")
        self.p_order, self.p_day, self.p_sec = grp[order], paid_day[order], sec[order]
        self.p_amount = cents[order]
        usd = self.r_usd[self.p_order]
        self.p_base = self.to_base(self.p_amount, usd, self.p_day)
        self.p_method = _choice(rng, len(order), P.PAYMENT_METHOD_WEIGHTS)

    def credits(self) -> None:
        """A few 70/30 (or 60/40) splits between two reps of the same team."""
        rng = self.rng
        won_orders = np.flatnonzero(self.r_opp >= 0)
        team = self.reps.team
        team_size = np.bincount(team)
        eligible = won_orders[team_size[team[self.r_owner[won_orders]]] > 1]
        n = min(len(eligible), max(4, len(won_orders) // 250))
        chosen = np.sort(rng.choice(eligible, n, replace=False)) if n else eligible[:0]
        owner = self.r_owner[chosen]
        partner = np.empty_like(owner)
        for i, r in enumerate(owner):
            mates = np.flatnonzero((team == team[r]) & (np.arange(self.n_reps) != r))
            partner[i] = mates[rng.integers(0, len(mates))]
        main = np.where(rng.random(n) < 0.75, 7000, 6000)
        self.cr_order, self.cr_opp = chosen, self.r_opp[chosen]
        self.cr_members = np.stack([owner, partner], axis=1).ravel()
        self.cr_shares = np.stack([main, 10000 - main], axis=1).ravel()


def _model(label: str):
    from django.apps import apps

    return apps.get_model(label)


def _empty(label: str) -> Table:
    return Table(_model(label), {"id": Col("int", np.zeros(0, dtype=np.int64))})
