"""Customers, contacts and the product catalogue over the REST API (thin: selectors and services)."""

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
)
from salesloop.customers import services
from salesloop.customers.filters import ORDERINGS, CustomerFilter
from salesloop.customers.models import Contact, Customer, Product, ProductLine
from salesloop.customers.schemas import (
    ContactIn,
    ContactOut,
    ContactPatch,
    CustomerIn,
    CustomerOut,
    CustomerPatch,
    CustomerQuery,
    PageQuery,
    ProductLineOut,
    ProductOut,
)
from salesloop.customers.selectors import customer_contacts, customer_get, customer_list
from salesloop.org.visibility import get_visible_or_404

router = Router(tags=["customers"])


def _with_etag(response: HttpResponse, obj: Any) -> None:
    response["ETag"] = etag_of(obj)


@router.get(
    "/customers/", response={200: Page[CustomerOut], **READ_ERRORS}, url_name="customer_list"
)
def customer_list_route(request: HttpRequest, filters: Query[CustomerQuery]) -> Any:
    """Customers you may see, filtered and ordered like the customer list page."""
    params = filters.dict(exclude={"cursor", "limit"})
    form = filter_form(CustomerFilter, params)
    queryset = customer_list(user=request.user, filters=form)
    order = form_ordering(form, ORDERINGS, "name")
    return paginate(queryset, order=order, cursor=filters.cursor, limit=filters.limit)


@router.post(
    "/customers/", response={201: CustomerOut, **CREATE_ERRORS}, url_name="customer_create"
)
def customer_create_route(request: HttpRequest, payload: CustomerIn) -> Any:
    data = payload.dict(exclude={"owner", "contacts"})
    owner = owner_for(request, payload.owner)
    contacts = [c.dict() for c in payload.contacts]
    customer = services.customer_create(actor=request.user, owner=owner, contacts=contacts, **data)
    return Status(201, customer_get(user=request.user, pk=customer.pk))


@router.get(
    "/customers/{customer_id}",
    response={200: CustomerOut, **OBJECT_ERRORS},
    url_name="customer_detail",
)
def customer_detail_route(request: HttpRequest, customer_id: PathId, response: HttpResponse) -> Any:
    customer = customer_get(user=request.user, pk=customer_id)
    _with_etag(response, customer)
    return customer


@router.patch(
    "/customers/{customer_id}",
    response={200: CustomerOut, **WRITE_ERRORS},
    url_name="customer_update",
)
def customer_update_route(
    request: HttpRequest, customer_id: PathId, payload: CustomerPatch, response: HttpResponse
) -> Any:
    """Change the fields sent. With ``If-Match: <ETag>``, a stale edit answers 409."""
    customer = customer_get(user=request.user, pk=customer_id)
    fields = payload.dict(exclude_unset=True)
    for key in ("name", "tier", "industry", "region", "potential", "phone", "address", "notes"):
        if key in fields and fields[key] is None:
            del fields[key]  # null means "leave as it is" for required fields
    if "owner" in fields:
        fields["owner"] = owner_for(request, fields["owner"], default=customer.owner)
    with transaction.atomic():
        check_if_match(request, Customer, customer.pk)
        services.customer_update(customer=customer, actor=request.user, **fields)
    customer = customer_get(user=request.user, pk=customer_id)
    _with_etag(response, customer)
    return customer


@router.delete(
    "/customers/{customer_id}", response={204: None, **WRITE_ERRORS}, url_name="customer_delete"
)
def customer_delete_route(request: HttpRequest, customer_id: PathId) -> Any:
    """Remove a customer and its contacts (audited). Refused (409) while opportunities, orders
    or activities refer to it. With ``If-Match: <ETag>``, a stale delete answers 409."""
    customer = get_visible_or_404(Customer.objects.all(), user=request.user, pk=customer_id)
    with transaction.atomic():
        check_if_match(request, Customer, customer.pk)
        services.customer_delete(customer=customer, actor=request.user)
    return Status(204, None)


@router.get(
    "/customers/{customer_id}/contacts/",
    response={200: Page[ContactOut], **OBJECT_ERRORS},
    url_name="contact_list",
)
def contact_list_route(request: HttpRequest, customer_id: PathId, query: Query[PageQuery]) -> Any:
    customer = customer_get(user=request.user, pk=customer_id)
    queryset = customer_contacts(user=request.user, customer=customer)
    return paginate(queryset, order="pk", cursor=query.cursor, limit=query.limit)


@router.post(
    "/customers/{customer_id}/contacts/",
    response={201: ContactOut, **WRITE_ERRORS},
    url_name="contact_create",
)
def contact_create_route(request: HttpRequest, customer_id: PathId, payload: ContactIn) -> Any:
    customer = customer_get(user=request.user, pk=customer_id)
    return Status(201, services.contact_create(customer=customer, **payload.dict()))


@router.get(
    "/contacts/{contact_id}", response={200: ContactOut, **OBJECT_ERRORS}, url_name="contact_detail"
)
def contact_detail_route(request: HttpRequest, contact_id: PathId) -> Any:
    return get_visible_or_404(Contact.objects.all(), user=request.user, pk=contact_id)


@router.patch(
    "/contacts/{contact_id}", response={200: ContactOut, **WRITE_ERRORS}, url_name="contact_update"
)
def contact_update_route(request: HttpRequest, contact_id: PathId, payload: ContactPatch) -> Any:
    contact = get_visible_or_404(
        Contact.objects.select_related("customer"), user=request.user, pk=contact_id
    )
    fields = {k: v for k, v in payload.dict(exclude_unset=True).items() if v is not None}
    return services.contact_update(contact=contact, actor=request.user, **fields)


@router.delete(
    "/contacts/{contact_id}", response={204: None, **WRITE_ERRORS}, url_name="contact_delete"
)
def contact_delete_route(request: HttpRequest, contact_id: PathId) -> Any:
    contact = get_visible_or_404(Contact.objects.all(), user=request.user, pk=contact_id)
    services.contact_delete(contact=contact, actor=request.user)
    return Status(204, None)


@router.get(
    "/product-lines/",
    response={200: Page[ProductLineOut], **READ_ERRORS},
    url_name="product_line_list",
)
def product_line_list_route(request: HttpRequest, query: Query[PageQuery]) -> Any:
    """The product lines (company-wide reference data)."""
    return paginate(ProductLine.objects.all(), order="pk", cursor=query.cursor, limit=query.limit)


@router.get("/products/", response={200: Page[ProductOut], **READ_ERRORS}, url_name="product_list")
def product_list_route(request: HttpRequest, query: Query[PageQuery]) -> Any:
    """The products (company-wide reference data)."""
    return paginate(Product.objects.all(), order="pk", cursor=query.cursor, limit=query.limit)
