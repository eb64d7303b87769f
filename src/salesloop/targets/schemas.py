"""API schemas for plans, targets (with their months), revisions and proposals."""

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from ninja import Schema
from pydantic import Field

from salesloop.apitokens.rest import Money, Text, limit_field
from salesloop.targets import smart
from salesloop.targets.choices import REASON_MIN, Method, Metric, PlanStatus, ProposalStatus

VERSION_HELP = (
    "The target's lock_version as you read it: a newer one on the server answers 409 "
    "(code 'stale'). ``If-Match`` with the ETag does the same."
)


class PlanOut(Schema):
    id: int
    fiscal_year: int
    version: int = Field(description="The plan's version number within its fiscal year.")
    name: str
    status: PlanStatus
    owner: int = Field(alias="owner_id")
    owner_name: str
    root_unit: int = Field(alias="root_unit_id")
    based_on: int | None = Field(alias="based_on_id")
    notes: str
    lock_version: int = Field(description="Advances with every change of status.")
    submitted_at: datetime | None
    approved_at: datetime | None
    approved_by: int | None = Field(alias="approved_by_id")
    activated_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_owner_name(obj: Any) -> str:
        return str(obj.owner.display_name)


class MonthOut(Schema):
    month: int = Field(description="Fiscal month, 1 = the first month of the fiscal year.")
    floor: Decimal
    target: Decimal = Field(alias="target_value")
    stretch: Decimal


class SmartOut(Schema):
    ok: bool = Field(description="Every check passed.")
    checked: bool = Field(description="False until the recommendation has been computed.")
    unjudged: bool = Field(
        False,
        description="Passed, but with no history of the owner's own to judge its chance by.",
    )
    failed_letters: list[str]
    sentences: list[str] = Field(description="Each failed check (or the A check) in words.")


class TargetOut(Schema):
    id: int
    plan: int = Field(alias="plan_id")
    parent: int | None = Field(alias="parent_id")
    unit: int | None = Field(alias="unit_id", description="Set for a node of the org tree.")
    member: int | None = Field(alias="member_id", description="Set for a person (a leaf).")
    owner_name: str
    metric: Metric
    product_line: int | None = Field(
        alias="product_line_id", description="Empty for the total over all product lines."
    )
    floor: Decimal = Field(description="底线: reached with the plan's floor probability.")
    target: Decimal
    stretch: Decimal = Field(description="挑战: reached with the plan's stretch probability.")
    method: Method = Field(description="How the target is split to its children.")
    locked: bool = Field(description="A locked target keeps its values when its parent is split.")
    lock_version: int
    months: list[MonthOut]
    smart: SmartOut
    updated_at: datetime

    @staticmethod
    def resolve_months(obj: Any) -> list[Any]:
        return sorted(obj.months.all(), key=lambda m: m.month)

    @staticmethod
    def resolve_smart(obj: Any) -> dict[str, Any]:
        return smart.summary(obj.smart, obj.metric)


class TargetQuery(Schema):
    metric: Metric | None = None
    product_line: int | None = Field(
        None, ge=0, description="A product line's id; 0 for the totals over all lines."
    )
    member: int | None = Field(None, ge=1, description="Only this member's targets.")
    unit: int | None = Field(None, ge=1, description="Only this org unit's targets.")
    cursor: Text(500) | None = None  # type: ignore[valid-type]
    limit: int = limit_field()


class PlanQuery(Schema):
    fiscal_year: int | None = Field(None, ge=2000, le=2100)
    status: PlanStatus | None = None
    cursor: Text(500) | None = None  # type: ignore[valid-type]
    limit: int = limit_field()


class PageQuery(Schema):
    cursor: Text(500) | None = None  # type: ignore[valid-type]
    limit: int = limit_field()


class TargetPatch(Schema):
    """A draft plan's target: the three values are sent together (they are checked together)."""

    floor: Money | None = None
    target: Money | None = None
    stretch: Money | None = None
    locked: bool | None = None
    method: Method | None = None
    version: int | None = Field(None, ge=1, description=VERSION_HELP)


