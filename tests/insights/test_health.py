"""Customer health on the dashboard, with the figures worked out by hand."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from salesloop.customers.choices import Tier
from salesloop.insights.health import customer_health
from salesloop.orders.services import order_create
from tests import factories as f
from tests.insights.conftest import TODAY, at
from tests.insights.test_selectors import scope_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def book(org, time_machine):
    """Q2 FY2025, today 2025-05-15 (the quarter started 2025-04-01).

    rep_a1's customers:
      K1 key: 1 000 on 2024-01-10, 03-10, 05-10, 07-10 → usual gap 61 d, silent 309 d (> 91.5): quiet
      K2 key: 10 000 on 2025-01-05, 02-05, 03-05, 04-05 → usual gap 31 d, silent 40 d (< 46.5)
      C1: 5 000 on 2024-06-01 — active at the start and still at today
      C2: 2 000 on 2024-04-20 — active at the start, not any more at today: churned
      C3: 3 000 + 1 000 on 2025-05-02 (two orders) — new this period
    rep_a2's customer D1: 50 000 on 2025-04-20.
    """
    time_machine.move_to(at(TODAY, 12), tick=False)
    a1, a2 = org.rep_a1, org.rep_a2
    k1 = f.customer(a1, name="Key One", tier=Tier.KEY)
    k2 = f.customer(a1, name="Key Two", tier=Tier.KEY)
    c1, c2, c3 = (
        f.customer(a1, name="C One"),
        f.customer(a1, name="C Two"),
        f.customer(a1, name="C Three"),
    )
    d1 = f.customer(a2, name="D One")
    orders = [
        (k1, d, "1000")
        for d in (date(2024, 1, 10), date(2024, 3, 10), date(2024, 5, 10), date(2024, 7, 10))
    ]
    orders += [(k2, date(2025, m, 5), "10000") for m in (1, 2, 3, 4)]
    orders += [
        (c1, date(2024, 6, 1), "5000"),
        (c2, date(2024, 4, 20), "2000"),
        (c3, date(2025, 5, 2), "3000"),
        (c3, date(2025, 5, 2), "1000"),
        (d1, date(2025, 4, 20), "50000"),
    ]
    for i, (cust, day, amount) in enumerate(orders):
        order_create(
            number=f"H-{i}", customer=cust, owner=cust.owner, signed_on=day, amount=Decimal(amount)
        )
    return {"k1": k1, "k2": k2}


def test_health_of_a_rep(org, book):
    h = customer_health(scope_for(org.rep_a1.user))
    # active at 2025-03-31: K1, K2, C1, C2 (C3 not yet); at 2025-05-15 C2's last order is > 12 months old
    assert (h.churn.active_at_start, h.churn.churned, h.churn.rate) == (4, 1, 0.25)
    # trailing 12 months [2024-05-16, 2025-05-15]: buyers K1, K2, C1, C3; K2 (4 orders) and C3 (2) again
    assert (h.repurchase.buyers, h.repurchase.repeat_buyers, h.repurchase.rate) == (4, 2, 0.5)
    # revenue: K1 1 000, K2 40 000, C1 5 000, C3 4 000 = 50 000
    c = h.concentration
    assert c.customers == 4 and c.total == 50000
    assert c.top_n_share == 1.0
    assert c.top_share == pytest.approx(0.8)  # ceil(20 % × 4) = 1 customer: K2
    assert c.hhi == pytest.approx(0.02**2 + 0.8**2 + 0.1**2 + 0.08**2)  # 0.6568
    assert h.key_accounts == 2 and h.silent_total == 1
    quiet = h.silent[0]
    assert quiet.customer == book["k1"] and quiet.last_order == date(2024, 7, 10)
    assert quiet.usual_gap_days == 61 and quiet.days_silent == 309


def test_a_team_adds_its_members_customers(org, book):
    h = customer_health(scope_for(org.director.user, node=f"u{org.team_a.pk}"))
    assert h.concentration.customers == 5 and h.concentration.total == 100000
    assert h.concentration.top_n_share == 1.0
    assert h.concentration.top_share == pytest.approx(0.5)  # ceil(20 % × 5) = 1: D1
    assert (h.repurchase.buyers, h.repurchase.repeat_buyers) == (5, 2)
    assert h.churn.active_at_start == 4 and h.churn.churned == 1


def test_a_rep_sees_only_their_own_customers(client, org, book, login):
    login(org.rep_a2)
    r = client.get("/dashboard/?part=health")
    assert r.status_code == 200
    h = customer_health(scope_for(org.rep_a2.user))
    assert h.key_accounts == 0 and h.silent == [] and h.churn.rate is None
    assert h.concentration.total == 50000
    html = r.content.decode()
    assert "Key One" not in html and "No key account has gone quiet." in html
    assert 'data-testid="silent-count">0<' in html and "of 0 key accounts" in html
    login(org.rep_a1)
    html = client.get("/dashboard/?part=health").content.decode()
    assert (
        f'href="/customers/{book["k1"].pk}/"' in html
        and "Key One" in html
        and "Key Two" not in html
    )
    assert 'data-testid="churn">25%' in html


def test_the_page_loads_health_after_rendering(client, org, book, login):
    login(org.mgr_a)
    html = client.get("/dashboard/?period=month").content.decode()
    assert (
        'hx-get="?node=u' in html
        and "part=health" in html
        and 'data-testid="health-loading"' in html
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_aggregated_inputs_give_the_cores_figures_on_every_order(org, time_machine, seed):
    """The database hands the core one row per customer; the figures equal the core's on the
    full order list (random orders over three years, several per day, some customers quiet)."""
    import random

    from salesloop.core import customers as core
    from salesloop.core.periods import Period
    from salesloop.orders.models import Order

    time_machine.move_to(at(TODAY, 12), tick=False)
    rng = random.Random(seed)
    custs = [f.customer(org.rep_a1, tier=Tier.KEY if i % 3 == 0 else Tier.C) for i in range(12)]
    for i in range(80):
        cust = rng.choice(custs)
        day = date(2022, 6, 1) + (TODAY - date(2022, 6, 1)) * rng.random()
        order_create(
            number=f"R{seed}-{i}",
            customer=cust,
            owner=org.rep_a1,
            signed_on=day,
            amount=Decimal(rng.randint(1, 500) * 100),
        )
    scope = scope_for(org.rep_a1.user, period="month")
    h = customer_health(scope)
    rows = list(Order.objects.values_list("customer_id", "signed_on", "amount_base"))
    frame = core.orders_frame(
        [r[0] for r in rows], [r[1] for r in rows], [float(r[2]) for r in rows]
    )
    assert h.churn == core.churn(frame, Period(scope.period.start, scope.as_of))
    assert h.repurchase == core.repurchase(frame, h.window)
    expected = core.concentration(frame, window=h.window)
    assert (
        h.concentration.customers == expected.customers
        and h.concentration.top_n_share == pytest.approx(expected.top_n_share)
    )
    assert h.concentration.top_share == pytest.approx(
        expected.top_share
    ) and h.concentration.hhi == pytest.approx(expected.hhi)
    keys = [c.pk for c in custs if c.tier == Tier.KEY]
    quiet = core.key_account_silence(frame, scope.as_of, customers=keys).filter(
        core.pl.col("silent")
    )
    assert h.silent_total == quiet.height
    assert [q.customer.pk for q in h.silent] == quiet.get_column("customer").to_list()[:10]


def test_the_health_cards_group_large_counts():
    """At scale the cards read 1,474 of 35,708 and 1,089, as the rest of the page writes counts
    (they read 1474 of 35708)."""
    from datetime import date
    from types import SimpleNamespace

    from django.template.loader import render_to_string
    from django.utils import translation

    health = SimpleNamespace(
        window=SimpleNamespace(start=date(2025, 12, 3), end=date(2026, 12, 2)),
        churn=SimpleNamespace(rate=0.041, churned=1474, active_at_start=35708),
        repurchase=SimpleNamespace(rate=0.76, repeat_buyers=28168, buyers=37092),
        concentration=SimpleNamespace(
            top_n_share=0.03, top_share=0.85, hhi=0.0005, customers=37092
        ),
        silent_total=1089,
        key_accounts=3501,
        silent=[],
    )
    with translation.override("en"):
        html = render_to_string("insights/dashboard.html#health", {"health": health})
    assert "1,474 of 35,708 active customers" in html
    assert "28,168 of 37,092 buyers ordered again" in html
    assert "37,092 customers" in html and "of 3,501 key accounts" in html
    assert 'data-testid="silent-count">1,089<' in html
