"""Report content: the weekly progress report and the monthly / quarterly review (复盘).

Both read through the dashboard's scope (the recipient's own node, through the visibility
rule) and the dashboard selectors (:mod:`salesloop.insights.selectors`), so every figure in a
report is the figure the dashboard shows for the same node, period and day. The result is a
plain JSON-able dict: it is stored as the report's snapshot, and the page, the email and the
workbook are rendered from it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from salesloop.alerts.choices import SEVERITY_ORDER, AlertStatus
from salesloop.alerts.models import Alert
from salesloop.core.gaps import GapSplit
from salesloop.insights import charts
from salesloop.insights import selectors as s
from salesloop.insights.facts import Facts
from salesloop.insights.scope import Scope, period_label, resolve_scope
from salesloop.org.models import Member
from salesloop.org.visibility import visible
from salesloop.pipeline.choices import StageKind
from salesloop.pipeline.models import Opportunity

DRIVERS = ("opportunities", "win_rate", "deal_size")


def _num(v: Decimal | float | None, places: int = 2) -> float | None:
    return None if v is None else round(float(v), places)


def card_data(label: str, c: s.Card) -> dict[str, Any]:
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
    label = period_label(scope)
    children = [card_data(c.name, cards[c.key]) for c in scope.children if _shown(cards[c.key])]
    children.sort(key=lambda r: (r["pace"] is None, r["pace"] or 0))
    return {
        "kind": "weekly",
        "as_of": today.isoformat(),
        "role": _role(member),
        "node": {"key": scope.node.key, "name": scope.node.name},
        "period": {
            "label": label,
            "start": scope.period.start.isoformat(),
            "end": scope.period.end.isoformat(),
        },
        "week": {"start": week_start.isoformat(), "end": week_end.isoformat()},
        "card": card_data(label, card),
        "month": card_data(period_label(month), month_card),
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
                "severity": a.severity,
                "severity_label": str(a.get_severity_display()),
                "title": a.title,
                # the stored text (company language) as the title; the recipient's own alert
                # worded for them
                "action": a.localized("action", settings.LANGUAGE_CODE, reader=member),
                "link": a.link,
                "rule": str(a.get_rule_display()),
            }
            for a in open_alerts[:10]
        ],
        "risk_count": len(open_alerts),
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
        "figures": {"burn_up": charts.burn_up(s.burn_up(scope, card, facts), scope.money)},
    }


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
    """Recommended actions, each with the figure that motivates it."""
    out: list[dict[str, Any]] = []
    vs_target = data["gaps"].get("vs_target")
    if vs_target and vs_target["gap"] is not None and vs_target["gap"] < 0 and vs_target["largest"]:
        driver = vs_target["largest"]
        text = {
            "opportunities": _(
                "Too few deals were closed: raise pipeline creation (more visits, lead follow-up) — "
                "the number of deals explains %(v)s of the gap."
            ),
            "win_rate": _(
                "Too many deals were lost: review the lost deals with each owner and coach qualification "
                "and negotiation — the win rate explains %(v)s of the gap."
            ),
            "deal_size": _(
                "Deals were smaller than usual: push bundles and the higher-value product lines — deal "
                "size explains %(v)s of the gap."
            ),
        }[driver]
        out.append(
            {
                "kind": "driver",
                "text": text % {"v": f"¥{abs(vs_target[driver]):,.0f}"},
                "effect": abs(vs_target[driver]),
            }
        )
    for b in data["bottlenecks"][:3]:
        out.append(
            {
                "kind": "bottleneck",
                "effect": b["gain"],
                "text": _(
                    "Coach %(name)s on %(stage)s (conversion %(conv)s vs team median %(median)s): a median "
                    "conversion would have added ¥%(gain)s."
                )
                % {
                    "name": b["name"],
                    "stage": b["stage"],
                    "conv": _pct(b["conversion"]),
                    "median": _pct(b["team_median"]),
                    "gain": f"{b['gain']:,.0f}",
                },
            }
        )
    for adj in data["adjustments"]:
        out.append(
            {
                "kind": "target",
                "effect": adj["change"],
                "text": _(
                    "Revise %(name)s's target for the rest of the year from ¥%(old)s to ¥%(new)s (%(chg)s): "
                    "%(why)s"
                )
                % {
                    "name": adj["name"],
                    "old": f"{adj['old']:,.0f}",
                    "new": f"{adj['new']:,.0f}",
                    "chg": f"{adj['change']:+,.0f}",
                    "why": adj["why"],
                },
            }
        )
    return out


def _pct(v: float | None) -> str:
    return "–" if v is None else f"{v:.0%}"


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
                "why": _(
                    "the unit's median pace index was %(p).2f — the target, not the person, looks wrong."
                )
                % {"p": diagnosis.median_pace},
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
    label = period_label(scope)
    line_names = {pl.pk: pl.name for pl in scope.lines}
    prev_label = period_label(replace(scope, period=gaps["previous"]))
    figures: dict[str, Any] = {}
    if _moved(gaps["vs_last"]):
        figures["gap_last"] = charts.gap_waterfall(
            gaps["vs_last"], reference_label=prev_label, current_label=label
        )
    if gaps["vs_target"] is not None and _moved(gaps["vs_target"]):
        figures["gap_target"] = charts.gap_waterfall(
            gaps["vs_target"],
            reference_label=_("Expected from deals"),
            current_label=_("Won to date"),
        )
    moved = (
        [c for c in scope.children if _moved(gaps["children"].children[c.key])]
        if scope.children
        else []
    )
    if moved:
        figures["gap_children"] = charts.children_drivers(
            [c.name for c in moved], [gaps["children"].children[c.key] for c in moved]
        )
    data: dict[str, Any] = {
        "kind": kind,
        "as_of": today.isoformat(),
        "role": _role(member),
        "node": {"key": scope.node.key, "name": scope.node.name},
        "period": {
            "label": label,
            "start": scope.period.start.isoformat(),
            "end": scope.period.end.isoformat(),
            "previous": prev_label,
        },
        "card": card_data(label, cards[scope.node.key]),
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
            "message": _(
                "%(share)s of %(n)s members were below %(b)s of pace (median pace index %(m).2f): the "
                "target is more likely miscalibrated than the people."
            )
            % {
                "share": _pct(diagnosis.share_behind),
                "n": diagnosis.members,
                "b": _pct(diagnosis.behind_threshold),
                "m": diagnosis.median_pace,
            },
        },
        "adjustments": _adjustments(scope, member_cards, diagnosis),
        "figures": figures,
    }
    data["actions"] = _actions(data)
    return data