class MonthsIn(Schema):
    """A draft target's monthly split, set by hand: a share for each fiscal month (percentages
    or any weights: they are scaled to the whole). The year's values do not change."""

    shares: list[float] = Field(
        ..., min_length=12, max_length=12, description="Twelve shares, fiscal month 1 first."
    )
    subtree: bool = Field(
        False,
        description="A draft: split every target under it the same way (locked ones keep theirs).",
    )
    reason: str = Field(
        "",
        max_length=2000,
        description="The active plan: why (a revision); the months already over keep theirs.",
    )
    version: int | None = Field(None, ge=1, description=VERSION_HELP)


class RevisionIn(Schema):
    """A change of an active plan's target, with the reason that goes on record."""

    floor: Money
    target: Money
    stretch: Money
    reason: Text(2000, min_length=REASON_MIN)  # type: ignore[valid-type]
    version: int | None = Field(None, ge=1, description=VERSION_HELP)
    from_month: int | None = Field(
        None,
        ge=1,
        le=12,
        description=(
            "The first month of the fiscal year (1–12) the revision changes; the months before "
            "it keep their targets. Default: the month in progress. A month already over is "
            "refused."
        ),
    )


class RevisionOut(Schema):
    id: int
    target: int = Field(alias="target_id")
    owner_name: str
    author: int = Field(alias="author_id")
    author_name: str
    at: datetime
    reason: str
    before: dict[str, str]
    after: dict[str, str]
    counts_from: int | None = Field(
        None, description="The first fiscal month (1–12) the revision changed; null: not known"
    )

    @staticmethod
    def resolve_owner_name(obj: Any) -> str:
        return str(obj.target.owner_name)

    @staticmethod
    def resolve_author_name(obj: Any) -> str:
        return str(obj.author.display_name)


class TransitionIn(Schema):
    action: Literal["submit", "approve", "activate", "return", "archive"] = Field(
        description="submit (draft → submitted), approve (submitted → approved, by someone "
        "above the plan's owner), activate (approved → active; the year's previous active plan "
        "is archived), return (submitted / approved → draft, with a reason), archive."
    )
    reason: Text(2000) = ""  # type: ignore[valid-type]
    version: int | None = Field(
        None, ge=1, description="The plan's lock_version as you read it (409 when stale)."
    )


class ProposalRequestIn(Schema):
    metric: Metric = Field(
        Metric.BOOKED_REVENUE, description="The metric whose figures you ask for."
    )
    note: str = Field(
        default="",
        max_length=500,
        description="A note for the people asked (optional), e.g. why.",
    )
    due: date | None = Field(
        default=None,
        description="The day the figures are due (optional; today or later): the people asked "
        "read it, and the reminders wait for it to pass.",
    )


class ProposalRequestOut(Schema):
    asked: int = Field(description="How many people were asked (each is told once).")


class WaitingDecisionOut(Schema):
    kind: Literal["plan", "proposals"] = Field(
        description="'plan': a submitted plan you may approve; 'proposals': open proposals of "
        "a draft you are asked to decide."
    )
    plan: int
    plan_name: str
    count: int = Field(description="How many proposals wait (1 for a plan).")
    metric: Metric | None = Field(description="The oldest proposal's metric.")
    since: datetime = Field(description="When it began to wait.")
    link: str = Field(description="Where it is decided (a path of the web app).")


class WaitingAskOut(Schema):
    plan: int
    plan_name: str
    metric: Metric
    target: int = Field(description="The total you are asked about: your own, or your team's.")
    asked_by: str
    at: datetime
    note: str
    due: date | None = Field(description="The day the figure is due, when the leader gave one.")
    link: str = Field(description="My targets, on the plan's block (a path of the web app).")


class WaitingOut(Schema):
    decisions: list[WaitingDecisionOut] = Field(
        description="Target-setting decisions waiting on you, oldest first (leaders only)."
    )
    asks: list[WaitingAskOut] = Field(
        description="Requests for your own figure (征集提报) you have not answered with a "
        "proposal, oldest first."
    )


