"""Alert rules: one evaluator per rule.

An evaluator reads through the dashboard selectors (:mod:`salesloop.insights.selectors`) or the
other apps' selectors, calls :mod:`salesloop.core` for the math, and returns the *findings* that
hold today. :func:`salesloop.alerts.services.rule_evaluate` turns findings into alerts: it opens
the new ones (one open alert per rule and subject), refreshes those still true and resolves the
ones that no longer hold.

Rules run as the system (they see the whole company); who then sees an alert is decided by the
visibility rule (:class:`~salesloop.alerts.models.Alert` names its owner and unit).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from statistics import median
from typing import Any

from django.db.models import Count, Min
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext

from salesloop.activities.selectors import open_follow_ups
from salesloop.alerts.choices import RuleKey, Severity, SubjectType
from salesloop.common.models import AuditEvent
from salesloop.common.words import sentences
from salesloop.core import gaps as core_gaps
from salesloop.core.customers import key_account_silence, orders_frame
from salesloop.core.rounding import percent
from salesloop.customers.models import Customer
from salesloop.insights import selectors as s
from salesloop.insights.facts import Facts
from salesloop.insights.scope import Node, Scope, period_label, resolve_scope
from salesloop.orders.models import Order
from salesloop.org.choices import Role
from salesloop.org.models import Member, OrgUnit
from salesloop.pipeline.choices import StageKind
from salesloop.pipeline.models import Opportunity
from salesloop.web.templatetags.salesloop import chance_text
from salesloop.web.templatetags.salesloop import yuan as money_text

# The thresholds of each rule and their defaults (an admin changes them on the rules page or
# in the Django admin; missing keys fall back to these).
DEFAULTS: dict[str, dict[str, Any]] = {
    RuleKey.BEHIND_PACE: {
        "period": "quarter",
        "pace_below": 0.8,
        "critical_below": 0.6,
        "min_elapsed": 0.25,
    },
    RuleKey.LOW_PROBABILITY: {"period": "quarter", "p_floor_below": 0.5, "min_elapsed": 0.2},
    RuleKey.STALLED_DEAL: {"min_amount": 50000, "limit_days": None},
    RuleKey.OVERDUE_FOLLOW_UP: {"grace_days": 1, "min_count": 1, "critical_count": 5},
    # min_silent_days: an account that orders every few days is "quiet" by its rhythm after a
    # week, which is not worth a director's attention; a month is
    RuleKey.KEY_ACCOUNT_QUIET: {
        "tiers": ["key"],
        "factor": 1.5,
        "min_orders": 3,
        "min_silent_days": 30,
    },
    RuleKey.LOW_ACTIVITY: {"days": 14, "share_of_median": 0.5, "min_peers": 2},
    RuleKey.TARGET_MISCALIBRATED: {
        "period": "quarter",
        "median_below": 0.7,
        "behind_below": 0.8,
        "share_above": 0.6,
        "min_elapsed": 0.33,
        "min_members": 3,
    },
    RuleKey.BIG_DEAL_SLIPPED: {"period": "quarter", "min_amount": 200000, "lookback_days": 14},
    RuleKey.WEAK_CONVERSION: {
        "days": 180,
        "share_of_median": 0.6,
        "min_gain": 100000,
        "min_deals": 10,
    },
    # a plan or a proposal is "waiting" after this many days; next year's plan is due this many
    # days before the year begins
    RuleKey.DECISIONS_WAITING: {"plan_days": 3, "proposal_days": 3, "ask_days": 3, "year_days": 30},
}
DEFAULT_SEVERITY = {
    RuleKey.BEHIND_PACE: Severity.WARNING,
    RuleKey.LOW_PROBABILITY: Severity.WARNING,
    RuleKey.STALLED_DEAL: Severity.INFO,
    RuleKey.OVERDUE_FOLLOW_UP: Severity.WARNING,
    RuleKey.KEY_ACCOUNT_QUIET: Severity.WARNING,
    RuleKey.LOW_ACTIVITY: Severity.WARNING,
    RuleKey.TARGET_MISCALIBRATED: Severity.CRITICAL,
    RuleKey.BIG_DEAL_SLIPPED: Severity.WARNING,
    RuleKey.WEAK_CONVERSION: Severity.WARNING,
    RuleKey.DECISIONS_WAITING: Severity.WARNING,
}
PERIODS = ("month", "quarter", "year")


def yuan(value: Decimal | float | int | None) -> str:
    """Money as the pages write it in the active language (¥3,572,190; ¥357.2万 in Chinese):
    each alert's texts are written once per interface language."""
    return money_text(value or 0)


def pct(value: float | None) -> str:
    return "–" if value is None else percent(value)


