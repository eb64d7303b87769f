"""Writes for alerts: rule thresholds, evaluating rules into alerts, routing alerts to people,
notifications, preferences and digests. Deliveries (email, webhooks) live in ``delivery.py``,
the scheduler in ``scheduler.py``, reports in ``reports/``."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from salesloop.alerts import delivery
from salesloop.alerts.choices import SEVERITY_ORDER, AlertStatus, RuleKey, Severity
from salesloop.alerts.models import Alert, AlertRule, Channel, Notification, NotificationPreference
from salesloop.alerts.rules import (
    DEFAULT_SEVERITY,
    DEFAULTS,
    EVALUATORS,
    Context,
    Finding,
    params_for,
)
from salesloop.common.audit import audit_record
from salesloop.common.words import labelled
from salesloop.customers.choices import Tier
from salesloop.org.choices import COMPANY_WIDE_ROLES, Role
from salesloop.org.models import Member, OrgUnit
from salesloop.org.visibility import visible

logger = logging.getLogger("salesloop.alerts")


# ------------------------------------------------------------------ rules


def rules_ensure() -> list[AlertRule]:
    """Every rule has its row (with the default thresholds) — idempotent."""
    existing = {r.key: r for r in AlertRule.objects.all()}
    for key in RuleKey:
        if key not in existing:
            existing[key] = AlertRule.objects.create(
                key=key, params=dict(DEFAULTS[key]), severity=DEFAULT_SEVERITY[key]
            )
    return [existing[k] for k in RuleKey]


#: Thresholds that are shares (of the period gone, of a median, a probability): 0 to 1.
SHARE_PARAMS = frozenset({"min_elapsed", "p_floor_below", "share_above", "share_of_median"})
#: Thresholds on a pace index or a ratio to the expected (1 = on pace): 0 to 2.
PACE_PARAMS = frozenset({"pace_below", "critical_below", "median_below", "behind_below"})
#: Windows of days a rule looks over: a window of 0 days sees nothing, which switched the rule
#: off in silence (its alerts vanished, "saved").
WINDOW_PARAMS = frozenset({"days", "lookback_days", "limit_days"})


def _clean_params(key: str, raw: dict[str, Any]) -> dict[str, Any]:
    """A rule's thresholds as typed, checked: numbers not below 0, shares from 0 to 1, pace
    thresholds from 0 to 2, a critical level beyond the warning one. Refused with a sentence per
    field (nothing changes) otherwise."""
    out: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, default in DEFAULTS[key].items():
        value = raw.get(name, default)
        try:
            if name == "period":
                if value not in ("month", "quarter", "year"):
                    raise ValueError
            elif name == "tiers":
                value = [
                    v.strip()
                    for v in (value.split(",") if isinstance(value, str) else value)
                    if v.strip()
                ]
                if not value:
                    raise ValueError
                if unknown := [v for v in value if v not in Tier.values]:
                    errors[name] = _(
                        "%(unknown)s is not a customer tier: choose among %(known)s."
                    ) % {"unknown": ", ".join(unknown), "known": ", ".join(Tier.values)}
                    continue
            elif value in (None, ""):
                if default is not None:
                    raise ValueError
                value = None
            elif isinstance(default, int) and not isinstance(default, bool):
                value = int(value)
                if value < 0:
                    raise ValueError
            else:
                value = float(value)
                if value < 0:
                    raise ValueError
        except (TypeError, ValueError):
            errors[name] = _("Enter a valid, non-negative value.")
            continue
        if name in SHARE_PARAMS and value is not None and value > 1:
            errors[name] = _("Give a share from 0 to 1 (0.25 is a quarter), not %(value)s.") % {
                "value": f"{value:g}"
            }
            continue
        if name in PACE_PARAMS and value is not None and value > 2:
            errors[name] = _(
                "Give a pace from 0 to 2 (1 is on pace, 0.8 is 20 %% behind), not %(value)s."
            ) % {"value": f"{value:g}"}
            continue
        if name in WINDOW_PARAMS and value is not None and value < 1:
            errors[name] = _(
                "Give at least 1 day: a window of 0 days sees nothing, and the rule would raise "
                "no alert."
            )
            continue
        out[name] = value
    if not errors and out.get("critical_below", 0) > out.get("pace_below", 2):
        errors["critical_below"] = _(
            "Critical is for those further behind: give a pace below the warning's (%(warn)s)."
        ) % {"warn": f"{out['pace_below']:g}"}
    if not errors and out.get("critical_count", 10**9) < out.get("min_count", 0):
        errors["critical_count"] = _(
            "Critical is for more overdue follow-ups than a warning: give at least %(min)s."
        ) % {"min": out["min_count"]}
    if errors:
        raise ValidationError(errors)
    return out


@transaction.atomic
def rule_update(
    *, rule: AlertRule, params: dict[str, Any], enabled: bool, severity: str, actor: Any
) -> AlertRule:
    """Change a rule's thresholds (validated, audited)."""
    clean = _clean_params(rule.key, params)
    if severity not in Severity.values:
        raise ValidationError({"severity": _("Choose a valid severity.")})
    before = {"params": rule.params, "enabled": rule.enabled, "severity": rule.severity}
    rule.params, rule.enabled, rule.severity = clean, enabled, severity
    rule.full_clean()
    rule.save()
    after = {"params": rule.params, "enabled": rule.enabled, "severity": rule.severity}
    audit_record(
        actor=actor,
        action="alert_rule.update",
        subject=rule,
        changes={k: [before[k], after[k]] for k in after if before[k] != after[k]},
    )
    return rule


