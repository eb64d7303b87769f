"""What a dashboard looks at: the node (org unit subtree or one member), the period, the
product line — resolved from the URL through the visibility rule.

A node the viewer may not see answers like a missing one (404). A rep's only node is
themselves; a manager's nodes are their unit's subtree and its members; a director or admin
sees the whole tree. The member ids of a node are always read through
:func:`salesloop.org.visibility.visible`, so no figure of a hidden member is ever loaded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.http import Http404, QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _

from salesloop.core.periods import FiscalCalendar, Period
from salesloop.customers.models import ProductLine
from salesloop.org.choices import Role
from salesloop.org.models import Company, Member, OrgUnit
from salesloop.org.visibility import member_of, sees_everything, visible
from salesloop.targets.choices import MONEY_METRICS, Metric

KINDS = ("month", "quarter", "year", "custom")
TRACKED_METRICS = (Metric.BOOKED_REVENUE, Metric.COLLECTED_REVENUE)
MAX_CUSTOM_DAYS = 3 * 366


@dataclass(frozen=True)
class Node:
    """A dashboard node: an org unit's subtree or one member."""

    kind: str  # "unit" | "member"
    pk: int
    name: str
    member_ids: tuple[int, ...]
    unit: OrgUnit | None = None
    member: Member | None = None

    @property
    def key(self) -> str:
        return f"{self.kind[0]}{self.pk}"


@dataclass(frozen=True)
class Scope:
    user: Any
    viewer: Member | None
    node: Node
    children: tuple[Node, ...]
    crumbs: tuple[Node, ...]
    period: Period
    kind: str
    today: date
    fiscal: FiscalCalendar
    product_line: ProductLine | None
    metric: str
    lines: tuple[ProductLine, ...] = field(default=())

    @property
    def money(self) -> bool:
        """True when the scope's metric is an amount (charts label it ¥…)."""
        return self.metric in MONEY_METRICS

    @property
    def as_of(self) -> date:
        """ "Today" clamped to the period."""
        return self.period.clamp(self.today)

    def query(self, **changes: Any) -> str:
        """The URL query of this scope with some parameters changed."""
        params = QueryDict(mutable=True)
        values = {"node": self.node.key, "period": self.kind, "metric": self.metric}
        if self.kind == "custom":
            values["from"] = self.period.start.isoformat()
            values["to"] = self.period.end.isoformat()
        else:
            values["on"] = self.period.start.isoformat()
        if self.product_line is not None:
            values["line"] = str(self.product_line.pk)
        values.update(dict(changes.items()))
        for k, v in values.items():
            if v not in (None, ""):
                params[k] = str(v)
        return params.urlencode()


def fiscal_calendar() -> FiscalCalendar:
    company = Company.objects.only("fiscal_year_start_month").first()
    return FiscalCalendar(company.fiscal_year_start_month if company else 1)


def _parse_date(raw: str | None) -> date | None:
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def resolve_period(
    params: QueryDict | dict[str, str], fiscal: FiscalCalendar, today: date
) -> tuple[Period, str]:
    kind = params.get("period") or "quarter"
    if kind not in KINDS:
        kind = "quarter"
    if kind == "custom":
        start, end = _parse_date(params.get("from")), _parse_date(params.get("to"))
        if start and end and start <= end and (end - start).days <= MAX_CUSTOM_DAYS:
            return Period(start, end), kind
        kind = "quarter"
    anchor = _parse_date(params.get("on")) or today
    if kind == "month":
        return fiscal.month_containing(anchor), kind
    if kind == "year":
        return fiscal.year_containing(anchor), kind
    return fiscal.quarter_containing(anchor), kind


def _visible_members(user: Any) -> Any:
    return visible(Member.objects.all(), user=user)


def _unit_node(unit: OrgUnit, visible_members: dict[int, tuple[str, str]]) -> Node:
    ids = tuple(
        sorted(pk for pk, (_name, path) in visible_members.items() if path.startswith(unit.path))
    )
    return Node("unit", unit.pk, unit.name, ids, unit=unit)


def _member_node(member: Member) -> Node:
    return Node("member", member.pk, member.display_name, (member.pk,), member=member)


def root_node_key(user: Any) -> str | None:
    """The node a user lands on: the company for company-wide roles, a manager's (or
    viewer's) unit, a rep themselves."""
    viewer = member_of(user)
    if sees_everything(user):
        root = OrgUnit.objects.filter(parent__isnull=True).order_by("path").first()
        return f"u{root.pk}" if root else None
    if viewer is None:
        return None
    if viewer.role == Role.REP:
        return f"m{viewer.pk}"
    return f"u{viewer.org_unit_id}"