@dataclass
class Finding:
    subject_type: str
    subject_id: int
    title: str
    message: str
    action: str
    owner_id: int | None = None
    unit_id: int | None = None
    link: str = ""
    severity: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    # the action worded for the person the alert is about, when they read it (``action`` is
    # written for their manager: "Agree with 韩涛 …"); empty when one wording suits both
    own_action: str = ""
    # the message likewise ("Your own figure … was asked for" / "韩涛's own figure …")
    own_message: str = ""


class SystemViewer:
    """The user rules run as: sees the whole company (never a logged-in person)."""

    is_authenticated = True
    is_active = True
    is_superuser = True
    is_staff = False
    pk = None
    username = "system"
    _salesloop_member = None


@dataclass
class Context:
    """What the rules of one evaluation share: today and the cached dashboard figures."""

    today: date
    user: Any = field(default_factory=SystemViewer)
    _scopes: dict[str, Scope | None] = field(default_factory=dict)
    _cards: dict[str, dict[int, s.Card]] = field(default_factory=dict)

    def scope(self, kind: str) -> Scope | None:
        kind = kind if kind in PERIODS else "quarter"
        if kind not in self._scopes:
            if not OrgUnit.objects.filter(parent__isnull=True).exists():
                self._scopes[kind] = None
            else:
                self._scopes[kind] = resolve_scope(self.user, {"period": kind}, today=self.today)
        return self._scopes[kind]

    def active_members(self) -> dict[int, Member]:
        return {
            m.pk: m for m in Member.objects.filter(left_on__isnull=True).select_related("org_unit")
        }

    def member_cards(self, kind: str) -> dict[int, s.Card]:
        """Attainment, pace and probability of every active member with a target (the same
        :func:`salesloop.insights.selectors.cards` the dashboards show)."""
        if kind not in self._cards:
            scope = self.scope(kind)
            out: dict[int, s.Card] = {}
            if scope is not None:
                # pace and probability are about the people who sell: reps (a manager's or
                # director's own quota, if any, shows on their dashboard, not as an alert)
                active = {pk: m for pk, m in self.active_members().items() if m.role == Role.REP}
                nodes = [n for n in s.member_nodes_of(scope) if n.pk in active]
                facts = Facts([n.pk for n in nodes])
                cards = s.cards(scope, nodes, facts, simulate=True) if nodes else {}
                out = {n.pk: cards[n.key] for n in nodes if cards[n.key].thresholds.defined}
            self._cards[kind] = out
        return self._cards[kind]


def dashboard_link(node: str, period: str = "quarter") -> str:
    return f"{reverse('insights:dashboard')}?node={node}&period={period}"


def _elapsed_ok(card: s.Card, minimum: float) -> bool:
    return card.elapsed >= float(minimum)


# ----------------------------------------------------------------- the rules


def behind_pace(ctx: Context, p: dict[str, Any]) -> list[Finding]:
    scope = ctx.scope(p["period"])
    if scope is None:
        return []
    label = period_label(scope)
    out = []
    for pk, card in ctx.member_cards(p["period"]).items():
        if (
            card.pace is None
            or not _elapsed_ok(card, p["min_elapsed"])
            or card.pace >= float(p["pace_below"])
        ):
            continue
        name = card.node.name
        out.append(
            Finding(
                SubjectType.MEMBER,
                pk,
                owner_id=pk,
                severity=Severity.CRITICAL if card.pace < float(p["critical_below"]) else None,
                title=_("%(name)s is behind pace in %(period)s (pace index %(pace).2f)")
                % {"name": name, "period": label, "pace": card.pace},
                message=_(
                    "%(actual)s booked to date against %(expected)s expected by today; %(elapsed)s of the period "
                    "has passed and %(gap)s is still needed to reach the target."
                )
                % {
                    "actual": yuan(card.actual),
                    "expected": yuan(card.expected),
                    "elapsed": pct(card.elapsed),
                    "gap": yuan(card.remaining_gap),
                },
                action=_(
                    "Go through %(name)s's open pipeline this week: pick the deals that can still close in the "
                    "period, agree the next step and date for each, and add new opportunities if the pipeline "
                    "covers less than the gap (now %(cov)s)."
                )
                % {"name": name, "cov": "–" if card.coverage is None else f"{card.coverage:.1f}×"},
                own_action=_(
                    "Go through your open pipeline this week: pick the deals that can still close in the "
                    "period, agree the next step and date for each, and add new opportunities if your "
                    "pipeline covers less than the gap (now %(cov)s)."
                )
                % {"cov": "–" if card.coverage is None else f"{card.coverage:.1f}×"},
                link=dashboard_link(f"m{pk}", p["period"]),
                data={
                    "pace": round(card.pace, 4),
                    "actual": str(card.actual),
                    "expected": str(card.expected),
                    "elapsed": round(card.elapsed, 4),
                    "period": label,
                },
            )
        )
    return out


