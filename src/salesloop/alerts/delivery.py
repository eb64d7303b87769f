"""Deliveries: queue an email or a webhook message, send the due ones, retry with back-off.

A delivery is claimed with a conditional UPDATE (status pending and the attempt count it was
read with), so two workers never send one message twice. A failure never raises: it is
recorded on the row and retried after 1, 5, 30 minutes, 2 and 6 hours; after the last attempt
the delivery is marked failed (and stays visible in the admin). The report itself is stored
before any delivery is queued, so a broken mail server never loses it.
"""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.db.models import F
from django.utils import timezone, translation

from salesloop.alerts.channels import ChannelError, Message
from salesloop.alerts.channels import email as email_channel
from salesloop.alerts.channels import send as webhook_send
from salesloop.alerts.choices import DeliveryChannel, DeliveryStatus
from salesloop.alerts.models import Channel, Delivery, NotificationPreference
from salesloop.org.models import Member

logger = logging.getLogger("salesloop.alerts")
BACKOFF_MINUTES = (1, 5, 30, 120, 360)
MAX_ATTEMPTS = len(BACKOFF_MINUTES) + 1
LEASE = timedelta(minutes=10)  # a claimed delivery whose worker died is retried after this


def base_url() -> str:
    return str(getattr(settings, "SALESLOOP_BASE_URL", "http://127.0.0.1:8000")).rstrip("/")


def absolute(link: str) -> str:
    return f"{base_url()}{link}" if link.startswith("/") else link


def after_quiet_hours(pref: NotificationPreference, now: datetime | None = None) -> datetime | None:
    """The end of the member's quiet hours when ``now`` falls inside them, else None."""
    if pref.quiet_start is None or pref.quiet_end is None or pref.quiet_start == pref.quiet_end:
        return None  # none, or of no length (refused when saved; one stored before holds nothing)
    local = timezone.localtime(now or timezone.now())
    t, start, end = local.time(), pref.quiet_start, pref.quiet_end
    inside = (start <= t < end) if start < end else (t >= start or t < end)
    if not inside:
        return None
    day = local.date() if t < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=local.tzinfo)


def email_queue(
    *,
    member: Member,
    subject: str,
    text: str,
    html: str = "",
    link: str = "",
    report: Any = None,
    not_before: datetime | None = None,
) -> Delivery | None:
    if not member.user.email:
        return None
    return Delivery.objects.create(
        channel=DeliveryChannel.EMAIL,
        recipient=member,
        address=member.user.email,
        subject=subject[:255],
        text=text,
        html=html,
        link=link,
        report=report,
        next_attempt_at=not_before or timezone.now(),
    )


def webhook_queue(
    *, channel: Channel, subject: str, text: str, link: str = "", report: Any = None
) -> Delivery:
    return Delivery.objects.create(
        channel=DeliveryChannel.WEBHOOK,
        webhook=channel,
        subject=subject[:255],
        text=text,
        link=link,
        report=report,
    )


def deliveries_kick() -> None:
    """Ask a worker to send what is due now (the periodic job catches anything missed)."""
    from salesloop.alerts.tasks import alerts_deliver

    try:
        alerts_deliver.enqueue()
    except Exception:
        logger.exception("could not enqueue the delivery task")


def _attachments(d: Delivery) -> list[tuple[str, bytes, str]]:
    if d.report_id is None:
        return []
    from salesloop.alerts.reports.xlsx import report_workbook

    with translation.override(d.report.recipient.mail_language):  # as the email's text
        workbook = report_workbook(d.report)
    return [
        (
            f"{d.report.kind}-{d.report.period_start.isoformat()}.xlsx",
            workbook,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    ]


def _send(d: Delivery) -> None:
    if d.channel == DeliveryChannel.EMAIL:
        text = d.text + (f"\n\n{absolute(d.link)}" if d.link else "")
        email_channel.send(
            to=d.address, subject=d.subject, text=text, html=d.html, attachments=_attachments(d)
        )
    else:
        if d.webhook is None or not d.webhook.enabled:
            raise ChannelError("the chat channel was removed or disabled")
        webhook_send(d.webhook, Message(d.subject, d.text, absolute(d.link) if d.link else ""))


def delivery_attempt(d: Delivery, now: datetime | None = None) -> bool:
    """Claim and send one delivery. True when sent (by this call)."""
    now = now or timezone.now()
    claimed = Delivery.objects.filter(
        pk=d.pk, status=DeliveryStatus.PENDING, attempts=d.attempts
    ).update(attempts=F("attempts") + 1, next_attempt_at=now + LEASE)
    if not claimed:
        return False
    attempt = d.attempts + 1
    try:
        _send(d)
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"[:2000]
        if attempt >= MAX_ATTEMPTS:
            logger.warning("delivery %s gave up after %s attempts: %s", d.pk, attempt, error)
            Delivery.objects.filter(pk=d.pk).update(status=DeliveryStatus.FAILED, last_error=error)
        else:
            logger.info("delivery %s failed (attempt %s), will retry: %s", d.pk, attempt, error)
            Delivery.objects.filter(pk=d.pk).update(
                last_error=error,
                next_attempt_at=now + timedelta(minutes=BACKOFF_MINUTES[attempt - 1]),
            )
        return False
    Delivery.objects.filter(pk=d.pk).update(
        status=DeliveryStatus.SENT, sent_at=timezone.now(), last_error=""
    )
    return True


def deliveries_send_due(*, now: datetime | None = None, limit: int = 200) -> dict[str, int]:
    """Send the pending deliveries that are due; never raises."""
    now = now or timezone.now()
    due = list(
        Delivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
        .select_related("webhook", "report__recipient")
        .order_by("next_attempt_at", "pk")[:limit]
    )
    sent = sum(1 for d in due if delivery_attempt(d, now))
    return {"due": len(due), "sent": sent}


__all__ = [
    "after_quiet_hours",
    "deliveries_kick",
    "deliveries_send_due",
    "email_queue",
    "time",
    "webhook_queue",
]
