"""Orders (with lines and credit splits) and payments over the REST API."""

from typing import Any

from django.db import transaction
from django.db.models import Prefetch
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
    owner_for,
    paginate,
    resolve_ids,
    resolve_one,
)
from salesloop.customers.models import Product
from salesloop.customers.selectors import customer_list
from salesloop.orders import services
from salesloop.orders.models import Order, OrderLine, Payment
from salesloop.orders.schemas import (
    OrderIn,
    OrderOut,
    OrderPatch,
    OrderQuery,
    PaymentIn,
    PaymentOut,
    PaymentQuery,
)
from salesloop.orders.selectors import order_list, payment_list
from salesloop.org.visibility import assignable_owners, get_visible_or_404
from salesloop.pipeline.selectors import opportunity_list

router = Router(tags=["orders"])

ORDER_ORDERINGS = {
    "-signed": "-signed_on",
    "signed": "signed_on",
    "-amount": "-amount_base",
    "-created": "-created_at",
}
PAYMENT_ORDERINGS = {"-paid": "-paid_on", "paid": "paid_on"}


def _orders(request: HttpRequest) -> Any:
    return order_list(user=request.user).prefetch_related(
        Prefetch("lines", queryset=OrderLine.objects.order_by("pk")), "credits"
    )


def _order(request: HttpRequest, pk: int) -> Order:
    return get_visible_or_404(_orders(request), user=request.user, pk=pk)


@router.get("/orders/", response={200: Page[OrderOut], **READ_ERRORS}, url_name="order_list")
def order_list_route(request: HttpRequest, filters: Query[OrderQuery]) -> Any:
    queryset = _orders(request)
    if filters.customer:
        queryset = queryset.filter(customer_id=filters.customer)
    if filters.owner:
        queryset = queryset.filter(owner_id=filters.owner)
    if filters.status:
        queryset = queryset.filter(status=filters.status)
    if filters.signed_from:
        queryset = queryset.filter(signed_on__gte=filters.signed_from)
    if filters.signed_to:
        queryset = queryset.filter(signed_on__lte=filters.signed_to)
    return paginate(
        queryset, order=ORDER_ORDERINGS[filters.order], cursor=filters.cursor, limit=filters.limit
    )


@router.post("/orders/", response={201: OrderOut, **CREATE_ERRORS}, url_name="order_create")
def order_create_route(request: HttpRequest, payload: OrderIn) -> Any:
    """Create a signed order; with lines, the amount is their sum (and must match if sent)."""
    user = request.user
    products = resolve_ids(
        Product.objects.select_related("product_line"),
        [line.product for line in payload.lines],
        field="lines",
    )
    members = resolve_ids(
        assignable_owners(user), [c.member for c in payload.credits], field="credits"
    )
    order = services.order_create(
        number=payload.number,
        customer=resolve_one(customer_list(user=user), payload.customer, field="customer"),
        owner=owner_for(request, payload.owner),
        signed_on=payload.signed_on,
        amount=payload.amount,
        currency=payload.currency,
        lines=[
            services.LineIn(
                product=products[line.product], quantity=line.quantity, unit_price=line.unit_price
            )
            for line in payload.lines
        ],
        credits=[
            services.CreditIn(member=members[c.member], share=c.share) for c in payload.credits
        ],
        opportunity=resolve_one(
            opportunity_list(user=user), payload.opportunity, field="opportunity"
        ),
        external_id=payload.external_id,
        actor=user,
    )
    return Status(201, _order(request, order.pk))


@router.get(
    "/orders/{order_id}", response={200: OrderOut, **OBJECT_ERRORS}, url_name="order_detail"
)
def order_detail_route(request: HttpRequest, order_id: PathId, response: HttpResponse) -> Any:
    order = _order(request, order_id)
    response["ETag"] = etag_of(order)
    return order


@router.patch(
    "/orders/{order_id}", response={200: OrderOut, **WRITE_ERRORS}, url_name="order_update"
)
def order_update_route(
    request: HttpRequest, order_id: PathId, payload: OrderPatch, response: HttpResponse
) -> Any:
    """Change the fields sent. With ``If-Match: <ETag>``, a stale edit answers 409."""
    user = request.user
    order = _order(request, order_id)
    fields = {k: v for k, v in payload.dict(exclude_unset=True).items() if v is not None}
    if "customer" in fields:
        fields["customer"] = resolve_one(
            customer_list(user=user), fields["customer"], field="customer"
        )
    if "owner" in fields:
        fields["owner"] = owner_for(request, fields["owner"])
    with transaction.atomic():
        check_if_match(request, Order, order.pk)
        services.order_update(order=order, actor=user, **fields)
    order = _order(request, order_id)
    response["ETag"] = etag_of(order)
    return order


@router.delete("/orders/{order_id}", response={204: None, **WRITE_ERRORS}, url_name="order_delete")
def order_delete_route(request: HttpRequest, order_id: PathId) -> Any:
    """Cancel the order: it is never erased (``status`` becomes ``cancelled``; again: 204).
    Refused (409) while it has payments. With ``If-Match: <ETag>``, a stale cancel answers 409."""
    order = get_visible_or_404(Order.objects.all(), user=request.user, pk=order_id)
    with transaction.atomic():
        check_if_match(request, Order, order.pk)
        services.order_cancel(order=order, actor=request.user)
    return Status(204, None)


@router.get("/payments/", response={200: Page[PaymentOut], **READ_ERRORS}, url_name="payment_list")
def payment_list_route(request: HttpRequest, filters: Query[PaymentQuery]) -> Any:
    queryset = payment_list(user=request.user)
    if filters.order:
        queryset = queryset.filter(order_id=filters.order)
    if filters.paid_from:
        queryset = queryset.filter(paid_on__gte=filters.paid_from)
    if filters.paid_to:
        queryset = queryset.filter(paid_on__lte=filters.paid_to)
    return paginate(
        queryset,
        order=PAYMENT_ORDERINGS[filters.order_by],
        cursor=filters.cursor,
        limit=filters.limit,
    )


@router.post("/payments/", response={201: PaymentOut, **CREATE_ERRORS}, url_name="payment_create")
def payment_create_route(request: HttpRequest, payload: PaymentIn) -> Any:
    order = resolve_one(order_list(user=request.user), payload.order, field="order")
    payment = services.payment_create(
        order=order, actor=request.user, **payload.dict(exclude={"order"})
    )
    return Status(201, payment)


@router.get(
    "/payments/{payment_id}", response={200: PaymentOut, **OBJECT_ERRORS}, url_name="payment_detail"
)
def payment_detail_route(request: HttpRequest, payment_id: PathId) -> Any:
    return get_visible_or_404(Payment.objects.all(), user=request.user, pk=payment_id)


@router.delete(
    "/payments/{payment_id}", response={204: None, **WRITE_ERRORS}, url_name="payment_delete"
)
def payment_delete_route(request: HttpRequest, payment_id: PathId) -> Any:
    """Remove a payment recorded by mistake; the audit trail keeps what it said."""
    payment = get_visible_or_404(Payment.objects.all(), user=request.user, pk=payment_id)
    services.payment_delete(payment=payment, actor=request.user)
    return Status(204, None)