# ------------------------------------------------------------ evaluation


@dataclass
class EvaluationResult:
    opened: list[Alert] = field(default_factory=list)
    refreshed: int = 0
    resolved: int = 0
    errors: dict[str, str] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        return {
            "opened": len(self.opened),
            "refreshed": self.refreshed,
            "resolved": self.resolved,
            "errors": self.errors,
        }


def _sync(rule: AlertRule, findings: list[Finding], result: EvaluationResult) -> None:
    now = timezone.now()
    open_alerts = {
        (a.subject_type, a.subject_id): a
        for a in Alert.objects.filter(rule=rule.key, status=AlertStatus.OPEN)
    }
    seen = set()
    for f in findings:
        key = (f.subject_type, f.subject_id)
        if key in seen:
            continue
        seen.add(key)
        fields = {
            "title": f.title[:255],
            "message": f.message,
            "action": f.action,
            "link": f.link,
            # the action and message as its subject reads them (Alert.localized with a reader)
            "data": {
                **f.data,
                **({"own_action": f.own_action} if f.own_action else {}),
                **({"own_message": f.own_message} if f.own_message else {}),
            },
            "owner_id": f.owner_id,
            "unit_id": f.unit_id,
            "severity": f.severity or rule.severity,
            "last_seen_at": now,
        }
        alert = open_alerts.get(key)
        if alert is not None:
            Alert.objects.filter(pk=alert.pk).update(**fields)
            result.refreshed += 1
            continue
        try:
            with transaction.atomic():
                result.opened.append(
                    Alert.objects.create(
                        rule=rule.key,
                        subject_type=f.subject_type,
                        subject_id=f.subject_id,
                        opened_at=now,
                        **fields,
                    )
                )
        except (
            IntegrityError
        ):  # another evaluation opened it at the same moment: one open alert only
            continue
    gone = [a.pk for k, a in open_alerts.items() if k not in seen]
    if gone:
        result.resolved += Alert.objects.filter(pk__in=gone, status=AlertStatus.OPEN).update(
            status=AlertStatus.RESOLVED, resolved_at=now
        )


