"""Assemble one dashboard: every figure of a scope, built from the selectors (no rendering)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.utils.translation import gettext as _

from salesloop.customers.models import ProductLine
from salesloop.insights import charts
from salesloop.insights import selectors as s
from salesloop.insights.facts import Facts
from salesloop.insights.scope import Scope, period_label


def _json(fig: dict[str, Any]) -> str:
    return json.dumps(fig, cls=DjangoJSONEncoder, ensure_ascii=False)


@dataclass
class Dashboard:
    scope: Scope
    context: dict[str, Any]
    figures: dict[str, dict[str, Any]]


def build_dashboard(scope: Scope) -> Dashboard:
    facts = Facts(scope.node.member_ids, scope.product_line.pk if scope.product_line else None)
    nodes = [scope.node, *scope.children]
    cards = s.cards(scope, nodes, facts)
    card = cards[scope.node.key]
    figures: dict[str, dict[str, Any]] = {
        "burn_up": charts.burn_up(s.burn_up(scope, card, facts), scope.money)
    }
    proc = s.process(scope, nodes, facts)
    labels = s.stage_names()
    node_proc = proc[scope.node.key]
    if node_proc.reached and len(labels) == len(node_proc.reached) and any(node_proc.reached):
        figures["funnel"] = charts.funnel(labels, node_proc.reached)
    gaps = s.gap_analysis(scope, cards, facts)
    prev_label = period_label_for(scope, gaps["previous"])
    figures["gap_last"] = charts.gap_waterfall(
        gaps["vs_last"], reference_label=prev_label, current_label=_("This period")
    )
    if gaps["vs_target"] is not None:
        figures["gap_target"] = charts.gap_waterfall(
            gaps["vs_target"],
            reference_label=_("Expected from deals"),
            # a period that is over was won, not "won to date"
            current_label=_("Won to date") if scope.today <= scope.period.end else _("Won"),
        )
    children_rows = []
    # member children with nothing at all (no actual, target, pipeline, closed deal or activity
    # — e.g. the company's admin and viewer accounts) stay out of the tables and charts; their
    # zeros change no sum. Units always show (a way down).
    shown = [
        c for c in scope.children if c.kind == "unit" or _has_figures(cards[c.key], proc[c.key])
    ]
    if scope.children:
        with_target = [c for c in shown if cards[c.key].thresholds.defined]
        if with_target:
            figures["leaderboard"] = charts.leaderboard(
                [(c.name, cards[c.key].vs_target, cards[c.key].pace) for c in with_target]
            )
        split = gaps["children"]
        figures["gap_children"] = charts.children_drivers(
            [c.name for c in shown], [split.children[c.key] for c in shown]
        )
        for c in shown:
            children_rows.append(
                {
                    "node": c,
                    "card": cards[c.key],
                    "process": proc[c.key],
                    "split": split.children[c.key],
                    "vs_median": gaps["vs_median"][c.key],
                }
            )
        children_rows.sort(key=lambda r: -(r["card"].vs_target or -1))
    if not figures.get("leaderboard"):
        figures.pop("leaderboard", None)
    line_names = {pl.pk: pl.name for pl in scope.lines}
    line_rows = []
    if gaps["lines"] is not None:
        for pk, split in gaps["lines"].children.items():
            line_rows.append({"name": line_names.get(pk, pk), "split": split})
    figures["trend"] = charts.trend(s.trend(scope, facts), scope.money)
    heat = s.heatmap(scope, shown or (scope.node,), facts)
    figures["heatmap"] = charts.heatmap(heat)
    mix = s.product_mix(scope, facts)
    if mix and scope.product_line is None:
        figures["mix"] = charts.product_mix(
            [str(line_names.get(pk, pk)) for pk, _v in mix],
            [float(v) for _pk, v in mix],
            scope.money,
        )
    member_nodes = s.member_nodes_of(scope)
    bottlenecks = []
    diagnosis = None
    if scope.node.kind == "unit":
        bn = s.bottleneck_rows(scope, facts, member_nodes)
        by_key = {n.key: n for n in member_nodes}
        bottlenecks = sorted(
            [(by_key[b.key], b) for b in bn if b.step is not None], key=lambda x: -x[1].gain
        )[:10]
        member_cards = (
            s.cards(scope, member_nodes, facts, simulate=False) if len(member_nodes) > 1 else {}
        )
        diagnosis = s.calibration_diagnosis(scope, list(member_cards.values()))
    stalled_counts, stalled = s.stalled(scope, list(scope.node.member_ids))
    overdue_count, overdue = s.overdue_follow_ups(scope, list(scope.node.member_ids))
    context = {
        "scope": scope,
        "card": card,
        "cards": cards,
        "process": node_proc,
        "stages": bool(labels),
        "children_rows": children_rows,
        "hidden_children": len(scope.children) - len(shown),
        "gaps": gaps,
        "prev_label": prev_label,
        "line_rows": line_rows,
        "bottlenecks": bottlenecks,
        "diagnosis": diagnosis,
        "stalled": stalled,
        "stalled_total": sum(stalled_counts.values()),
        "overdue": overdue,
        "overdue_count": overdue_count,
        "cycle": s.sales_cycle(
            scope,
            list(scope.node.member_ids),
            won=(node_proc.won, node_proc.won_amount, node_proc.lost),
        ),
        "period_label": period_label(scope),
        "figures_json": {k: _json(v) for k, v in figures.items() if v},
        "lines": list(ProductLine.objects.none()) or list(scope.lines),
    }
    return Dashboard(scope=scope, context=context, figures=figures)


def _has_figures(card: s.Card, proc: s.Process) -> bool:
    return bool(
        card.actual
        or card.thresholds.defined
        or card.open_amount
        or proc.won
        or proc.lost
        or proc.created
        or proc.activities
    )


def period_label_for(scope: Scope, period: Any) -> str:
    from dataclasses import replace

    return period_label(replace(scope, period=period))
