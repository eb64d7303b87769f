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


def test_update_rows_sets_each_row_its_own_values(org):
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
        batch_size=2,
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


def test_update_rows_by_a_composite_key_and_insert_rows(org):
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
