from django.db import models
from django.utils.translation import gettext_lazy as _


class ActivityKind(models.TextChoices):
    VISIT = "visit", _("Visit")
    CALL = "call", _("Call")
    EMAIL = "email", _("Email")
    MEETING = "meeting", _("Meeting")
    OTHER = "other", _("Other")


ACTIVITY_ICONS = {
    ActivityKind.VISIT: "🚗",
    ActivityKind.CALL: "📞",
    ActivityKind.EMAIL: "✉️",
    ActivityKind.MEETING: "👥",
    ActivityKind.OTHER: "📝",
}


class Outcome(models.TextChoices):
    POSITIVE = "positive", _("Positive")
    NEUTRAL = "neutral", _("Neutral")
    NEGATIVE = "negative", _("Negative")
    NO_ANSWER = "no_answer", _("No answer")
