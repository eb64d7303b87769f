"""Leads, pipelines, opportunities and their stage history over the REST API."""

from typing import Any

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Status

from salesloop.apitokens.rest import (
    CREATE_ERRORS,
    OBJECT_ERRORS,
    READ_ERRORS,
    WRITE_ERRORS,
    Page,
    PathId,
    check_if_match,
    etag_of,
    filter_form,
    form_ordering,
    owner_for,
    paginate,
    resolve_one,
)
from salesloop.customers.models import ProductLine
from salesloop.customers.selectors import customer_list
from salesloop.org.visibility import get_visible_or_404
from salesloop.pipeline import services
from salesloop.pipeline.filters import ORDERINGS, OpportunityFilter
from salesloop.pipeline.models import Lead, Opportunity, Pipeline, Stage
from salesloop.pipeline.schemas import (
    LeadConvertIn,
    LeadIn,
    LeadOut,
    LeadPatch,
    LeadQuery,
    MoveStageIn,
    OpportunityIn,
    OpportunityOut,
    OpportunityPatch,
    OpportunityQuery,
    PageQuery,
    PipelineOut,
    StageChangeOut,
)
from salesloop.pipeline.selectors import lead_list, opportunity_get, opportunity_list, stage_history

router = Router(tags=["pipeline"])

LEAD_ORDERINGS = {"-created": "-created_at", "name": "name"}


# ---------------------------------------------------------------- pipelines


@router.get(
    "/pipelines/", response={200: Page[PipelineOut], **READ_ERRORS}, url_name="pipeline_list"
)
def pipeline_list_route(request: HttpRequest, query: Query[PageQuery]) -> Any:
    """Pipelines and their stages (company-wide configuration)."""
    return paginate(Pipeline.objects.all(), order="pk", cursor=query.cursor, limit=query.limit)


# ---------------------------------------------------------------- opportunities


@router.get(
    "/opportunities/",
    response={200: Page[OpportunityOut], **READ_ERRORS},
    url_name="opportunity_list",
)
def opportunity_list_route(request: HttpRequest, filters: Query[OpportunityQuery]) -> Any:
    """Opportunities you may see, filtered and ordered like the opportunity list page."""
    form = filter_form(OpportunityFilter, filters.dict(exclude={"cursor", "limit"}))
    queryset = opportunity_list(user=request.user, filters=form)
    order = form_ordering(form, ORDERINGS, "close")
    return paginate(queryset, order=order, cursor=filters.cursor, limit=filters.limit)


@router.post(
    "/opportunities/",
    response={201: OpportunityOut, **CREATE_ERRORS},
    url_name="opportunity_create",
)
def opportunity_create_route(request: HttpRequest, payload: OpportunityIn) -> Any:
    user = request.user
    pipeline = resolve_one(Pipeline.objects.all(), payload.pipeline, field="pipeline")
    opportunity = services.opportunity_create(
        name=payload.name,
        customer=resolve_one(customer_list(user=user), payload.customer, field="customer"),
        owner=owner_for(request, payload.owner),
        amount=payload.amount,
        expected_close=payload.expected_close,
        pipeline=pipeline,
        stage=resolve_one(Stage.objects.all(), payload.stage, field="stage"),
        currency=payload.currency,
        product_line=resolve_one(
            ProductLine.objects.all(), payload.product_line, field="product_line"
        ),
        source=payload.source,
        external_id=payload.external_id,
        actor=user,
    )
    return Status(201, opportunity_get(user=user, pk=opportunity.pk))


@router.get(
    "/opportunities/{opportunity_id}",
    response={200: OpportunityOut, **OBJECT_ERRORS},
    url_name="opportunity_detail",
)
def opportunity_detail_route(
    request: HttpRequest, opportunity_id: PathId, response: HttpResponse
) -> Any:
    opportunity = opportunity_get(user=request.user, pk=opportunity_id)
    response["ETag"] = etag_of(opportunity)
    return opportunity


@router.patch(
    "/opportunities/{opportunity_id}",
    response={200: OpportunityOut, **WRITE_ERRORS},
    url_name="opportunity_update",
)
def opportunity_update_route(
    request: HttpRequest, opportunity_id: PathId, payload: OpportunityPatch, response: HttpResponse
) -> Any:
    """Change the fields sent (not the stage). With ``If-Match: <ETag>``, a stale edit answers 409."""
    user = request.user
    opportunity = opportunity_get(user=user, pk=opportunity_id)
    fields = {
        k: v
        for k, v in payload.dict(exclude_unset=True).items()
        if v is not None or k == "product_line"
    }
    if "customer" in fields:
        fields["customer"] = resolve_one(
            customer_list(user=user), fields["customer"], field="customer"
        )
    if "owner" in fields:
        fields["owner"] = owner_for(request, fields["owner"])
    if "product_line" in fields:
        fields["product_line"] = resolve_one(
            ProductLine.objects.all(), fields["product_line"], field="product_line"
        )
    with transaction.atomic():
        check_if_match(request, Opportunity, opportunity.pk)
        services.opportunity_update(opportunity=opportunity, actor=user, **fields)
    opportunity = opportunity_get(user=user, pk=opportunity_id)
    response["ETag"] = etag_of(opportunity)
    return opportunity