def low_probability(ctx: Context, p: dict[str, Any]) -> list[Finding]:
    scope = ctx.scope(p["period"])
    if scope is None:
        return []
    label = period_label(scope)
    out = []
    for pk, card in ctx.member_cards(p["period"]).items():
        if (
            card.p_floor is None
            or not _elapsed_ok(card, p["min_elapsed"])
            or card.p_floor >= float(p["p_floor_below"])
        ):
            continue
        if card.vs_floor is not None and card.vs_floor >= 1:
            continue
        name = card.node.name
        gap = max(card.thresholds.floor - card.actual, Decimal(0))
        out.append(
            Finding(
                SubjectType.MEMBER,
                pk,
                owner_id=pk,
                title=_("%(name)s has a %(p)s chance of reaching the floor in %(period)s")
                % {"name": name, "p": chance_text(card.p_floor), "period": label},
                message=_(
                    "Floor %(floor)s, booked %(actual)s, %(gap)s still missing. Simulating the open pipeline with "
                    "calibrated win rates and the usual new business gives %(p)s."
                )
                % {
                    "floor": yuan(card.thresholds.floor),
                    "actual": yuan(card.actual),
                    "gap": yuan(gap),
                    "p": chance_text(card.p_floor),
                },
                action=_(
                    "Agree with %(name)s which deals to accelerate and where to find %(gap)s of new pipeline; "
                    "escalate the deals that need your help to close."
                )
                % {"name": name, "gap": yuan(gap)},
                own_action=_(
                    "Agree with your manager which deals to accelerate and where to find %(gap)s of new "
                    "pipeline; ask for their help early on the deals you cannot close alone."
                )
                % {"gap": yuan(gap)},
                link=dashboard_link(f"m{pk}", p["period"]),
                data={
                    "p_floor": round(card.p_floor, 4),
                    "floor": str(card.thresholds.floor),
                    "actual": str(card.actual),
                    "period": label,
                },
            )
        )
    return out


def stalled_deal(ctx: Context, p: dict[str, Any]) -> list[Finding]:
    scope = ctx.scope("quarter")
    if scope is None:
        return []
    members = list(ctx.active_members())
    now = timezone.now()
    limits: dict[int, float] = {}
    if p.get("limit_days"):
        deals = list(
            Opportunity.objects.filter(
                owner_id__in=members,
                stage__kind=StageKind.OPEN,
                stage_entered_at__lt=now - timedelta(days=float(p["limit_days"])),
            ).select_related("owner", "stage", "customer")
        )
    else:
        from salesloop.insights.calibration import calibration

        limits = {int(k): float(v) for k, v in calibration().get("stalled_limits", {}).items()}
        _counts, deals = s.stalled(scope, members, limit=100_000)
    out = []
    for deal in deals:
        if deal.amount_base < Decimal(str(p["min_amount"])) or deal.stage_entered_at is None:
            continue
        days = (now - deal.stage_entered_at).days
        limit = float(p["limit_days"]) if p.get("limit_days") else limits.get(deal.stage_id)
        out.append(
            Finding(
                SubjectType.OPPORTUNITY,
                deal.pk,
                owner_id=deal.owner_id,
                title=_(
                    "Stalled deal: %(deal)s (%(amount)s) has been in %(stage)s for %(days)s days"
                )
                % {
                    "deal": deal.name,
                    "amount": yuan(deal.amount_base),
                    "stage": deal.stage.name,
                    "days": days,
                },
                message=_(
                    "Deals usually leave %(stage)s within %(limit)s days; this one for %(customer)s has not moved "
                    "for %(days)s days."
                )
                % {
                    "stage": deal.stage.name,
                    "limit": "–" if limit is None else f"{limit:.0f}",
                    "customer": deal.customer.name,
                    "days": days,
                },
                action=_(
                    "Call the customer this week to agree the next step and a date, or mark the deal lost so the "
                    "forecast stays honest."
                ),
                link=reverse("pipeline:detail", args=[deal.pk]),
                data={
                    "days": days,
                    "limit": limit,
                    "amount": str(deal.amount_base),
                    "stage": deal.stage.name,
                },
            )
        )
    return out