def resolve_scope(
    user: Any, params: QueryDict | dict[str, str], *, today: date | None = None
) -> Scope:
    """The scope of a dashboard request (404 for a node the user may not see)."""
    viewer = member_of(user)
    if viewer is None and not sees_everything(user):
        raise Http404("Not found.")
    today = today or timezone.localdate()
    fiscal = fiscal_calendar()
    period, kind = resolve_period(params, fiscal, today)
    key = params.get("node") or root_node_key(user) or ""
    members = {
        pk: (name, path)
        for pk, name, path in _visible_members(user).values_list(
            "pk", "display_name", "org_unit__path"
        )
    }
    node, children, crumbs = _resolve_node(user, viewer, key, members)
    lines = tuple(ProductLine.objects.order_by("name"))
    line = None
    raw_line = params.get("line")
    if raw_line:
        line = next((ln for ln in lines if str(ln.pk) == raw_line), None)
    metric = params.get("metric") or Metric.BOOKED_REVENUE
    if metric not in TRACKED_METRICS:
        metric = Metric.BOOKED_REVENUE
    return Scope(
        user=user,
        viewer=viewer,
        node=node,
        children=children,
        crumbs=crumbs,
        period=period,
        kind=kind,
        today=today,
        fiscal=fiscal,
        product_line=line,
        metric=metric,
        lines=lines,
    )


def _resolve_node(
    user: Any, viewer: Member | None, key: str, members: dict[int, tuple[str, str]]
) -> tuple[Node, tuple[Node, ...], tuple[Node, ...]]:
    if len(key) < 2 or key[0] not in "um" or not key[1:].isdigit():
        raise Http404("Not found.")
    pk = int(key[1:])
    everything = sees_everything(user)
    if key[0] == "m":
        if pk not in members:
            raise Http404("Not found.")
        member = Member.objects.select_related("org_unit").get(pk=pk)
        node = _member_node(member)
        crumbs = (
            _crumbs(member.org_unit, viewer, everything, members)
            if not _is_rep(viewer, everything)
            else ()
        )
        return node, (), crumbs
    if _is_rep(viewer, everything):
        raise Http404("Not found.")  # a rep never sees a unit's total
    unit = OrgUnit.objects.filter(pk=pk).first()
    if unit is None:
        raise Http404("Not found.")
    if not everything and not unit.path.startswith(viewer.org_unit.path):  # type: ignore[union-attr]
        raise Http404("Not found.")
    node = _unit_node(unit, members)
    kids: list[Node] = [
        _unit_node(u, members) for u in OrgUnit.objects.filter(parent=unit).order_by("name")
    ]
    kids = [k for k in kids if k.member_ids]
    direct = Member.objects.filter(org_unit=unit, pk__in=list(members)).order_by("display_name")
    kids += [_member_node(m) for m in direct]
    return node, tuple(kids), _crumbs(unit.parent, viewer, everything, members)


def _is_rep(viewer: Member | None, everything: bool) -> bool:
    return not everything and viewer is not None and viewer.role == Role.REP


def _crumbs(
    unit: OrgUnit | None,
    viewer: Member | None,
    everything: bool,
    members: dict[int, tuple[str, str]],
) -> tuple[Node, ...]:
    """Ancestors of a node the viewer may open (top first)."""
    if unit is None:
        return ()
    ids = [int(p) for p in unit.path.strip("/").split("/") if p]
    units = {u.pk: u for u in OrgUnit.objects.filter(pk__in=ids)}
    out = []
    for pk in ids:
        u = units.get(pk)
        if u is None:
            continue
        if everything or (viewer is not None and u.path.startswith(viewer.org_unit.path)):
            out.append(Node("unit", u.pk, u.name, (), unit=u))
    return tuple(out)


def period_label(scope: Scope) -> str:
    return period_text(period_spec(scope))


def period_spec(scope: Scope) -> dict[str, Any]:
    """The scope's period as language-neutral data (kind, dates, fiscal year and quarter): a
    stored report keeps this and writes its label in the reader's language
    (:func:`period_text`)."""
    p = scope.period
    spec: dict[str, Any] = {
        "kind": scope.kind,
        "start": p.start.isoformat(),
        "end": p.end.isoformat(),
    }
    if scope.kind == "quarter":
        spec["fy"], spec["q"] = scope.fiscal.quarter_of(p.start)
    elif scope.kind == "year":
        spec["fy"] = scope.fiscal.fiscal_year_of(p.start)
    return spec


def period_text(spec: dict[str, Any]) -> str:
    """A period's label in the active language ("FY2026 Q3", "2026财年 Q3", "2026-03")."""
    kind = spec.get("kind")
    if kind == "month":
        return str(spec["start"])[:7]
    if kind == "quarter":
        return _("FY%(fy)s Q%(q)s") % {"fy": spec["fy"], "q": spec["q"]}
    if kind == "year":
        return _("FY%(fy)s") % {"fy": spec["fy"]}
    return f"{spec['start']} – {spec['end']}"


def shift_anchor(scope: Scope, step: int) -> str:
    """The ``on`` date of the previous (step -1) or next (+1) period of the same kind."""
    p = scope.period
    if step < 0:
        return scope.fiscal.previous(p).start.isoformat()
    return (p.end + timedelta(days=1)).isoformat()