def _add_translations(findings: list[Finding], key: str, ctx: Context, params: Any) -> None:
    """Each finding's title, message and action in the interface's other languages too (in
    ``data["i18n"]``), so a user reading English sees the alert in English although the company
    language (the stored text, emails) is Chinese. The rule runs once per extra language; its
    figures come from the context's cache."""
    if not findings:
        return
    for code, _name in settings.LANGUAGES:
        if code == settings.LANGUAGE_CODE:
            continue
        with translation.override(code):
            other = {(f.subject_type, f.subject_id): f for f in EVALUATORS[key](ctx, params)}
        for f in findings:
            o = other.get((f.subject_type, f.subject_id))
            if o is not None:
                texts = {"title": o.title[:255], "message": o.message, "action": o.action}
                if o.own_action:
                    texts["own_action"] = o.own_action
                if o.own_message:
                    texts["own_message"] = o.own_message
                f.data = {**f.data, "i18n": {**f.data.get("i18n", {}), code: texts}}


def rules_evaluate(
    *, today: date | None = None, keys: list[str] | None = None, notify: bool = True
) -> EvaluationResult:
    """Evaluate the enabled rules (all, or ``keys``): open, refresh and resolve alerts, then
    route the new ones. A rule that fails is reported in the result and the others still run."""
    today = today or timezone.localdate()
    result = EvaluationResult()
    ctx = Context(today=today)
    with translation.override(settings.LANGUAGE_CODE):
        for rule in rules_ensure():
            if keys is not None and rule.key not in keys:
                continue
            if not rule.enabled:
                # a disabled rule holds nothing: its open alerts are resolved
                result.resolved += Alert.objects.filter(
                    rule=rule.key, status=AlertStatus.OPEN
                ).update(status=AlertStatus.RESOLVED, resolved_at=timezone.now())
                continue
            try:
                params = params_for(rule.key, rule.params)
                findings = EVALUATORS[rule.key](ctx, params)
                _add_translations(findings, rule.key, ctx, params)
                with transaction.atomic():
                    _sync(rule, findings, result)
            except Exception as exc:
                logger.exception("alert rule %s failed", rule.key)
                result.errors[rule.key] = f"{type(exc).__name__}: {exc}"
        if notify and result.opened:
            alerts_route(alerts=result.opened)
    return result


# --------------------------------------------------------------- routing


def _preference(member: Member) -> NotificationPreference:
    pref = getattr(member, "_alert_pref", None)
    if pref is None:
        pref = NotificationPreference.objects.filter(
            member=member
        ).first() or NotificationPreference(member=member)
        member._alert_pref = pref  # type: ignore[attr-defined]
    return pref


def unit_managers(unit: OrgUnit) -> list[Member]:
    """The managers of a unit, or of its nearest ancestor that has one."""
    ids = [int(p) for p in unit.path.strip("/").split("/") if p]
    for pk in reversed(ids):
        found = list(
            Member.objects.filter(
                org_unit_id=pk, role=Role.MANAGER, left_on__isnull=True, user__is_active=True
            ).select_related("user")
        )
        if found:
            return found
    return []


def instant_recipients(alert: Alert) -> list[Member]:
    """A rep (or anyone) hears about their own alerts; a unit's alert goes to its managers.
    Teams and the company hear about the rest in their daily digest."""
    if alert.owner_id is not None:
        owner = alert.owner
        return [owner] if owner.left_on is None and owner.user.is_active else []
    if alert.unit_id is not None:
        return unit_managers(alert.unit)
    return []


def _channels_for(path: str) -> list[Channel]:
    return [
        c
        for c in Channel.objects.filter(enabled=True, alerts=True).select_related("unit")
        if path.startswith(c.unit.path)
    ]


