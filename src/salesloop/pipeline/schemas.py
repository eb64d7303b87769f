"""API schemas for leads, pipelines, opportunities and stage history."""

from datetime import date, datetime
from decimal import Decimal

from ninja import Schema
from pydantic import Field

from salesloop.apitokens.rest import Day, Id, Money, Text, limit_field
from salesloop.common.money import Currency
from salesloop.pipeline.choices import LeadStatus, LostReason, Source, StageKind


class StageOut(Schema):
    id: int
    name: str
    order: int
    probability: int
    kind: StageKind


class PipelineOut(Schema):
    id: int
    name: str
    is_default: bool
    stages: list[StageOut]

    @staticmethod
    def resolve_stages(obj: object) -> list[object]:
        return list(obj.stages.order_by("order"))  # type: ignore[attr-defined]


class OpportunityIn(Schema):
    name: Text(200, min_length=1)  # type: ignore[valid-type]
    customer: Id
    owner: Id | None = Field(None, description="A member you may assign; default: yourself.")
    amount: Money
    currency: Currency | None = Field(None, description="Default: the company currency.")
    expected_close: Day
    stage: Id | None = Field(None, description="Default: the first open stage of the pipeline.")
    pipeline: Id | None = Field(None, description="Default: the default pipeline.")
    product_line: Id | None = None
    source: Source = Source.OTHER
    external_id: Text(64) | None = None  # type: ignore[valid-type]


class OpportunityPatch(Schema):
    """Only the fields sent are changed. The stage changes through ``move-stage``."""

    name: Text(200, min_length=1) | None = None  # type: ignore[valid-type]
    customer: Id | None = None
    owner: Id | None = None
    amount: Money | None = None
    currency: Currency | None = None
    expected_close: Day | None = None
    product_line: Id | None = None
    source: Source | None = None


class MoveStageIn(Schema):
    stage: Id
    lost_reason: LostReason | None = Field(None, description="For a lost stage; default: other.")


class OpportunityOut(Schema):
    id: int
    name: str
    customer: int = Field(alias="customer_id")
    customer_name: str = Field(alias="customer.name")
    owner: int = Field(alias="owner_id")
    owner_name: str = Field(alias="owner.display_name")
    pipeline: int = Field(alias="pipeline_id")
    stage: int = Field(alias="stage_id")
    stage_name: str = Field(alias="stage.name")
    stage_kind: StageKind = Field(alias="stage.kind")
    amount: Decimal
    currency: Currency
    amount_base: Decimal = Field(description="The amount in the company currency.")
    expected_close: date
    product_line: int | None = Field(alias="product_line_id")
    source: Source
    stage_entered_at: datetime | None
    closed_at: datetime | None
    lost_reason: str
    external_id: str | None
    created_at: datetime
    updated_at: datetime


class StageChangeOut(Schema):
    id: int
    from_stage: int | None = Field(alias="from_stage_id")
    to_stage: int = Field(alias="to_stage_id")
    to_stage_name: str = Field(alias="to_stage.name")
    changed_at: datetime
    changed_by: int | None = Field(alias="changed_by_id")
    amount_base: Decimal


class OpportunityQuery(Schema):
    """The opportunity list's filters: the same form as the page (pipeline/filters.py).

    As on the page, ``status`` defaults to open; send ``status=`` (empty) for every status.
    """

    q: Text(100) | None = None  # type: ignore[valid-type]
    status: str = Field("open", pattern="^(|open|won|lost)$")
    stage: Id | None = None
    product_line: Id | None = None
    owner: Id | None = None
    customer: Id | None = None
    close_from: Day | None = None
    close_to: Day | None = None
    order: str | None = Field(None, pattern="^(close|-amount|-created|stage)$")
    cursor: Text(500) | None = None  # type: ignore[valid-type]
    limit: int = limit_field()


class LeadIn(Schema):
    name: Text(120, min_length=1)  # type: ignore[valid-type]
    owner: Id | None = Field(None, description="A member you may assign; default: yourself.")
    company_name: Text(200) = ""  # type: ignore[valid-type]
    phone: Text(40) = ""  # type: ignore[valid-type]
    email: Text(254) = ""  # type: ignore[valid-type]
    source: Source = Source.OTHER
    external_id: Text(64) | None = None  # type: ignore[valid-type]


class LeadPatch(Schema):
    """Only the fields sent change; a lead becomes "converted" only through /convert."""

    name: Text(120, min_length=1) | None = None  # type: ignore[valid-type]
    owner: Id | None = None
    company_name: Text(200) | None = None  # type: ignore[valid-type]
    phone: Text(40) | None = None  # type: ignore[valid-type]
    email: Text(254) | None = None  # type: ignore[valid-type]
    source: Source | None = None
    status: LeadStatus | None = None


class LeadConvertIn(Schema):
    amount: Money
    expected_close: Day
    opportunity_name: Text(200, min_length=1) | None = None  # type: ignore[valid-type]
    product_line: Id | None = None
    customer: Id | None = None


class LeadOut(Schema):
    id: int
    name: str
    company_name: str
    phone: str
    email: str
    source: Source
    status: LeadStatus
    owner: int = Field(alias="owner_id")
    external_id: str | None
    converted_at: datetime | None
    converted_customer: int | None = Field(alias="converted_customer_id")
    converted_opportunity: int | None = Field(alias="converted_opportunity_id")
    created_at: datetime


class LeadQuery(Schema):
    status: LeadStatus | None = None
    owner: Id | None = None
    order: str = Field("-created", pattern="^(-created|name)$")
    cursor: Text(500) | None = None  # type: ignore[valid-type]
    limit: int = limit_field()


class PageQuery(Schema):
    cursor: Text(500) | None = None  # type: ignore[valid-type]
    limit: int = limit_field()