def overdue_follow_up(ctx: Context, p: dict[str, Any]) -> list[Finding]:
    cutoff = ctx.today - timedelta(days=int(p["grace_days"]))
    rows = (
        open_follow_ups(user=ctx.user, mine_only=False)
        .filter(follow_up_due__lt=cutoff)
        .values("owner_id")
        .annotate(n=Count("pk"), oldest=Min("follow_up_due"))
        .order_by()
    )
    active = ctx.active_members()
    out = []
    for row in rows:
        member = active.get(row["owner_id"])
        if member is None or row["n"] < int(p["min_count"]):
            continue
        late = (ctx.today - row["oldest"]).days
        out.append(
            Finding(
                SubjectType.MEMBER,
                member.pk,
                owner_id=member.pk,
                severity=Severity.CRITICAL if row["n"] >= int(p["critical_count"]) else None,
                title=ngettext(
                    "%(name)s has %(n)s overdue follow-up",
                    "%(name)s has %(n)s overdue follow-ups",
                    row["n"],
                )
                % {"name": member.display_name, "n": row["n"]},
                message=ngettext(
                    "The oldest was promised %(days)s day ago (due %(due)s). Customers who wait go cold.",
                    "The oldest was promised %(days)s days ago (due %(due)s). Customers who wait go cold.",
                    late,
                )
                % {"days": late, "due": row["oldest"].isoformat()},
                action=_(
                    "Work through the follow-up list today, oldest first; reschedule honestly where the customer "
                    "asked for more time."
                ),
                link=reverse("activities:followups"),
                data={"count": row["n"], "oldest": row["oldest"].isoformat()},
            )
        )
    return out


def key_account_quiet(ctx: Context, p: dict[str, Any]) -> list[Finding]:
    tiers = list(p["tiers"]) or ["key"]
    customers = {
        c.pk: c
        for c in Customer.objects.filter(
            tier__in=tiers, owner__left_on__isnull=True
        ).select_related("owner")
    }
    if not customers:
        return []
    rows = list(
        Order.objects.filter(customer_id__in=list(customers), signed_on__lte=ctx.today).values_list(
            "customer_id", "signed_on"
        )
    )
    if not rows:
        return []
    frame = orders_frame([r[0] for r in rows], [r[1] for r in rows])
    silence = key_account_silence(
        frame, ctx.today, factor=float(p["factor"]), min_orders=int(p["min_orders"])
    )
    out = []
    quiet = silence.filter(
        silence["silent"] & (silence["days_silent"] >= int(p["min_silent_days"]))
    )
    for row in quiet.iter_rows(named=True):
        cust = customers[int(row["customer"])]
        out.append(
            Finding(
                SubjectType.CUSTOMER,
                cust.pk,
                owner_id=cust.owner_id,
                title=_("Key account %(name)s has gone quiet: no order for %(days)s days")
                % {"name": cust.name, "days": row["days_silent"]},
                message=_(
                    "It usually orders every %(gap)s days (%(orders)s orders so far); the last order was on "
                    "%(last)s."
                )
                % {
                    "gap": f"{row['usual_gap_days']:.0f}",
                    "orders": row["orders"],
                    "last": row["last_order"].isoformat(),
                },
                action=_(
                    "Visit the account this month: find out whether a competitor, a budget freeze or a service "
                    "problem is behind it, and bring a concrete offer."
                ),
                link=reverse("customers:detail", args=[cust.pk]),
                data={
                    "days_silent": row["days_silent"],
                    "usual_gap_days": row["usual_gap_days"],
                    "last_order": row["last_order"].isoformat(),
                },
            )
        )
    return out


def low_activity(ctx: Context, p: dict[str, Any]) -> list[Finding]:
    days = int(p["days"])
    start = ctx.today - timedelta(days=days - 1)
    reps = [
        m
        for m in ctx.active_members().values()
        if m.role == Role.REP and (m.hired_on is None or m.hired_on <= start)
    ]
    if not reps:
        return []
    facts = Facts([m.pk for m in reps])
    counts = facts.by_member(["act_all"], start, ctx.today)
    per = {m.pk: float(counts.get(("act_all", m.pk), 0)) for m in reps}
    teams: dict[int, list[Member]] = defaultdict(list)
    for m in reps:
        teams[m.org_unit_id].append(m)
    out = []
    for team in teams.values():
        for m in team:
            peers = [per[o.pk] for o in team if o.pk != m.pk]
            if len(peers) < int(p["min_peers"]):
                continue
            usual = median(peers)
            if usual <= 0 or per[m.pk] >= float(p["share_of_median"]) * usual:
                continue
            out.append(
                Finding(
                    SubjectType.MEMBER,
                    m.pk,
                    owner_id=m.pk,
                    title=_("Low activity: %(name)s logged %(n)s activities in %(days)s days")
                    % {"name": m.display_name, "n": f"{per[m.pk]:.0f}", "days": days},
                    message=_(
                        "The team's usual figure is %(usual)s over the same days; fewer visits and calls now mean "
                        "fewer deals next quarter."
                    )
                    % {"usual": f"{usual:.0f}"},
                    action=_(
                        "Sit down with %(name)s: plan this week's visits and calls together, and check whether "
                        "activities are simply not being logged."
                    )
                    % {"name": m.display_name},
                    own_action=_(
                        "Plan this week's visits and calls with your manager, and check that every visit "
                        "and call you made is logged."
                    ),
                    link=dashboard_link(f"m{m.pk}"),
                    data={"count": per[m.pk], "team_median": usual, "days": days},
                )
            )
    return out


