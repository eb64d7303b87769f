"""Writes for webhooks: endpoints, emitting events, delivering them.

Other apps call :func:`webhook_emit` after their transaction commits::

    transaction.on_commit(lambda: webhook_emit(WebhookEvent.ORDER_CREATED, payload))

Emitting never raises: a broken endpoint or queue is logged, never the caller's problem.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from salesloop.webhooks.choices import DeliveryStatus, WebhookEvent
from salesloop.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from salesloop.webhooks.signing import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    sign,
)

log = logging.getLogger("salesloop.webhooks")

EXCERPT = 500


def _setting(name: str, default: Any) -> Any:
    return getattr(settings, name, default)


def max_attempts() -> int:
    return int(_setting("SALESLOOP_WEBHOOK_MAX_ATTEMPTS", 5))


def timeout_seconds() -> float:
    return float(_setting("SALESLOOP_WEBHOOK_TIMEOUT", 5.0))


def backoff_seconds(attempt: int) -> float:
    """The wait after failed attempt ``attempt`` (1-based): 1 s, 2 s, 4 s, 8 s … capped at 16 s."""
    base = float(_setting("SALESLOOP_WEBHOOK_BACKOFF_BASE", 1.0))
    cap = float(_setting("SALESLOOP_WEBHOOK_BACKOFF_MAX", 16.0))
    return min(base * 2 ** (attempt - 1), cap)


# ---------------------------------------------------------------- endpoints


def _check_events(events: Iterable[str]) -> list[str]:
    events = list(events)
    unknown = sorted(set(events) - set(WebhookEvent.values))
    if unknown:
        raise ValidationError({"events": _("Unknown events: %(e)s") % {"e": ", ".join(unknown)}})
    return events


@transaction.atomic
def webhook_endpoint_create(
    *, name: str, url: str, events: Iterable[str] = (), actor: Any = None, secret: str | None = None
) -> WebhookEndpoint:
    endpoint = WebhookEndpoint(name=name, url=url, events=_check_events(events), created_by=actor)
    if secret:
        endpoint.secret = secret
    endpoint.full_clean()
    endpoint.save()
    return endpoint


# ---------------------------------------------------------------- emitting


def webhook_emit(event: str, payload: dict[str, Any]) -> list[WebhookDelivery]:
    """Queue ``event`` for every active endpoint that wants it. Never raises."""
    try:
        event = WebhookEvent(event).value
        deliveries = []
        for endpoint in WebhookEndpoint.objects.filter(is_active=True):
            if not endpoint.wants(event):
                continue
            delivery = WebhookDelivery(endpoint=endpoint, event=event, payload={})
            delivery.payload = json.loads(
                json.dumps(
                    {
                        "id": str(delivery.pk),
                        "event": event,
                        "created_at": timezone.now().isoformat(),
                        "data": payload,
                    },
                    cls=DjangoJSONEncoder,
                )
            )
            delivery.save()
            deliveries.append(delivery)
        for delivery in deliveries:
            _enqueue(delivery)
        return deliveries
    except Exception:
        log.exception("webhook_emit failed for %s", event)
        return []


def _enqueue(delivery: WebhookDelivery, *, delay: float = 0) -> None:
    from salesloop.webhooks.tasks import webhook_deliver

    try:
        task = webhook_deliver
        if delay and task.get_backend().supports_defer:
            task = task.using(run_after=timezone.now() + timedelta(seconds=delay))
        task.enqueue(str(delivery.pk))
    except Exception:
        log.exception("could not queue webhook delivery %s", delivery.pk)


# ---------------------------------------------------------------- delivering


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a redirect is an answer like any other non-2xx


_opener = urllib.request.build_opener(_NoRedirect)


def _address_allowed(url: str) -> str:
    """'' when the URL may be called; else why not (no private networks unless allowed)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "only http and https URLs"
    if _setting("SALESLOOP_WEBHOOK_ALLOW_PRIVATE", False):
        return ""
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except OSError as exc:
        return f"cannot resolve host: {exc}"
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            return "private or local address refused (SALESLOOP_WEBHOOK_ALLOW_PRIVATE)"
    return ""


def webhook_attempt(delivery: WebhookDelivery) -> WebhookAttempt:
    """One HTTP POST of the delivery, logged. Never raises for network trouble."""
    endpoint = delivery.endpoint
    number = delivery.attempts + 1
    body = json.dumps(delivery.payload, separators=(",", ":"), ensure_ascii=False).encode()
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "salesloop-webhooks/1",
        EVENT_HEADER: delivery.event,
        DELIVERY_HEADER: str(delivery.pk),
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign(secret=endpoint.secret, timestamp=timestamp, body=body),
    }
    status_code: int | None = None
    error = excerpt = ""
    started = time.monotonic()
    refused = _address_allowed(endpoint.url)
    if refused:
        error = refused
    else:
        request = urllib.request.Request(endpoint.url, data=body, headers=headers, method="POST")
        try:
            with _opener.open(request, timeout=timeout_seconds()) as response:
                status_code = response.status
                excerpt = response.read(EXCERPT).decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            status_code = exc.code
            try:
                excerpt = exc.read(EXCERPT).decode("utf-8", "replace")
            except Exception:
                excerpt = ""
        except TimeoutError:
            error = f"timed out after {timeout_seconds():g} s"
        except Exception as exc:
            error = f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"[:EXCERPT]
    duration = int((time.monotonic() - started) * 1000)
    attempt = WebhookAttempt.objects.create(
        delivery=delivery,
        number=number,
        status_code=status_code,
        duration_ms=duration,
        error=error[:EXCERPT],
        response_excerpt=excerpt[:EXCERPT],
    )
    delivery.attempts = number
    if attempt.ok:
        delivery.status = DeliveryStatus.SUCCEEDED
        delivery.delivered_at = timezone.now()
    elif number >= max_attempts() or refused:
        delivery.status = DeliveryStatus.FAILED
        log.warning(
            "webhook %s to %s failed after %s attempts", delivery.event, endpoint.url, number
        )
    delivery.save(update_fields=["attempts", "status", "delivered_at", "updated_at"])
    return attempt


def webhook_deliver_now(delivery_id: str) -> WebhookDelivery | None:
    """Attempt a pending delivery; on failure, retry after a growing wait.

    With a queue that can defer (the database backend) the retry is a new task run later; with
    one that cannot (the immediate backend of the tests) this waits here, bounded by the
    settings.
    """
    delivery = WebhookDelivery.objects.select_related("endpoint").filter(pk=delivery_id).first()
    while delivery is not None and delivery.status == DeliveryStatus.PENDING:
        if not delivery.endpoint.is_active:
            delivery.status = DeliveryStatus.FAILED
            delivery.save(update_fields=["status", "updated_at"])
            break
        webhook_attempt(delivery)
        if delivery.status != DeliveryStatus.PENDING:
            break
        delay = backoff_seconds(delivery.attempts)
        from salesloop.webhooks.tasks import webhook_deliver

        if webhook_deliver.get_backend().supports_defer:
            _enqueue(delivery, delay=delay)
            break
        time.sleep(delay)
    return delivery
