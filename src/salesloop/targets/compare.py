"""Two plans side by side (方案对比): what a new version changed, or how this year's targets
stand against last year's, node by node, through the visibility rule.

A node is matched across the plans by its owner (the org unit, or the person), for the same
metric and product line; the tree is the plan's own, and nodes only in the other plan (a person
who has left, a team that was closed) are listed after it. A person whose team differs between
the plans says where they were.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import Q, QuerySet

from salesloop.targets import selectors
from salesloop.targets.choices import PlanStatus
from salesloop.targets.models import Plan, Target

LEVELS = ("floor", "target", "stretch")
#: How many of the largest rises and cuts the summary names.
EXTREMES = 3
#: A node whose target changes by this much more (or less) than its parent's is highlighted:
#: out of step with its team. The top node is measured against no change.
FLAG_POINTS = Decimal("0.1")


def owner_key(t: Target) -> tuple[str, int]:
    return ("m", t.member_id) if t.member_id else ("u", t.unit_id)  # type: ignore[return-value]


@dataclass
class CompareRow:
    owner_name: str
    depth: int
    is_unit: bool
    this: Target | None
    other: Target | None
    #: The other plan's parent node, when the owner sits under another one there.
    moved_from: str | None = None
    #: A change at this node or anywhere below it (the "only changes" view keeps the path).
    changed_below: bool = False
    #: The parent's relative change of the target (0 for the top node), when both plans have it.
    parent_ratio: Decimal | None = Decimal(0)
    #: The actual of the other plan's year so far (when that year has begun).
    actual: Decimal | None = None

    @property
    def change(self) -> Decimal | None:
        if self.this is None or self.other is None:
            return None
        return self.this.target - self.other.target

    @property
    def ratio(self) -> Decimal | None:
        change = self.change
        if change is None or not self.other or not self.other.target:
            return None
        return change / self.other.target

    @property
    def changed(self) -> bool:
        if self.this is None or self.other is None:
            return True
        return any(getattr(self.this, lv) != getattr(self.other, lv) for lv in LEVELS)

    @property
    def flag(self) -> bool:
        """New, gone, or out of step with its parent by ``FLAG_POINTS`` or more."""
        if self.this is None or self.other is None:
            return True
        ratio = self.ratio
        if ratio is None or self.parent_ratio is None:
            return False
        return abs(ratio - self.parent_ratio) >= FLAG_POINTS

    @property
    def attainment(self) -> Decimal | None:
        """The other plan's year: actual / its target."""
        if self.actual is None or self.other is None or not self.other.target:
            return None
        return self.actual / self.other.target

    @property
    def key(self) -> tuple[str, int]:
        target = self.this or self.other
        assert target is not None
        return owner_key(target)


@dataclass
class Comparison:
    plan: Plan
    other: Plan
    metric: str
    rows: list[CompareRow]
    #: Nodes the other plan has and this one has not, in the other plan's tree order.
    gone: list[CompareRow]
    changed: int = 0
    added: int = 0
    unchanged: int = 0
    top: CompareRow | None = field(default=None)
    #: The people with the largest rises and cuts of their target, in that order (up to 3 each).
    rises: list[CompareRow] = field(default_factory=list)
    cuts: list[CompareRow] = field(default_factory=list)
    #: The other plan's year, read to this day (None: that year has not begun, no actuals).
    actual_to: date | None = None
    #: Whether ``actual_to`` is the end of that year (the year is over).
    actual_whole_year: bool = False


def candidates(*, user: Any, plan: Plan) -> QuerySet[Plan]:
    """The plans this one can be compared with: every other plan the user may open."""
    return selectors.plan_list(user=user).exclude(pk=plan.pk)


def default_other(*, user: Any, plan: Plan) -> Plan | None:
    """The plan a comparison starts from: the version this one was copied from; else the latest
    other version of the same year; else last year's active plan, or its latest version, or one
    not a draft; else, for a plan with no year before it (the first year's, whose next year is
    being drafted), next year's plan chosen the same way."""
    plans = candidates(user=user, plan=plan)
    if plan.based_on_id:
        based_on = plans.filter(pk=plan.based_on_id).first()
        if based_on is not None:
            return based_on
    same_year = plans.filter(fiscal_year=plan.fiscal_year).order_by("-version").first()
    if same_year is not None:
        return same_year
    for year in (plan.fiscal_year - 1, plan.fiscal_year + 1):
        of_year = plans.filter(fiscal_year=year)
        chosen = (
            of_year.filter(status=PlanStatus.ACTIVE).first()
            or of_year.filter(~Q(status=PlanStatus.DRAFT)).order_by("-version").first()
            or of_year.order_by("-version").first()
        )
        if chosen is not None:
            return chosen
    return None