def target_miscalibrated(ctx: Context, p: dict[str, Any]) -> list[Finding]:
    scope = ctx.scope(p["period"])
    if scope is None:
        return []
    cards = ctx.member_cards(p["period"])
    if not cards:
        return []
    members = ctx.active_members()
    label = period_label(scope)
    out = []
    for unit in OrgUnit.objects.order_by("path"):
        group = [c for pk, c in cards.items() if members[pk].org_unit.path.startswith(unit.path)]
        if len(group) < int(p["min_members"]):
            continue
        diagnosis = core_gaps.diagnose_target_calibration(
            [c.pace for c in group],
            group[0].elapsed,
            median_below=float(p["median_below"]),
            behind_below=float(p["behind_below"]),
            share_above=float(p["share_above"]),
            min_elapsed=float(p["min_elapsed"]),
            min_members=int(p["min_members"]),
        )
        if diagnosis is None:
            continue
        out.append(
            Finding(
                SubjectType.UNIT,
                unit.pk,
                unit_id=unit.pk,
                title=_("%(unit)s: the %(period)s target looks miscalibrated")
                % {"unit": unit.name, "period": label},
                message=_(
                    "%(share)s of %(n)s members are below %(behind)s of pace (median pace index %(median).2f) with "
                    "%(elapsed)s of the period gone: the target is more likely wrong than the people."
                )
                % {
                    "share": pct(diagnosis.share_behind),
                    "n": diagnosis.members,
                    "behind": pct(diagnosis.behind_threshold),
                    "median": diagnosis.median_pace,
                    "elapsed": pct(diagnosis.elapsed_fraction),
                },
                action=_(
                    "Review the target's assumptions (market growth, new hires, seasonality) and propose a revision "
                    "with a reason, rather than pushing every member harder."
                ),
                link=dashboard_link(f"u{unit.pk}", p["period"]),
                data={
                    "members": diagnosis.members,
                    "median_pace": round(diagnosis.median_pace, 4),
                    "share_behind": round(diagnosis.share_behind, 4),
                    "elapsed": round(diagnosis.elapsed_fraction, 4),
                    "period": label,
                },
            )
        )
    return out


def big_deal_slipped(ctx: Context, p: dict[str, Any]) -> list[Finding]:
    scope = ctx.scope(p["period"])
    if scope is None:
        return []
    period = scope.period
    since = timezone.now() - timedelta(days=int(p["lookback_days"]))
    events = (
        AuditEvent.objects.filter(
            action="opportunity.update", at__gte=since, changes__has_key="expected_close"
        )
        .order_by("at")
        .values_list("subject_id", "changes")
    )
    slipped: dict[int, tuple[date, date]] = {}
    for subject_id, changes in events:
        try:
            old, new = (date.fromisoformat(str(v)) for v in changes["expected_close"])
        except (TypeError, ValueError):
            continue
        if period.contains(old) and new > period.end:
            slipped.setdefault(int(subject_id), (old, new))
    deals = Opportunity.objects.filter(
        pk__in=list(slipped),
        stage__kind=StageKind.OPEN,
        expected_close__gt=period.end,
        owner__left_on__isnull=True,
        amount_base__gte=Decimal(str(p["min_amount"])),
    ).select_related("customer")
    out = []
    for deal in deals:
        old, new = slipped[deal.pk]
        out.append(
            Finding(
                SubjectType.OPPORTUNITY,
                deal.pk,
                owner_id=deal.owner_id,
                title=_("Big deal slipped out of %(period)s: %(deal)s (%(amount)s)")
                % {
                    "period": period_label(scope),
                    "deal": deal.name,
                    "amount": yuan(deal.amount_base),
                },
                message=_(
                    "Its expected close moved from %(old)s to %(new)s, so %(amount)s leaves this period's forecast."
                )
                % {
                    "old": old.isoformat(),
                    "new": deal.expected_close.isoformat(),
                    "amount": yuan(deal.amount_base),
                },
                action=_(
                    "Find out why with the owner: if the customer can still sign this period, agree what it takes; "
                    "otherwise fill the hole with other deals now."
                ),
                own_action=_(
                    "Find out why from the customer: if they can still sign this period, agree what it "
                    "takes; otherwise fill the hole with other deals now."
                ),
                link=reverse("pipeline:detail", args=[deal.pk]),
                data={
                    "old": old.isoformat(),
                    "new": new.isoformat(),
                    "amount": str(deal.amount_base),
                },
            )
        )
    return out


