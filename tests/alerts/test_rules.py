"""Each rule on a company with one planted problem of each kind; dedup; auto-resolve; routing."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import IntegrityError

from salesloop.alerts.choices import AlertStatus
from salesloop.alerts.models import Alert, AlertRule, Notification
from salesloop.alerts.services import rule_update, rules_evaluate
from salesloop.insights import selectors as s
from salesloop.insights.dashboard import build_dashboard
from salesloop.insights.scope import resolve_scope
from salesloop.pipeline.services import opportunity_update
from tests.alerts.conftest import TODAY

pytestmark = pytest.mark.django_db


def open_set():
    return {
        (a.rule, a.subject_type, a.subject_id)
        for a in Alert.objects.filter(status=AlertStatus.OPEN)
    }


def test_every_planted_problem_raises_its_alert_once(scenario):
    org = scenario.org
    result = rules_evaluate(today=TODAY)
    assert result.errors == {}
    expected = {
        ("behind_pace", "member", org.rep_a2.pk),
        ("behind_pace", "member", org.rep_b1.pk),
        ("low_probability", "member", org.rep_a2.pk),
        ("low_probability", "member", org.rep_b1.pk),
        ("stalled_deal", "opportunity", scenario.stalled.pk),
        ("overdue_follow_up", "member", org.rep_a2.pk),
        ("key_account_quiet", "customer", scenario.quiet.pk),
        ("low_activity", "member", org.rep_a2.pk),
        ("target_miscalibrated", "unit", org.east.pk),
        ("big_deal_slipped", "opportunity", scenario.slipped.pk),
    }
    assert open_set() == expected
    # each alert says what to do
    assert all(a.action and a.message for a in Alert.objects.all())
    # a second evaluation refreshes, never duplicates
    again = rules_evaluate(today=TODAY)
    assert again.opened == [] and again.refreshed == len(expected)
    assert Alert.objects.count() == len(expected)


def test_pace_alert_uses_the_dashboard_figures(scenario):
    org = scenario.org
    rules_evaluate(today=TODAY, keys=["behind_pace"])
    alert = Alert.objects.get(rule="behind_pace", subject_id=org.rep_a2.pk)
    scope = resolve_scope(
        org.director.user, {"period": "quarter", "node": f"m{org.rep_a2.pk}"}, today=TODAY
    )
    card = build_dashboard(scope).context["card"]
    assert alert.data["pace"] == round(card.pace, 4)
    assert alert.data["actual"] == str(card.actual)
    assert alert.data["expected"] == str(card.expected)


def test_one_open_alert_per_rule_and_subject_is_a_database_constraint(scenario):
    rules_evaluate(today=TODAY, keys=["overdue_follow_up"])
    a = Alert.objects.get(rule="overdue_follow_up")
    assert a.title == "Rep_A2 has 1 overdue follow-up"  # one, not "1 overdue follow-ups"
    with pytest.raises(IntegrityError):
        Alert.objects.create(
            rule=a.rule,
            subject_type=a.subject_type,
            subject_id=a.subject_id,
            title="dup",
            message="x",
        )


def test_alert_resolves_when_the_condition_clears_and_reopens_as_a_new_alert(
    scenario, time_machine
):
    rules_evaluate(today=TODAY, keys=["big_deal_slipped"])
    alert = Alert.objects.get(rule="big_deal_slipped")
    opportunity_update(
        opportunity=scenario.slipped,
        actor=scenario.org.rep_w1.user,
        expected_close=date(2025, 6, 28),
    )
    rules_evaluate(today=TODAY, keys=["big_deal_slipped"])
    alert.refresh_from_db()
    assert alert.status == AlertStatus.RESOLVED and alert.resolved_at is not None
    opportunity_update(
        opportunity=scenario.slipped,
        actor=scenario.org.rep_w1.user,
        expected_close=date(2025, 8, 1),
    )
    rules_evaluate(today=TODAY, keys=["big_deal_slipped"])
    assert Alert.objects.filter(rule="big_deal_slipped").count() == 2
    assert Alert.objects.filter(rule="big_deal_slipped", status=AlertStatus.OPEN).count() == 1


def test_threshold_change_changes_the_alert_set(scenario):
    rules_evaluate(today=TODAY)
    assert Alert.objects.filter(rule="behind_pace", status=AlertStatus.OPEN).count() == 2
    rule = AlertRule.objects.get(key="behind_pace")
    rule_update(
        rule=rule,
        params={**rule.params, "pace_below": 0.1, "critical_below": 0.05},
        enabled=True,
        severity="warning",
        actor=scenario.org.admin.user,
    )
    rules_evaluate(today=TODAY, keys=["behind_pace"])
    # rep_b1 (pace 0) stays; rep_a2 (pace ≈ 0.17) is no longer below 0.1
    assert {
        a.subject_id for a in Alert.objects.filter(rule="behind_pace", status=AlertStatus.OPEN)
    } == {scenario.org.rep_b1.pk}


def test_disabled_rule_resolves_its_alerts(scenario):
    rules_evaluate(today=TODAY)
    rule = AlertRule.objects.get(key="low_activity")
    rule_update(
        rule=rule,
        params=rule.params,
        enabled=False,
        severity=rule.severity,
        actor=scenario.org.admin.user,
    )
    rules_evaluate(today=TODAY)
    assert not Alert.objects.filter(rule="low_activity", status=AlertStatus.OPEN).exists()


def test_bad_threshold_is_refused(scenario):
    from django.core.exceptions import ValidationError

    rule = AlertRule.objects.get(key="behind_pace")
    with pytest.raises(ValidationError):
        rule_update(
            rule=rule, params={"pace_below": "-1"}, enabled=True, severity="warning", actor=None
        )


def test_routing_rep_gets_own_unit_alert_goes_to_its_manager(scenario):
    org = scenario.org
    rules_evaluate(today=TODAY)
    mine = Notification.objects.filter(recipient=org.rep_a2)
    assert {n.alert.rule for n in mine} == {
        "behind_pace",
        "low_probability",
        "overdue_follow_up",
        "low_activity",
    }
    # the East unit's miscalibration goes to East's manager, not to the reps
    assert Notification.objects.filter(
        recipient=org.east_mgr, alert__rule="target_miscalibrated"
    ).exists()
    assert not Notification.objects.filter(
        recipient__in=[org.rep_a1, org.rep_a2, org.rep_b1], alert__rule="target_miscalibrated"
    ).exists()
    # a rep never gets a peer's alert
    assert (
        not Notification.objects.filter(recipient=org.rep_a1)
        .exclude(alert__owner=org.rep_a1)
        .filter(alert__isnull=False)
        .exists()
    )


def test_one_failing_rule_does_not_stop_the_others(scenario, monkeypatch):
    from salesloop.alerts import rules

    def boom(ctx, p):
        raise RuntimeError("broken")

    monkeypatch.setitem(rules.EVALUATORS, "low_activity", boom)
    result = rules_evaluate(today=TODAY)
    assert "low_activity" in result.errors
    assert Alert.objects.filter(rule="overdue_follow_up").exists()


def test_calibration_diagnosis_matches_the_dashboard(scenario):
    """The miscalibration rule flags East exactly when the East dashboard shows the diagnosis."""
    org = scenario.org
    for unit, flagged in ((org.east, True), (org.company, False)):
        scope = resolve_scope(
            org.director.user, {"period": "quarter", "node": f"u{unit.pk}"}, today=TODAY
        )
        assert (build_dashboard(scope).context["diagnosis"] is not None) == flagged
    rules_evaluate(today=TODAY, keys=["target_miscalibrated"])
    assert {a.subject_id for a in Alert.objects.filter(rule="target_miscalibrated")} == {
        org.east.pk
    }
    assert s  # selectors module is the source of both


def test_quiet_hours_defer_the_email_and_digest_users_get_no_instant_email(scenario, time_machine):
    from datetime import time

    from salesloop.alerts.models import Delivery, NotificationPreference
    from tests.alerts.conftest import at

    org = scenario.org
    NotificationPreference.objects.create(
        member=org.rep_a2, quiet_start=time(22), quiet_end=time(8)
    )
    NotificationPreference.objects.create(member=org.rep_b1, digest=True)
    time_machine.move_to(at(TODAY, 23), tick=False)
    rules_evaluate(today=TODAY)
    a2 = Delivery.objects.filter(recipient=org.rep_a2)
    assert a2.exists() and all(d.status == "pending" for d in a2)
    assert {d.next_attempt_at for d in a2} == {at(date(2025, 5, 16), 8)}
    assert not Delivery.objects.filter(recipient=org.rep_b1).exists()  # digest only
    assert Notification.objects.filter(recipient=org.rep_b1).exists()  # the centre always gets it


def test_a_fast_buying_key_account_is_not_quiet_after_a_few_days(scenario):
    """An account ordering every 3 days is past its rhythm (1.5 × 3 = 4.5 days) after 10 days of
    silence, but a silence under the rule's minimum (30 days by default) raises no alert."""
    from datetime import timedelta
    from decimal import Decimal

    from salesloop.orders.services import order_create
    from tests import factories as f

    busy = f.customer(scenario.org.rep_a1, name="Busy Key Co", tier="key")
    last = TODAY - timedelta(days=10)
    for i in range(6):
        order_create(
            number=f"B-{i}",
            customer=busy,
            owner=scenario.org.rep_a1,
            signed_on=last - timedelta(days=3 * i),
            amount=Decimal("1000"),
        )
    rules_evaluate(today=TODAY, keys=["key_account_quiet"])
    quiet = {a.subject_id for a in Alert.objects.filter(rule="key_account_quiet", status="open")}
    assert quiet == {scenario.quiet.pk}  # silent 99 days against a monthly rhythm
    rule = AlertRule.objects.get(key="key_account_quiet")
    rule_update(
        rule=rule,
        params={**rule.params, "min_silent_days": 7},
        enabled=True,
        severity=rule.severity,
        actor=scenario.org.admin.user,
    )
    rules_evaluate(today=TODAY, keys=["key_account_quiet"])
    alerts = Alert.objects.filter(rule="key_account_quiet", status="open")
    assert {a.subject_id for a in alerts} == {scenario.quiet.pk, busy.pk}
    busy_alert = alerts.get(subject_id=busy.pk)
    assert busy_alert.data["days_silent"] == 10 and busy_alert.data["usual_gap_days"] == 3
    # the minimum is validated like the other thresholds
    with pytest.raises(Exception, match="non-negative"):
        rule_update(
            rule=rule,
            params={**rule.params, "min_silent_days": "-1"},
            enabled=True,
            severity=rule.severity,
            actor=scenario.org.admin.user,
        )


