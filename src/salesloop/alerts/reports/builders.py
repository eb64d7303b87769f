"""Report content: the weekly progress report and the monthly / quarterly review (复盘).

Both read through the dashboard's scope (the recipient's own node, through the visibility
rule) and the dashboard selectors (:mod:`salesloop.insights.selectors`), so every figure in a
report is the figure the dashboard shows for the same node, period and day. The result is a
plain JSON-able dict: it is stored as the report's snapshot, and the page, the email and the
workbook are rendered from it.

The snapshot is language-neutral (``"v": SCHEMA``): figures, ids, names, keys and the
parameters of each sentence — no text in any language but the alerts' own titles and actions,
kept in every interface language. Its words are written when it is read, in the reader's
language (:mod:`salesloop.alerts.reports.present`).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.utils import timezone

from salesloop.alerts.choices import SEVERITY_ORDER, AlertStatus
from salesloop.alerts.models import Alert
from salesloop.core.gaps import GapSplit
from salesloop.insights import selectors as s
from salesloop.insights.facts import Facts
from salesloop.insights.scope import Scope, period_spec, resolve_scope
from salesloop.org.models import Member
from salesloop.org.visibility import visible
from salesloop.pipeline.choices import StageKind
from salesloop.pipeline.models import Opportunity

DRIVERS = ("opportunities", "win_rate", "deal_size")
SCHEMA = 2  # the snapshot's layout: 2 = language-neutral (older reports carry built text)


def top_risks(alerts: list[Alert], n: int = 10) -> list[Alert]:
    """The report's risks: the open alerts most severe first, but each kind of alert in turn, so
    that a kind with many (eighty reps' overdue follow-ups) does not push out the few of another
    (a team behind pace, a key account gone quiet). Round by round, each kind gives its next
    alert (its kinds ordered by their first alert); then severity orders what was picked, the
    rounds' order kept among equals. ``alerts`` come sorted by severity, newest first."""
    kinds: dict[str, list[Alert]] = {}
    for alert in alerts:
        kinds.setdefault(alert.rule, []).append(alert)
    for group in kinds.values():  # the weightiest of a kind first (the sort keeps the rest's order)
        group.sort(key=lambda a: (SEVERITY_ORDER.get(a.severity, 9), -_weight(a)))
    picked: list[Alert] = []
    depth = 0
    while len(picked) < n and any(len(group) > depth for group in kinds.values()):
        picked += [group[depth] for group in kinds.values() if len(group) > depth][
            : n - len(picked)
        ]
        depth += 1
    return sorted(picked, key=lambda a: SEVERITY_ORDER.get(a.severity, 9))


def _weight(alert: Alert) -> float:
    """How much an alert is about, to rank the alerts of one kind: the deal's amount (stalled,
    slipped), the money at stake (behind pace: the expected not reached; the floor not reached;
    the gain of a median conversion), the count (overdue follow-ups), the days a key account has
    been silent. A report listed the newest first: a ¥55,000 deal stalled 81 days above one of
    ¥1,666,000, which was left out."""
    data = alert.data or {}

    def number(key: str) -> float:
        try:
            return float(data.get(key) or 0)
        except (TypeError, ValueError):
            return 0.0

    for key in ("amount", "gain", "count", "days_silent"):
        if data.get(key) is not None:
            return number(key)
    if data.get("expected") is not None:
        return number("expected") - number("actual")
    if data.get("floor") is not None:
        return number("floor") - number("actual")
    return 0.0


def risk_kinds(alerts: list[Alert]) -> list[list[Any]]:
    """How many open alerts of each kind, most first: [[rule, count], …]."""
    counts: dict[str, int] = {}
    for alert in alerts:
        counts[alert.rule] = counts.get(alert.rule, 0) + 1
    return [[rule, count] for rule, count in sorted(counts.items(), key=lambda kv: -kv[1])]


def _num(v: Decimal | float | None, places: int = 2) -> float | None:
    return None if v is None else round(float(v), places)


def card_data(label: str | None, c: s.Card) -> dict[str, Any]:
    """A card's figures; ``label``: a child's name, None for a period's card (its label is the
    period's, written when the report is read)."""
    th = c.thresholds
    return {
        "label": label,
        "name": c.node.name,
        "key": c.node.key,
        "actual": _num(c.actual),
        "floor": _num(th.floor),
        "target": _num(th.target),
        "stretch": _num(th.stretch),
        "has_target": th.defined,
        "vs_floor": _num(c.vs_floor, 4),
        "vs_target": _num(c.vs_target, 4),
        "vs_stretch": _num(c.vs_stretch, 4),
        "expected": _num(c.expected),
        "pace": _num(c.pace, 4),
        "run_rate": _num(c.run_rate),
        "remaining_gap": _num(c.remaining_gap),
        "open_amount": _num(c.open_amount),
        "coverage": _num(c.coverage, 3),
        "p_floor": _num(c.p_floor, 4),
        "p_target": _num(c.p_target, 4),
        "p_stretch": _num(c.p_stretch, 4),
        "elapsed": _num(c.elapsed, 4),
    }


def split_data(split: GapSplit | None) -> dict[str, Any] | None:
    if split is None:
        return None
    return {
        "reference": _num(split.reference),
        "current": _num(split.current),
        "gap": _num(split.gap),
        **{d: _num(getattr(split, d)) for d in DRIVERS},
        "largest": split.largest_driver,
    }


def _shown(c: s.Card) -> bool:
    """A child worth a row: it has a target or booked something (not the director's own row)."""
    return c.thresholds.defined or c.actual != 0


def _moved(split: GapSplit | None) -> bool:
    return split is not None and (split.reference != 0 or split.current != 0)


def _scope(member: Member, kind: str, today: date, on: date | None = None) -> Scope:
    params = {"period": kind}
    if on is not None:
        params["on"] = on.isoformat()
    return resolve_scope(member.user, params, today=today)


def _role(member: Member) -> str:
    return str(member.role)


def _alerts(member: Member) -> Any:
    return visible(Alert.objects.all(), user=member.user)


# ------------------------------------------------------------------ weekly


def build_weekly(member: Member, today: date) -> dict[str, Any]:
    """Attainment and pace (quarter and month), what changed in the last 7 days, the top risks
    and the actions due — for the recipient's own node (a rep: themselves; a manager: their
    team; a director: the company)."""
    scope = _scope(member, "quarter", today)
    nodes = [scope.node, *scope.children]
    facts = Facts(scope.node.member_ids, None)
    cards = s.cards(scope, nodes, facts)  # exactly the dashboard's call
    card = cards[scope.node.key]
    month = _scope(member, "month", today)
    month_card = s.cards(month, [month.node], Facts(month.node.member_ids, None), simulate=False)[
        month.node.key
    ]
    week_start, week_end = today - timedelta(days=7), today - timedelta(days=1)
    before = (
        replace(scope, today=week_start - timedelta(days=1))
        if week_start > scope.period.start
        else None
    )
    then = (
        s.cards(before, [before.node], Facts(before.node.member_ids, None), simulate=False)[
            before.node.key
        ]
        if before is not None
        else None
    )
    ids = list(scope.node.member_ids)
    week = facts.by_member(
        ["booked", "won", "won_amount", "created", "act_all"], week_start, week_end
    )

    def total(metric: str) -> float:
        return round(float(sum((v for (m, _x), v in week.items() if m == metric), Decimal(0))), 2)

    alerts = _alerts(member)
    open_alerts = list(alerts.filter(status=AlertStatus.OPEN).select_related("owner", "unit"))
    open_alerts.sort(key=lambda a: (SEVERITY_ORDER.get(a.severity, 9), -a.opened_at.timestamp()))
    overdue_count, overdue = s.overdue_follow_ups(scope, ids, limit=10)
    stalled_counts, stalled = s.stalled(scope, ids, limit=5)
    closing = list(
        Opportunity.objects.filter(
            owner_id__in=ids,
            stage__kind=StageKind.OPEN,
            expected_close__gte=today,
            expected_close__lte=today + timedelta(days=14),
        )
        .select_related("owner", "customer", "stage")
        .order_by("-amount_base")[:10]
    )
    children = [card_data(c.name, cards[c.key]) for c in scope.children if _shown(cards[c.key])]
    children.sort(key=lambda r: (r["pace"] is None, r["pace"] or 0))
    return {
        "v": SCHEMA,
        "kind": "weekly",
        "as_of": today.isoformat(),
        "role": _role(member),
        "node": {"key": scope.node.key, "name": scope.node.name},
        "period": period_spec(scope),
        "week": {"start": week_start.isoformat(), "end": week_end.isoformat()},
        "card": card_data(None, card),
        "month": {**card_data(None, month_card), "period": period_spec(month)},
        "children": children,
        "changes": {
            "booked": total("booked"),
            "won": total("won"),
            "won_amount": total("won_amount"),
            "created": total("created"),
            "activities": total("act_all"),
            "vs_target_before": _num(then.vs_target, 4) if then else None,
            "vs_target_now": _num(card.vs_target, 4),
            "pace_before": _num(then.pace, 4) if then else None,
            "pace_now": _num(card.pace, 4),
            # the week's own alerts: one opened on the Monday before the report runs belongs
            # to the next report
            "alerts_opened": alerts.filter(opened_at__date__range=(week_start, week_end)).count(),
            "alerts_resolved": alerts.filter(
                status=AlertStatus.RESOLVED, resolved_at__date__range=(week_start, week_end)
            ).count(),
        },
        "risks": [
            {
                "alert": a.pk,
                "severity": a.severity,
                "rule": a.rule,
                # the alert's own words, as it reads in each interface language (the recipient's
                # own alert worded for them)
                "title": _texts(a, "title"),
                "action": _texts(a, "action", reader=member),
                "link": a.link,
            }
            for a in top_risks(open_alerts)
        ],
        "risk_count": len(open_alerts),
        "risk_kinds": risk_kinds(open_alerts),
        "actions": {
            "overdue_count": overdue_count,
            "overdue": [
                {
                    "due": a.follow_up_due.isoformat(),
                    "owner": a.owner.display_name,
                    "customer": a.customer.name,
                    "subject": a.subject,
                }
                for a in overdue
            ],
            "closing": [
                {
                    "name": o.name,
                    "customer": o.customer.name,
                    "owner": o.owner.display_name,
                    "amount": _num(o.amount_base),
                    "close": o.expected_close.isoformat(),
                    "stage": o.stage.name,
                    "id": o.pk,
                }
                for o in closing
            ],
            "stalled_total": sum(stalled_counts.values()),
            "stalled_alerts": _stalled_alerts(),
            "stalled": [
                {
                    "name": o.name,
                    "customer": o.customer.name,
                    "owner": o.owner.display_name,
                    "amount": _num(o.amount_base),
                    "stage": o.stage.name,
                    "id": o.pk,
                }
                for o in stalled
            ],
        },
        "figures": {
            "burn_up": {
                "chart": "burn_up",
                "series": s.burn_up(scope, card, facts),
                "money": scope.money,
            }
        },
        "planning": _planning(member),
    }


def _stalled_alerts() -> dict[str, float | None] | None:
    """Which stalled deals are alerts too, said beside the report's count of stalled deals
    (the two counts differed with nothing to say why): from what amount, and after how many
    days in a stage when the rule counts its own days instead of the usual stay. None when the
    rule is off."""
    from salesloop.alerts.choices import RuleKey
    from salesloop.alerts.models import AlertRule

    rule = AlertRule.objects.filter(key=RuleKey.STALLED_DEAL, enabled=True).first()
    if rule is None:
        return None
    params = rule.params or {}
    days = params.get("limit_days")
    return {
        "amount": float(params.get("min_amount") or 0),
        "days": float(days) if days else None,
    }


def _planning(member: Member) -> list[dict[str, Any]]:
    """Next year's targets as they are being agreed (a leader's weekly report): per draft plan
    and metric, the reconciliation's figures at the top of what the reader sees — top-down,
    bottom-up, the gap — with how many proposals are in, how many wait for the reader's
    decision, how many people below still have to propose, and when figures were last asked
    for. Reps and viewers: nothing (their requests reach them as alerts and on My day)."""
    from salesloop.org.choices import Role
    from salesloop.targets.choices import Metric, PlanStatus, ProposalStatus
    from salesloop.targets.models import Plan, Target
    from salesloop.targets.notify import decider_pool, deciders, reconcile_link
    from salesloop.targets.selectors import (
        latest_proposal_requests,
        reconciliation,
        request_terms,
    )
    from salesloop.targets.services import proposal_askees

    if member.role not in (Role.MANAGER, Role.DIRECTOR, Role.ADMIN):
        return []
    drafts = list(Plan.objects.filter(status=PlanStatus.DRAFT).order_by("fiscal_year", "version"))
    asked = latest_proposal_requests([p.pk for p in drafts])
    pool = decider_pool()
    out = []
    for plan in drafts:
        present = set(
            Target.objects.filter(plan=plan, product_line__isnull=True).values_list(
                "metric", flat=True
            )
        )
        for metric in [m for m in Metric.values if m in present]:
            rows = reconciliation(user=member.user, plan=plan, metric=metric)
            if not rows:
                continue
            top = rows[0]
            made = [r["proposal"] for r in rows if r["proposal"] is not None]
            mine = [
                p
                for p in made
                if p.status == ProposalStatus.OPEN
                and any(m.pk == member.pk for m in deciders(p.target, p.proposed_by, pool))
            ]
            request = asked.get((plan.pk, metric))
            out.append(
                {
                    "plan": plan.pk,
                    "plan_name": str(plan),
                    "metric": metric,
                    "node": top["row"].target.owner_name,
                    "top_down": _num(top["row"].target.target),
                    "bottom_up": _num(top["bottom_up"]),
                    "ratio": _num(top["ratio"], 4),
                    "proposals": len(made),
                    "to_decide": len(mine),
                    "gaps": sum(1 for r in rows if r["flag"]),
                    "not_proposed": len(
                        {m.pk for m, _t in proposal_askees(plan=plan, metric=metric, member=member)}
                    ),
                    "asked_on": (
                        timezone.localtime(request.at).date().isoformat() if request else None
                    ),
                    "due": (
                        due.isoformat() if request and (due := request_terms(request)[1]) else None
                    ),
                    "link": reconcile_link(plan.pk, metric, show="open" if mine else "all"),
                }
            )
    return out


def _texts(alert: Alert, field: str, *, reader: Member | None = None) -> dict[str, str]:
    """An alert's title or action in every interface language (as stored where the evaluation
    wrote no translation)."""
    return {code: alert.localized(field, code, reader=reader) for code, _name in settings.LANGUAGES}


# ------------------------------------------------------------------ review


def review_period(kind: str, today: date, scope_today: Scope) -> date:
    """The first day of the period a review covers: the month / quarter before ``today``'s."""
    current = (
        scope_today.fiscal.month_containing(today)
        if kind == "monthly"
        else scope_today.fiscal.quarter_containing(today)
    )
    return scope_today.fiscal.previous(current).start


def _actions(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Recommended actions, each with the figures that motivate it (its sentence is written
    when the report is read: :func:`salesloop.alerts.reports.present.action_text`)."""
    out: list[dict[str, Any]] = []
    vs_target = data["gaps"].get("vs_target")
    if vs_target and vs_target["gap"] is not None and vs_target["gap"] < 0 and vs_target["largest"]:
        driver = vs_target["largest"]
        out.append(
            {
                "kind": "driver",
                "driver": driver,
                "amount": abs(vs_target[driver]),
                "effect": abs(vs_target[driver]),
            }
        )
    for b in data["bottlenecks"][:3]:
        out.append(
            {
                "kind": "bottleneck",
                "effect": b["gain"],
                **{k: b[k] for k in ("name", "stage", "conversion", "team_median", "gain")},
            }
        )
    for adj in data["adjustments"]:
        out.append(
            {
                "kind": "target",
                "effect": adj["change"],
                **{k: adj[k] for k in ("name", "old", "new", "change", "median_pace")},
            }
        )
    return out


def _adjustments(
    scope: Scope, member_cards: dict[str, s.Card], diagnosis: Any
) -> list[dict[str, Any]]:
    """Target adjustments with their effect: when the unit's target looks miscalibrated, the
    members' remaining-year targets scaled to the unit's median pace (never below the floor
    share), and the change in the unit's total."""
    if diagnosis is None:
        return []
    out = []
    factor = max(min(diagnosis.median_pace, 1.0), 0.5)
    for c in member_cards.values():
        if not c.thresholds.defined or c.pace is None or c.pace >= 0.8:
            continue
        old = float(c.thresholds.target)
        new = round(max(old * factor, float(c.thresholds.floor)), 2)
        out.append(
            {
                "name": c.node.name,
                "old": old,
                "new": new,
                "change": round(new - old, 2),
                "median_pace": diagnosis.median_pace,
            }
        )
    return out


def build_review(member: Member, today: date, kind: str) -> dict[str, Any]:
    """The review (复盘) of the month / quarter before ``today``: results vs floor / target /
    stretch, the gap split by driver, child and product line, bottlenecks, the calibration
    diagnosis, recommended actions and target adjustments with their effect."""
    period_kind = "month" if kind == "monthly" else "quarter"
    probe = _scope(member, period_kind, today)
    start = review_period(kind, today, probe)
    scope = _scope(member, period_kind, today, on=start)
    nodes = [scope.node, *scope.children]
    facts = Facts(scope.node.member_ids, None)
    cards = s.cards(scope, nodes, facts)
    gaps = s.gap_analysis(scope, cards, facts)
    member_nodes = s.member_nodes_of(scope)
    bottlenecks = []
    diagnosis = None
    member_cards: dict[str, s.Card] = {}
    if scope.node.kind == "unit":
        names = {n.key: n.name for n in member_nodes}
        for b in s.bottleneck_rows(scope, facts, member_nodes):
            if b.step is not None and b.gain > 0:
                bottlenecks.append(
                    {
                        "name": names.get(str(b.key), str(b.key)),
                        "stage": str(b.stage or b.step),
                        "gain": _num(b.gain),
                        "conversion": _num(b.conversion, 4),
                        "team_median": _num(b.team_median, 4),
                    }
                )
        bottlenecks.sort(key=lambda r: -(r["gain"] or 0))
        if len(member_nodes) > 1:
            member_cards = s.cards(scope, member_nodes, facts, simulate=False)
            diagnosis = s.calibration_diagnosis(scope, list(member_cards.values()))
    line_names = {pl.pk: pl.name for pl in scope.lines}
    # the figures as what they draw: built, with their labels, when the report is read
    figures: dict[str, Any] = {}
    if _moved(gaps["vs_last"]):
        figures["gap_last"] = {
            "chart": "gap_waterfall",
            "split": "vs_last",
            "reference": "previous",
            "current": "period",
        }
    if gaps["vs_target"] is not None and _moved(gaps["vs_target"]):
        figures["gap_target"] = {
            "chart": "gap_waterfall",
            "split": "vs_target",
            "reference": "expected_from_deals",
            # a month reviewed once it is over was won, not "won to date"
            "current": "won_to_date" if scope.today <= scope.period.end else "won",
        }
    if scope.children and any(_moved(gaps["children"].children[c.key]) for c in scope.children):
        figures["gap_children"] = {"chart": "children_drivers"}
    data: dict[str, Any] = {
        "v": SCHEMA,
        "kind": kind,
        "as_of": today.isoformat(),
        "role": _role(member),
        "node": {"key": scope.node.key, "name": scope.node.name},
        "period": {
            **period_spec(scope),
            "previous": period_spec(replace(scope, period=gaps["previous"])),
        },
        "card": card_data(None, cards[scope.node.key]),
        "children": [
            card_data(c.name, cards[c.key]) for c in scope.children if _shown(cards[c.key])
        ],
        "gaps": {
            "vs_target": split_data(gaps["vs_target"]),
            "vs_last": split_data(gaps["vs_last"]),
            "children": [
                {"name": c.name, **(split_data(gaps["children"].children[c.key]) or {})}
                for c in scope.children
                if _moved(gaps["children"].children[c.key])
            ]
            if scope.children
            else [],
            "lines": [
                {"name": line_names.get(pk, str(pk)), **(split_data(sp) or {})}
                for pk, sp in (gaps["lines"].children.items() if gaps["lines"] is not None else [])
            ],
        },
        "bottlenecks": bottlenecks[:10],
        "calibration": None
        if diagnosis is None
        else {
            "members": diagnosis.members,
            "median_pace": round(diagnosis.median_pace, 4),
            "share_behind": round(diagnosis.share_behind, 4),
            "elapsed": round(diagnosis.elapsed_fraction, 4),
            "behind": diagnosis.behind_threshold,
        },
        "adjustments": _adjustments(scope, member_cards, diagnosis),
        "figures": figures,
    }
    data["actions"] = _actions(data)
    return data