def weak_conversion(ctx: Context, p: dict[str, Any]) -> list[Finding]:
    """A rep whose weakest funnel step converts far below their team's median, with the revenue
    a median conversion would have brought (the dashboard's bottleneck selector)."""
    days = int(p["days"])
    start = ctx.today - timedelta(days=days - 1)
    if ctx.scope("quarter") is None:
        return []
    scope = resolve_scope(
        ctx.user,
        {"period": "custom", "from": start.isoformat(), "to": ctx.today.isoformat()},
        today=ctx.today,
    )
    reps = [m for m in ctx.active_members().values() if m.role == Role.REP]
    teams: dict[int, list[Member]] = defaultdict(list)
    for m in reps:
        teams[m.org_unit_id].append(m)
    out = []
    for team in teams.values():
        if len(team) < 3:
            continue
        nodes = [Node("member", m.pk, m.display_name, (m.pk,), member=m) for m in team]
        facts = Facts([m.pk for m in team])
        figures = s.process(scope, nodes, facts)
        for b in s.bottleneck_rows(scope, facts, nodes):
            if b.step is None or b.conversion is None or not b.team_median:
                continue
            member = next(m for m in team if f"m{m.pk}" == b.key)
            entered = figures[str(b.key)].reached[b.step] if figures[str(b.key)].reached else 0
            if (
                b.conversion >= float(p["share_of_median"]) * b.team_median
                or b.gain < Decimal(str(p["min_gain"]))
                or entered < int(p["min_deals"])
            ):
                continue
            out.append(
                Finding(
                    SubjectType.MEMBER,
                    member.pk,
                    owner_id=member.pk,
                    title=_(
                        "Weak conversion: %(name)s converts %(conv)s at %(stage)s (team median %(median)s)"
                    )
                    % {
                        "name": member.display_name,
                        "conv": pct(b.conversion),
                        "stage": b.stage or b.step,
                        "median": pct(b.team_median),
                    },
                    message=_(
                        "Over the last %(days)s days %(n)s deals reached this step. At the team's median "
                        "conversion they would have brought about %(gain)s more."
                    )
                    % {"days": days, "n": f"{entered:.0f}", "gain": yuan(b.gain)},
                    action=_(
                        "Review %(name)s's recent deals lost at this step together; coach the step (qualification, "
                        "proposal, negotiation) or pair them with the team's best closer on the next deals."
                    )
                    % {"name": member.display_name},
                    own_action=_(
                        "Review your recent deals lost at this step with your manager; ask for coaching on "
                        "the step (qualification, proposal, negotiation) or to work your next deals with "
                        "the team's best closer."
                    ),
                    link=dashboard_link(f"m{member.pk}"),
                    data={
                        "conversion": round(b.conversion, 4),
                        "team_median": round(b.team_median, 4),
                        "gain": str(b.gain),
                        "stage": str(b.stage or b.step),
                    },
                )
            )
    return out


