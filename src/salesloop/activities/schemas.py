"""API schemas for activities (follow-ups)."""

from datetime import date, datetime

from ninja import Schema
from pydantic import Field

from salesloop.activities.choices import ActivityKind, Outcome
from salesloop.apitokens.rest import Day, Id, Moment, Text, limit_field


class ActivityIn(Schema):
    customer: Id
    kind: ActivityKind
    subject: Text(200, min_length=1)  # type: ignore[valid-type]
    owner: Id | None = Field(None, description="A member you may assign; default: yourself.")
    occurred_at: Moment | None = Field(None, description="With a time zone offset; default: now.")
    opportunity: Id | None = None
    duration_minutes: int = Field(0, ge=0, le=24 * 60)
    outcome: Outcome = Outcome.NEUTRAL
    notes: Text(5000) = ""  # type: ignore[valid-type]
    follow_up_due: Day | None = None
    external_id: Text(64) | None = None  # type: ignore[valid-type]


class ActivityPatch(Schema):
    """Only the fields sent change (customer and owner stay: log a new activity instead)."""

    kind: ActivityKind | None = None
    subject: Text(200, min_length=1) | None = None  # type: ignore[valid-type]
    occurred_at: Moment | None = None
    duration_minutes: int | None = Field(None, ge=0, le=24 * 60)
    outcome: Outcome | None = None
    notes: Text(5000) | None = None  # type: ignore[valid-type]
    follow_up_due: Day | None = None


class ActivityOut(Schema):
    id: int
    kind: ActivityKind
    owner: int = Field(alias="owner_id")
    customer: int = Field(alias="customer_id")
    opportunity: int | None = Field(alias="opportunity_id")
    occurred_at: datetime
    duration_minutes: int
    subject: str
    outcome: Outcome
    notes: str
    follow_up_due: date | None
    followed_up_at: datetime | None
    external_id: str | None
    created_at: datetime


class ActivityQuery(Schema):
    customer: Id | None = None
    opportunity: Id | None = None
    owner: Id | None = None
    kind: ActivityKind | None = None
    follow_up: str | None = Field(
        None, pattern="^(open|overdue)$", description="open: not yet done; overdue: past due."
    )
    occurred_from: Moment | None = None
    occurred_to: Moment | None = None
    order: str = Field("-occurred", pattern="^(-occurred|occurred|due)$")
    cursor: Text(500) | None = None  # type: ignore[valid-type]
    limit: int = limit_field()