class ProposalIn(Schema):
    value: Money = Field(description="The target you propose for the year.")
    comment: Text(2000) = ""  # type: ignore[valid-type]


class ProposalOut(Schema):
    id: int
    target: int = Field(alias="target_id")
    owner_name: str
    proposed_by: int = Field(alias="proposed_by_id")
    value: Decimal
    comment: str
    status: ProposalStatus
    decided_by: int | None = Field(alias="decided_by_id")
    decided_at: datetime | None
    decision_note: str = Field(description="Why it was decided so, when the decider said.")
    created_at: datetime

    @staticmethod
    def resolve_owner_name(obj: Any) -> str:
        return str(obj.target.owner_name)


class AcceptWithinIn(Schema):
    metric: Metric = Field(Metric.BOOKED_REVENUE, description="The metric whose proposals.")
    within: Decimal | None = Field(
        ge=0,
        le=100,
        max_digits=5,
        decimal_places=2,
        description="How close to its top-down target a proposal's figure must be, in percent "
        "(5: within ±5 %); null: every open proposal you decide.",
    )
    note: str = Field(
        default="",
        max_length=500,
        description="Why (optional): told to each proposal's author with the decision.",
    )


class AcceptedOut(Schema):
    accepted: int = Field(description="How many proposals were accepted.")
    proposals: list[ProposalOut] = Field(description="The proposals accepted, oldest first.")


class DecisionIn(Schema):
    accept: bool = Field(
        description="true: the target takes the proposed value (floor and stretch keep their "
        "proportions) and is locked; false: the proposal is rejected."
    )
    note: str = Field(
        default="",
        max_length=500,
        description="Why (optional): told to the proposal's author with the decision.",
    )


class HireIn(Schema):
    start_month: int = Field(ge=1, le=12, description="Fiscal month the hires start in.")
    fte: Decimal = Field(Decimal(1), description="Headcount (0.1 – 100).")
    ramp_months: int = Field(6, description="Months to full productivity (1 – 24).")


class RecomputeIn(Schema):
    """The recommendation's inputs, as on the planning page (validated by the same form)."""

    metric: Metric = Metric.BOOKED_REVENUE
    growth_pct: Decimal = Field(Decimal(0), description="Market growth in percent (−90 – 500).")
    strategy_line: Text(200) = ""  # type: ignore[valid-type]
    floor_probability: int = Field(80, description="Percent; the floor is reached with it.")
    target_probability: int = 50
    stretch_probability: int = 30
    cap_to_capacity: bool = True
    round_to: int = Field(
        0, description="Money metrics: round every split to 0 (the cent), 1, 100, 1000 or 10000."
    )
    uplifts: dict[Text(32), Decimal] = Field(  # type: ignore[valid-type]
        default_factory=dict,
        description="Strategy uplift per product line code (an amount for the year).",
    )
    hires: list[HireIn] = Field(default_factory=list, description="Up to three hiring rows.")


class RunOut(Schema):
    id: int
    plan: int = Field(alias="plan_id")
    metric: Metric
    status: str = Field(description="queued, running, done or failed.")
    done: int
    total: int
    message: str
    seconds: float | None
    created_at: datetime


class StepOut(Schema):
    key: str = Field(description="baseline, growth, uplift:<line code>, hires or cap.")
    label: str
    amount: float


class FanOut(Schema):
    months: list[str] = Field(description="The plan year's months, YYYY-MM.")
    mean: list[float]
    lo80: list[float]
    hi80: list[float]
    lo95: list[float]
    hi95: list[float]


class SmartCheckOut(Schema):
    letter: str
    ok: bool
    reason: str
    sentence: str
    figures: dict[str, Any] = Field(description="The numbers behind the check.")