def plan_compare(
    *,
    user: Any,
    plan: Plan,
    other: Plan,
    metric: str,
    product_line: Any = None,
    today: date | None = None,
) -> Comparison:
    """``plan`` beside ``other`` for one metric and product line, as far as the user may see.

    Once the other plan's year has begun, each node also carries its actual in that year to
    ``today`` (the actuals as My targets reads them: a person's credited figures, a team's the
    sum of the people of its subtree the user may see), so last year's targets come with what
    became of them."""
    rows_here, theirs = (
        selectors.plan_rows(
            user=user, plan=p, metric=metric, product_line=product_line, values_only=True
        )
        for p in (plan, other)
    )
    here_by_pk = {r.target.pk: r.target for r in rows_here}
    there_by_pk = {r.target.pk: r.target for r in theirs}
    there = {owner_key(r.target): r for r in theirs}

    def parent_key(t: Target, by_pk: dict[int, Target]) -> tuple[str, int] | None:
        parent = by_pk.get(t.parent_id) if t.parent_id else None
        return owner_key(parent) if parent is not None else None

    rows: list[CompareRow] = []
    for r in rows_here:
        t = r.target
        match = there.get(owner_key(t))
        o = match.target if match is not None else None
        moved_from = None
        if o is not None:
            was, now = parent_key(o, there_by_pk), parent_key(t, here_by_pk)
            if was is not None and now is not None and was != now:
                moved_from = there_by_pk[o.parent_id].owner_name  # type: ignore[index]
        rows.append(
            CompareRow(
                owner_name=t.owner_name,
                depth=r.depth,
                is_unit=bool(t.unit_id),
                this=t,
                other=o,
                moved_from=moved_from,
            )
        )
    keys_here = {owner_key(r.target) for r in rows_here}
    gone = [
        CompareRow(
            owner_name=r.target.owner_name,
            depth=0,
            is_unit=bool(r.target.unit_id),
            this=None,
            other=r.target,
        )
        for r in theirs
        if owner_key(r.target) not in keys_here
    ]
    # A changed node marks itself and its ancestors, so "only changes" keeps the path to it.
    row_of = {row.this.pk: row for row in rows if row.this is not None}
    for row in rows:
        if not row.changed:
            continue
        node: Target | None = row.this
        while node is not None and not row_of[node.pk].changed_below:
            row_of[node.pk].changed_below = True
            node = here_by_pk.get(node.parent_id) if node.parent_id else None
    for row in rows:  # each node against its parent's change
        assert row.this is not None
        parent = row_of.get(row.this.parent_id) if row.this.parent_id else None
        if parent is not None:
            row.parent_ratio = parent.ratio
    comparison = Comparison(plan=plan, other=other, metric=metric, rows=rows, gone=gone)
    comparison.added = sum(1 for row in rows if row.other is None)
    comparison.changed = sum(1 for row in rows if row.other is not None and row.changed)
    comparison.unchanged = len(rows) - comparison.added - comparison.changed
    comparison.top = next((row for row in rows if row.depth == 0), None)
    _add_actuals(comparison, user=user, product_line=product_line, today=today)
    people = sorted(
        (row for row in rows if not row.is_unit and row.ratio is not None and row.change),
        key=lambda row: row.ratio,  # type: ignore[arg-type,return-value]
    )
    comparison.rises = [row for row in reversed(people) if row.change > 0][:EXTREMES]  # type: ignore[operator]
    comparison.cuts = [row for row in people if row.change < 0][:EXTREMES]  # type: ignore[operator]
    return comparison


def _add_actuals(c: Comparison, *, user: Any, product_line: Any, today: date | None) -> None:
    """Each node's actual in the other plan's year to ``today``: one read for every person."""
    from django.utils import timezone

    from salesloop.core.periods import FiscalCalendar
    from salesloop.insights.actuals import monthly_actuals_by_line
    from salesloop.org.models import Member
    from salesloop.org.services import company_get
    from salesloop.org.visibility import visible

    today = today or timezone.localdate()
    year = FiscalCalendar(company_get().fiscal_year_start_month).year(c.other.fiscal_year)
    if today < year.start:
        return
    c.actual_to = min(today, year.end)
    c.actual_whole_year = today >= year.end
    paths = dict(visible(Member.objects.all(), user=user).values_list("pk", "org_unit__path"))
    got = monthly_actuals_by_line(
        metric=c.metric,
        members=list(paths),
        start=year.start,
        end=c.actual_to,
        lines=[product_line],
    )[getattr(product_line, "pk", None)]
    per_member: dict[int, Decimal] = {}
    for (member_id, _y, _m), value in got.values.items():
        per_member[member_id] = per_member.get(member_id, Decimal(0)) + value
    for row in [*c.rows, *c.gone]:
        t = row.this or row.other
        assert t is not None
        if t.member_id:
            row.actual = per_member.get(t.member_id, Decimal(0)) if t.member_id in paths else None
        else:
            prefix = t.unit.path  # type: ignore[union-attr]
            row.actual = sum(
                (v for m, v in per_member.items() if paths[m].startswith(prefix)), Decimal(0)
            )
