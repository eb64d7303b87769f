"""API schemas for performance tracking (业绩跟踪): attainment, pacing, coverage, probability."""

from datetime import date
from decimal import Decimal
from typing import Literal

from ninja import Schema
from pydantic import Field

from salesloop.apitokens.rest import Day, Id

NodeKey = Field(
    None,
    pattern=r"^[um][0-9]{1,18}$",
    description="u<id> for an org unit's subtree, m<id> for one member; default: your own "
    "(the company for a director, your unit for a manager, yourself for a rep).",
)


class PerformanceQuery(Schema):
    node: str | None = NodeKey
    period: Literal["month", "quarter", "year", "custom"] = "quarter"
    on: Day | None = Field(None, description="Any day in the period; default: today.")
    start: Day | None = Field(None, alias="from", description="custom: the first day.")
    end: Day | None = Field(None, alias="to", description="custom: the last day (≤ 3 years).")
    metric: Literal["booked_revenue", "collected_revenue"] = "booked_revenue"
    product_line: Id | None = None


class NodeOut(Schema):
    key: str
    kind: Literal["unit", "member"]
    id: int
    name: str


class PeriodOut(Schema):
    kind: str
    start: date
    end: date
    as_of: date = Field(description="Today, clamped to the period.")
    elapsed: float = Field(description="Share of the period's seasonal weight gone by.")


class ProcessOut(Schema):
    won: int = Field(description="Deals won in the period to date.")
    lost: int
    win_rate: float | None
    won_amount: Decimal
    deal_size: Decimal | None = Field(description="Average won deal.")
    opportunities_created: int
    activities: int
    follow_up_timeliness: float | None = Field(
        description="Share of follow-ups due so far that were done on time."
    )
    stage_reached: list[float] = Field(
        description="Of the opportunities created in the period, how many reached each stage."
    )
    stage_conversions: list[float | None]


class RowOut(Schema):
    node: NodeOut
    actual: Decimal
    floor: Decimal
    target: Decimal
    stretch: Decimal
    vs_floor: float | None = Field(description="actual / floor for the period.")
    vs_target: float | None
    vs_stretch: float | None
    expected: Decimal = Field(description="The part of the target due by as_of (seasonal).")
    pace: float | None = Field(
        description="actual / expected; null without a target and on the period's first "
        "working day (nothing was due before it)."
    )
    run_rate: Decimal | None = Field(
        description=(
            "The period's total at the current pace: each member's actual carried along their "
            "own target's months, added up for a unit; null on its first working day."
        )
    )
    remaining_gap: Decimal = Field(description="target − actual, never below 0.")
    open_amount: Decimal = Field(description="Open deals expected to close in the period.")
    weighted_amount: Decimal
    coverage: float | None = Field(description="open_amount / remaining_gap.")
    weighted_coverage: float | None
    p_floor: float | None = Field(description="Probability of reaching the floor (simulated).")
    p_target: float | None
    p_stretch: float | None
    projected_p50: Decimal | None = Field(description="The median projected period total.")
    process: ProcessOut


class PerformanceOut(Schema):
    metric: str
    product_line: int | None
    period: PeriodOut
    stages: list[str] = Field(description="The stage names that stage_reached counts.")
    total: RowOut = Field(description="The node itself.")
    children: list[RowOut] = Field(description="Its child units and direct members.")
