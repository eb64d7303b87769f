"""Bulk helpers of salesloop.common.db on the database under test (SQLite and PostgreSQL)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from salesloop.common.db import insert_rows, update_rows
from salesloop.targets import services
from salesloop.targets.models import Target, TargetMonth

pytestmark = pytest.mark.django_db


def _plan(org):
    plan = services.plan_create(
        fiscal_year=2027, owner=org.director, actor=org.director.user, name="db helpers"
    )
    services.plan_build_tree(plan=plan, metric="booked_revenue")
    return plan


@pytest.fixture(params=["one statement", "temporary table"])
def path(request, monkeypatch):
    """Both of update_rows' ways on PostgreSQL: a few rows in one UPDATE from VALUES, many
    through a temporary table (FEW_ROWS set to 0 forces it)."""
    if request.param == "temporary table":
        monkeypatch.setattr("salesloop.common.db.FEW_ROWS", 0)
    return request.param


def test_update_rows_sets_each_row_its_own_values(org, path):
    plan = _plan(org)
    targets = list(Target.objects.filter(plan=plan).order_by("pk"))
    untouched = targets[-1]
    Target.objects.filter(pk__in=[t.pk for t in targets]).update(smart=[{"letter": "S"}])
    rows = [
        (
            t.pk,
            Decimal(i) + Decimal("0.25"),
            Decimal(10 * i) + Decimal("0.5"),
            Decimal(10 * i) + Decimal("0.75"),
            t.lock_version + 1,
            {"note": f"row {i}", "n": [i, "二"]},
        )
        for i, t in enumerate(targets[:-1], start=1)
    ]
    count = update_rows(
        Target,
        ["id"],
        ["floor", "target", "stretch", "lock_version", "recommendation"],
        rows,
    )
    assert count == len(targets) - 1
    for pk, floor, target, stretch, version, rec in rows:
        t = Target.objects.get(pk=pk)
        assert (t.floor, t.target, t.stretch, t.lock_version, t.recommendation) == (
            floor,
            target,
            stretch,
            version,
            rec,
        )
        assert t.smart == [{"letter": "S"}]  # a field not named stays as it was
    assert Target.objects.get(pk=untouched.pk).recommendation == untouched.recommendation
    assert update_rows(Target, ["id"], ["floor"], []) == 0


def test_update_rows_by_a_composite_key_and_insert_rows(org, path):
    plan = _plan(org)
    a, b = Target.objects.filter(plan=plan).order_by("pk")[:2]
    insert_rows(
        TargetMonth,
        ["target", "month", "floor", "target_value", "stretch"],
        [(t.pk, m, Decimal(m), Decimal(2 * m), Decimal(3 * m)) for t in (a, b) for m in (1, 2)],
    )
    assert TargetMonth.objects.filter(target__in=[a, b]).count() == 4
    count = update_rows(
        TargetMonth,
        ["target", "month"],
        ["target_value"],
        [(a.pk, 2, Decimal("4.50")), (b.pk, 1, Decimal("1.25"))],
    )
    assert count == 2
    got = {
        (r.target_id, r.month): (r.floor, r.target_value, r.stretch)
        for r in TargetMonth.objects.filter(target__in=[a, b])
    }
    assert got == {
        (a.pk, 1): (Decimal(1), Decimal(2), Decimal(3)),
        (a.pk, 2): (Decimal(2), Decimal("4.50"), Decimal(6)),
        (b.pk, 1): (Decimal(1), Decimal("1.25"), Decimal(3)),
        (b.pk, 2): (Decimal(2), Decimal(4), Decimal(6)),
    }


def test_update_rows_from_minor_units_writes_what_decimals_would(org):
    import numpy as np

    plan = _plan(org)
    a, b = Target.objects.filter(plan=plan).order_by("pk")[:2]
    months = [(t.pk, m) for t in (a, b) for m in (1, 2, 3)]
    insert_rows(
        TargetMonth,
        ["target", "month", "floor", "target_value", "stretch"],
        [(pk, m, Decimal(0), Decimal(0), Decimal(0)) for pk, m in months],
    )
    amounts = [(0, 5, 123456), (1, 10, 99), (100, 2_000_000_000_01, 7)]
    table = np.array(
        [(pk, m, *amounts[(m - 1) % 3]) for pk, m in months if (pk, m) != (b.pk, 3)],
        dtype=np.int64,
    )
    count = update_rows(
        TargetMonth,
        ["target", "month"],
        ["floor", "target_value", "stretch"],
        table,
        minor_places=2,
    )
    assert count == 5
    got = {
        (r.target_id, r.month): (r.floor, r.target_value, r.stretch)
        for r in TargetMonth.objects.filter(target__in=[a, b])
    }
    cents = Decimal("0.01")
    for pk, m in months:
        expected = (
            (Decimal(0), Decimal(0), Decimal(0))
            if (pk, m) == (b.pk, 3)
            else tuple(Decimal(v) * cents for v in amounts[(m - 1) % 3])
        )
        assert got[(pk, m)] == expected
    # whole units (counts)
    update_rows(
        TargetMonth,
        ["target", "month"],
        ["floor"],
        np.array([(a.pk, 1, 42)], dtype=np.int64),
        minor_places=0,
    )
    assert TargetMonth.objects.get(target=a, month=1).floor == Decimal(42)
    with pytest.raises(ValueError):
        update_rows(
            TargetMonth,
            ["target", "month"],
            ["floor"],
            np.array([(a.pk, 1, -1)], dtype=np.int64),
            minor_places=2,
        )
    with pytest.raises(TypeError):
        update_rows(
            TargetMonth,
            ["target", "month"],
            ["floor"],
            np.array([(a.pk, 1, 1.5)]),
            minor_places=2,
        )


def test_fetch_rows_gives_what_values_list_gives_and_month_index(org):
    from datetime import date

    from salesloop.common.db import MonthIndex, fetch_rows
    from salesloop.customers.services import product_create
    from salesloop.orders.models import Order
    from salesloop.orders.services import LineIn, order_create
    from tests import factories as f

    plan = _plan(org)
    Target.objects.filter(plan=plan).update(
        floor=Decimal("1.25"), target=Decimal("2.5"), stretch=Decimal("3"), smart=[{"x": 1.5}]
    )
    query = Target.objects.filter(plan=plan).order_by("pk")
    fields = ("pk", "floor", "smart", "unit__name", "member__hired_on")
    assert fetch_rows(query.values_list(*fields)) == list(query.values_list(*fields))
    assert fetch_rows(query.filter(pk__in=[]).values_list("pk")) == []
    cust = f.customer(org.rep_a1)
    item = product_create(name="P", sku="P1", product_line=org.product_line, list_price=Decimal(1))
    for n, day in enumerate((date(2023, 12, 31), date(2024, 1, 1), date(2026, 11, 15))):
        order_create(
            number=f"M{n}",
            customer=cust,
            owner=org.rep_a1,
            signed_on=day,
            lines=[LineIn(item, Decimal(1), Decimal(1))],
        )
    got = fetch_rows(
        Order.objects.order_by("signed_on").values_list("signed_on", MonthIndex("signed_on"))
    )
    assert [index for _day, index in got] == [d.year * 12 + d.month - 1 for d, _index in got]
    assert [index for _day, index in got] == [2023 * 12 + 11, 2024 * 12, 2026 * 12 + 10]
    with pytest.raises(TypeError):
        list(Order.objects.values_list(MonthIndex("created_at")))


def test_epoch_seconds_is_the_datetime_s_timestamp(org):
    """``EpochSeconds`` gives what Python's ``datetime.timestamp()`` gives for the same stored
    value (UTC, whatever the company's zone; sub-second parts kept), and NULL for NULL."""
    from datetime import UTC, datetime, timedelta, timezone
    from zoneinfo import ZoneInfo

    from salesloop.common.db import EpochSeconds
    from salesloop.pipeline.models import Opportunity
    from tests import factories as f

    moments = [
        datetime(2026, 1, 1, 0, 0, tzinfo=ZoneInfo("Asia/Shanghai")),  # 2025-12-31 16:00 UTC
        datetime(1970, 1, 1, 0, 0, 1, 500000, tzinfo=UTC),  # 1.5 s
        datetime(2024, 2, 29, 23, 59, 59, tzinfo=timezone(timedelta(hours=-5))),
    ]
    deals = [f.opportunity(org.rep_a1) for _ in moments]
    for deal, at in zip(deals, moments, strict=True):
        Opportunity.objects.filter(pk=deal.pk).update(stage_entered_at=at)
    extra = f.opportunity(org.rep_a1)
    Opportunity.objects.filter(pk=extra.pk).update(stage_entered_at=None)
    got = dict(
        Opportunity.objects.filter(pk__in=[d.pk for d in [*deals, extra]]).values_list(
            "pk", EpochSeconds("stage_entered_at")
        )
    )
    assert got[deals[0].pk] == pytest.approx(1767196800.0, abs=1e-3)  # worked out by hand
    assert got[deals[1].pk] == pytest.approx(1.5, abs=1e-3)
    for deal, at in zip(deals, moments, strict=True):
        assert got[deal.pk] == pytest.approx(at.timestamp(), abs=1e-3)
    assert got[extra.pk] is None


def test_fetch_numbers_reads_numbers_as_a_float_array(org):
    """``fetch_numbers`` gives the rows of a numeric ``values_list()`` as rows × columns floats
    (amounts cast to float in the query), the same figures as Django's rows; an empty or
    impossible query gives an empty array of the right width."""
    from django.db.models import FloatField
    from django.db.models.functions import Cast

    from salesloop.common.db import fetch_numbers

    plan = _plan(org)
    Target.objects.filter(plan=plan).update(
        floor=Decimal("1234567.89"), target=Decimal("1234567.89"), stretch=Decimal("1234567.89")
    )
    query = (
        Target.objects.filter(plan=plan)
        .annotate(x=Cast("target", FloatField()))
        .order_by("pk")
        .values_list("pk", "x")
    )
    got = fetch_numbers(query)
    assert got.shape == (query.count(), 2) and got.shape[0] > 0
    assert got.tolist() == [[float(pk), x] for pk, x in query]
    assert set(got[:, 1].tolist()) == {1234567.89}
    assert fetch_numbers(query.filter(pk__in=[])).shape == (0, 2)
    assert fetch_numbers(query.filter(pk=-1)).shape == (0, 2)