@router.delete(
    "/opportunities/{opportunity_id}",
    response={204: None, **WRITE_ERRORS},
    url_name="opportunity_delete",
)
def opportunity_delete_route(request: HttpRequest, opportunity_id: PathId) -> Any:
    """Remove an opportunity with its stage history and credits (audited with what they said).
    Refused (409) while orders refer to it. With ``If-Match: <ETag>``, a stale delete answers
    409."""
    opportunity = get_visible_or_404(
        Opportunity.objects.all(), user=request.user, pk=opportunity_id
    )
    with transaction.atomic():
        check_if_match(request, Opportunity, opportunity.pk)
        services.opportunity_delete(opportunity=opportunity, actor=request.user)
    return Status(204, None)


@router.post(
    "/opportunities/{opportunity_id}/move-stage",
    response={200: OpportunityOut, **WRITE_ERRORS},
    url_name="opportunity_move_stage",
)
def opportunity_move_stage_route(
    request: HttpRequest, opportunity_id: PathId, payload: MoveStageIn
) -> Any:
    """Move to another stage of the opportunity's pipeline; the change is recorded."""
    opportunity = opportunity_get(user=request.user, pk=opportunity_id)
    stage = resolve_one(opportunity.pipeline.stages.all(), payload.stage, field="stage")
    services.opportunity_move_stage(
        opportunity=opportunity,
        stage=stage,
        actor=request.user,
        lost_reason=payload.lost_reason or "",
    )
    return opportunity_get(user=request.user, pk=opportunity_id)


@router.get(
    "/opportunities/{opportunity_id}/stage-history",
    response={200: list[StageChangeOut], **OBJECT_ERRORS},
    url_name="opportunity_stage_history",
)
def opportunity_stage_history_route(request: HttpRequest, opportunity_id: PathId) -> Any:
    """Every stage transition, oldest first (the first has no ``from_stage``)."""
    opportunity = opportunity_get(user=request.user, pk=opportunity_id)
    return list(stage_history(user=request.user, opportunity=opportunity))


# ---------------------------------------------------------------- leads


@router.get("/leads/", response={200: Page[LeadOut], **READ_ERRORS}, url_name="lead_list")
def lead_list_route(request: HttpRequest, filters: Query[LeadQuery]) -> Any:
    queryset = lead_list(user=request.user)
    if filters.status:
        queryset = queryset.filter(status=filters.status)
    if filters.owner:
        queryset = queryset.filter(owner_id=filters.owner)
    return paginate(
        queryset, order=LEAD_ORDERINGS[filters.order], cursor=filters.cursor, limit=filters.limit
    )


@router.post("/leads/", response={201: LeadOut, **CREATE_ERRORS}, url_name="lead_create")
def lead_create_route(request: HttpRequest, payload: LeadIn) -> Any:
    lead = services.lead_create(
        owner=owner_for(request, payload.owner),
        actor=request.user,
        **payload.dict(exclude={"owner"}),
    )
    return Status(201, lead)


@router.get("/leads/{lead_id}", response={200: LeadOut, **OBJECT_ERRORS}, url_name="lead_detail")
def lead_detail_route(request: HttpRequest, lead_id: PathId) -> Any:
    return get_visible_or_404(Lead.objects.all(), user=request.user, pk=lead_id)


@router.patch("/leads/{lead_id}", response={200: LeadOut, **WRITE_ERRORS}, url_name="lead_update")
def lead_update_route(request: HttpRequest, lead_id: PathId, payload: LeadPatch) -> Any:
    lead = get_visible_or_404(Lead.objects.all(), user=request.user, pk=lead_id)
    fields = {k: v for k, v in payload.dict(exclude_unset=True).items() if v is not None}
    if "owner" in fields:
        fields["owner"] = owner_for(request, fields["owner"], default=lead.owner)
    return services.lead_update(lead=lead, actor=request.user, **fields)


@router.delete("/leads/{lead_id}", response={204: None, **WRITE_ERRORS}, url_name="lead_delete")
def lead_delete_route(request: HttpRequest, lead_id: PathId) -> Any:
    """Remove a lead (audited; a converted lead's customer and opportunity stay)."""
    lead = get_visible_or_404(Lead.objects.all(), user=request.user, pk=lead_id)
    services.lead_delete(lead=lead, actor=request.user)
    return Status(204, None)


@router.post(
    "/leads/{lead_id}/convert",
    response={201: OpportunityOut, **WRITE_ERRORS},
    url_name="lead_convert",
)
def lead_convert_route(request: HttpRequest, lead_id: PathId, payload: LeadConvertIn) -> Any:
    """Turn the lead into an opportunity owned by the lead's owner: of a new customer named after
    the lead's company, or of `customer` when the company is already one (the lead's person
    becomes its contact). A new customer whose name is taken is refused (422), naming the
    customer to convert into when the caller may see it."""
    lead = get_visible_or_404(Lead.objects.all(), user=request.user, pk=lead_id)
    opportunity = services.lead_convert(
        lead=lead,
        amount=payload.amount,
        expected_close=payload.expected_close,
        opportunity_name=payload.opportunity_name,
        product_line=resolve_one(
            ProductLine.objects.all(), payload.product_line, field="product_line"
        ),
        customer=resolve_one(customer_list(user=request.user), payload.customer, field="customer"),
        actor=request.user,
    )
    return Status(201, opportunity_get(user=request.user, pk=opportunity.pk))
