"""Reads for plans and targets, through the visibility rule."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import F, Max, Q, QuerySet, Sum
from django.db.models.functions import Abs

from salesloop.common.models import AuditEvent
from salesloop.customers.models import ProductLine
from salesloop.org.visibility import member_of, visible
from salesloop.targets import rules, smart
from salesloop.targets.choices import Metric, PlanStatus, ProposalStatus
from salesloop.targets.models import Plan, PlanRun, Proposal, Revision, Target, TargetMonth


def plan_list(*, user: Any) -> QuerySet[Plan]:
    """Plans are company-wide documents; what a user sees inside one is filtered per target."""
    if member_of(user) is None and not getattr(user, "is_superuser", False):
        return Plan.objects.none()
    return Plan.objects.select_related("owner", "approved_by").order_by("-fiscal_year", "-version")


def plan_headlines(*, user: Any, plans: Sequence[Plan]) -> dict[int, Target]:
    """Per plan, its booked-revenue total at the highest node the user may see (the company for
    a director, the team for a manager, their own for a rep): the figure the plans list shows."""
    rows = (
        visible(
            Target.objects.filter(
                plan__in=[p.pk for p in plans],
                metric=Metric.BOOKED_REVENUE,
                product_line__isnull=True,
            ),
            user=user,
        )
        .select_related("unit", "member")
        .only(
            "plan_id",
            "parent_id",
            "floor",
            "target",
            "stretch",
            "metric",
            "unit__name",
            "member__display_name",
        )
    )
    targets = list(rows)
    ids = {t.pk for t in targets}
    out: dict[int, Target] = {}
    for t in targets:
        if t.parent_id in ids:
            continue  # below another visible target
        best = out.get(t.plan_id)
        if best is None or t.target > best.target:
            out[t.plan_id] = t
    return out


def plan_get(*, user: Any, pk: Any) -> Plan:
    from django.http import Http404

    plan = plan_list(user=user).filter(pk=pk).first()
    if plan is None:
        raise Http404("Not found.")
    return plan


def run_get(*, user: Any, plan_pk: Any, run_id: Any) -> PlanRun:
    """A recomputation of a plan, for those who may start one (its progress and its refusals
    name people and figures of the whole plan); anyone else gets "not found"."""
    from django.http import Http404

    plan = plan_get(user=user, pk=plan_pk)
    member = member_of(user)
    run = PlanRun.objects.filter(plan=plan, pk=run_id).select_related("plan").first()
    if run is None or member is None or not rules.may_edit_plan(member, plan):
        raise Http404("Not found.")
    return run


def target_list(
    *, user: Any, plan: Plan, metric: str | None = None, product_line: Any = "any"
) -> QuerySet[Target]:
    queryset = Target.objects.filter(plan=plan).select_related(
        "unit", "member__org_unit", "product_line"
    )
    if metric:
        queryset = queryset.filter(metric=metric)
    if product_line != "any":
        queryset = queryset.filter(product_line=product_line)
    return visible(queryset, user=user)


def proposal_get(*, user: Any, pk: Any) -> Proposal:
    """One proposal the user may see (on a target they may see); 404 like a missing one."""
    from salesloop.org.visibility import get_visible_or_404

    return get_visible_or_404(Proposal.objects.select_related("target__plan"), user=user, pk=pk)


def target_get(*, user: Any, pk: Any) -> Target:
    from salesloop.org.visibility import get_visible_or_404

    return get_visible_or_404(
        Target.objects.select_related("plan", "unit", "member__org_unit", "product_line"),
        user=user,
        pk=pk,
    )


@dataclass
class Row:
    target: Target
    depth: int
    children_sum: dict[str, Decimal] | None
    gaps: dict[str, Decimal] = field(default_factory=dict)
    #: where the year adds up: the months (1 = the fiscal year's first) in which the targets
    #: under it do not add up to its own (one level or more), e.g. after its months were set
    #: by hand without the subtree's
    month_gaps: list[int] = field(default_factory=list)
    editable: bool = False
    splittable: bool = False
    revisable: bool = False
    proposable: bool = False
    smart: dict[str, Any] = field(default_factory=dict)
    own_baseline: dict[str, float] = field(default_factory=dict)
    #: the quantiles of its forecast total (``smart.BASIS_PROBS``), whole units, comma-joined:
    #: the page reads the chance of reaching a figure being typed from them ("" without them)
    chance_totals: str = ""
    #: the lock versions of the subtree added up: it moves on with any change below (a split
    #: from a page sends it back, so that it never overwrites what it did not show)
    stamp: int = 0
    #: its lock version and those of the targets one level under it added up: "Take their sum"
    #: sends it back, so that it never adopts a sum it did not show
    family_stamp: int = 0


def plan_rows(
    *,
    user: Any,
    plan: Plan,
    metric: str,
    product_line: Any = None,
    values_only: bool = False,
    month_gaps: bool = False,
) -> list[Row]:
    """The plan's tree for one metric and product line, in tree order, as far as the user may see.

    ``values_only``: without the recommendation and the SMART check (large JSON a comparison of
    the values does not need); the rows' ``smart`` and ``own_baseline`` are then empty.
    ``month_gaps``: with the months in which a parent's children do not add up (the plan page
    flags them), in two more queries."""
    queryset = target_list(user=user, plan=plan, metric=metric, product_line=product_line)
    if values_only:
        queryset = queryset.defer("recommendation", "smart", "smart_basis")
    targets = list(queryset)
    by_parent: dict[int | None, list[Target]] = {}
    ids = {t.pk for t in targets}
    for t in targets:
        key = t.parent_id if t.parent_id in ids else None
        by_parent.setdefault(key, []).append(t)
    member = member_of(user)
    rows: list[Row] = []

    def order(t: Target) -> tuple[int, str]:
        return (0 if t.unit_id else 1, t.owner_name)

    def walk(t: Target, depth: int) -> int:
        kids = sorted(by_parent.get(t.pk, []), key=order)
        sums = None
        gaps: dict[str, Decimal] = {}
        if kids:
            sums = {
                level: sum((getattr(k, level) for k in kids), Decimal(0))
                for level in ("floor", "target", "stretch")
            }
            gaps = {
                level: getattr(t, level) - sums[level]
                for level in sums
                if getattr(t, level) != sums[level]
            }
        row = Row(
            target=t,
            depth=depth,
            children_sum=sums,
            gaps=gaps,
            editable=bool(member)
            and plan.status == PlanStatus.DRAFT
            and rules.may_edit_target(member, t),  # type: ignore[arg-type]
            splittable=bool(member)
            and bool(kids)
            and plan.status == PlanStatus.DRAFT
            and rules.may_edit_target(member, t, for_children=True),  # type: ignore[arg-type]
            revisable=bool(member)
            and plan.status == PlanStatus.ACTIVE
            and rules.may_edit_target(member, t),  # type: ignore[arg-type]
            proposable=bool(member)
            and plan.status == PlanStatus.DRAFT
            and rules.may_propose(member, t),  # type: ignore[arg-type]
            smart={} if values_only else smart.summary(t.smart, t.metric),
            own_baseline={} if values_only else (t.recommendation or {}).get("own_baseline", {}),
        )
        if not values_only and (row.editable or row.revisable):
            row.chance_totals = _chance_totals(t)
        rows.append(row)
        row.family_stamp = t.lock_version + sum(k.lock_version for k in kids)
        row.stamp = t.lock_version + sum(walk(k, depth + 1) for k in kids)
        return row.stamp

    for root in sorted(by_parent.get(None, []), key=order):
        walk(root, 0)
    if month_gaps:
        _mark_month_gaps([r for r in rows if r.children_sum and not r.gaps])
    return rows


@dataclass(frozen=True)
class FamilyGap:
    """A target whose targets one level under it do not add up to it: the first level that
    differs (``floor``, ``target`` or ``stretch``), what they add up to and its own value."""

    target: Target
    level: str
    below: Decimal
    own: Decimal

    @property
    def level_label(self) -> str:
        from django.utils.translation import gettext

        return {"floor": gettext("Floor"), "target": gettext("Target")}.get(
            self.level, gettext("Stretch")
        )


HALF_CENT = Decimal("0.005")
CENT = Decimal("0.01")


def _family_gap(t: Target) -> FamilyGap:
    """The first level of ``t`` (read with ``below_*``) its targets under it miss."""
    for level in ("target", "floor", "stretch"):
        below = Decimal(getattr(t, f"below_{level}") or 0)
        own = getattr(t, level)
        if abs(below - own) >= HALF_CENT:
            return FamilyGap(t, level, below.quantize(CENT), own)
    raise AssertionError("read as a gap, but adds up")  # pragma: no cover


@dataclass(frozen=True)
class Readiness:
    """What a plan still lacks before it is submitted (or approved), as far as the user may
    see: ``empty`` — no target above 0 at all (submitting is refused); ``zero_metrics`` — the
    labels of metrics whose every target is 0; ``unbalanced`` — the first targets whose
    targets one level under them do not add up to them (floor, target or stretch), each with
    what they add up to, ``unbalanced_count`` how many in all; ``open_proposals`` — figures
    proposed and not decided (once submitted, nobody can decide them until it is a draft
    again)."""

    empty: bool
    zero_metrics: list[str]
    unbalanced: list[FamilyGap]
    unbalanced_count: int
    open_proposals: int

    @property
    def ready(self) -> bool:
        return not (self.empty or self.zero_metrics or self.unbalanced_count or self.open_proposals)


def plan_readiness(*, user: Any, plan: Plan, shown: int = 3) -> Readiness:
    """``Readiness`` of ``plan``: three grouped reads (four with many gaps), whatever its size."""
    targets = visible(Target.objects.filter(plan=plan), user=user)
    tops = {
        row["metric"]: max(row["floor"] or 0, row["target"] or 0, row["stretch"] or 0)
        for row in targets.order_by()
        .values("metric")
        .annotate(floor=Max("floor"), target=Max("target"), stretch=Max("stretch"))
    }
    set_metrics = {m for m, top in tops.items() if top > 0}
    all_metrics = set(tops)
    gaps = (
        # one join of each target to its children, grouped: what they add up to
        targets.annotate(
            below_floor=Sum("children__floor"),
            below_target=Sum("children__target"),
            below_stretch=Sum("children__stretch"),
        )
        .filter(below_target__isnull=False)
        # at least half a cent apart: SQLite adds decimals up as floats
        .annotate(
            off_floor=Abs(F("floor") - F("below_floor")),
            off_target=Abs(F("target") - F("below_target")),
            off_stretch=Abs(F("stretch") - F("below_stretch")),
        )
        .filter(
            Q(off_floor__gte=HALF_CENT)
            | Q(off_target__gte=HALF_CENT)
            | Q(off_stretch__gte=HALF_CENT)
        )
        .select_related("unit", "member", "product_line")
        .order_by("metric", F("product_line_id").asc(nulls_first=True), "pk")
    )
    first = list(gaps[:shown])
    return Readiness(
        empty=not set_metrics,
        zero_metrics=[Metric(m).label for m in Metric.values if m in all_metrics - set_metrics]
        if set_metrics
        else [],
        unbalanced=[_family_gap(t) for t in first],
        unbalanced_count=len(first) if len(first) < shown else gaps.count(),
        open_proposals=visible(
            Proposal.objects.filter(target__plan=plan, status=ProposalStatus.OPEN), user=user
        ).count(),
    )


def _chance_totals(t: Target) -> str:
    """``Row.chance_totals`` of ``t``: its stored quantiles, whole units, comma-joined."""
    totals = (t.smart_basis or {}).get("totals") or []
    if len(totals) != len(smart.BASIS_PROBS):
        return ""
    return ",".join(str(round(float(v))) for v in totals)


def _mark_month_gaps(rows: list[Row]) -> None:
    """Sets ``month_gaps`` of parents whose children add up to their year: two grouped reads
    of the months (the parents' own, the children's added up per parent and month)."""
    if not rows:
        return
    parents = {r.target.pk: r for r in rows}
    levels = ("floor", "target_value", "stretch")
    own = {
        (row["target_id"], row["month"]): tuple(row[f] for f in levels)
        for row in TargetMonth.objects.filter(target_id__in=parents).values(
            "target_id", "month", *levels
        )
    }
    below = (
        TargetMonth.objects.filter(target__parent_id__in=parents)
        .values("target__parent_id", "month")
        .annotate(**{f"sum_{f}": Sum(f) for f in levels})
    )
    seen: set[tuple[int, int]] = set()
    for row in below:
        key = (row["target__parent_id"], row["month"])
        seen.add(key)
        if tuple(row[f"sum_{f}"] for f in levels) != own.get(key, (0, 0, 0)):
            parents[key[0]].month_gaps.append(key[1])
    for key, values in own.items():  # a month only the parent holds
        if key not in seen and any(values):
            parents[key[0]].month_gaps.append(key[1])
    for r in rows:
        r.month_gaps.sort()


def latest_run(*, plan: Plan, metric: str) -> PlanRun | None:
    return (
        PlanRun.objects.filter(plan=plan, metric=metric)
        .select_related("requested_by")
        .order_by("-created_at")
        .first()
    )


def proposals_for(*, user: Any, plan: Plan, metric: str) -> QuerySet[Proposal]:
    return visible(
        Proposal.objects.filter(target__plan=plan, target__metric=metric).select_related(
            "target__unit", "target__member", "proposed_by"
        ),
        user=user,
    )


def open_proposal_counts(*, user: Any, plan: Plan) -> dict[str, int]:
    """How many proposals the user sees awaiting a decision in ``plan``, per metric."""
    from django.db.models import Count

    rows = (
        visible(Proposal.objects.filter(target__plan=plan, status=ProposalStatus.OPEN), user=user)
        .values("target__metric")
        .annotate(n=Count("pk"))
    )
    return {r["target__metric"]: r["n"] for r in rows}


#: The closeness choices of "Accept in bulk" on the reconciliation (percent of the top-down
#: target; None: every proposal).
ACCEPT_WITHIN = (2, 5, 10, 20, None)


def decidable_proposals(*, member: Any, plan: Plan, metric: str) -> list[tuple[Proposal, Any]]:
    """The open proposals of ``plan`` on ``metric`` that ``member`` may decide (someone above
    the proposer, ``rules.may_edit_target``), oldest first, each with how far its figure is from
    the top-down target, as a fraction (None when the top-down target is 0)."""
    if member is None or not rules.may_set_targets(member) or plan.status != PlanStatus.DRAFT:
        return []
    out = []
    for p in (
        Proposal.objects.filter(
            target__plan=plan, target__metric=metric, status=ProposalStatus.OPEN
        )
        .select_related("target__member__org_unit", "target__unit", "proposed_by")
        .order_by("created_at", "pk")
    ):
        if rules.may_edit_target(member, p.target):
            top_down = p.target.target
            out.append((p, abs(p.value - top_down) / top_down if top_down else None))
    return out


def proposals_within(decidable: Sequence[tuple[Proposal, Any]], within: Any) -> list[Proposal]:
    """The ``decidable`` proposals (with their gap to the top-down target, a share) within
    ``within`` percent of it; all of them for ``None``."""
    return [
        p for p, gap in decidable if within is None or (gap is not None and gap * 100 <= within)
    ]


def accept_within_counts(decidable: Sequence[tuple[Proposal, Any]]) -> list[tuple[Any, int]]:
    """For each choice of ``ACCEPT_WITHIN``, how many of the ``decidable`` proposals it takes."""
    return [(within, len(proposals_within(decidable, within))) for within in ACCEPT_WITHIN]


def latest_proposal_requests(plan_ids: list[int]) -> dict[tuple[int, str], Any]:
    """The latest "Ask for proposals" (``services.proposals_request``) of each of the plans and
    each metric, as its audit event (who, when; ``changes``: the metric, how many were asked,
    the note), keyed by (plan id, metric)."""
    from salesloop.common.models import AuditEvent

    latest: dict[tuple[int, str], Any] = {}
    for event in AuditEvent.objects.filter(
        subject_type="targets.plan",
        subject_id__in=[str(pk) for pk in plan_ids],
        action="plan.proposals_requested",
    ).order_by("at", "id"):
        metric = (event.changes.get("metric") or [None, None])[1]
        if metric:
            latest[(int(event.subject_id), metric)] = event
    return latest


@dataclass(frozen=True)
class Ask:
    """A leader's request for the reader's own figure (``services.proposals_request``) that
    still waits on them: the total they are asked about, who asked, when and their note."""

    plan: Plan
    target: Target
    leader: Any  # Member
    at: Any
    note: str
    due: date | None = None  # the day the figure is due, when the leader gave one

    @property
    def link(self) -> str:
        from salesloop.targets.notify import mine_link

        return mine_link(self.plan.pk)

    @property
    def overdue(self) -> bool:
        """Whether the due day has passed (the figure is late; the reminders say so)."""
        from django.utils import timezone

        return self.due is not None and self.due < timezone.localdate()


def figures_asked_of(member: Any) -> list[Ask]:
    """The requests for proposals waiting on ``member``, oldest first: per draft plan and
    metric the latest request, where its leader may set a total that ``member`` may propose
    on — their own, or their team's for a manager, as ``services.proposal_askees`` asks — and
    nobody has a proposal open or accepted on it."""
    from salesloop.org.choices import Role
    from salesloop.org.models import Member

    if member is None or member.left_on is not None:
        return []
    drafts = {p.pk: p for p in Plan.objects.filter(status=PlanStatus.DRAFT)}
    latest = latest_proposal_requests(list(drafts))
    if not latest:
        return []
    own = Q(member=member)
    if member.role == Role.MANAGER:
        own |= Q(unit_id=member.org_unit_id)
    totals: dict[tuple[int, str], list[Target]] = {}
    for t in (
        Target.objects.filter(own, plan__in=list(drafts), product_line__isnull=True)
        .select_related("member__org_unit", "unit")
        .order_by("pk")
    ):
        totals.setdefault((t.plan_id, t.metric), []).append(t)
    standing = set(
        Proposal.objects.filter(
            target__in=[t.pk for ts in totals.values() for t in ts],
            status__in=(ProposalStatus.OPEN, ProposalStatus.ACCEPTED),
        ).values_list("target_id", flat=True)
    )
    leaders = {
        m.user_id: m
        for m in Member.objects.filter(
            user_id__in=[e.actor_id for e in latest.values() if e.actor_id]
        ).select_related("org_unit")
    }
    out = []
    for (plan_id, metric), event in latest.items():
        leader = leaders.get(event.actor_id)
        if leader is None or leader.pk == member.pk:
            continue
        asked = [  # a person's own total before their team's
            t
            for t in sorted(totals.get((plan_id, metric), []), key=lambda t: t.member_id is None)
            if t.pk not in standing
            and rules.may_edit_target(leader, t)
            and rules.may_propose(member, t)
        ]
        if asked:
            out.append(Ask(drafts[plan_id], asked[0], leader, event.at, *request_terms(event)))
    return sorted(out, key=lambda a: a.at)


def request_terms(event: Any) -> tuple[str, date | None]:
    """A request for proposals' note and due day (None when it has none), from its audit
    event (``latest_proposal_requests``)."""
    note = (event.changes.get("note") or [None, ""])[1] or ""
    due = (event.changes.get("due") or [None, None])[1]
    return note, (date.fromisoformat(due) if due else None)


def reconciliation(*, user: Any, plan: Plan, metric: str) -> list[dict[str, Any]]:
    """Top-down target and bottom-up figure side by side, per visible node, gaps highlighted.

    A node's bottom-up figure is its owner's latest proposal (not rejected). A team without a
    proposal of its own adds up its members' figures, counting a member who has not proposed
    at their top-down target; ``proposed`` / ``members`` say how many of its direct members
    the figure rests on. A team where nobody proposed has no bottom-up figure (and no gap):
    adding up the top-down targets would only show a gap of zero that nobody agreed to.
    """
    rows = plan_rows(user=user, plan=plan, metric=metric, product_line=None)
    latest: dict[int, Proposal] = {}
    rejected: dict[int, Proposal] = {}  # shown (not counted) while nothing newer is proposed
    for p in (
        proposals_for(user=user, plan=plan, metric=metric)
        .exclude(status=ProposalStatus.SUPERSEDED)
        .select_related("decided_by")
        .order_by("created_at")
    ):
        if p.status == ProposalStatus.REJECTED:
            rejected[p.target_id] = p
            latest.pop(p.target_id, None)
        else:
            latest[p.target_id] = p
            rejected.pop(p.target_id, None)
    children: dict[int, list[Target]] = {}
    for row in rows:
        if row.target.parent_id is not None:
            children.setdefault(row.target.parent_id, []).append(row.target)
    out = []
    bottom_up: dict[int, Decimal] = {}
    for row in reversed(rows):  # children before parents
        t = row.target
        proposal = latest.get(t.pk)
        kids = children.get(t.pk, [])
        proposed = sum(1 for k in kids if k.pk in bottom_up)
        value: Decimal | None
        if proposal is not None:
            value = proposal.value
        elif proposed:
            value = sum((bottom_up.get(k.pk, k.target) for k in kids), Decimal(0))
        else:
            value = None
        if value is not None:
            bottom_up[t.pk] = value
        gap = (value - t.target) if value is not None else None
        ratio = (gap / t.target) if (gap is not None and t.target) else None
        out.append(
            {
                "row": row,
                "proposal": proposal,
                "rejected": rejected.get(t.pk) if proposal is None else None,
                "bottom_up": value,
                "gap": gap,
                "ratio": ratio,
                "flag": ratio is not None and abs(ratio) >= Decimal("0.1"),
                "members": len(kids),
                "people_only": all(k.member_id for k in kids),
                "proposed": proposed,
                "from_members": proposal is None and proposed > 0,
            }
        )
    out.reverse()
    return out


#: What the reconciliation page can narrow its rows to (``reconcile_narrow``).
RECONCILE_SHOWS = ("all", "proposals", "open", "gaps")


def _reconcile_match(row: dict[str, Any], show: str) -> bool:
    proposal = row["proposal"]
    if show == "proposals":
        return proposal is not None or row["rejected"] is not None
    if show == "open":
        return proposal is not None and proposal.status == ProposalStatus.OPEN
    if show == "gaps":
        return bool(row["flag"])
    return True


def reconcile_narrow(
    rows: list[dict[str, Any]], show: str
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """The reconciliation rows a reader asked for (``show``: one of ``RECONCILE_SHOWS``), each
    kept with the teams above it so that the tree still reads, and how many rows each choice
    matches (its own rows, not the teams kept around them)."""
    counts = {k: sum(1 for r in rows if _reconcile_match(r, k)) for k in RECONCILE_SHOWS}
    if show not in RECONCILE_SHOWS or show == "all":
        return rows, counts
    by_pk = {r["row"].target.pk: r for r in rows}
    keep: set[int] = set()
    for r in rows:
        if not _reconcile_match(r, show):
            continue
        t = r["row"].target
        while t is not None and t.pk not in keep:
            keep.add(t.pk)
            parent = by_pk.get(t.parent_id) if t.parent_id is not None else None
            t = parent["row"].target if parent is not None else None
    return [r for r in rows if r["row"].target.pk in keep], counts


def revision_history(*, user: Any, plan: Plan) -> QuerySet[Revision]:
    return visible(
        Revision.objects.filter(target__plan=plan).select_related(
            "target__unit", "target__member", "target__product_line", "author"
        ),
        user=user,
    )


#: The plan history page shows at most this many of the latest events.
HISTORY_LIMIT = 300


def plan_audit(*, plan: Plan, limit: int = HISTORY_LIMIT) -> tuple[list[Any], int]:
    """The latest events of a plan and of its targets, in words (``targets.history``), newest
    first, and how many there are in all. Only for users who see the whole plan (the view
    checks ``sees_everything``)."""
    from django.db.models import CharField, Q
    from django.db.models.functions import Cast

    from salesloop.targets.history import describe

    target_ids = (
        Target.objects.filter(plan=plan).annotate(sid=Cast("pk", CharField())).values("sid")
    )
    events = AuditEvent.objects.filter(
        Q(subject_type="targets.plan", subject_id=str(plan.pk))
        | Q(subject_type="targets.target", subject_id__in=target_ids)
    )
    total = events.count()
    latest = list(events.select_related("actor__member").order_by("-at", "-pk")[:limit])
    ids = {int(e.subject_id) for e in latest if e.subject_type == "targets.target"}
    targets = list(
        Target.objects.filter(pk__in=ids).select_related("unit", "member", "product_line")
    )
    subjects = {str(t.pk): str(t) for t in targets}  # "owner · metric · product line"
    metrics = {str(t.pk): t.metric for t in targets}
    line_names = dict(ProductLine.objects.values_list("code", "name"))
    return [describe(e, subjects, line_names, metrics) for e in latest], total


# ------------------------------------------------------------------ my targets


def _ratio(part: Decimal | None, whole: Decimal | None) -> float | None:
    """``part / whole``, or None when either is missing or the whole is zero."""
    if part is None or not whole:
        return None
    return float(part / whole)


@dataclass
class MonthCell:
    """One fiscal month of a target: the plan's figure and, once the month has begun, the
    actual (credited to the owner, or to the team's members)."""

    first_day: Any
    target: Decimal
    actual: Decimal | None
    current: bool = False

    @property
    def ratio(self) -> float | None:
        return _ratio(self.actual, self.target)


@dataclass
class MyLine:
    """A target of the user (or of the team they lead) with how it is going."""

    target: Target
    is_line: bool
    actual: Decimal | None = None  # year to date (a year under way)
    expected: Decimal | None = None  # what the monthly split expects by today
    pace_begun: bool = True  # False on the year's first working day (core.periods.pace_begun)
    last_year: Decimal | None = None  # the previous fiscal year (a year not begun)
    months: list[MonthCell] = field(default_factory=list)
    proposal: Proposal | None = None
    may_propose: bool = False

    @property
    def vs_target(self) -> float | None:
        return _ratio(self.actual, self.target.target)

    @property
    def pace(self) -> float | None:
        return _ratio(self.actual, self.expected) if self.pace_begun else None

    @property
    def growth(self) -> float | None:
        """The target against last year's actual (0.12 = +12 %)."""
        ratio = _ratio(self.target.target, self.last_year)
        return None if ratio is None else ratio - 1

    def bar(self, value: Decimal | None) -> float:
        """``value`` as a percentage of the stretch, for the progress bar (0..100)."""
        if value is None or not self.target.stretch:
            return 0.0
        return max(0.0, min(100.0, float(value / self.target.stretch) * 100))

    @property
    def bar_actual(self) -> float:
        return self.bar(self.actual)

    @property
    def bar_floor(self) -> float:
        return self.bar(self.target.floor)

    @property
    def bar_target(self) -> float:
        return self.bar(self.target.target)


@dataclass
class MySection:
    """The user's own targets, or those of the team they lead, in one plan."""

    unit: Any  # None for the user's own targets
    lines: list[MyLine]


@dataclass
class MyPlan:
    plan: Plan
    year: Any  # the fiscal year's Period
    started: bool
    as_of: Any  # the last day counted (today, or the year's end)
    sections: list[MySection]
    # a year not begun is compared with the previous fiscal year once it is complete, else
    # with the twelve months to today (a year to date against a whole year would mislead)
    reference: tuple[Any, Any] | None = None
    reference_is_last_year: bool = False


#: Plans shown on "My targets": those in force or being prepared (not archived).
MY_PLAN_STATUSES = (PlanStatus.ACTIVE, PlanStatus.APPROVED, PlanStatus.SUBMITTED, PlanStatus.DRAFT)


def my_targets(*, user: Any, today: Any = None) -> list[MyPlan]:
    """The user's own targets and, for a manager or director, their team's, per plan: the
    plan's figures beside the actuals so far (a year under way) or last year's (a year not
    begun), with the monthly split. The plan under way comes first.

    Team actuals add up the members of the team's subtree that the visibility rule lets the
    user see (for a manager: all of them; a rep has no team section). The actuals are read
    once per window, metric and product line, for the user and the team together."""
    from datetime import timedelta

    from django.utils import timezone

    from salesloop.core.periods import (
        FiscalCalendar,
        SeasonalWeights,
        add_months,
        expected_to_date,
        pace_begun,
    )
    from salesloop.insights.actuals import MonthlyActuals, monthly_actuals_by_line
    from salesloop.org.choices import Role
    from salesloop.org.models import Member
    from salesloop.org.services import company_get

    member = member_of(user)
    if member is None:
        return []
    today = today or timezone.localdate()
    fiscal = FiscalCalendar(company_get().fiscal_year_start_month)
    leads_team = member.role in (Role.MANAGER, Role.DIRECTOR, Role.ADMIN)
    owners = visible(Target.objects.all(), user=user).filter(member=member)
    if leads_team:
        owners = owners | visible(Target.objects.all(), user=user).filter(unit=member.org_unit)
    targets = list(
        owners.filter(plan__status__in=MY_PLAN_STATUSES)
        .select_related("plan", "product_line", "unit", "member")
        .prefetch_related("months")
        .order_by("-plan__fiscal_year", "-plan__version", "metric", "product_line__name")
    )
    latest: dict[int, Proposal] = {}
    for p in (
        Proposal.objects.filter(target__in=[t.pk for t in targets])
        .exclude(status=ProposalStatus.SUPERSEDED)
        .select_related("decided_by")
        .order_by("created_at")
    ):
        latest[p.target_id] = p
    team_ids: list[int] = []
    if leads_team and any(t.unit_id for t in targets):
        team_ids = list(
            visible(Member.objects.all(), user=user)
            .filter(org_unit__path__startswith=member.org_unit.path)
            .values_list("pk", flat=True)
        )
    everyone = sorted({member.pk, *team_ids})
    loaded: dict[tuple[Any, ...], dict[int | None, MonthlyActuals]] = {}
    lines_of: dict[str, dict[int | None, Any]] = {}
    for t in targets:  # the lines each metric is read for: all of them in one read
        lines_of.setdefault(t.metric, {})[t.product_line_id] = t.product_line

    def actuals(t: Target, start: Any, end: Any) -> MonthlyActuals:
        key = (start, end, t.metric)
        if key not in loaded:
            loaded[key] = monthly_actuals_by_line(
                metric=t.metric,
                members=everyone,
                start=start,
                end=end,
                lines=lines_of[t.metric].values(),
            )
        return loaded[key][t.product_line_id]

    plans: dict[int, MyPlan] = {}
    for t in targets:
        plan = t.plan
        if plan.pk not in plans:
            year = fiscal.year(plan.fiscal_year)
            last = fiscal.year(plan.fiscal_year - 1)
            whole_last = today > last.end
            plans[plan.pk] = MyPlan(
                plan=plan,
                year=year,
                started=today >= year.start,
                as_of=min(today, year.end),
                sections=[
                    MySection(unit=None, lines=[]),
                    MySection(unit=member.org_unit, lines=[]),
                ],
                reference=(last.start, last.end)
                if whole_last
                else (add_months(today, -12) + timedelta(days=1), today),
                reference_is_last_year=whole_last,
            )
        mp = plans[plan.pk]
        line = MyLine(
            target=t,
            is_line=t.product_line_id is not None,
            proposal=latest.get(t.pk),
            may_propose=plan.status == PlanStatus.DRAFT
            and not t.product_line_id
            and rules.may_propose(member, t),
        )
        month_targets = [m.target_value for m in t.months.all()]
        ids = {member.pk} if t.member_id else set(team_ids)
        if mp.started:
            got = actuals(t, mp.year.start, mp.as_of)
            per_month: dict[tuple[int, int], Decimal] = {}
            for (mid, y, m), v in got.values.items():
                if mid in ids:
                    per_month[(y, m)] = per_month.get((y, m), Decimal(0)) + v
            line.actual = sum(per_month.values(), Decimal(0))
            weights = SeasonalWeights.of_split(month_targets)
            line.expected = expected_to_date(t.target, mp.year, mp.as_of, weights, fiscal)
            line.pace_begun = pace_begun(mp.year, mp.as_of, weights, fiscal)
        else:
            assert mp.reference is not None  # set for every plan
            line.last_year = actuals(t, *mp.reference).total(ids)
            per_month = {}
        line.months = _month_cells(mp, month_targets, per_month)
        mp.sections[0 if t.member_id else 1].lines.append(line)
    out = list(plans.values())
    order = {value: i for i, value in enumerate(Metric.values)}
    for mp in out:
        mp.sections = [s for s in mp.sections if s.lines]
        for section in mp.sections:  # metrics in the order of Metric, each before its lines
            section.lines.sort(key=lambda ln: (order.get(ln.target.metric, 99), ln.is_line))

    # the plan under way first, then the years to come, nearest first (next year before the
    # one after), then the years over, latest first
    def rank(mp: MyPlan) -> tuple[int, int]:
        if not mp.started:
            return 1, mp.plan.fiscal_year
        return (0, 0) if today <= mp.year.end else (2, -mp.plan.fiscal_year)

    out.sort(key=rank)
    return out


def _month_cells(
    mp: MyPlan, month_targets: list[Decimal], per_month: dict[tuple[int, int], Decimal]
) -> list[MonthCell]:
    """The twelve fiscal months: the target of each and, for the months begun, the actual."""
    from salesloop.core.periods import add_months

    current = date(mp.as_of.year, mp.as_of.month, 1)
    cells = []
    for i in range(12):
        first = add_months(mp.year.start, i)
        begun = mp.started and first <= current
        cells.append(
            MonthCell(
                first_day=first,
                target=month_targets[i] if i < len(month_targets) else Decimal(0),
                actual=per_month.get((first.year, first.month), Decimal(0)) if begun else None,
                current=mp.started and first == current and mp.as_of < mp.year.end,
            )
        )
    return cells


# ------------------------------------------------------------------ to decide


@dataclass(frozen=True)
class Decision:
    """A target-setting decision that waits on the user: a plan to approve, or the open
    proposals of a draft plan that they are asked to decide (``notify.deciders``)."""

    kind: str  # "plan" or "proposals"
    plan: Plan
    since: Any  # when it began to wait (the oldest proposal's time)
    count: int = 1
    metric: str = ""  # of the oldest proposal: the reconciliation opens on it

    @property
    def link(self) -> str:
        from django.urls import reverse

        if self.kind == "plan":
            return reverse("targets:plan", args=[self.plan.pk])
        from salesloop.targets.notify import reconcile_link

        return reconcile_link(self.plan.pk, self.metric or Metric.BOOKED_REVENUE)


def waiting_decisions(*, user: Any) -> list[Decision]:
    """What waits on the user, oldest first: the submitted plans they may approve, and per
    draft plan the open proposals they are asked to decide. Empty for reps and viewers."""
    from salesloop.org.choices import Role
    from salesloop.targets.notify import decider_pool, deciders

    member = member_of(user)
    if member is None or member.role not in (Role.MANAGER, Role.DIRECTOR, Role.ADMIN):
        return []
    out = [
        Decision("plan", plan, plan.submitted_at)
        for plan in Plan.objects.filter(status=PlanStatus.SUBMITTED).select_related(
            "owner__org_unit"
        )
        if rules.may_approve_plan(member, plan)
    ]
    proposals = (
        Proposal.objects.filter(status=ProposalStatus.OPEN, target__plan__status=PlanStatus.DRAFT)
        .select_related("target__plan", "target__member__org_unit", "target__unit", "proposed_by")
        .order_by("created_at")
    )
    pool = decider_pool()
    by_plan: dict[int, list[Proposal]] = {}
    for proposal in proposals:
        if any(m.pk == member.pk for m in deciders(proposal.target, proposal.proposed_by, pool)):
            by_plan.setdefault(proposal.target.plan_id, []).append(proposal)
    out += [
        Decision(
            "proposals",
            group[0].target.plan,
            group[0].created_at,
            len(group),
            group[0].target.metric,
        )
        for group in by_plan.values()
    ]
    return sorted(out, key=lambda d: d.since)
