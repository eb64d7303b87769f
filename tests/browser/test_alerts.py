"""Alerts and reports in real Chromium: the notification centre shows and clears alerts, a
report page renders with its charts, an admin edits a rule threshold and the alert set changes."""

from __future__ import annotations

from datetime import date

import pytest
from playwright.sync_api import expect

from salesloop.alerts.models import Alert, Report
from salesloop.alerts.reports.services import reports_send
from salesloop.alerts.services import rules_evaluate
from tests import factories as f
from tests.alerts.conftest import TODAY, at, scenario  # noqa: F401 (fixture)
from tests.browser.conftest import log_in, shot

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def alerted(scenario, time_machine, settings):  # noqa: F811
    rules_evaluate(today=TODAY)
    # the server lives on 15 May 2025 (ticking); the browser on the real clock keeps the cookies
    settings.SESSION_COOKIE_AGE = settings.CSRF_COOKIE_AGE = 20 * 365 * 86400
    time_machine.move_to(at(TODAY, 12), tick=True)
    return scenario


def test_notification_centre_shows_and_clears_alerts(page, alerted):
    log_in(page, "rep_a2", f.PASSWORD)
    badge = page.locator("[data-testid=unread-count]")
    expect(badge).to_have_text("4")
    page.click("nav >> text=Notifications")
    expect(page.locator("[data-testid=note]")).to_have_count(4)
    expect(page.locator("[data-testid=open-alerts]")).to_contain_text("behind pace")
    shot(page, "alerts-inbox-rep")
    # opening one goes to its subject and marks it read
    page.click("a.note-title:has-text('has 1 overdue follow-up')")  # one: singular
    page.wait_for_url("**/activities/**")
    expect(badge).to_have_text("3")
    page.click("nav >> text=Notifications")
    page.click("[data-testid=read-all]")
    expect(page.locator("[data-testid=unread-count]")).to_have_count(0)
    expect(page.locator(".note.unread")).to_have_count(0)
    shot(page, "alerts-inbox-read")
    # a director sees the company's open alerts
    page.click("button:has-text('Log out')")
    log_in(page, "director", f.PASSWORD)
    page.goto(f"{page.base}/alerts/")
    open_alerts = Alert.objects.filter(status="open")
    expect(page.locator("[data-testid=open-alerts] tr.alert-row")).to_have_count(
        open_alerts.count()
    )
    # most severe first: the critical ones lead the list
    severities = page.locator("[data-testid=open-alerts] tr.alert-row .sev").all_inner_texts()
    order = {"Critical": 0, "Warning": 1, "Info": 2}
    assert [order[s] for s in severities] == sorted(order[s] for s in severities)
    # one chip per rule with its count; a chip filters the list to that rule
    chips = page.locator("[data-testid=alert-chips] a.chip[data-rule]")
    expect(chips).to_have_count(open_alerts.values("rule").distinct().count())
    behind = open_alerts.filter(rule="behind_pace").count()
    chip = page.locator("[data-testid=alert-chips] a.chip[data-rule=behind_pace]")
    expect(chip).to_contain_text(str(behind))
    chip.click()
    expect(page.locator("[data-testid=open-alerts] tr.alert-row")).to_have_count(behind)
    expect(
        page.locator("[data-testid=open-alerts] tr.alert-row[data-rule=behind_pace]")
    ).to_have_count(behind)
    expect(chip).to_have_class("chip on")
    shot(page, "alerts-inbox-director")


