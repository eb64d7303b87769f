"""Performance tracking over the REST API: the dashboard's figures for a node and a period."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router

from salesloop.apitokens.rest import OBJECT_ERRORS, resolve_one
from salesloop.common.memo import memo_scope
from salesloop.customers.models import ProductLine
from salesloop.insights import selectors as s
from salesloop.insights.facts import Facts
from salesloop.insights.schemas import PerformanceOut, PerformanceQuery
from salesloop.insights.scope import MAX_CUSTOM_DAYS, Node, resolve_scope

router = Router(tags=["performance"])


def _node(n: Node) -> dict[str, Any]:
    return {"key": n.key, "kind": n.kind, "id": n.pk, "name": n.name}


def _row(n: Node, card: s.Card, proc: s.Process) -> dict[str, Any]:
    th = card.thresholds
    return {
        "node": _node(n),
        "actual": card.actual,
        "floor": th.floor,
        "target": th.target,
        "stretch": th.stretch,
        **{
            name: getattr(card, name)
            for name in (
                "vs_floor",
                "vs_target",
                "vs_stretch",
                "expected",
                "pace",
                "run_rate",
                "remaining_gap",
                "open_amount",
                "weighted_amount",
                "coverage",
                "weighted_coverage",
                "p_floor",
                "p_target",
                "p_stretch",
                "projected_p50",
            )
        },
        "process": {
            "won": int(proc.won),
            "lost": int(proc.lost),
            "win_rate": proc.win_rate,
            "won_amount": proc.won_amount,
            "deal_size": proc.deal_size,
            "opportunities_created": int(proc.created),
            "activities": int(proc.activities),
            "follow_up_timeliness": proc.timeliness,
            "stage_reached": list(proc.reached),
            "stage_conversions": proc.conversions,
        },
    }


def _params(query: PerformanceQuery) -> dict[str, str]:
    """The dashboard's query parameters; what the page would silently replace is refused."""
    if query.period == "custom":
        if query.start is None or query.end is None:
            raise ValidationError({"from": _("A custom period needs both from and to.")})
        if query.start > query.end:
            raise ValidationError({"to": _("The period ends before it starts.")})
        if (query.end - query.start).days > MAX_CUSTOM_DAYS:
            raise ValidationError({"to": _("A custom period is at most three years long.")})
    resolve_one(ProductLine.objects.all(), query.product_line, field="product_line")
    params: dict[str, Any] = {
        "node": query.node,
        "period": query.period,
        "on": query.on,
        "from": query.start,
        "to": query.end,
        "metric": query.metric,
        "line": query.product_line,
    }
    return {k: str(v) for k, v in params.items() if v}


@router.get(
    "/performance/",
    response={200: PerformanceOut, **OBJECT_ERRORS},
    url_name="performance",
)
def performance_route(request: HttpRequest, query: Query[PerformanceQuery]) -> Any:
    """Actual against floor / target / stretch, pacing, pipeline coverage, the probability of
    reaching each level and the process figures (funnel, win rate, activities) of a node and
    of each of its children, for a period — the figures of the dashboard. A node you may not
    see answers 404 like a missing one."""
    with memo_scope():
        scope = resolve_scope(request.user, _params(query))
        facts = Facts(scope.node.member_ids, scope.product_line.pk if scope.product_line else None)
        nodes = [scope.node, *scope.children]
        cards = s.cards(scope, nodes, facts)
        proc = s.process(scope, nodes, facts)
        node_card = cards[scope.node.key]
        return {
            "metric": scope.metric,
            "product_line": scope.product_line.pk if scope.product_line else None,
            "period": {
                "kind": scope.kind,
                "start": scope.period.start,
                "end": scope.period.end,
                "as_of": scope.as_of,
                "elapsed": node_card.elapsed,
            },
            "stages": s.stage_names(),
            "total": _row(scope.node, node_card, proc[scope.node.key]),
            "children": [_row(c, cards[c.key], proc[c.key]) for c in scope.children],
        }