def test_quiet_hours_hold_email_only_inside_them():
    """Within the hours (those crossing midnight too) an email waits for their end; outside it
    goes now; hours that start and end at once (refused when saved) hold nothing."""
    from datetime import datetime, time

    from django.utils import timezone

    from salesloop.alerts.delivery import after_quiet_hours
    from salesloop.alerts.models import NotificationPreference

    def held(start, end, hour, minute=0):
        pref = NotificationPreference(quiet_start=start, quiet_end=end)
        now = timezone.make_aware(datetime(2026, 3, 10, hour, minute))
        until = after_quiet_hours(pref, now)
        return None if until is None else timezone.localtime(until).strftime("%d %H:%M")

    night = (time(22), time(7, 30))
    assert held(*night, 23) == "11 07:30" and held(*night, 3) == "10 07:30"
    assert held(*night, 7, 30) is None and held(*night, 12) is None and held(*night, 21, 59) is None
    lunch = (time(12), time(13))
    assert held(*lunch, 12, 15) == "10 13:00" and held(*lunch, 13) is None
    assert held(time(9), time(9), 9) is None and held(time(9), time(9), 20) is None


@pytest.mark.parametrize(
    ("key", "params", "field", "words"),
    [
        ("behind_pace", {"pace_below": "5"}, "pace_below", "from 0 to 2"),
        ("behind_pace", {"min_elapsed": "2.0"}, "min_elapsed", "from 0 to 1"),
        (
            "behind_pace",
            {"pace_below": "0.7", "critical_below": "0.9"},
            "critical_below",
            "below the warning's (0.7)",
        ),
        ("low_probability", {"p_floor_below": "1.5"}, "p_floor_below", "from 0 to 1"),
        ("low_probability", {"p_floor_below": "5"}, "p_floor_below", "not 5."),  # not "5.0"
        ("low_activity", {"days": "0"}, "days", "at least 1 day"),
        ("big_deal_slipped", {"lookback_days": "0"}, "lookback_days", "at least 1 day"),
        (
            "overdue_follow_up",
            {"min_count": "5", "critical_count": "2"},
            "critical_count",
            "at least 5",
        ),
    ],
)
def test_a_threshold_that_cannot_work_is_refused_and_nothing_changes(
    scenario, key, params, field, words
):
    """Saved before: a pace threshold of 5, a critical level above the warning's (so every
    warning was critical), more than the whole period gone (the rule could never fire)."""
    from django.core.exceptions import ValidationError

    rule = AlertRule.objects.get(key=key)
    before = (dict(rule.params), rule.severity)
    with pytest.raises(ValidationError) as refused:
        rule_update(rule=rule, params=params, enabled=True, severity="warning", actor=None)
    assert words in " ".join(refused.value.message_dict[field])
    rule.refresh_from_db()
    assert (rule.params, rule.severity) == before
    # the bounds themselves are fine
    ok = {"pace_below": "2", "critical_below": "0.6", "min_elapsed": "1"}
    if key == "behind_pace":
        rule_update(rule=rule, params=ok, enabled=True, severity="warning", actor=None)