def test_report_pages_render_with_their_charts(page, alerted, time_machine):
    time_machine.move_to(at(date(2025, 5, 19), 8), tick=True)
    reports_send(kind="weekly", today=date(2025, 5, 19))
    time_machine.move_to(at(date(2025, 7, 1), 9, 30), tick=True)
    reports_send(kind="quarterly", today=date(2025, 7, 1))
    log_in(page, "director", f.PASSWORD)
    page.goto(f"{page.base}/alerts/reports/")
    expect(page.locator("[data-testid=reports] tbody tr")).to_have_count(2)
    shot(page, "reports-list")
    weekly = Report.objects.get(kind="weekly", recipient__user__username="director")
    page.goto(f"{page.base}/alerts/reports/{weekly.pk}/")
    expect(page.locator("[data-testid=chart-burn-up] .main-svg").first).to_be_visible()
    expect(page.locator("[data-testid=risks]")).to_contain_text("miscalibrated")
    expect(page.locator("[data-testid=kpi-actual]")).to_have_attribute(
        "data-value", str(weekly.data["card"]["actual"])
    )
    shot(page, "report-weekly-director")
    review = Report.objects.get(kind="quarterly", recipient__user__username="director")
    page.goto(f"{page.base}/alerts/reports/{review.pk}/")
    expect(page.locator("[data-testid=chart-gap-last] .main-svg").first).to_be_visible()
    expect(page.locator("[data-testid=recommendations]")).to_be_visible()
    shot(page, "report-quarterly-director")
    # printed (A4 portrait, 718 px of text across): every chart as wide as its card on the
    # sheet, in its proportions — they kept their screen width, two thirds of a card or wider
    # than the sheet; one drawn wider than the sheet is drawn again at its width first, so that
    # its type is not shrunk; back to the screen afterwards
    charts = page.locator(".chart.js-plotly-plot")
    screen = charts.evaluate_all(
        "cs => cs.map(c => c.querySelector('svg.main-svg').getAttribute('width'))"
    )
    assert max(float(w) for w in screen) > 690  # the test has a chart wider than the sheet
    page.evaluate("window.dispatchEvent(new Event('beforeprint'))")
    page.emulate_media(media="print")
    page.set_viewport_size({"width": 718, "height": 1000})
    fits = charts.evaluate_all(
        """cs => cs.map(c => { const svg = c.querySelector('svg.main-svg');
            return [svg.getBoundingClientRect().width, c.clientWidth,
                    Number(svg.getAttribute('width'))]; })"""
    )
    for shown, room, drawn in fits:
        assert abs(shown - room) <= 1 and drawn <= 690, fits
    sizes = page.pdf(format="A4")
    assert b"/MediaBox" in sizes
    page.emulate_media(media="screen")
    page.set_viewport_size({"width": 1360, "height": 900})
    page.evaluate("window.dispatchEvent(new Event('afterprint'))")
    expect(page.locator(".chart.print-scaled")).to_have_count(0)
    page.wait_for_function(
        """want => Array.from(document.querySelectorAll('.chart.js-plotly-plot')).every(
            (c, i) => c.querySelector('svg.main-svg').getAttribute('width') === want[i])""",
        arg=screen,
    )
    with page.expect_download() as dl:
        page.click("[data-testid=xlsx]")
    assert dl.value.suggested_filename.endswith(".xlsx")


def test_admin_edits_a_threshold_and_the_alert_set_changes(page, alerted):
    log_in(page, "admin", f.PASSWORD)
    page.goto(f"{page.base}/alerts/rules/")
    card = page.locator("[data-testid=rule-behind_pace]")
    expect(card.locator("[data-testid=open-count]")).to_have_text("2 open")
    shot(page, "alert-rules")
    card.locator("input[name='behind_pace-p_pace_below']").fill("0.1")
    card.locator("button:has-text('Save')").click()
    # a warning at 0.1 under a critical level of 0.6 would make every warning critical
    refused = page.locator(".message-error")
    expect(refused).to_contain_text("was not saved")
    expect(refused).to_contain_text("give a pace below the warning's (0.1)")
    card = page.locator("[data-testid=rule-behind_pace]")
    assert Alert.objects.filter(rule="behind_pace", status="open").count() == 2
    card.locator("input[name='behind_pace-p_pace_below']").fill("0.1")
    card.locator("input[name='behind_pace-p_critical_below']").fill("0.05")
    card.locator("button:has-text('Save')").click()
    expect(page.locator(".message-success")).to_be_visible()
    card = page.locator("[data-testid=rule-behind_pace]")
    expect(card.locator("[data-testid=open-count]")).to_have_text("1 open")
    assert list(
        Alert.objects.filter(rule="behind_pace", status="open").values_list("subject_id", flat=True)
    ) == [alerted.org.rep_b1.pk]
    shot(page, "alert-rules-saved")
