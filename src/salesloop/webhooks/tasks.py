"""Thin task entrypoints for webhooks."""

from __future__ import annotations

from django_tasks import task

from salesloop.webhooks.services import webhook_deliver_now


@task()
def webhook_deliver(delivery_id: str) -> str:
    """Deliver one webhook (retries are scheduled by the service)."""
    delivery = webhook_deliver_now(delivery_id)
    return delivery.status if delivery is not None else "missing"
