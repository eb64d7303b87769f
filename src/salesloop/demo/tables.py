"""Activities, contacts and leads, and the rows of every big table in foreign-key order.

Ids follow creation time in every table (as they would in a live system), so customers are
renumbered by their creation time before their rows and every reference to them are emitted.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import polars as pl

from salesloop.demo import profiles as P
from salesloop.demo.calendar import SECONDS_PER_DAY
from salesloop.demo.generator import DemoGenerator, _choice, _model, _segments
from salesloop.demo.loader import Col, Table

ON_TIME_SHARE = 0.85
FOLLOW_UP_SHARE = 0.65


def activities(g: DemoGenerator) -> None:
    rng, ax, reps = g.rng, g.axis, g.reps
    total = g.vol["activities"]
    # Part linked to opportunities: visits and calls while the deal is open.
    first = g.o_created
    last = np.where(g.o_closed, ax.day_of(g.o_e_sec), ax.n_days - 1)
    last = np.maximum(last, first)
    lam = reps.activity_rate[g.o_rep] * (last - first + 1) / 7
    counts = rng.poisson(lam * (0.35 * total / max(lam.sum(), 1e-9)))
    opp, _pos = _segments(counts)
    day_a = first[opp] + (rng.random(len(opp)) * (last - first + 1)[opp]).astype(np.int64)
    # The rest: the rep's routine with their customers (and prospects about to be acquired).
    n_b = max(total - len(opp), 0)
    intensity = (
        reps.activity_rate[:, None] * g.ramp[:, : ax.n_days] * ax.activity_weight[None, : ax.n_days]
    )
    rep_b, day_b = g.sample_rep_days(intensity, n_b)
    cust_b = g.picker_light.pick(rep_b, day_b + 45, rng)
    owner = np.concatenate([g.o_rep[opp], rep_b])
    customer = np.concatenate([g.o_customer[opp], cust_b])
    opportunity = np.concatenate([opp, np.full(n_b, -1)])
    day = np.concatenate([day_a, day_b])
    weekday = ax.weekday[day]
    move = (weekday >= 5) & (rng.random(len(day)) < 0.8)
    day = np.where(move & (weekday == 5), day - 1, day)
    day = np.minimum(np.where(move & (weekday == 6), day + 1, day), ax.n_days - 1)
    day = np.maximum(day, 0)
    at = g.business_time(day)
    linked = opportunity >= 0
    created = g.o_c_sec[np.maximum(opportunity, 0)]
    too_early = linked & (at < created)
    at = np.where(too_early, created + rng.integers(60, 3600, len(at)), at)
    at = np.minimum(at, ax.now - 1)
    day = ax.day_of(at)
    n = len(at)

    # Follow-ups: the next activity of the same owner with the same customer settles them.
    order = np.lexsort((at, customer, owner))
    owner, customer, opportunity, at, day = (
        owner[order],
        customer[order],
        opportunity[order],
        at[order],
        day[order],
    )
    same_next = np.zeros(n, dtype=bool)
    same_next[:-1] = (owner[1:] == owner[:-1]) & (customer[1:] == customer[:-1])
    next_at = np.append(at[1:], 0)
    next_day = np.append(day[1:], 0)
    gap = next_day - day
    wants = rng.random(n) < np.where(same_next & (gap > 30), 0.25, FOLLOW_UP_SHARE)
    on_time = (rng.random(n) < ON_TIME_SHARE) & (gap <= 30)
    due = np.where(
        on_time,
        next_day + rng.integers(0, 4, n),
        day + np.minimum(rng.integers(1, 15, n), np.maximum(gap - 1, 0)),
    )
    recent = day >= ax.n_days - 30
    lingering = rng.random(n) < 0.03
    due = np.where(same_next, due, day + rng.integers(1, 15, n))
    has_due = wants & (same_next | recent | lingering)
    followed = has_due & same_next
    g.touch_customers(customer, at)

    by_time = np.argsort(at, kind="stable")
    kind = _choice(rng, n, P.ACTIVITY_KIND_WEIGHTS)
    g.a_owner, g.a_customer = owner[by_time], customer[by_time]
    g.a_opp, g.a_at = opportunity[by_time], at[by_time]
    g.a_kind = kind
    g.a_due = np.where(has_due, due, -1)[by_time]
    g.a_followed = np.where(followed, next_at, -1)[by_time]
    lo = np.array([P.ACTIVITY_MINUTES[k][0] for k in P.ACTIVITY_KINDS])
    hi = np.array([P.ACTIVITY_MINUTES[k][1] for k in P.ACTIVITY_KINDS])
    g.a_minutes = lo[kind] + (rng.random(n) * (hi - lo + 1)[kind]).astype(np.int64)
    subjects = [s for k in P.ACTIVITY_KINDS for s in P.SUBJECTS[k]]
    start = np.cumsum([0] + [len(P.SUBJECTS[k]) for k in P.ACTIVITY_KINDS])
    size = np.diff(start)
    g.a_subject = pl.Series(subjects).gather(start[kind] + rng.integers(0, 1 << 20, n) % size[kind])
    outcome = _choice(rng, n, P.OUTCOME_WEIGHTS)
    g.a_outcome = np.where((outcome == 3) & (kind != 0), 1, outcome)  # no answer: calls only


def leads(g: DemoGenerator) -> None:
    rng, ax = g.rng, g.axis
    n = g.vol["leads"]
    _u, first_opp = np.unique(g.o_customer, return_index=True)
    cand = first_opp[(g.c_acq[g.o_customer[first_opp]] >= 0) & (g.o_source[first_opp] < 6)]
    n_conv = min(len(cand), round(0.25 * n))
    conv = np.sort(rng.choice(cand, n_conv, replace=False))
    n_other = n - n_conv
    status = _choice(rng, n_other, np.array([0.2, 0.25, 0.15, 0.4]))  # new … disqualified
    back = np.array([30, 120, 180, ax.n_days - 1])[status]
    day = ax.n_days - 1 - (rng.random(n_other) * back).astype(np.int64)
    weights = (g.reps.opp_rate[:, None] * g.ramp[:, day]).cumsum(axis=0)
    u = rng.random(n_other) * weights[-1]
    owner_other = (weights < u[None, :]).sum(axis=0)
    conv_at = g.o_c_sec[conv]
    created_conv = np.maximum(
        conv_at - rng.integers(1, 20, n_conv) * SECONDS_PER_DAY, ax.midnight_utc[0] + 3600
    )
    created = np.concatenate([created_conv, g.business_time(day)])
    order = np.argsort(created, kind="stable")
    g.ld_created = created[order]
    g.ld_owner = np.concatenate([g.o_rep[conv], owner_other])[order]
    g.ld_status = np.concatenate([np.full(n_conv, 3), np.where(status == 3, 4, status)])[order]
    g.ld_source = np.concatenate([g.o_source[conv], _choice(rng, n_other, P.SOURCE_WEIGHTS)])[order]
    g.ld_conv_opp = np.concatenate([conv, np.full(n_other, -1)])[order]
    g.ld_conv_at = np.concatenate([conv_at, np.full(n_other, -1)])[order]
    g.ld_updated = np.where(g.ld_conv_at >= 0, g.ld_conv_at, g.ld_created)
    g.ld_other_rows = order >= n_conv
    g.ld_other_industry = _choice(rng, n, np.array(list(P.INDUSTRY_WEIGHTS.values())))


def _phones(rng: np.random.Generator, n: int) -> pl.Series:
    prefix = np.array([130, 131, 132, 135, 136, 137, 138, 139, 150, 151, 158, 159, 177, 186, 188])
    number = prefix[rng.integers(0, len(prefix), n)] * 10**8 + rng.integers(0, 10**8, n)
    return pl.Series(number).cast(pl.String)


def _pool(values: list[str], idx: np.ndarray) -> pl.Series:
    return pl.Series(values).gather(idx)


def _nulls(n: int) -> pl.Series:
    return pl.repeat(None, n, dtype=pl.String, eager=True)


def _const(value: str, n: int) -> pl.Series:
    return pl.repeat(value, n, dtype=pl.String, eager=True)


def emit(g: DemoGenerator) -> Iterator[Table]:
    """Yield every big table, freeing the generator's columns as it goes."""
    rng, ax, refs = g.rng, g.axis, g.refs
    member = refs.rep_member
    nc = len(g.c_owner)
    acq_sec = np.where(
        g.c_acq >= 0,
        g.business_time(np.maximum(g.c_acq, 0)),
        ax.midnight_utc[0] + g.c_acq * SECONDS_PER_DAY + 10 * 3600,
    )
    c_created = np.minimum(acq_sec, g.c_first)
    c_order = np.argsort(c_created, kind="stable")
    cid = np.empty(nc, dtype=np.int64)
    cid[c_order] = np.arange(1, nc + 1)
    names = g.customer_names()
    g.c_names = names
    tiers = ["key", "a", "b", "c"]
    industries = list(P.INDUSTRY_WEIGHTS)
    region_of_rep = [refs.region_names[i] for i in range(len(member))]
    potential = (np.round(g.c_size * 15) * 10_000 * 100).astype(np.int64)
    yield Table(
        _model("customers.Customer"),
        {
            "id": Col("int", np.arange(1, nc + 1)),
            "name": Col("str", names.gather(c_order)),
            "external_id": Col("str", _nulls(nc)),
            "tier": Col("str", _pool(tiers, g.c_tier[c_order])),
            "industry": Col("str", _pool(industries, g.c_industry[c_order])),
            "region": Col("str", _pool(region_of_rep, g.c_owner[c_order])),
            "owner_id": Col("int", member[g.c_owner[c_order]]),
            "potential": Col("money", potential[c_order]),
            "phone": Col("str", _phones(rng, nc)),
            "address": Col(
                "str",
                _pool(g.pools.cities, rng.integers(0, len(g.pools.cities), nc))
                + _pool(g.pools.streets, rng.integers(0, len(g.pools.streets), nc)),
            ),
            "notes": Col("str", _const("", nc)),
            "created_at": Col("datetime", c_created[c_order]),
            "updated_at": Col("datetime", c_created[c_order]),
        },
    )
    # Contacts: one to three per customer, the first one primary.
    k = 1 + rng.binomial(2, 0.35, nc) + (g.c_tier[c_order] == 0)
    grp, pos = _segments(k)
    n_ct = len(grp)
    yield Table(
        _model("customers.Contact"),
        {
            "id": Col("int", np.arange(1, n_ct + 1)),
            "customer_id": Col("int", grp + 1),
            "name": Col("str", _pool(g.pools.people, rng.integers(0, len(g.pools.people), n_ct))),
            "title": Col(
                "str", _pool(list(P.CONTACT_TITLES), rng.integers(0, len(P.CONTACT_TITLES), n_ct))
            ),
            "phone": Col("str", _phones(rng, n_ct)),
            "email": Col("str", _pool(g.pools.emails, rng.integers(0, len(g.pools.emails), n_ct))),
            "is_primary": Col("bool", pos == 0),
            "created_at": Col("datetime", c_created[c_order][grp]),
            "updated_at": Col("datetime", c_created[c_order][grp]),
        },
    )

    no = len(g.o_rep)
    sources = [*P.SOURCES, "existing"]
    line_names = pl.Series(refs.line_names)
    o_names = names.gather(g.o_customer) + "-" + line_names.gather(g.o_line) + "项目"
    closed = g.o_closed
    yield Table(
        _model("pipeline.Opportunity"),
        {
            "id": Col("int", np.arange(1, no + 1)),
            "name": Col("str", o_names),
            "customer_id": Col("int", cid[g.o_customer]),
            "owner_id": Col("int", member[g.o_rep]),
            "pipeline_id": Col("int", np.full(no, refs.pipeline)),
            "stage_id": Col("int", refs.stage[g.o_stage_order - 1]),
            "amount": Col("money", g.o_amount),
            "currency": Col("str", _pool(["CNY", "USD"], g.o_usd.astype(np.int64))),
            "amount_base": Col("money", g.o_amount_base),
            "expected_close": Col("date", ax.dates64(g.o_exp_close)),
            "product_line_id": Col("int", refs.line_ids[g.o_line]),
            "source": Col("str", _pool(sources, g.o_source)),
            "stage_entered_at": Col("datetime", g.o_last_event),
            "closed_at": Col("datetime", g.o_last_event, null=~closed),
            "lost_reason": Col(
                "str",
                _pool(
                    ["", *P.LOST_REASONS], np.where(g.o_lost_reason >= 0, g.o_lost_reason + 1, 0)
                ),
            ),
            "external_id": Col("str", _nulls(no)),
            "created_at": Col("datetime", g.o_c_sec),
            "updated_at": Col("datetime", g.o_last_event),
        },
    )
    yield g.stage_changes()
    n_cr = len(g.cr_members)
    share_cols = {
        "member_id": Col("int", member[g.cr_members]),
        "share": Col("money", g.cr_shares),
    }
    yield Table(
        _model("pipeline.OpportunityCredit"),
        {
            "id": Col("int", np.arange(1, n_cr + 1)),
            "opportunity_id": Col("int", np.repeat(g.cr_opp + 1, 2)),
            **share_cols,
        },
    )

    nr = len(g.r_day)
    signed = ax.dates64(g.r_day)
    number = (
        "HT"
        + pl.Series(signed).dt.strftime("%Y%m%d")
        + pl.Series(np.arange(1, nr + 1)).cast(pl.String).str.zfill(7)
    )
    yield Table(
        _model("orders.Order"),
        {
            "id": Col("int", np.arange(1, nr + 1)),
            "number": Col("str", number),
            "external_id": Col("str", _nulls(nr)),
            "customer_id": Col("int", cid[g.r_customer]),
            "owner_id": Col("int", member[g.r_owner]),
            "opportunity_id": Col("int", g.r_opp + 1, null=g.r_opp < 0),
            "signed_on": Col("date", signed),
            "amount": Col("money", g.r_amount),
            "currency": Col("str", _pool(["CNY", "USD"], g.r_usd.astype(np.int64))),
            "amount_base": Col("money", g.r_base),
            "product_line_id": Col("int", refs.line_ids[g.r_main_line]),
            "status": Col("str", _const("active", nr)),
            "created_at": Col("datetime", g.r_sec),
            "updated_at": Col("datetime", g.r_sec),
        },
    )
    nl = len(g.l_order)
    yield Table(
        _model("orders.OrderLine"),
        {
            "id": Col("int", np.arange(1, nl + 1)),
            "order_id": Col("int", g.l_order + 1),
            "product_id": Col("int", refs.product_ids[g.l_product]),
            "product_line_id": Col("int", refs.line_ids[refs.product_line[g.l_product]]),
            "quantity": Col("money", g.l_qty * 100),
            "unit_price": Col("money", g.l_unit),
            "amount": Col("money", g.l_amount),
            "amount_base": Col("money", g.l_base),
        },
    )
    del g.l_order, g.l_product, g.l_qty, g.l_unit, g.l_amount, g.l_base
    yield Table(
        _model("orders.OrderCredit"),
        {
            "id": Col("int", np.arange(1, n_cr + 1)),
            "order_id": Col("int", np.repeat(g.cr_order + 1, 2)),
            **share_cols,
        },
    )
    npay = len(g.p_order)
    yield Table(
        _model("orders.Payment"),
        {
            "id": Col("int", np.arange(1, npay + 1)),
            "order_id": Col("int", g.p_order + 1),
            "paid_on": Col("date", ax.dates64(g.p_day)),
            "amount": Col("money", g.p_amount),
            "currency": Col("str", _pool(["CNY", "USD"], g.r_usd[g.p_order].astype(np.int64))),
            "amount_base": Col("money", g.p_base),
            "method": Col("str", _pool(list(P.PAYMENT_METHODS), g.p_method)),
            "external_id": Col("str", _nulls(npay)),
            "created_at": Col("datetime", g.p_sec),
            "updated_at": Col("datetime", g.p_sec),
        },
    )
    del g.p_order, g.p_day, g.p_amount, g.p_base, g.p_method, g.p_sec

    na = len(g.a_at)
    yield Table(
        _model("activities.Activity"),
        {
            "id": Col("int", np.arange(1, na + 1)),
            "kind": Col("str", _pool(list(P.ACTIVITY_KINDS), g.a_kind)),
            "owner_id": Col("int", member[g.a_owner]),
            "customer_id": Col("int", cid[g.a_customer]),
            "opportunity_id": Col("int", g.a_opp + 1, null=g.a_opp < 0),
            "occurred_at": Col("datetime", g.a_at),
            "duration_minutes": Col("int", g.a_minutes),
            "subject": Col("str", g.a_subject),
            "outcome": Col("str", _pool(list(P.OUTCOMES), g.a_outcome)),
            "notes": Col("str", _const("", na)),
            "follow_up_due": Col("date", ax.dates64(np.maximum(g.a_due, 0)), null=g.a_due < 0),
            "followed_up_at": Col("datetime", g.a_followed, null=g.a_followed < 0),
            "external_id": Col("str", _nulls(na)),
            "created_at": Col("datetime", g.a_at),
            "updated_at": Col("datetime", g.a_at),
        },
    )
    del g.a_owner, g.a_customer, g.a_opp, g.a_kind, g.a_due, g.a_followed, g.a_minutes
    del g.a_subject, g.a_outcome

    nld = len(g.ld_created)
    conv = g.ld_conv_opp
    converted = conv >= 0
    company = g.make_names(np.where(converted, 0, g.ld_other_industry))
    company = pl.select(
        pl.when(pl.Series(converted))
        .then(names.gather(g.o_customer[np.maximum(conv, 0)]))
        .otherwise(company)
    ).to_series()
    statuses = ["new", "contacted", "qualified", "converted", "disqualified"]
    lead_sources = [*P.SOURCES, "other"]
    yield Table(
        _model("pipeline.Lead"),
        {
            "id": Col("int", np.arange(1, nld + 1)),
            "name": Col("str", _pool(g.pools.people, rng.integers(0, len(g.pools.people), nld))),
            "company_name": Col("str", company),
            "phone": Col("str", _phones(rng, nld)),
            "email": Col("str", _pool(g.pools.emails, rng.integers(0, len(g.pools.emails), nld))),
            "source": Col("str", _pool(lead_sources, g.ld_source)),
            "status": Col("str", _pool(statuses, g.ld_status)),
            "owner_id": Col("int", member[g.ld_owner]),
            "external_id": Col("str", _nulls(nld)),
            "converted_at": Col("datetime", g.ld_conv_at, null=~converted),
            "converted_customer_id": Col(
                "int", cid[g.o_customer[np.maximum(conv, 0)]], null=~converted
            ),
            "converted_opportunity_id": Col("int", conv + 1, null=~converted),
            "created_at": Col("datetime", g.ld_created),
            "updated_at": Col("datetime", g.ld_updated),
        },
    )
    g.customer_id = cid
