from django.db import models
from django.utils.translation import gettext_lazy as _


class Metric(models.TextChoices):
    BOOKED_REVENUE = "booked_revenue", _("Booked revenue")
    COLLECTED_REVENUE = "collected_revenue", _("Collected revenue")
    DEALS_WON = "deals_won", _("Deals won")
    NEW_CUSTOMERS = "new_customers", _("New customers")
    OPPORTUNITIES_CREATED = "opportunities_created", _("Opportunities created")
    VISITS = "activities_visit", _("Visits")
    CALLS = "activities_call", _("Calls")
    MEETINGS = "activities_meeting", _("Meetings")
    ACTIVITIES = "activities_all", _("Activities (all types)")


MONEY_METRICS = frozenset({Metric.BOOKED_REVENUE, Metric.COLLECTED_REVENUE})


def metric_places(metric: str) -> int:
    """Decimal places of a metric's values: cents for money, whole units for counts."""
    return 2 if metric in MONEY_METRICS else 0


class PlanStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    APPROVED = "approved", _("Approved")
    ACTIVE = "active", _("Active")
    ARCHIVED = "archived", _("Archived")


PLAN_STATUS_COLOURS = {
    PlanStatus.DRAFT: "grey",
    PlanStatus.SUBMITTED: "orange",
    PlanStatus.APPROVED: "blue",
    PlanStatus.ACTIVE: "green",
    PlanStatus.ARCHIVED: "grey",
}


class Method(models.TextChoices):
    EQUAL = "equal", _("Equal")
    HISTORICAL = "historical", _("Historical share")
    CAPACITY = "capacity", _("Capacity (ramped FTE)")
    POTENTIAL = "potential", _("Account potential")
    MANUAL = "manual", _("Manual")


class ProposalStatus(models.TextChoices):
    OPEN = "open", _("Open")
    ACCEPTED = "accepted", _("Accepted")
    REJECTED = "rejected", _("Rejected")