def decisions_waiting(ctx: Context, p: dict[str, Any]) -> list[Finding]:
    """Target-setting decisions that wait on someone (自动提醒): a plan submitted ``plan_days``
    ago or more, on those who may approve it; a bottom-up proposal open ``proposal_days`` or
    more, on those asked to decide it (``targets.notify.deciders``); a person's own figure,
    asked for ("Ask for proposals") ``ask_days`` ago or more and still not proposed, on them;
    next fiscal year, beginning within ``year_days`` without an approved or active plan, on the
    directors (the admins when there is none). One finding per member, listing all that waits
    on them; it resolves itself once they have decided (or proposed)."""
    from salesloop.core.periods import FiscalCalendar
    from salesloop.org.services import company_get
    from salesloop.targets import rules as plan_rules
    from salesloop.targets.choices import Metric, PlanStatus, ProposalStatus
    from salesloop.targets.models import Plan, Proposal
    from salesloop.targets.notify import decider_pool, deciders, mine_link, reconcile_link

    active = ctx.active_members()
    leaders = [m for m in active.values() if m.role in (Role.ADMIN, Role.DIRECTOR, Role.MANAGER)]
    plans: dict[int, list[tuple[Any, int]]] = defaultdict(list)
    proposals: dict[int, list[tuple[Any, int]]] = defaultdict(list)
    year: dict[int, tuple[int, int]] = {}

    def age(moment: Any) -> int:
        return (ctx.today - timezone.localtime(moment).date()).days

    submitted = Plan.objects.filter(status=PlanStatus.SUBMITTED, submitted_at__isnull=False)
    for plan in submitted.select_related("owner__org_unit").order_by("submitted_at"):
        days = age(plan.submitted_at)
        if days >= int(p["plan_days"]):
            for m in leaders:
                if plan_rules.may_approve_plan(m, plan):
                    plans[m.pk].append((plan, days))
    open_proposals = Proposal.objects.filter(
        status=ProposalStatus.OPEN, target__plan__status=PlanStatus.DRAFT
    ).select_related("target__plan", "target__member__org_unit", "target__unit", "proposed_by")
    pool = decider_pool()
    for proposal in open_proposals.order_by("created_at"):
        days = age(proposal.created_at)
        if days >= int(p["proposal_days"]):
            for m in deciders(proposal.target, proposal.proposed_by, pool):
                if m.pk in active:
                    proposals[m.pk].append((proposal, days))
    asked = _figures_asked(ctx, int(p["ask_days"]), active)
    fiscal = FiscalCalendar(company_get().fiscal_year_start_month)
    upcoming = fiscal.fiscal_year_of(ctx.today) + 1
    days_left = (fiscal.year(upcoming).start - ctx.today).days
    if (
        0 < days_left <= int(p["year_days"])
        and not Plan.objects.filter(
            fiscal_year=upcoming, status__in=(PlanStatus.APPROVED, PlanStatus.ACTIVE)
        ).exists()
    ):
        heads = [m for m in active.values() if m.role == Role.DIRECTOR] or [
            m for m in active.values() if m.role == Role.ADMIN
        ]
        for m in heads:
            year[m.pk] = (upcoming, days_left)
    out = []
    for pk in sorted({*plans, *proposals, *asked, *year}):
        member = active[pk]
        name = member.display_name
        # each line twice: as the member reads it ("your approval") and as the leaders above
        # read it in their inbox and reports ("李桂花's approval")
        lines, others, actions, asks = [], [], [], []
        link = reverse("targets:plans")
        for plan, days in plans.get(pk, []):
            lines.append(
                ngettext(
                    "%(plan)s has waited %(days)s day for your approval.",
                    "%(plan)s has waited %(days)s days for your approval.",
                    days,
                )
                % {"plan": plan, "days": days}
            )
            others.append(
                ngettext(
                    "%(plan)s has waited %(days)s day for %(name)s's approval.",
                    "%(plan)s has waited %(days)s days for %(name)s's approval.",
                    days,
                )
                % {"plan": plan, "days": days, "name": name}
            )
            link = reverse("targets:plan", args=[plan.pk])
        if plans.get(pk):
            actions.append(_("approve the plan or send it back to draft with a reason"))
            asks.append(_("approve the plan or send it back to draft with a reason"))
        mine = proposals.get(pk, [])
        if mine:
            oldest = max(days for _p, days in mine)
            lines.append(
                ngettext(
                    "%(n)s proposal waits for your decision (the oldest for %(days)s days).",
                    "%(n)s proposals wait for your decision (the oldest for %(days)s days).",
                    len(mine),
                )
                % {"n": len(mine), "days": oldest}
            )
            others.append(
                ngettext(
                    "%(n)s proposal waits for %(name)s's decision (the oldest for %(days)s days).",
                    "%(n)s proposals wait for %(name)s's decision (the oldest for %(days)s days).",
                    len(mine),
                )
                % {"n": len(mine), "days": oldest, "name": name}
            )
            actions.append(_("accept or reject each proposal in the reconciliation view"))
            asks.append(_("accept or reject each proposal in the reconciliation view"))
            if not plans.get(pk):
                oldest = mine[0][0].target
                link = reconcile_link(oldest.plan_id, oldest.metric)
        wanted = asked.get(pk, [])
        for plan, metric, days, due in wanted:
            values = {"metric": Metric(metric).label, "plan": plan, "days": days, "name": name}
            lines.append(
                _("Your own figure of %(metric)s for %(plan)s was due on %(day)s.")
                % {**values, "day": due.isoformat()}
                if due
                else ngettext(
                    "Your own figure of %(metric)s for %(plan)s was asked for %(days)s day ago.",
                    "Your own figure of %(metric)s for %(plan)s was asked for %(days)s days ago.",
                    days,
                )
                % values
            )
            others.append(
                _("%(name)s's own figure of %(metric)s for %(plan)s was due on %(day)s.")
                % {**values, "day": due.isoformat()}
                if due
                else ngettext(
                    "%(name)s's own figure of %(metric)s for %(plan)s was asked for %(days)s day "
                    "ago.",
                    "%(name)s's own figure of %(metric)s for %(plan)s was asked for %(days)s "
                    "days ago.",
                    days,
                )
                % values
            )
        if wanted:
            actions.append(_("propose your figure on My targets"))
            asks.append(_("propose their own figure on My targets"))
            if not plans.get(pk) and not mine:
                link = mine_link(wanted[0][0].pk)
        if pk in year:
            fy, left = year[pk]
            line = ngettext(
                "FY%(fy)s begins in %(days)s day and has no approved plan.",
                "FY%(fy)s begins in %(days)s days and has no approved plan.",
                left,
            ) % {"fy": fy, "days": left}
            lines.append(line)
            others.append(line)
            actions.append(_("have next year's plan approved and activated before it begins"))
            asks.append(_("have next year's plan approved and activated before it begins"))
        count = len(plans.get(pk, [])) + len(mine) + len(wanted) + (1 if pk in year else 0)
        between = pgettext("between the items of a list", ", ")
        out.append(
            Finding(
                SubjectType.MEMBER,
                member.pk,
                owner_id=member.pk,
                severity=Severity.CRITICAL if pk in year and year[pk][1] <= 7 else None,
                title=(
                    ngettext(
                        "%(n)s request for %(name)s's own figure waits",
                        "%(n)s requests for %(name)s's own figure wait",
                        count,
                    )
                    if count == len(wanted)  # nothing to decide, only to propose
                    else ngettext(
                        "%(n)s target decision waits for %(name)s",
                        "%(n)s target decisions wait for %(name)s",
                        count,
                    )
                )
                % {"n": count, "name": name},
                message=sentences(others),
                own_message=sentences(lines),
                action=(
                    _(
                        "Remind %(name)s to propose their own figure on My targets, or set "
                        "their target in the plan yourself."
                    )
                    % {"name": name}
                    if count == len(wanted)
                    else _("Ask %(name)s to %(what)s.") % {"name": name, "what": between.join(asks)}
                ),
                own_action=(
                    _("Propose your own figure on My targets: your manager then decides on it.")
                    if count == len(wanted)
                    else _("Decide: %(what)s.") % {"what": between.join(actions)}
                ),
                link=link,
                data={
                    "plans": [plan.pk for plan, _d in plans.get(pk, [])],
                    "proposals": [proposal.pk for proposal, _d in mine],
                    "asked": [[plan.pk, metric] for plan, metric, _d, _due in wanted],
                    "year": year[pk][0] if pk in year else None,
                },
            )
        )
    return out


