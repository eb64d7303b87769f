from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


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


# "Round targets to" (in whole currency units; 0 = to the cent). Money metrics only: counts are
# whole already.
ROUND_TO_CHOICES = (0, 1, 100, 1_000, 10_000)
#: The fewest characters of a reason that goes on record (a revision, a move, a plan sent
#: back to draft): a few words, not "x".
REASON_MIN = 5


def rounding_unit(assumptions: dict[str, Any], metric: str) -> int:
    """The rounding unit of a plan's ``metric`` in minor units (1 = no rounding), from the
    plan's stored inputs (``plan.assumptions[metric]["round_to"]``)."""
    if metric not in MONEY_METRICS:
        return 1
    try:
        round_to = int((assumptions.get(metric) or {}).get("round_to") or 0)
    except (TypeError, ValueError):
        return 1
    if round_to not in ROUND_TO_CHOICES or round_to == 0:
        return 1
    return int(round_to * 10 ** metric_places(metric))


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
    OPEN = "open", pgettext_lazy("proposal status", "Awaiting decision")
    ACCEPTED = "accepted", _("Accepted")
    REJECTED = "rejected", pgettext_lazy("proposal status", "Rejected")
    #: an open proposal its author replaced with a newer one for the same target
    SUPERSEDED = "superseded", _("Replaced by a newer one")
