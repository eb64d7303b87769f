"""Weekly and review reports: delivered by a real SMTP server per role, the figures equal the
dashboard's, stored as sent, available as a page and an XLSX."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import translation
from openpyxl import load_workbook

from salesloop.alerts.delivery import deliveries_send_due
from salesloop.alerts.models import Delivery, Notification, Report
from salesloop.alerts.reports.present import report_present
from salesloop.alerts.reports.services import reports_send
from salesloop.alerts.services import rules_evaluate
from salesloop.insights.dashboard import build_dashboard
from salesloop.insights.scope import resolve_scope
from salesloop.orders.services import order_create
from salesloop.web.templatetags.salesloop import pct, yuan
from tests import factories as f
from tests.alerts.conftest import TODAY, at, parts

pytestmark = pytest.mark.django_db
MONDAY = date(2025, 5, 19)


@pytest.fixture
def monday(scenario, time_machine):
    rules_evaluate(today=TODAY)
    time_machine.move_to(at(MONDAY, 8), tick=False)
    return scenario


def test_weekly_report_reaches_each_role_by_smtp_with_the_dashboard_figures(monday, smtp, settings):
    settings.LANGUAGE_CODE = "en"
    org = monday.org
    result = reports_send(kind="weekly", today=MONDAY)
    assert result["errors"] == {}
    for member, node in (
        (org.rep_a2, f"m{org.rep_a2.pk}"),
        (org.mgr_a, f"u{org.team_a.pk}"),
        (org.east_mgr, f"u{org.east.pk}"),
        (org.director, f"u{org.company.pk}"),
    ):
        report = Report.objects.get(kind="weekly", recipient=member)
        assert report.data["node"]["key"] == node
        # the dashboard this member opens on Monday shows the same figures
        scope = resolve_scope(member.user, {"period": "quarter"}, today=MONDAY)
        card = build_dashboard(scope).context["card"]
        got = report.data["card"]
        assert got["actual"] == round(float(card.actual), 2)
        assert got["target"] == round(float(card.thresholds.target), 2)
        assert got["expected"] == round(float(card.expected), 2)
        assert got["pace"] == (round(card.pace, 4) if card.pace is not None else None)
        assert got["vs_target"] == (
            round(card.vs_target, 4) if card.vs_target is not None else None
        )
        assert got["p_floor"] == (round(card.p_floor, 4) if card.p_floor is not None else None)
        # …and so does the email the SMTP server received
        [msg] = [m for m in smtp.to(member.user.email) if smtp.subject(m) == report.title]
        text, html = parts(msg)
        with translation.override("en"):
            assert yuan(card.actual) in text and yuan(card.actual) in html
            if card.vs_target is not None:
                assert pct(card.vs_target) in text
                assert any(
                    p.get_filename() and p.get_filename().endswith(".xlsx")
                    for p in msg.iter_attachments()
                )
    # the rep's report lists only their own risks, the director's the company's
    rep_risks = report_present(Report.objects.get(recipient=org.rep_a2).data)["risks"]
    assert rep_risks and all("Rep_A2" in r["title"] or "Customer" in r["title"] for r in rep_risks)
    director = Report.objects.get(recipient=org.director).data
    assert director["risk_count"] == 10
    assert Notification.objects.filter(report__isnull=False).count() == Report.objects.count()


def test_weekly_report_is_built_once_per_period(monday):
    first = reports_send(kind="weekly", today=MONDAY)
    second = reports_send(kind="weekly", today=MONDAY)
    assert first["reports"] > 0 and second["reports"] == 0


def test_past_report_stays_as_it_was_sent(monday, client, login, time_machine):
    org = monday.org
    reports_send(kind="weekly", today=MONDAY)
    report = Report.objects.get(recipient=org.rep_a1)
    before = report.data["card"]["actual"]
    time_machine.move_to(at(date(2025, 5, 20)), tick=False)
    order_create(
        number="LATE",
        customer=f.customer(org.rep_a1),
        owner=org.rep_a1,
        signed_on=date(2025, 5, 16),
        amount=f.Decimal("123456"),
    )
    login(org.rep_a1)
    page = client.get(reverse("alerts:report", args=[report.pk]))
    assert page.status_code == 200
    report.refresh_from_db()
    assert report.data["card"]["actual"] == before
    assert f'data-value="{before}"'.encode() in page.content
    wb = load_workbook(
        io.BytesIO(client.get(reverse("alerts:report_xlsx", args=[report.pk])).content)
    )
    assert wb["Summary"]["B6"].value == before


def test_reports_are_personal(monday, client, login):
    org = monday.org
    reports_send(kind="weekly", today=MONDAY)
    other = Report.objects.get(recipient=org.director)
    login(org.rep_a1)
    assert client.get(reverse("alerts:report", args=[other.pk])).status_code == 404
    assert client.get(reverse("alerts:report_xlsx", args=[other.pk])).status_code == 404
    login(org.director)
    assert client.get(reverse("alerts:report", args=[other.pk])).status_code == 200


def test_broken_smtp_server_keeps_the_report_and_retries(monday, smtp, time_machine):
    org = monday.org
    smtp.fail = 1000  # every message refused with 451
    reports_send(kind="weekly", today=MONDAY)
    report = Report.objects.get(recipient=org.director)
    d = Delivery.objects.get(report=report)
    assert d.status == "pending" and d.attempts == 1 and "451" in d.last_error
    smtp.fail = 0
    time_machine.move_to(at(MONDAY, 8, 2), tick=False)
    deliveries_send_due()
    d.refresh_from_db()
    assert d.status == "sent" and d.attempts == 2
    assert smtp.to(org.director.user.email)


def test_unreachable_smtp_server_gives_up_after_the_last_attempt(monday, settings, time_machine):
    from tests.alerts.conftest import free_port

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()  # nobody listens
    reports_send(kind="weekly", today=MONDAY)
    d = Delivery.objects.filter(channel="email").first()
    for minutes in (2, 10, 45, 170, 540, 1000):
        time_machine.move_to(at(MONDAY, 8) + f.timedelta(minutes=minutes), tick=False)
        deliveries_send_due()
    d.refresh_from_db()
    assert d.status == "failed" and d.attempts == 6
    assert Report.objects.filter(pk=d.report_id).exists()  # the report itself is kept


@pytest.mark.parametrize(
    "kind,start,day",
    [
        ("monthly", date(2025, 5, 1), date(2025, 6, 1)),
        ("quarterly", date(2025, 1, 1), date(2025, 4, 1)),
    ],
)
def test_review_report(scenario, kind, start, day, time_machine):
    org = scenario.org
    time_machine.move_to(at(day, 9), tick=False)
    reports_send(kind=kind, today=day)
    report = Report.objects.get(kind=kind, recipient=org.director)
    data = report.data
    assert report.period_start == start
    # results equal the dashboard of that closed period
    scope = resolve_scope(
        org.director.user,
        {"period": "month" if kind == "monthly" else "quarter", "on": start.isoformat()},
        today=day,
    )
    card = build_dashboard(scope).context["card"]
    assert data["card"]["actual"] == round(float(card.actual), 2)
    assert data["card"]["target"] == round(float(card.thresholds.target), 2)
    g = data["gaps"]["vs_last"]
    assert round(g["opportunities"] + g["win_rate"] + g["deal_size"], 2) == g["gap"]
    assert {"gap_last"} <= set(data["figures"])
    assert isinstance(data["actions"], list)
    wb = load_workbook(
        io.BytesIO(
            __import__("salesloop.alerts.reports.xlsx", fromlist=["x"]).report_workbook(report)
        )
    )
    assert "Gap by driver" in wb.sheetnames and "Actions" in wb.sheetnames


def test_weekly_report_counts_the_alerts_of_its_own_week(monday):
    from salesloop.alerts.models import Alert
    from salesloop.alerts.reports.services import report_build

    director = monday.org.director
    in_week = Alert.objects.filter(opened_at__date__range=(date(2025, 5, 12), date(2025, 5, 18)))
    assert in_week.count() == Alert.objects.count() > 0  # all opened on 15 May
    base = Alert.objects.first()
    # opened on the Monday at 06:00, before the 08:00 report: next week's news
    Alert.objects.create(
        rule=base.rule,
        subject_type=base.subject_type,
        subject_id=99_999,
        owner=base.owner,
        unit=base.unit,
        severity="info",
        title="Opened on Monday",
        opened_at=at(MONDAY, 6),
    )
    data = report_build(member=director, kind="weekly", today=MONDAY)
    assert data["changes"]["alerts_opened"] == in_week.count()
    assert data["risk_count"] == Alert.objects.filter(status="open").count()  # still a risk


def test_a_report_archived_before_the_axes_were_typed_still_draws_its_bars(
    scenario, client, login, time_machine
):
    """A monthly review compares with the month before, whose label ("2025-04") Plotly reads
    as a date when the axis type is not given: the stored figure is shown with category axes."""
    org = scenario.org
    time_machine.move_to(at(date(2025, 6, 1), 9), tick=False)
    reports_send(kind="monthly", today=date(2025, 6, 1))
    report = Report.objects.get(kind="monthly", recipient=org.director)
    # as archived then: the snapshot with its text and built figures, no axis type
    report.data = {k: v for k, v in report_present(report.data).items() if k != "v"}
    stored = report.data["figures"]["gap_last"]
    assert stored["data"][0]["x"][0] == "2025-04"
    del stored["layout"]["xaxis"]["type"]
    report.save(update_fields=["data"])
    login(org.director)
    html = client.get(reverse("alerts:report", args=[report.pk])).content.decode()
    shown = html.split('data-testid="chart-gap-last"')[0].rsplit("data-figure='", 1)[1]
    assert '"xaxis": {"type": "category"' in shown.replace("&quot;", '"')


@pytest.mark.parametrize("kind", ["weekly", "monthly"])
def test_a_reports_workbook_speaks_the_readers_language(scenario, time_machine, kind):
    """Every column head of every sheet is in Chinese for a Chinese reader (the report's own
    card headers included), none left in English."""
    from salesloop.alerts.reports.xlsx import report_workbook

    time_machine.move_to(at(MONDAY, 8), tick=False)
    reports_send(kind=kind, today=MONDAY if kind == "weekly" else date(2025, 6, 1))
    report = Report.objects.filter(kind=kind, recipient=scenario.org.director).first()
    assert report is not None
    with translation.override("zh-hans"):
        wb = load_workbook(io.BytesIO(report_workbook(report)))
    summary = wb.worksheets[0]
    heads = [(summary.title, c.value) for c in summary[5] if c.value]
    for ws in wb.worksheets[1:]:
        heads += [(ws.title, c.value) for c in ws[1] if c.value]
    assert len(heads) > 15
    english = [(sheet, h) for sheet, h in heads if str(h).isascii()]
    assert not english, english


def test_a_report_reads_large_counts_and_lists_as_a_chinese_reader_writes_them(
    monday, client, login
):
    """At scale the weekly report read 8752, 10613 and "甲 (张三, 2025-05-01); 乙 …", and a
    sure floor read 100%: now 8,752, the full-width brackets and semicolon, and > 99%."""
    org = monday.org
    reports_send(kind="weekly", today=MONDAY)
    report = Report.objects.get(recipient=org.director)
    data = report.data
    data["risk_count"] = 8752
    data["actions"]["overdue_count"] = 10613
    data["actions"]["stalled_total"] = 9715
    data["actions"]["overdue"] = [
        {"customer": "甲公司", "owner": "张三", "due": "2025-05-01", "subject": "回访"},
        {"customer": "乙公司", "owner": "李四", "due": "2025-05-02", "subject": "报价"},
    ]
    data["children"][0]["p_floor"] = 1.0
    Report.objects.filter(pk=report.pk).update(data=data)
    login(org.director)
    html = client.get(
        reverse("alerts:report", args=[report.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans"
    ).content.decode()
    assert "主要风险（8,752 条未解决预警）" in html
    assert (
        "<strong>10,613 条逾期跟进</strong>：甲公司（张三，2025-05-01）；乙公司（李四，2025-05-02）"
        in html
    )
    # what the stalled deals are, and which of them are alerts too (the two counts differed
    # with nothing to say why)
    assert (
        "9,715 个停滞商机需要确定下一步：在当前阶段停留的时间已超过五分之四的商机。"
        "停滞商机预警（见主要风险）针对金额在 ¥5万 及以上、在当前阶段停留超过 30 天的商机。"
    ) in html  # (this company's rule counts its own 30 days)
    assert "&gt; 99%" in html and ">100%<" not in html
    # the e-mails alike, as they are sent (from the stored snapshot, in the reader's language)
    from django.utils import translation

    from salesloop.alerts.reports.services import report_render

    data["card"]["p_floor"] = 1.0
    Report.objects.filter(pk=report.pk).update(data=data)
    report.refresh_from_db()
    with translation.override("en"):
        text, mail = report_render(report)
    assert "Overdue follow-ups: 10,613" in text and "reaching the floor: > 99%" in text
    assert "<strong>10,613</strong>" in mail and "&gt; 99%" in mail
    with translation.override("zh-hans"):  # "label: value" with the full-width colon
        text, _mail = report_render(report)
    assert "逾期跟进：10,613" in text and "完整报告：http" in text
    assert "实际：" in text and "Actual" not in text
    assert re.search(r"（底线 ¥[^，]+，挑战 ¥[^）]+）", text)
    assert re.search(r"签约 ¥[^，]+，赢单 \d+，新增预警 \d+", text)


def test_the_top_risks_take_each_kind_in_turn():
    """Eight reps' overdue follow-ups no longer fill the report's ten risks: each kind gives
    its most severe first, round by round, and severity orders what was picked."""
    from salesloop.alerts.models import Alert
    from salesloop.alerts.reports.builders import risk_kinds, top_risks

    def alert(name, rule, severity):
        return Alert(title=name, rule=rule, severity=severity)

    overdue = [alert(f"OF{i}", "overdue_followups", "critical") for i in range(1, 9)]
    quiet = alert("KQ1", "key_account_quiet", "critical")
    behind = [alert(f"BP{i}", "behind_pace", "warning") for i in (1, 2)]
    slipped = alert("SL1", "big_deal_slipped", "info")
    alerts = [overdue[0], quiet, *overdue[1:], *behind, slipped]  # severity first, as read
    assert [a.title for a in top_risks(alerts, 5)] == ["OF1", "KQ1", "OF2", "BP1", "SL1"]
    assert [a.title for a in top_risks(alerts)] == [
        "OF1", "KQ1", "OF2", "OF3", "OF4", "OF5", "OF6", "BP1", "BP2", "SL1",
    ]  # fmt: skip
    assert [a.title for a in top_risks(alerts[:3])] == ["OF1", "KQ1", "OF2"]
    assert top_risks([]) == []
    assert risk_kinds(alerts) == [
        ["overdue_followups", 8], ["behind_pace", 2], ["key_account_quiet", 1],
        ["big_deal_slipped", 1],
    ]  # fmt: skip


def test_the_top_risks_of_a_kind_are_the_weightiest_first():
    """Within a kind the alerts came newest first: a report showed a ¥55,000 deal stalled 81
    days and left out one of ¥1,666,000. Now by severity, then by what they are about: the
    deal's amount, the money behind pace, the overdue count."""
    from salesloop.alerts.models import Alert
    from salesloop.alerts.reports.builders import top_risks

    def alert(name, rule, severity="warning", **data):
        return Alert(title=name, rule=rule, severity=severity, data=data)

    stalled = [
        alert("small", "stalled_deal", amount="55000.00"),
        alert("big", "stalled_deal", amount="1666000.00"),
        alert("middle", "stalled_deal", amount="294000.00"),
        alert("critical", "stalled_deal", "critical", amount="60000.00"),
    ]
    assert [a.title for a in top_risks(stalled, 3)] == ["critical", "big", "middle"]
    behind = [
        alert("near", "behind_pace", expected="1000", actual="900"),
        alert("far", "behind_pace", expected="5000", actual="1000"),
    ]
    overdue = [
        alert("few", "overdue_followups", count=2),
        alert("many", "overdue_followups", count=9),
    ]
    picked = [a.title for a in top_risks([*behind, *overdue], 2)]
    assert picked == ["far", "many"]