def _figures_asked(
    ctx: Context, min_days: int, active: dict[int, Member]
) -> dict[int, list[tuple[Any, str, int, date | None]]]:
    """Per member: the (draft plan, metric, days, due day) whose figures a leader asked for
    ``min_days`` ago or more — or, when the request gave a due day, whose due day has passed —
    (the latest request per plan and metric) and that they have still not proposed
    (``targets.services.proposal_askees`` of that leader, as of today)."""
    from salesloop.targets.choices import PlanStatus
    from salesloop.targets.models import Plan
    from salesloop.targets.selectors import latest_proposal_requests, request_terms
    from salesloop.targets.services import proposal_askees

    drafts = {p.pk: p for p in Plan.objects.filter(status=PlanStatus.DRAFT)}
    latest = latest_proposal_requests(list(drafts))
    by_user = {m.user_id: m for m in active.values() if m.user_id}
    out: dict[int, list[tuple[Any, str, int]]] = defaultdict(list)
    for (plan_id, metric), event in latest.items():
        days = (ctx.today - timezone.localtime(event.at).date()).days
        leader = by_user.get(event.actor_id)
        _note, due = request_terms(event)
        if leader is None or (ctx.today <= due if due else days < min_days):
            continue
        plan = drafts[plan_id]
        for m in {
            m.pk: m for m, _t in proposal_askees(plan=plan, metric=metric, member=leader)
        }.values():
            if m.pk in active:
                out[m.pk].append((plan, metric, days, due))
    return out


EVALUATORS: dict[str, Callable[[Context, dict[str, Any]], list[Finding]]] = {
    RuleKey.BEHIND_PACE: behind_pace,
    RuleKey.LOW_PROBABILITY: low_probability,
    RuleKey.STALLED_DEAL: stalled_deal,
    RuleKey.OVERDUE_FOLLOW_UP: overdue_follow_up,
    RuleKey.KEY_ACCOUNT_QUIET: key_account_quiet,
    RuleKey.LOW_ACTIVITY: low_activity,
    RuleKey.TARGET_MISCALIBRATED: target_miscalibrated,
    RuleKey.BIG_DEAL_SLIPPED: big_deal_slipped,
    RuleKey.WEAK_CONVERSION: weak_conversion,
    RuleKey.DECISIONS_WAITING: decisions_waiting,
}


def params_for(key: str, stored: dict[str, Any] | None) -> dict[str, Any]:
    """The rule's thresholds: the defaults overridden by what the admin stored."""
    return {**DEFAULTS[key], **{k: v for k, v in (stored or {}).items() if k in DEFAULTS[key]}}


__all__ = ["DEFAULTS", "EVALUATORS", "Context", "Finding", "Node", "SystemViewer", "params_for"]
