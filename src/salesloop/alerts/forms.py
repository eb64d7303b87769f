"""Forms: a rule's thresholds (built from the rule's defaults) and notification preferences."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from salesloop.alerts.choices import Severity
from salesloop.alerts.models import AlertRule, NotificationPreference
from salesloop.alerts.rules import DEFAULTS, params_for
from salesloop.customers.choices import Tier

PARAM_LABELS: dict[str, tuple[Any, Any]] = {
    "period": (_("Period"), _("The period the rule looks at.")),
    "pace_below": (
        _("Pace index below"),
        _("Alert when actual ÷ expected-to-date is below this (0.8 = 80 %)."),
    ),
    "critical_below": (_("Critical below"), _("Below this pace index the alert is critical.")),
    "min_elapsed": (
        _("After this share of the period"),
        _("0.25 = once a quarter of the period (by seasonal weight) has passed."),
    ),
    "p_floor_below": (
        _("Probability of the floor below"),
        _("0.5 = alert when reaching the floor is less likely than not."),
    ),
    "min_amount": (_("Minimum deal amount (¥)"), _("Smaller deals raise no alert.")),
    "limit_days": (
        _("Days in a stage (empty = learnt)"),
        _("Empty: the 80th percentile of the stage's history."),
    ),
    "grace_days": (_("Days late before alerting"), ""),
    "min_count": (_("Minimum overdue follow-ups"), ""),
    "critical_count": (
        _("Critical from"),
        _("This many overdue follow-ups make the alert critical."),
    ),
    "tiers": (_("Customer tiers"), _("The tiers whose customers the rule watches.")),
    "factor": (
        _("Silence factor"),
        _("Quiet = no order for longer than this × the customer's usual gap."),
    ),
    "min_orders": (_("Minimum past orders"), _("Customers with fewer orders have no rhythm yet.")),
    "min_silent_days": (
        _("Minimum days without an order"),
        _("A shorter silence raises no alert, even for an account that orders every few days."),
    ),
    "days": (_("Window (days)"), ""),
    "share_of_median": (
        _("Share of the team median below"),
        _("0.5 = fewer than half the team's usual activities."),
    ),
    "min_peers": (_("Minimum peers in the team"), ""),
    "median_below": (_("Median pace index below"), ""),
    "behind_below": (_("A member is behind below"), ""),
    "share_above": (_("Share of members behind above"), ""),
    "min_members": (_("Minimum members with a target"), ""),
    "min_gain": (
        _("Minimum revenue at stake (¥)"),
        _("Only bottlenecks worth at least this much at the team median."),
    ),
    "min_deals": (
        _("Minimum deals at the step"),
        _("Fewer deals say too little about a conversion rate."),
    ),
    "lookback_days": (_("Look back (days)"), _("Close-date changes older than this are ignored.")),
    "plan_days": (_("A submitted plan waits (days)"), ""),
    "proposal_days": (_("A proposal waits (days)"), ""),
    "ask_days": (
        _("A figure asked for is not proposed (days)"),
        _('After "Ask for proposals", those who have not proposed are reminded.'),
    ),
    "year_days": (
        _("Days before the fiscal year"),
        _("From this many days before next year begins, its plan should be approved."),
    ),
}
# (rule, parameter) where a parameter means something else than its usual help text says
PARAM_HELP_BY_RULE: dict[tuple[str, str], Any] = {
    ("weak_conversion", "share_of_median"): _(
        "0.6 = a step converting at less than 0.6 × the team's median conversion."
    ),
    ("weak_conversion", "days"): _("The deals created in this many days make up the funnel."),
    ("low_activity", "days"): _("Activities logged in this many days, compared within the team."),
}
RULE_HELP: dict[str, Any] = {
    "behind_pace": _(
        "A rep's actual to date is well below what the target's seasonal curve expects by today."
    ),
    "low_probability": _(
        "Simulating the open pipeline and the usual new business, the rep is unlikely to reach the floor."
    ),
    "stalled_deal": _("An open deal has stayed in its stage far longer than deals usually do."),
    "overdue_follow_up": _("Promised follow-ups are past their due date."),
    "key_account_quiet": _("A key account has not ordered for much longer than its usual rhythm."),
    "low_activity": _("A rep logs far fewer visits, calls and meetings than the rest of the team."),
    "target_miscalibrated": _(
        "Most members of a unit are far behind at once: the target, not the people, looks wrong. "
        "Goes to the unit's manager."
    ),
    "big_deal_slipped": _("A big deal's expected close was moved out of the period."),
    "weak_conversion": _(
        "A rep's weakest funnel step converts far below the team median, with the revenue at stake."
    ),
    "decisions_waiting": _(
        "A target plan or a bottom-up proposal has waited days for a decision, a figure asked "
        "for has not been proposed, or next year begins soon without an approved plan. Goes to "
        "whoever must decide."
    ),
}
PERIOD_CHOICES = (("month", _("Month")), ("quarter", _("Quarter")), ("year", _("Year")))


class RuleForm(forms.Form):
    enabled = forms.BooleanField(label=_("Enabled"), required=False)
    severity = forms.ChoiceField(label=_("Severity"), choices=Severity.choices)

    def __init__(self, *args: Any, rule: AlertRule, **kwargs: Any) -> None:
        current = params_for(rule.key, rule.params)
        initial = {"enabled": rule.enabled, "severity": rule.severity}
        for name, value in current.items():
            initial[f"p_{name}"] = value
        super().__init__(*args, initial=initial, **kwargs)
        self.rule = rule
        for name, default in DEFAULTS[rule.key].items():
            label, help_text = PARAM_LABELS.get(name, (name, ""))
            help_text = PARAM_HELP_BY_RULE.get((rule.key, name), help_text)
            field: forms.Field
            if name == "period":
                field = forms.ChoiceField(choices=PERIOD_CHOICES)
            elif name == "tiers":
                field = forms.MultipleChoiceField(
                    choices=Tier.choices, widget=forms.CheckboxSelectMultiple
                )
            elif isinstance(default, int) and not isinstance(default, bool):
                field = forms.IntegerField(min_value=0)
            else:
                field = forms.FloatField(min_value=0, required=default is not None)
            field.label, field.help_text = label, help_text
            self.fields[f"p_{name}"] = field

    def params(self) -> dict[str, Any]:
        return {k[2:]: v for k, v in self.cleaned_data.items() if k.startswith("p_")}


class PreferenceForm(forms.ModelForm):
    """What reaches a member besides the notification centre, each choice said in full: the
    address mail goes to (or that there is none), when the digest comes, what quiet hours do."""

    class Meta:
        model = NotificationPreference
        fields = ["email", "digest", "reports", "quiet_start", "quiet_end"]
        labels = {
            "email": _("Send me email"),
            "digest": _("One daily digest instead of each alert"),
            "reports": _("Weekly and monthly reports by email"),
            "quiet_start": _("From"),
            "quiet_end": _("Until"),
        }
        help_texts = {
            "digest": _(
                "Each morning, the alerts of the last 24 hours in one email. Managers and "
                "directors get their team's or the company's digest either way."
            ),
            "reports": _("The weekly progress report and the monthly review, with Excel attached."),
            "quiet_start": _(
                "No email between these times (e.g. 22:00 to 07:00): what comes "
                "then waits until they end."
            ),
            "quiet_end": _("Leave both empty for none."),
        }
        widgets = {
            "quiet_start": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "quiet_end": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        }

    def __init__(self, *args: Any, address: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["email"].help_text = (
            _("Alerts, digests and reports go to %(address)s.") % {"address": address}
            if address
            else _(
                "Your account has no email address: an administrator can add one. Until "
                "then everything stays in the notification centre."
            )
        )
