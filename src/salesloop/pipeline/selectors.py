"""Reads for opportunities, stages and leads, through the visibility rule."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import (
    Count,
    DateField,
    DecimalField,
    ExpressionWrapper,
    F,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from salesloop.org.visibility import get_visible_or_404, visible
from salesloop.pipeline.choices import StageKind
from salesloop.pipeline.filters import OpportunityFilter
from salesloop.pipeline.models import Lead, Opportunity, Pipeline, Stage, StageChange


def opportunity_list(
    *, user: Any, filters: OpportunityFilter | None = None
) -> QuerySet[Opportunity]:
    queryset = visible(
        Opportunity.objects.select_related("customer", "owner", "stage", "product_line"), user=user
    )
    if filters is not None:
        queryset = filters.apply(queryset)
    return queryset


def opportunity_get(*, user: Any, pk: Any) -> Opportunity:
    return get_visible_or_404(
        Opportunity.objects.select_related(
            "customer", "owner", "stage", "pipeline", "product_line"
        ),
        user=user,
        pk=pk,
    )


def stage_history(*, user: Any, opportunity: Opportunity) -> QuerySet[StageChange]:
    return visible(
        StageChange.objects.filter(opportunity=opportunity).select_related(
            "from_stage", "to_stage", "changed_by"
        ),
        user=user,
    ).order_by("changed_at", "id")


def pipeline_stages(pipeline: Pipeline) -> QuerySet[Stage]:
    return pipeline.stages.order_by("order")


def pipeline_summary(*, user: Any) -> dict[str, Any]:
    """Open pipeline the user can see: count, amount and stage-probability-weighted amount."""
    weighted = ExpressionWrapper(
        F("amount_base") * F("stage__probability") * Decimal("0.01"),
        output_field=DecimalField(max_digits=20, decimal_places=4),
    )
    # by the open stages' ids, which the (owner, stage) index serves; joined on the stage's
    # kind, PostgreSQL read every deal of a manager's team first (S1: 0.16 s -> 0.01 s)
    open_ids = list(Stage.objects.filter(kind=StageKind.OPEN).values_list("pk", flat=True))
    figures = (
        opportunity_list(user=user)
        .filter(stage__in=open_ids)
        .aggregate(n=Count("id"), amount=Sum("amount_base"), weighted=Sum(weighted))
    )
    return {
        "count": figures["n"],
        "amount": figures["amount"] or Decimal(0),
        "weighted": figures["weighted"] or Decimal(0),
    }


#: Won and lost columns of the board show the deals closed in this many days (newest first):
#: a board is for the deals in play, and years of won deals buried the open ones.
CLOSED_DAYS = 30


def board_columns(
    *, user: Any, pipeline: Pipeline, filters: OpportunityFilter | None = None, per_column: int = 50
) -> list[dict[str, Any]]:
    """The pipeline board: every stage with its totals and its first cards.

    Open stages hold every deal in them (soonest expected close first); won and lost stages
    the deals closed in the last ``CLOSED_DAYS`` days (newest first). Totals are aggregated in
    the database in one query; cards are fetched per stage, capped so a large pipeline does not
    render thousands of cards.
    """
    stages = pipeline_stages(pipeline)
    open_ids = [s.pk for s in stages if s.kind == StageKind.OPEN]
    closed_ids = [s.pk for s in stages if s.kind != StageKind.OPEN]
    # The stages name the pipeline; each half is a plain filter that an index serves (an OR
    # of "open stage" and "closed lately" made PostgreSQL scan every deal at scale S1).
    base = opportunity_list(user=user, filters=filters)
    since = timezone.now() - timedelta(days=CLOSED_DAYS)
    recent = base.filter(stage__in=closed_ids, closed_at__gte=since)
    totals = {
        row["stage"]: row
        for part in (base.filter(stage__in=open_ids), recent)
        for row in part.order_by().values("stage").annotate(n=Count("*"), amount=Sum("amount_base"))
    }
    # Soonest close first. Ordering by the bare column let PostgreSQL walk the expected-close
    # index through the 450,000 closed deals (which close earlier) to find a first stage's 50
    # cards; through an expression (the column is never empty, so the same order) it reads
    # the stage's (or the owners') deals and sorts them: 0.2 s -> 0.02 s for a director at S1.
    soonest = Coalesce("expected_close", Value(date.max), output_field=DateField())
    columns = []
    for stage in stages:
        row = totals.get(stage.pk, {"n": 0, "amount": Decimal(0)})
        closed = stage.kind != StageKind.OPEN
        order = ("-closed_at", "-pk") if closed else (soonest, "pk")
        shown = recent if closed else base
        cards = list(shown.filter(stage=stage).order_by(*order)[:per_column]) if row["n"] else []
        columns.append(
            {
                "stage": stage,
                "closed": closed,
                "count": row["n"],
                "amount": row["amount"] or Decimal(0),
                "cards": cards,
            }
        )
    return columns


def lead_list(*, user: Any) -> QuerySet[Lead]:
    return visible(Lead.objects.select_related("owner"), user=user)
