"""What salesloop sends a member (alerts, digests, weekly reports, their XLSX) is in that
member's own language when they chose one, else in the company's."""

from __future__ import annotations

import io
from datetime import date

import pytest
from openpyxl import load_workbook

from salesloop.alerts.models import Alert, Delivery, Notification, Report
from salesloop.alerts.reports.services import reports_send
from salesloop.alerts.services import digests_send, rules_evaluate
from tests.alerts.conftest import TODAY, at

pytestmark = pytest.mark.django_db
MONDAY = date(2025, 5, 19)


@pytest.fixture
def chinese_company(settings, scenario):
    """The company speaks Chinese; rep_a2 and mgr_a chose English, the others chose nothing."""
    settings.LANGUAGE_CODE = "zh-hans"
    org = scenario.org
    for member in (org.rep_a2, org.mgr_a):
        member.language = "en"
        member.save(update_fields=["language"])
    return scenario


def test_alerts_reach_each_member_in_their_language(chinese_company):
    org = chinese_company.org
    rules_evaluate(today=TODAY)
    english = Notification.objects.filter(recipient=org.rep_a2, alert__isnull=False)
    chinese = Notification.objects.filter(recipient=org.rep_b1, alert__isnull=False)
    assert english.exists() and chinese.exists()
    for note in english:
        assert note.title == note.alert.data["i18n"]["en"]["title"]
        assert note.title.isascii() or "Rep_A2" in note.title  # English sentences
    for note in chinese:
        assert note.title == note.alert.title  # stored in the company language
        assert not note.title.isascii()
    subjects = set(Delivery.objects.filter(recipient=org.rep_a2).values_list("subject", flat=True))
    assert subjects == {n.title for n in english}
    text = Delivery.objects.filter(recipient=org.rep_a2).first().text
    assert "What to do:" in text


def test_digests_are_in_each_members_language(chinese_company, time_machine):
    org = chinese_company.org
    time_machine.move_to(at(TODAY, 9), tick=False)
    rules_evaluate(today=TODAY)
    time_machine.move_to(at(TODAY, 20), tick=False)
    assert digests_send()["digests"] >= 2
    manager = Notification.objects.get(recipient=org.mgr_a, title__contains="igest")
    assert manager.title.startswith("Daily digest for Team A")
    team_alerts = Alert.objects.filter(unit=org.team_a) | Alert.objects.filter(
        owner__org_unit=org.team_a
    )
    assert any(a.data["i18n"]["en"]["title"] in manager.body for a in team_alerts)
    director = Notification.objects.get(recipient=org.director, title__contains="每日摘要")
    assert director.title.startswith("全公司")  # "the company" in Chinese
    assert any(a.title in director.body for a in Alert.objects.all())


def test_weekly_reports_and_their_workbooks_are_in_each_members_language(
    chinese_company, smtp, time_machine
):
    org = chinese_company.org
    rules_evaluate(today=TODAY)
    time_machine.move_to(at(MONDAY, 8), tick=False)
    assert reports_send(kind="weekly", today=MONDAY)["errors"] == {}
    english = Report.objects.get(kind="weekly", recipient=org.rep_a2)
    chinese = Report.objects.get(kind="weekly", recipient=org.rep_b1)
    assert english.title.startswith("Weekly progress report · Rep_A2")
    assert chinese.title.startswith("每周进度报告 · Rep_B1")
    for report, sheet in ((english, "Summary"), (chinese, "概要")):
        to = smtp.to(report.recipient.user.email)
        [msg] = [m for m in to if smtp.subject(m) == report.title]
        [book] = [p for p in msg.iter_attachments() if p.get_filename().endswith(".xlsx")]
        workbook = load_workbook(io.BytesIO(book.get_content()))
        assert workbook.sheetnames[0] == sheet


def test_alerts_read_money_as_the_pages_do_in_each_language(chinese_company):
    """¥30万 in the Chinese texts of an alert, ¥300,000 in its English ones (each written in
    its language, as the dashboards beside them)."""
    rules_evaluate(today=TODAY)
    slipped = Alert.objects.get(rule="big_deal_slipped")
    assert slipped.title == "大单移出 2025财年 Q2：Big slipped deal（¥30万）"
    assert slipped.data["i18n"]["en"]["title"] == (
        "Big deal slipped out of FY2025 Q2: Big slipped deal (¥300,000)"
    )
    [behind] = [
        a
        for a in Alert.objects.filter(rule="low_probability")
        if "Rep_A2" in a.data["i18n"]["en"]["title"]
    ]
    assert "¥8.6万" in behind.action and "¥86,000" in behind.data["i18n"]["en"]["message"]


def test_an_alerts_title_is_a_heading_and_a_contacts_a_job():
    """ "title" names two things: in Chinese an alert's, a notification's or a report's is a
    heading (标题), a contact's or a member's a job (职务); all five read 职务 before."""
    from django.utils import translation

    from salesloop.alerts.models import Alert, Notification, Report
    from salesloop.customers.models import Contact
    from salesloop.org.models import Member

    with translation.override("zh-hans"):
        for model in (Alert, Notification, Report):
            assert str(model._meta.get_field("title").verbose_name) == "标题"
        for model in (Contact, Member):
            assert str(model._meta.get_field("title").verbose_name) == "职务"