def test_the_report_says_which_stalled_deals_are_alerts_too(monday, client, login):
    """The report counted every stalled deal under "Actions due" while "Top risks" counted the
    stalled-deal alerts (deals of ¥50,000 or more): two counts, nothing to say why they
    differed. It now says which are alerts, by the rule as it is set when the report is made."""
    from salesloop.alerts.models import AlertRule

    org = monday.org
    rule = AlertRule.objects.get(key="stalled_deal")
    rule.params = {"min_amount": 80000, "limit_days": None}
    rule.save()
    reports_send(kind="weekly", today=MONDAY)
    report = Report.objects.get(recipient=org.director)
    data = report.data
    assert data["actions"]["stalled_alerts"] == {"amount": 80000.0, "days": None}
    data["actions"]["stalled_total"] = 3
    Report.objects.filter(pk=report.pk).update(data=data)
    login(org.director)
    html = client.get(
        reverse("alerts:report", args=[report.pk]), HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert (
        "3 stalled deals need a next step: in their stage longer than four in five deals stay. "
        "Those of ¥80,000 or more are alerts too (Top risks)."
    ) in html
    rule.enabled = False
    rule.save()
    reports_send(kind="weekly", today=MONDAY + timedelta(days=7))
    later = Report.objects.filter(recipient=org.director).order_by("-pk").first()
    assert later.pk != report.pk and later.data["actions"]["stalled_alerts"] is None