def _notify(alert: Alert, member: Member, *, email: bool) -> None:
    """One recipient's in-app entry and email for a new alert, in the active language."""
    title = alert.localized("title")[:255]
    message = alert.localized("message", reader=member)
    action = alert.localized("action", reader=member)
    with transaction.atomic():
        _note, created = Notification.objects.get_or_create(
            recipient=member,
            alert=alert,
            defaults={
                "title": title,
                "body": message,
                "link": alert.link,
                "severity": alert.severity,
            },
        )
    pref = _preference(member)
    if created and email and pref.email and not pref.digest and member.user.email:
        delivery.email_queue(
            member=member,
            subject=title,
            text=f"{message}\n\n{labelled(_('What to do'), action)}",
            html=render_to_string(
                "alerts/email_alert.html", {"alert": alert, "action": action, "message": message}
            ),
            link=alert.link,
            not_before=delivery.after_quiet_hours(pref),
        )


#: Rules whose alerts are reminders to their owner alone: never posted to chat channels.
PERSONAL_RULES = frozenset({RuleKey.DECISIONS_WAITING})


def alerts_route(*, alerts: list[Alert], email: bool = True) -> None:
    """Notify the instant recipients of new alerts (in-app always; email unless they chose the
    digest, or ``email`` is off as for the demo) and post them to the chat channels of their
    units (personal reminders, ``PERSONAL_RULES``, excepted)."""
    per_channel: dict[int, tuple[Channel, list[Alert]]] = {}
    for alert in Alert.objects.filter(pk__in=[a.pk for a in alerts]).select_related(
        "owner__user", "owner__org_unit", "unit"
    ):
        for member in instant_recipients(alert):
            with translation.override(member.mail_language):
                _notify(alert, member, email=email)
        if alert.rule in PERSONAL_RULES:  # a reminder to one person, not news for a team chat
            continue
        path = (
            alert.owner.org_unit.path
            if alert.owner_id
            else (alert.unit.path if alert.unit_id else "")
        )
        for channel in _channels_for(path):
            per_channel.setdefault(channel.pk, (channel, []))[1].append(alert)
    for channel, items in per_channel.values():
        items.sort(key=lambda a: SEVERITY_ORDER.get(a.severity, 9))
        title = ngettext("%(n)d new alert", "%(n)d new alerts", len(items)) % {"n": len(items)}
        lines = [f"[{a.get_severity_display()}] {a.title}" for a in items[:20]]
        delivery.webhook_queue(
            channel=channel, subject=title, text="\n".join(lines), link=items[0].link
        )
    delivery.deliveries_kick()


def digest_recipients() -> list[Member]:
    """Managers (their team's digest), directors and admins (the company's), and anyone who
    chose the digest instead of instant alerts (their own)."""
    wanted = Q(role__in=[Role.MANAGER, *COMPANY_WIDE_ROLES]) | Q(
        notification_preference__digest=True
    )
    return list(
        Member.objects.filter(wanted, left_on__isnull=True, user__is_active=True)
        .select_related("user", "org_unit")
        .order_by("pk")
    )


