"""Test data builders. Each returns saved objects made through the services."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from salesloop.activities.services import activity_log
from salesloop.customers.models import Customer, ProductLine
from salesloop.customers.services import customer_create, product_line_create
from salesloop.org.choices import Role, UnitKind
from salesloop.org.models import Member, OrgUnit
from salesloop.org.services import member_create, org_unit_create
from salesloop.pipeline.models import Opportunity, Pipeline
from salesloop.pipeline.services import opportunity_create, pipeline_create

PASSWORD = "test-password-123"
_seq = itertools.count(1)


def unit(name: str, kind: str = UnitKind.TEAM, parent: OrgUnit | None = None) -> OrgUnit:
    return org_unit_create(name=name, kind=kind, parent=parent)


def member(username: str, org_unit: OrgUnit, role: str = Role.REP, **kwargs: Any) -> Member:
    return member_create(
        username=username,
        password=PASSWORD,
        display_name=username.title(),
        org_unit=org_unit,
        role=role,
        **kwargs,
    )


def customer(owner: Member, name: str | None = None, **kwargs: Any) -> Customer:
    # test data may hold customers of one name, as data from before the name check may (the
    # check itself is tested through the services, pages and the API)
    kwargs.setdefault("unique_name", False)
    return customer_create(name=name or f"Customer {next(_seq)}", owner=owner, **kwargs)


def opportunity(
    owner: Member, cust: Customer | None = None, amount: str = "10000", **kwargs: Any
) -> Opportunity:
    return opportunity_create(
        name=kwargs.pop("name", f"Deal {next(_seq)}"),
        customer=cust or customer(owner),
        owner=owner,
        amount=Decimal(amount),
        expected_close=kwargs.pop("expected_close", date.today() + timedelta(days=30)),
        **kwargs,
    )


def activity(
    owner: Member,
    cust: Customer,
    *,
    at: datetime | None = None,
    due: date | None = None,
    **kwargs: Any,
):
    return activity_log(
        owner=owner,
        customer=cust,
        kind=kwargs.pop("kind", "call"),
        subject=kwargs.pop("subject", "Call"),
        occurred_at=at or timezone.now(),
        follow_up_due=due,
        **kwargs,
    )


@dataclass
class Org:
    """A small company with two branches, used by the visibility and view tests.

    Company (director, admin)
    ├── East region (regional manager: east_mgr)
    │   ├── Team A (manager: mgr_a; reps: rep_a1, rep_a2; viewer_a)
    │   └── Team B (rep_b1)
    └── West region
        └── Team W (manager: mgr_w; rep: rep_w1)
    """

    company: OrgUnit
    east: OrgUnit
    west: OrgUnit
    team_a: OrgUnit
    team_b: OrgUnit
    team_w: OrgUnit
    director: Member
    admin: Member
    east_mgr: Member
    mgr_a: Member
    rep_a1: Member
    rep_a2: Member
    viewer_a: Member
    rep_b1: Member
    mgr_w: Member
    rep_w1: Member
    pipeline: Pipeline
    product_line: ProductLine


def build_org() -> Org:
    company = unit("Company", UnitKind.COMPANY)
    east = unit("East", UnitKind.REGION, company)
    west = unit("West", UnitKind.REGION, company)
    team_a = unit("Team A", UnitKind.TEAM, east)
    team_b = unit("Team B", UnitKind.TEAM, east)
    team_w = unit("Team W", UnitKind.TEAM, west)
    return Org(
        company=company,
        east=east,
        west=west,
        team_a=team_a,
        team_b=team_b,
        team_w=team_w,
        director=member("director", company, Role.DIRECTOR),
        admin=member("admin", company, Role.ADMIN),
        east_mgr=member("east_mgr", east, Role.MANAGER),
        mgr_a=member("mgr_a", team_a, Role.MANAGER),
        rep_a1=member("rep_a1", team_a),
        rep_a2=member("rep_a2", team_a),
        viewer_a=member("viewer_a", team_a, Role.VIEWER),
        rep_b1=member("rep_b1", team_b),
        mgr_w=member("mgr_w", team_w, Role.MANAGER),
        rep_w1=member("rep_w1", team_w),
        pipeline=pipeline_create(name="Default", is_default=True),
        product_line=product_line_create(name="Software", code="SW"),
    )


def team_a_plan(org: Org, fiscal_year: int = 2027) -> Any:
    """A draft plan of booked revenue whose Team A holds 1,200,000 (floor 1,000,000, stretch
    1,500,000), split down to its people; returns (plan, Team A's target)."""
    from salesloop.targets import services as s
    from salesloop.targets.models import Target
    from salesloop.targets.planning import split_subtree

    plan = s.plan_create(fiscal_year=fiscal_year, owner=org.director, actor=org.director.user)
    s.plan_build_tree(plan=plan, metric="booked_revenue")
    team = Target.objects.get(
        plan=plan, unit=org.team_a, member=None, metric="booked_revenue", product_line=None
    )
    s.target_set(
        target=team,
        floor=Decimal("1000000"),
        target_value=Decimal("1200000"),
        stretch=Decimal("1500000"),
        actor=org.director.user,
    )
    split_subtree(target=team, actor=org.director.user)
    team.refresh_from_db()
    return plan, team


def target_node(plan: Any, *, unit: Any = None, member: Any = None) -> Any:
    """The plan's booked-revenue target (over all product lines) of ``unit`` or ``member``."""
    from salesloop.targets.models import Target

    return Target.objects.get(
        plan=plan, unit=unit, member=member, metric="booked_revenue", product_line=None
    )


def set_levels(target: Any, value: Decimal, actor: Member) -> None:
    """Set ``target`` to ``value`` with the floor at 80 % of it and the stretch at 120 %."""
    from salesloop.targets import services

    services.target_set(
        target=target,
        floor=value * Decimal("0.8"),
        target_value=value,
        stretch=value * Decimal("1.2"),
        actor=actor.user,
    )


def with_a_figure(plan: Any, value: Decimal = Decimal("1000"), member: Any = None) -> Any:
    """Give ``plan`` one target above 0 (``member``'s own booked revenue, else the first
    person's, written directly: no months, no history), as a plan must hold before it is
    submitted; returns the plan."""
    from salesloop.targets.models import Target

    people = Target.objects.filter(plan=plan, member__isnull=False, product_line=None)
    first = (people.filter(member=member) if member is not None else people).order_by("pk").first()
    assert first is not None, "the plan has no person's target yet"
    Target.objects.filter(pk=first.pk).update(floor=value, target=value, stretch=value)
    return plan
