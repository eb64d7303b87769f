"""Activities (visits, calls, emails, meetings) and follow-ups over the REST API."""

from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Query, Router, Status

from salesloop.activities import services
from salesloop.activities.schemas import ActivityIn, ActivityOut, ActivityPatch, ActivityQuery
from salesloop.activities.selectors import activity_get, activity_list
from salesloop.apitokens.rest import (
    CREATE_ERRORS,
    OBJECT_ERRORS,
    READ_ERRORS,
    WRITE_ERRORS,
    Page,
    PathId,
    owner_for,
    paginate,
    resolve_one,
)
from salesloop.customers.selectors import customer_list
from salesloop.pipeline.selectors import opportunity_list

router = Router(tags=["activities"])

ORDERINGS = {"-occurred": "-occurred_at", "occurred": "occurred_at", "due": "follow_up_due"}


@router.get(
    "/activities/", response={200: Page[ActivityOut], **READ_ERRORS}, url_name="activity_list"
)
def activity_list_route(request: HttpRequest, filters: Query[ActivityQuery]) -> Any:
    queryset = activity_list(user=request.user)
    if filters.customer:
        queryset = queryset.filter(customer_id=filters.customer)
    if filters.opportunity:
        queryset = queryset.filter(opportunity_id=filters.opportunity)
    if filters.owner:
        queryset = queryset.filter(owner_id=filters.owner)
    if filters.kind:
        queryset = queryset.filter(kind=filters.kind)
    if filters.follow_up:
        queryset = queryset.filter(follow_up_due__isnull=False, followed_up_at__isnull=True)
        if filters.follow_up == "overdue":
            queryset = queryset.filter(follow_up_due__lt=timezone.localdate())
    elif filters.order == "due":
        queryset = queryset.filter(follow_up_due__isnull=False)
    if filters.occurred_from:
        queryset = queryset.filter(occurred_at__gte=filters.occurred_from)
    if filters.occurred_to:
        queryset = queryset.filter(occurred_at__lt=filters.occurred_to)
    return paginate(
        queryset, order=ORDERINGS[filters.order], cursor=filters.cursor, limit=filters.limit
    )


@router.post(
    "/activities/", response={201: ActivityOut, **CREATE_ERRORS}, url_name="activity_create"
)
def activity_create_route(request: HttpRequest, payload: ActivityIn) -> Any:
    """Log a follow-up; it also settles the owner's open follow-ups with this customer."""
    user = request.user
    customer = resolve_one(customer_list(user=user), payload.customer, field="customer")
    activity = services.activity_log(
        owner=owner_for(request, payload.owner),
        customer=customer,
        opportunity=resolve_one(
            opportunity_list(user=user), payload.opportunity, field="opportunity"
        ),
        **payload.dict(exclude={"owner", "customer", "opportunity"}),
    )
    return Status(201, activity)


@router.get(
    "/activities/{activity_id}",
    response={200: ActivityOut, **OBJECT_ERRORS},
    url_name="activity_detail",
)
def activity_detail_route(request: HttpRequest, activity_id: PathId) -> Any:
    return activity_get(user=request.user, pk=activity_id)


@router.post(
    "/activities/{activity_id}/complete-follow-up",
    response={200: ActivityOut, **WRITE_ERRORS},
    url_name="activity_complete_follow_up",
)
def activity_complete_route(request: HttpRequest, activity_id: PathId) -> Any:
    """Mark the promised follow-up done without logging a new activity."""
    activity = activity_get(user=request.user, pk=activity_id)
    return services.follow_up_complete(activity=activity)


@router.patch(
    "/activities/{activity_id}",
    response={200: ActivityOut, **WRITE_ERRORS},
    url_name="activity_update",
)
def activity_update_route(request: HttpRequest, activity_id: PathId, payload: ActivityPatch) -> Any:
    """Correct a logged activity. Send ``follow_up_due: null`` to clear the follow-up."""
    activity = activity_get(user=request.user, pk=activity_id)
    fields = payload.dict(exclude_unset=True)
    fields = {k: v for k, v in fields.items() if v is not None or k == "follow_up_due"}
    return services.activity_update(activity=activity, actor=request.user, **fields)


@router.delete(
    "/activities/{activity_id}", response={204: None, **WRITE_ERRORS}, url_name="activity_delete"
)
def activity_delete_route(request: HttpRequest, activity_id: PathId) -> Any:
    activity = activity_get(user=request.user, pk=activity_id)
    services.activity_delete(activity=activity, actor=request.user)
    return Status(204, None)