class RecommendationOut(Schema):
    """Where a target comes from: the recommendation it was computed from (before any edit by
    hand), with the contribution of each input and the forecast behind it."""

    computed: bool = Field(
        description="True for a node the recommendation was computed for (the plan's top); "
        "false for a share split from its parent, or a target set by hand."
    )
    probabilities: list[float] | None = Field(
        description="The chance of reaching the floor, the target and the stretch."
    )
    floor: float | None
    target: float | None
    stretch: float | None
    baseline: list[float] | None = Field(
        description="Floor, target and stretch from the history alone, before any input."
    )
    waterfall: list[StepOut] = Field(description="Baseline plus each input = the target.")
    capped: bool | None
    capacity: float | None = Field(description="Full-time months × top-decile productivity.")
    ramped_productivity: float | None
    top_decile_productivity: float | None
    forecast: FanOut | None = Field(description="The monthly forecast and its intervals.")
    monthly: list[list[float]] = Field(description="Each month's [floor, target, stretch].")
    history_months: list[str] = Field(description="The first and last month of history used.")
    method: str | None = Field(description="The forecasting method chosen.")
    own_trend: dict[str, float | None] | None = Field(
        description="A split share's own forecast (floor, target, stretch, last_year): the "
        "planning page's 'Own trend', to compare the share with."
    )
    smart: list[SmartCheckOut]


class SplitOut(Schema):
    changed: int = Field(description="How many targets below this one got new values.")
    children: list[TargetOut]


class MoveIn(Schema):
    """A member changes teams; their targets go along in every plan that is not archived."""

    unit: int = Field(ge=1, description="The org unit the member joins.")
    reason: Text(2000, min_length=REASON_MIN)  # type: ignore[valid-type]


class MoveOut(Schema):
    member: int
    unit: int
    plans: list[int] = Field(description="The plans whose targets moved along.")
    units_changed: list[int] = Field(
        description="The unit targets that gave up or took on the member's values."
    )
    revisions: list[int] = Field(description="The revisions recorded (in an active plan).")


class CompareQuery(Schema):
    with_: int | None = Field(
        None,
        ge=1,
        alias="with",
        description="The plan to compare with. Empty: the version this plan was copied from, "
        "else the latest other version of its year, else last year's active plan, else next year's.",
    )
    metric: Metric = Metric.BOOKED_REVENUE
    product_line: int | None = Field(
        None, ge=0, description="A product line's id; empty or 0 for the totals over all lines."
    )


class CompareSide(Schema):
    id: int = Field(description="The target's id in its plan.")
    floor: Decimal
    target: Decimal
    stretch: Decimal


class CompareRowOut(Schema):
    owner_kind: Literal["unit", "member"]
    owner_id: int
    owner_name: str
    depth: int | None = Field(description="Depth in this plan's tree; empty for a node it lacks.")
    this: CompareSide | None = Field(description="In this plan; empty if only in the other.")
    other: CompareSide | None = Field(description="In the other plan; empty if new in this one.")
    change: Decimal | None = Field(description="This plan's target minus the other's.")
    change_ratio: float | None = Field(description="The change over the other plan's target.")
    changed: bool = Field(description="Floor, target or stretch differ, or one side is missing.")
    flagged: bool = Field(
        description="New, gone, or a change 10 points or more out of step with the parent's."
    )
    moved_from: str | None = Field(description="The other plan's parent node, if another one.")
    actual: Decimal | None = Field(
        description="The actual in the other plan's year to `actual_to` (a team: the people of "
        "its subtree you may see); empty before that year begins."
    )
    attainment: float | None = Field(description="`actual` over the other plan's target.")


class CompareOut(Schema):
    plan: int
    other: int
    metric: Metric
    product_line: int | None
    changed: int
    unchanged: int
    added: int = Field(description="Nodes only in this plan.")
    removed: int = Field(description="Nodes only in the other plan.")
    actual_to: date | None = Field(
        description="The day the other plan's year is read to (its end once it is over); "
        "empty before that year begins."
    )
    rows: list[CompareRowOut] = Field(
        description="This plan's tree in order (as far as you may see), then the other's leftovers."
    )
