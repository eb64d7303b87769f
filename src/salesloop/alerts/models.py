"""Alerts, notifications, channels, reports and the schedules that produce them."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import get_language, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from salesloop.alerts.choices import (
    AlertStatus,
    ChannelKind,
    DeliveryChannel,
    DeliveryStatus,
    ReportKind,
    RuleKey,
    RunStatus,
    Severity,
    SubjectType,
)
from salesloop.org.models import Member, OrgUnit


class AlertRule(models.Model):
    """One rule and its thresholds (``params``), editable by an admin."""

    key = models.CharField(_("rule"), max_length=32, choices=RuleKey.choices, unique=True)
    enabled = models.BooleanField(_("enabled"), default=True)
    severity = models.CharField(
        _("severity"), max_length=16, choices=Severity.choices, default=Severity.WARNING
    )
    params = models.JSONField(_("thresholds"), default=dict, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("alert rule")
        verbose_name_plural = _("alert rules")
        ordering = ["key"]

    def __str__(self) -> str:
        return str(self.get_key_display())


class Alert(models.Model):
    """An open (or resolved) finding of a rule about one subject.

    At most one open alert per (rule, subject): a conditional unique constraint. The owner is
    the member responsible (a rep for their deal); a unit-level alert has a unit and no owner.
    """

    VISIBILITY_OWNER = "owner"
    VISIBILITY_UNIT = "unit"

    rule = models.CharField(_("rule"), max_length=32, choices=RuleKey.choices, db_index=True)
    subject_type = models.CharField(_("subject type"), max_length=16, choices=SubjectType.choices)
    subject_id = models.PositiveBigIntegerField(_("subject id"))
    owner = models.ForeignKey(
        Member,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="alerts",
    )
    unit = models.ForeignKey(
        OrgUnit,
        verbose_name=_("org unit"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="alerts",
    )
    severity = models.CharField(
        _("severity"), max_length=16, choices=Severity.choices, default=Severity.WARNING
    )
    status = models.CharField(
        _("status"), max_length=16, choices=AlertStatus.choices, default=AlertStatus.OPEN
    )
    title = models.CharField(pgettext_lazy("heading", "title"), max_length=255)
    message = models.TextField(_("message"))
    action = models.TextField(_("what to do"), blank=True)
    link = models.CharField(_("link"), max_length=255, blank=True)
    data = models.JSONField(_("figures"), default=dict, blank=True)
    opened_at = models.DateTimeField(_("opened at"), default=timezone.now, db_index=True)
    last_seen_at = models.DateTimeField(_("last seen at"), default=timezone.now)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)

    class Meta:
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        ordering = ["-opened_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "subject_type", "subject_id"],
                condition=Q(status="open"),
                name="alert_one_open_per_subject",
            ),
        ]
        indexes = [models.Index(fields=["status", "rule"], name="alert_status_rule_idx")]

    def __str__(self) -> str:
        return self.title

    def localized(self, field: str, language: str | None = None, *, reader: Any = None) -> str:
        """The title, message or action in ``language`` (default: the active one) when the
        evaluation stored it (``data["i18n"]``), else as stored (in the company language).

        ``reader`` (a member or its pk): the action and the message as they should read them —
        worded for themselves ("agree with your manager …", "your own figure …") when the alert
        is about them and the rule wrote such a wording (``data["own_action"]``,
        ``data["own_message"]``), else the manager's ("agree with 韩涛 …", "韩涛's own
        figure …")."""
        code = language or get_language() or ""
        data = self.data or {}
        texts = (data.get("i18n") or {}).get(code) or {}
        if field in ("action", "message") and self.is_about(reader):
            own = texts.get(f"own_{field}") if texts else data.get(f"own_{field}")
            if own:
                return str(own)
        return str(texts.get(field) or getattr(self, field, ""))

    def is_about(self, reader: Any) -> bool:
        """Whether ``reader`` (a member or its pk) is the person the alert is about (its owner:
        the member behind pace, the owner of the deal)."""
        pk = getattr(reader, "pk", reader)
        return pk is not None and self.owner_id is not None and self.owner_id == pk


