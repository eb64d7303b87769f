"""Email through Django's mail backend (SMTP in production): text + HTML, optional attachment."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection


def send(
    *,
    to: str,
    subject: str,
    text: str,
    html: str = "",
    attachments: list[tuple[str, bytes, str]] | None = None,
) -> None:
    """Send one message; raises on any failure (the delivery is retried)."""
    connection: Any = get_connection(
        timeout=float(getattr(settings, "SALESLOOP_EMAIL_TIMEOUT", 10))
    )
    msg = EmailMultiAlternatives(
        subject=subject.replace("\n", " ")[:200],
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        connection=connection,
    )
    if html:
        msg.attach_alternative(html, "text/html")
    for name, content, mimetype in attachments or []:
        msg.attach(name, content, mimetype)
    msg.send(fail_silently=False)
