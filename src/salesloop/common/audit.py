"""Recording changes and security events in the audit trail."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import models

from salesloop.common.models import AuditEvent

security_log = logging.getLogger("salesloop.security")


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, models.Model):
        return value.pk
    return value


def snapshot(instance: models.Model, fields: Iterable[str]) -> dict[str, Any]:
    """The audited fields of an instance as JSON-ready values (foreign keys as ids)."""
    out: dict[str, Any] = {}
    for name in fields:
        field = instance._meta.get_field(name)
        attname = getattr(field, "attname", name)
        out[name] = _plain(getattr(instance, attname))
    return out


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """{field: [old, new]} for the fields whose value changed."""
    return {k: [before.get(k), after[k]] for k in after if before.get(k) != after[k]}


def _event(
    actor: Any,
    action: str,
    subject: models.Model | None,
    changes: dict[str, Any] | None,
    kind: str,
    ip: str | None = None,
) -> AuditEvent:
    """The audit event, not saved yet: who (None for an anonymous actor), what, on what."""
    return AuditEvent(
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        kind=kind,
        action=action,
        subject_type=subject._meta.label_lower if subject is not None else "",
        subject_id=str(subject.pk) if subject is not None else "",
        changes=changes or {},
        ip=ip,
    )


def audit_record(
    *,
    actor: Any,
    action: str,
    subject: models.Model | None = None,
    changes: dict[str, Any] | None = None,
    kind: str = AuditEvent.Kind.UPDATE,
    ip: str | None = None,
) -> AuditEvent:
    event = _event(actor, action, subject, changes, kind, ip)
    event.save(force_insert=True)
    return event


def audit_record_many(
    *,
    actor: Any,
    action: str,
    items: Sequence[tuple[models.Model, dict[str, Any]]],
    kind: str = AuditEvent.Kind.UPDATE,
) -> list[AuditEvent]:
    """``audit_record`` for many subjects at once (subject, changes), in one statement, in
    their order."""
    return AuditEvent.objects.bulk_create(
        _event(actor, action, subject, changes, kind) for subject, changes in items
    )


def security_event(*, actor: Any, action: str, ip: str | None = None, **details: Any) -> None:
    """Log a security event (login, failure, denial, export, import) and keep it."""
    security_log.info("%s actor=%s ip=%s %s", action, getattr(actor, "pk", None), ip, details)
    audit_record(
        actor=actor,
        action=action,
        kind=AuditEvent.Kind.SECURITY,
        changes={k: _plain(v) for k, v in details.items()},
        ip=ip,
    )
