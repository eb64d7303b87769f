"""Cron parsing, the scheduler (once per firing, invalid schedules reported), and a month of
the default schedules under time travel: exactly which alerts and reports fire, once each."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError

from salesloop.alerts.choices import AlertStatus, RunStatus
from salesloop.alerts.cron import Cron, CronError
from salesloop.alerts.models import Alert, Notification, Report, Schedule, ScheduleRun
from salesloop.alerts.scheduler import schedule_run_execute, scheduler_tick, schedules_ensure
from tests.alerts.conftest import at

SH = ZoneInfo("Asia/Shanghai")


def test_cron_next_times_in_shanghai():
    c = Cron.parse("0 8 * * 1")
    assert c.next_after(datetime(2025, 5, 15, 12, tzinfo=SH), SH) == datetime(
        2025, 5, 19, 8, tzinfo=SH
    )
    # 00:30 UTC on Monday is already 08:30 in Shanghai: the next Monday firing is a week later
    assert Cron.parse("0 8 * * mon").next_after(
        datetime(2025, 5, 19, 0, 30, tzinfo=ZoneInfo("UTC")), SH
    ) == datetime(2025, 5, 26, 8, tzinfo=SH)
    assert Cron.parse("30 9 1 1,4,7,10 *").next_after(
        datetime(2025, 5, 2, tzinfo=SH), SH
    ) == datetime(2025, 7, 1, 9, 30, tzinfo=SH)
    assert Cron.parse("*/15 * * * *").next_after(
        datetime(2025, 5, 2, 10, 14, 59, tzinfo=SH), SH
    ) == datetime(2025, 5, 2, 10, 15, tzinfo=SH)
    # day-of-month OR day-of-week when both are restricted (classic cron)
    assert Cron.parse("0 0 13 * 5").next_after(datetime(2025, 6, 1, tzinfo=SH), SH) == datetime(
        2025, 6, 6, tzinfo=SH
    )


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "* * * *",
        "61 * * * *",
        "* 24 * * *",
        "*/0 * * * *",
        "5-1 * * * *",
        "x * * * *",
        "0 0 30 2 *",
    ],
)
def test_invalid_cron_is_refused(bad):
    with pytest.raises(CronError):
        Cron.parse(bad).next_after(datetime(2025, 1, 1, tzinfo=SH), SH)


@pytest.mark.django_db
def test_invalid_schedule_is_reported_and_the_others_still_run(time_machine):
    time_machine.move_to(at(date(2025, 5, 15), 7, 59), tick=False)
    good = Schedule.objects.create(
        name="beat", job="heartbeat", cron="0 8 * * *", next_run_at=at(date(2025, 5, 15), 8)
    )
    bad = Schedule.objects.create(
        name="broken", job="heartbeat", cron="99 * * * *", next_run_at=at(date(2025, 5, 15), 8)
    )
    unknown = Schedule.objects.create(
        name="ghost", job="no.such.job", cron="0 8 * * *", next_run_at=at(date(2025, 5, 15), 8)
    )
    Schedule.objects.exclude(pk__in=[good.pk, bad.pk, unknown.pk]).update(enabled=False)
    time_machine.move_to(at(date(2025, 5, 15), 8), tick=False)
    runs = scheduler_tick()
    assert [r.schedule for r in runs] == [good]
    assert ScheduleRun.objects.get(schedule=good).status == RunStatus.SUCCEEDED
    bad.refresh_from_db()
    unknown.refresh_from_db()
    assert "minute" in bad.last_error and "unknown job" in unknown.last_error


@pytest.mark.django_db
def test_two_schedulers_queue_a_firing_once_and_a_run_executes_once(time_machine):
    time_machine.move_to(at(date(2025, 5, 15), 8), tick=False)
    Schedule.objects.update(enabled=False)
    s = Schedule.objects.create(
        name="beat", job="heartbeat", cron="0 8 * * *", next_run_at=at(date(2025, 5, 15), 8)
    )
    first = scheduler_tick(enqueue=False)
    second = scheduler_tick(enqueue=False)
    assert len(first) == 1 and second == []
    with pytest.raises(IntegrityError):
        ScheduleRun.objects.create(schedule=s, due_at=at(date(2025, 5, 15), 8))


@pytest.mark.django_db
def test_a_run_is_claimed_once_and_a_failing_job_is_recorded(time_machine):
    time_machine.move_to(at(date(2025, 5, 15), 8), tick=False)
    s = Schedule.objects.create(name="beat", job="heartbeat", cron="0 8 * * *")
    run = ScheduleRun.objects.create(schedule=s, due_at=at(date(2025, 5, 15), 8))
    assert schedule_run_execute(run_id=run.pk) == "succeeded"
    assert schedule_run_execute(run_id=run.pk) == "skipped"
    run.refresh_from_db()
    assert run.started_at and run.finished_at and run.worker
    s2 = Schedule.objects.create(
        name="bad args", job="heartbeat", cron="0 8 * * *", kwargs={"sleep": "soon"}
    )
    run2 = ScheduleRun.objects.create(schedule=s2, due_at=at(date(2025, 5, 15), 8))
    assert schedule_run_execute(run_id=run2.pk) == "failed"
    run2.refresh_from_db()
    assert run2.status == RunStatus.FAILED and "ValueError" in run2.error


@pytest.mark.django_db
def test_a_month_of_schedules(scenario, time_machine):
    """June 2025 to the morning of 1 July under time travel, with the default schedules (the
    15-minute rollup and 5-minute delivery jobs paused to keep the test fast)."""
    org = scenario.org
    start = datetime(2025, 6, 1, 0, 0, tzinfo=SH)
    end = datetime(2025, 7, 1, 23, 59, tzinfo=SH)
    time_machine.move_to(start, tick=False)
    schedules_ensure(now=start)
    Schedule.objects.filter(job__in=["insights.refresh", "alerts.deliver"]).update(enabled=False)
    Schedule.objects.filter(enabled=True).update(next_run_at=None)
    scheduler_tick()  # first tick: every schedule gets its first firing from now on
    ticks = 0
    while True:
        nxt = (
            Schedule.objects.filter(enabled=True)
            .order_by("next_run_at")
            .values_list("next_run_at", flat=True)
            .first()
        )
        if nxt > end:
            break
        time_machine.move_to(nxt, tick=False)
        scheduler_tick()
        scheduler_tick()  # a second scheduler at the same moment changes nothing
        ticks += 1
    runs = Counter(ScheduleRun.objects.values_list("schedule__job", flat=True))
    assert runs == {
        "alerts.evaluate": 31 * 2,
        "alerts.digest": 31,
        "reports.weekly": 5,
        "reports.monthly": 2,
        "reports.quarterly": 1,
        "api.purge_idempotency_keys": 31,
    }
    assert not ScheduleRun.objects.exclude(status=RunStatus.SUCCEEDED).exists()
    # alerts: each planted problem alerted once over the month (no flapping, no duplicates)
    fired = Counter((a.rule, a.subject_type, a.subject_id) for a in Alert.objects.all())
    assert set(fired) == {
        ("behind_pace", "member", org.rep_a2.pk),
        ("behind_pace", "member", org.rep_b1.pk),
        ("low_probability", "member", org.rep_a2.pk),
        ("low_probability", "member", org.rep_b1.pk),
        ("stalled_deal", "opportunity", scenario.stalled.pk),
        ("overdue_follow_up", "member", org.rep_a2.pk),
        # the slipped 300 000 deal has now also sat in its first stage for more than 30 days
        ("stalled_deal", "opportunity", scenario.slipped.pk),
        ("key_account_quiet", "customer", scenario.quiet.pk),
        ("target_miscalibrated", "unit", org.east.pk),
    }
    assert set(fired.values()) == {1}
    # on 1 July a new quarter starts: pace, probability and calibration alerts resolve themselves
    resolved = set(Alert.objects.filter(status=AlertStatus.RESOLVED).values_list("rule", flat=True))
    assert resolved == {"behind_pace", "low_probability", "target_miscalibrated"}
    assert all(
        a.resolved_at.astimezone(SH).date() == date(2025, 7, 1)
        for a in Alert.objects.filter(status=AlertStatus.RESOLVED)
    )
    # every alert notified its recipient once
    assert (
        Counter(
            Notification.objects.filter(alert__isnull=False).values_list("recipient", "alert")
        ).most_common(1)[0][1]
        == 1
    )
    # one digest (1 June, the day the alerts opened) per manager / director / admin who sees one
    digests = Counter(
        Notification.objects.filter(alert__isnull=True, report__isnull=True).values_list(
            "recipient__user__username", flat=True
        )
    )
    assert digests == {"director": 1, "admin": 1, "east_mgr": 1, "mgr_a": 1, "mgr_w": 1}
    # reports: 5 weekly (Mondays), 2 monthly (May, June), 1 quarterly (Q2) per recipient
    per = Counter(Report.objects.values_list("kind", flat=True))
    recipients = 10
    assert per == {"weekly": 5 * recipients, "monthly": 2 * recipients, "quarterly": recipients}
    assert sorted({r.period_start for r in Report.objects.filter(kind="weekly")}) == [
        date(2025, 5, 26) + timedelta(weeks=i) for i in range(5)
    ]
    assert {r.period_start for r in Report.objects.filter(kind="monthly")} == {
        date(2025, 5, 1),
        date(2025, 6, 1),
    }
    assert {r.period_start for r in Report.objects.filter(kind="quarterly")} == {date(2025, 4, 1)}