def digests_send(*, now: Any = None) -> dict[str, int]:
    """The daily digest: the alerts opened in the last 24 hours each recipient may see (through
    the visibility rule), in-app and by email."""
    now = now or timezone.now()
    since = now - timedelta(hours=24)
    sent = 0
    for member in digest_recipients():
        with translation.override(member.mail_language):
            alerts = list(
                visible(
                    Alert.objects.filter(
                        opened_at__gte=since, opened_at__lt=now, status=AlertStatus.OPEN
                    ),
                    user=member.user,
                ).select_related("owner", "unit")
            )
            if not alerts:
                continue
            alerts.sort(key=lambda a: (SEVERITY_ORDER.get(a.severity, 9), -a.opened_at.timestamp()))
            for a in alerts:  # a rep's own alert in their digest says what they do themselves
                a.reader_action = a.localized("action", reader=member)
            scope_name = (
                _("the company")
                if member.role in COMPANY_WIDE_ROLES
                else (member.org_unit.name if member.role == Role.MANAGER else member.display_name)
            )
            title = ngettext(
                "Daily digest for %(scope)s: %(n)d new alert",
                "Daily digest for %(scope)s: %(n)d new alerts",
                len(alerts),
            ) % {"scope": scope_name, "n": len(alerts)}
            from django.urls import reverse

            link = reverse("alerts:inbox")
            Notification.objects.create(
                recipient=member,
                title=title[:255],
                body="\n".join(a.localized("title") for a in alerts[:10]),
                link=link,
                severity=alerts[0].severity,
            )
            pref = _preference(member)
            if pref.email and member.user.email:
                delivery.email_queue(
                    member=member,
                    subject=title,
                    text="\n".join(
                        f"- {a.localized('title')}\n  {a.reader_action}" for a in alerts
                    ),
                    html=render_to_string(
                        "alerts/email_digest.html", {"alerts": alerts, "title": title}
                    ),
                    link=link,
                    not_before=delivery.after_quiet_hours(pref, now),
                )
            sent += 1
    delivery.deliveries_kick()
    return {"digests": sent}


# ------------------------------------------------------- notification centre


def notification_mark_read(*, member: Member, pk: int | None = None) -> int:
    """Mark one of the member's notifications read (or all of them when ``pk`` is None)."""
    qs = Notification.objects.filter(recipient=member, read_at__isnull=True)
    if pk is not None:
        qs = qs.filter(pk=pk)
    return qs.update(read_at=timezone.now())


def preference_save(
    *, member: Member, email: bool, digest: bool, quiet_start: Any, quiet_end: Any, reports: bool
) -> NotificationPreference:
    if (quiet_start is None) != (quiet_end is None):
        raise ValidationError(_("Give both ends of the quiet hours, or neither."))
    if quiet_start is not None and quiet_start == quiet_end:
        raise ValidationError(
            _("The quiet hours start and end at %(time)s: give them a length, or leave both empty.")
            % {"time": quiet_start.strftime("%H:%M")}
        )
    pref, _created = NotificationPreference.objects.get_or_create(member=member)
    pref.email, pref.digest, pref.quiet_start, pref.quiet_end, pref.reports = (
        email,
        digest,
        quiet_start,
        quiet_end,
        reports,
    )
    pref.full_clean()
    pref.save()
    return pref


# ------------------------------------------------------- workflow notifications


def members_notify(
    *,
    members: Iterable[Member],
    message: Callable[[Member], tuple[str, str]],
    link: str,
    severity: str = Severity.INFO,
    email: bool = True,
    now: Any = None,
) -> int:
    """Tell each of ``members`` something that happened to them (a plan waiting for their
    approval, a proposal decided, a target revised): an entry in their notification centre
    and, when they take email (and ``email``), a message after their quiet hours.
    ``message(member)`` gives the title and body; it runs in the member's language. ``now``:
    when it happened (default: now). Members who left or whose login is off are skipped.
    Returns how many were notified."""
    now = now or timezone.now()
    count = 0
    seen: set[int] = set()
    for member in members:
        if member.pk in seen or member.left_on is not None or not member.user.is_active:
            continue
        seen.add(member.pk)
        texts = {}
        for code, _name in settings.LANGUAGES:  # the inbox shows the reader's language
            with translation.override(code):
                texts[code] = dict(zip(("title", "body"), message(member), strict=True))
        with translation.override(member.mail_language):  # the email: the member's
            title, body = message(member)
        Notification.objects.create(
            recipient=member,
            title=title[:255],
            body=body,
            texts=texts,
            link=link,
            severity=severity,
            created_at=now,
        )
        pref = _preference(member)
        if email and pref.email and member.user.email:
            delivery.email_queue(
                member=member,
                subject=title,
                text=body,
                link=link,
                not_before=delivery.after_quiet_hours(pref, now),
            )
        count += 1
    if count:
        delivery.deliveries_kick()
    return count
