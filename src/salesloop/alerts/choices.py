"""Choices of the alerts app, with their display data beside the value."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class RuleKey(models.TextChoices):
    BEHIND_PACE = "behind_pace", _("Behind pace")
    LOW_PROBABILITY = "low_probability", _("Low probability of reaching the floor")
    STALLED_DEAL = "stalled_deal", _("Stalled deal")
    OVERDUE_FOLLOW_UP = "overdue_follow_up", _("Overdue follow-ups")
    KEY_ACCOUNT_QUIET = "key_account_quiet", _("Key account gone quiet")
    LOW_ACTIVITY = "low_activity", _("Low activity")
    TARGET_MISCALIBRATED = "target_miscalibrated", _("Target likely miscalibrated")
    BIG_DEAL_SLIPPED = "big_deal_slipped", _("Big deal slipped")
    WEAK_CONVERSION = "weak_conversion", _("Weak conversion (funnel bottleneck)")
    DECISIONS_WAITING = "decisions_waiting", _("Target decisions waiting")


class Severity(models.TextChoices):
    INFO = "info", _("Info")
    WARNING = "warning", _("Warning")
    CRITICAL = "critical", _("Critical")


SEVERITY_ORDER = {Severity.CRITICAL: 0, Severity.WARNING: 1, Severity.INFO: 2}
SEVERITY_COLOURS = {Severity.CRITICAL: "red", Severity.WARNING: "orange", Severity.INFO: "blue"}


class SubjectType(models.TextChoices):
    MEMBER = "member", _("Member")
    UNIT = "unit", _("Org unit")
    OPPORTUNITY = "opportunity", _("Opportunity")
    CUSTOMER = "customer", _("Customer")


class AlertStatus(models.TextChoices):
    OPEN = "open", _("Open")
    RESOLVED = "resolved", _("Resolved")


class ChannelKind(models.TextChoices):
    WECOM = "wecom", _("WeCom group robot (企业微信)")
    DINGTALK = "dingtalk", _("DingTalk robot (钉钉)")
    FEISHU = "feishu", _("Feishu custom bot (飞书)")
    SLACK = "slack", _("Slack incoming webhook")


class DeliveryChannel(models.TextChoices):
    EMAIL = "email", _("Email")
    WEBHOOK = "webhook", _("Webhook")


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed (gave up)")


class ReportKind(models.TextChoices):
    WEEKLY = "weekly", _("Weekly progress report")
    MONTHLY = "monthly", _("Monthly review")
    QUARTERLY = "quarterly", _("Quarterly review")


class RunStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
