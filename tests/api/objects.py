"""One record of every kind per owner, made through the services."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from salesloop.customers.services import contact_create
from salesloop.orders.services import order_create, payment_create
from salesloop.pipeline.services import lead_create
from tests import factories as f


def records_for(owner: Any, key: str) -> dict[str, Any]:
    cust = f.customer(owner, name=f"Cust {key}")
    contact = contact_create(customer=cust, name=f"Contact {key}")
    opp = f.opportunity(owner, cust, name=f"Opp {key}")
    lead = lead_create(name=f"Lead {key}", owner=owner, company_name=f"Co {key}")
    order = order_create(
        number=f"SO-{key}-{owner.pk}",
        customer=cust,
        owner=owner,
        signed_on=date.today() - timedelta(days=3),
        amount=Decimal("1000"),
    )
    payment = payment_create(order=order, paid_on=date.today(), amount=Decimal("100"))
    activity = f.activity(owner, cust, due=date.today() + timedelta(days=2))
    return {
        "customer": cust,
        "contact": contact,
        "opportunity": opp,
        "lead": lead,
        "order": order,
        "payment": payment,
        "activity": activity,
    }