class Notification(models.Model):
    """An entry in one member's notification centre (an alert or a report)."""

    VISIBILITY_OWNER = "recipient"

    recipient = models.ForeignKey(
        Member, verbose_name=_("recipient"), on_delete=models.CASCADE, related_name="notifications"
    )
    alert = models.ForeignKey(
        Alert,
        verbose_name=_("alert"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    report = models.ForeignKey(
        "Report",
        verbose_name=_("report"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    title = models.CharField(pgettext_lazy("heading", "title"), max_length=255)
    body = models.TextField(_("body"), blank=True)
    # the title and body in each interface language ({"en": {"title": …, "body": …}}) where
    # they were written for every language (workflow notices); else only as stored
    texts = models.JSONField(_("texts by language"), default=dict, blank=True)
    link = models.CharField(_("link"), max_length=255, blank=True)
    severity = models.CharField(
        _("severity"), max_length=16, choices=Severity.choices, default=Severity.INFO
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "alert"],
                condition=Q(alert__isnull=False),
                name="notification_once_per_alert",
            ),
            models.UniqueConstraint(
                fields=["recipient", "report"],
                condition=Q(report__isnull=False),
                name="notification_once_per_report",
            ),
        ]
        indexes = [models.Index(fields=["recipient", "read_at"], name="notification_unread_idx")]

    def __str__(self) -> str:
        return self.title

    def localized(self, field: str, language: str | None = None) -> str:
        """The title or body in ``language`` (default: the active one) when it was written in
        every language (``texts``), a report's title as its report reads in that language,
        else as stored (in the recipient's language then)."""
        code = language or get_language() or ""
        text = ((self.texts or {}).get(code) or {}).get(field)
        if not text and field == "title" and self.report_id is not None:
            keys = getattr(self, "report_title_data", None)  # a list reads only these
            if keys is not None:
                from salesloop.alerts.reports.present import title_in

                return title_in(keys, self.title, code)
            return self.report.localized_title(code)
        return str(text or getattr(self, field, ""))

    def alert_message(self) -> str:
        """What the alert says, worded for the recipient (their own alert: to them)."""
        if self.alert is None:
            return ""
        return self.alert.localized("message", reader=self.recipient_id)

    def alert_action(self) -> str:
        """What to do about the alert, worded for the recipient (their own alert: for them)."""
        if self.alert is None:
            return ""
        return self.alert.localized("action", reader=self.recipient_id)


class NotificationPreference(models.Model):
    """How one member wants to hear about alerts (the in-app centre always gets them)."""

    member = models.OneToOneField(
        Member,
        verbose_name=_("member"),
        on_delete=models.CASCADE,
        related_name="notification_preference",
    )
    email = models.BooleanField(_("email"), default=True)
    digest = models.BooleanField(_("daily digest instead of instant alerts"), default=False)
    quiet_start = models.TimeField(_("quiet hours from"), null=True, blank=True)
    quiet_end = models.TimeField(_("quiet hours until"), null=True, blank=True)
    reports = models.BooleanField(_("reports by email"), default=True)

    class Meta:
        verbose_name = _("notification preference")
        verbose_name_plural = _("notification preferences")

    def __str__(self) -> str:
        return str(self.member)


class Channel(models.Model):
    """A group chat robot (WeCom, DingTalk, Feishu) or Slack webhook for one org unit's subtree."""

    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=16, choices=ChannelKind.choices)
    url = models.URLField(_("webhook URL"), max_length=500)
    secret = models.CharField(
        _("signing secret"),
        max_length=200,
        blank=True,
        help_text=_("DingTalk and Feishu: the robot's signing secret (optional)."),
    )
    unit = models.ForeignKey(
        OrgUnit,
        verbose_name=_("org unit"),
        on_delete=models.CASCADE,
        related_name="alert_channels",
        help_text=_("The channel receives the alerts and reports of this unit's subtree."),
    )
    alerts = models.BooleanField(_("send new alerts"), default=True)
    reports = models.BooleanField(_("send reports"), default=True)
    enabled = models.BooleanField(_("enabled"), default=True)

    class Meta:
        verbose_name = _("chat channel")
        verbose_name_plural = _("chat channels")
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"


class Delivery(models.Model):
    """One message to send by email or webhook, retried with back-off until it goes or gives up."""

    channel = models.CharField(_("channel"), max_length=16, choices=DeliveryChannel.choices)
    recipient = models.ForeignKey(
        Member,
        verbose_name=_("recipient"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    webhook = models.ForeignKey(
        Channel,
        verbose_name=_("chat channel"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="deliveries",
    )
    address = models.CharField(_("address"), max_length=254, blank=True)
    subject = models.CharField(_("subject"), max_length=255)
    text = models.TextField(_("text"))
    html = models.TextField(_("HTML"), blank=True)
    link = models.CharField(_("link"), max_length=255, blank=True)
    report = models.ForeignKey(
        "Report",
        verbose_name=_("report"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="deliveries",
    )
    status = models.CharField(
        _("status"), max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(
        _("next attempt at"), default=timezone.now, db_index=True
    )
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="delivery_due_idx")]

    def __str__(self) -> str:
        return f"{self.channel}: {self.subject}"


class Report(models.Model):
    """A report as it was sent: the data snapshot, the rendered email and the XLSX source.

    Reports are personal (one per recipient, kind and period); the page, the email and the
    workbook all read ``data`` — never a re-computation. ``data`` is language-neutral (figures,
    keys, the parameters of each sentence): each reader reads it in their own language
    (:mod:`salesloop.alerts.reports.present`); ``title``, ``text`` and ``html`` are the email as
    it was sent, in the recipient's language.
    """

    VISIBILITY_OWNER = "recipient"

    kind = models.CharField(_("kind"), max_length=16, choices=ReportKind.choices)
    recipient = models.ForeignKey(
        Member, verbose_name=_("recipient"), on_delete=models.CASCADE, related_name="reports"
    )
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"))
    title = models.CharField(pgettext_lazy("heading", "title"), max_length=255)
    data = models.JSONField(_("data snapshot"), default=dict)
    text = models.TextField(_("text"), blank=True)
    html = models.TextField(_("HTML"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("report")
        verbose_name_plural = _("reports")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "recipient", "period_start"], name="report_once_per_period"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def localized_title(self, language: str | None = None) -> str:
        """The title in ``language`` (default: the active one), written from the snapshot;
        as stored (as sent) for a report stored with its text."""
        from salesloop.alerts.reports.present import report_localized_title

        return report_localized_title(self, language)


class Schedule(models.Model):
    """A periodic job: a cron expression in the company's time zone, editable by an admin."""

    name = models.CharField(_("name"), max_length=80, unique=True)
    job = models.CharField(_("job"), max_length=80)
    cron = models.CharField(
        _("cron expression"),
        max_length=120,
        help_text=_(
            "minute hour day-of-month month day-of-week, e.g. '0 8 * * 1' = Mondays 08:00."
        ),
    )
    enabled = models.BooleanField(_("enabled"), default=True)
    kwargs = models.JSONField(_("arguments"), default=dict, blank=True)
    next_run_at = models.DateTimeField(_("next run at"), null=True, blank=True, db_index=True)
    last_error = models.TextField(_("schedule error"), blank=True)

    class Meta:
        verbose_name = _("schedule")
        verbose_name_plural = _("schedules")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ScheduleRun(models.Model):
    """One firing of a schedule: queued by the scheduler, run (once) by a worker."""

    schedule = models.ForeignKey(
        Schedule, verbose_name=_("schedule"), on_delete=models.CASCADE, related_name="runs"
    )
    due_at = models.DateTimeField(_("due at"))
    status = models.CharField(
        _("status"), max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED
    )
    queued_at = models.DateTimeField(_("queued at"), default=timezone.now)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    worker = models.CharField(_("worker"), max_length=120, blank=True)
    result = models.JSONField(_("result"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    task_id = models.CharField(_("task id"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("schedule run")
        verbose_name_plural = _("schedule runs")
        ordering = ["-due_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["schedule", "due_at"], name="schedule_run_once_per_due_time"
            )
        ]

    def __str__(self) -> str:
        return f"{self.schedule} @ {self.due_at:%Y-%m-%d %H:%M}"
