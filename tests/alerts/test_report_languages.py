"""A stored report reads in its reader's language, whatever language was active when it was
built: the page, the workbook, the notification centre and the report list (the figures the
same in every language); its email goes out in the recipient's own language; a report stored
with its text (before the snapshot was language-neutral) still shows."""

from __future__ import annotations

import io
import json
import re
from datetime import date

import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape
from openpyxl import load_workbook

from salesloop.alerts.models import Alert, Notification, Report
from salesloop.alerts.reports.present import report_present
from salesloop.alerts.reports.services import reports_send
from salesloop.alerts.services import rules_evaluate
from tests.alerts.conftest import TODAY, at, parts

pytestmark = pytest.mark.django_db
MONDAY = date(2025, 5, 19)
JUNE = date(2025, 6, 1)
CJK = re.compile(r"[\u4e00-\u9fff]")


def speaks(member, language: str) -> None:
    member.language = language
    member.save(update_fields=["language"])


def chart(page, key: str) -> dict:
    return json.loads(page.context["figures"][key])


def kpis(html: str) -> list[str]:
    return re.findall(r'data-testid="kpi-[a-z]+" data-value="([^"]*)"', html)


@pytest.fixture
def english_company(settings, scenario, time_machine):
    """The company speaks English; nobody chose a language: everything is built in English."""
    settings.LANGUAGE_CODE = "en"
    rules_evaluate(today=TODAY)
    time_machine.move_to(at(MONDAY, 8), tick=False)
    return scenario


def test_a_weekly_report_built_in_english_reads_in_chinese_with_the_same_figures(
    english_company, client, login
):
    org = english_company.org
    reports_send(kind="weekly", today=MONDAY)
    report = Report.objects.get(kind="weekly", recipient=org.director)
    assert report.title.startswith("Weekly progress report · Company")  # as it was sent
    login(org.director)
    english = client.get(reverse("alerts:report", args=[report.pk])).content.decode()

    speaks(org.director, "zh-hans")  # the director now reads Chinese
    page = client.get(reverse("alerts:report", args=[report.pk]))
    html = page.content.decode()
    assert page.context["title"].startswith("每周进度报告 · Company")
    assert "Weekly progress report" not in html
    assert "2025财年 Q2" in html and "FY2025" not in html  # the period's label
    # the top risks: the alerts' own Chinese words, their severity and rule in Chinese
    risks = report.data["risks"]
    assert risks
    for risk in risks:
        alert = Alert.objects.get(pk=risk["alert"])
        zh = alert.data["i18n"]["zh-hans"]
        assert escape(zh["title"]) in html
        assert escape(alert.title) not in html  # the English one
    assert "严重" in html or "警告" in html
    # the chart: labels and hovers in Chinese
    burn = chart(page, "burn_up")
    assert {"实际", "应完成（按季节性和工作日）"} <= {t["name"] for t in burn["data"]}
    assert all(CJK.search(a["text"]) for a in burn["layout"]["annotations"])
    # …and the same figures as the English page and the snapshot
    assert kpis(html) == kpis(english) and kpis(html)
    assert f'data-value="{report.data["card"]["actual"]}"' in html
    actual = next(t for t in burn["data"] if t["name"] == "实际")
    assert actual["y"] == report.data["figures"]["burn_up"]["series"]["actual"]

    book = load_workbook(
        io.BytesIO(client.get(reverse("alerts:report_xlsx", args=[report.pk])).content)
    )
    summary = book.worksheets[0]
    assert summary.title == "概要" and summary["A1"].value == page.context["title"]
    assert summary["B6"].value == report.data["card"]["actual"]
    risk_sheet = book.worksheets[[ws.title for ws in book.worksheets].index("风险")]
    assert [c.value for c in risk_sheet[2]][0] in ("严重", "警告", "提示")

    # the notification centre and the report list name it in Chinese too
    inbox = client.get(reverse("alerts:inbox")).content.decode()
    listing = client.get(reverse("alerts:reports")).content.decode()
    for text in (inbox, listing):
        assert escape(page.context["title"]) in text and "Weekly progress report" not in text


def test_a_review_built_in_chinese_reads_in_english_with_the_same_figures(
    settings, scenario, client, login, time_machine
):
    """East's manager's monthly review, built while Chinese was active (the company's
    language), read by the manager in English: the calibration finding, the recommended actions
    and the charts in English; back in Chinese, the same figures."""
    settings.LANGUAGE_CODE = "zh-hans"
    org = scenario.org
    time_machine.move_to(at(JUNE, 9), tick=False)
    reports_send(kind="monthly", today=JUNE)
    report = Report.objects.get(kind="monthly", recipient=org.east_mgr)
    assert report.title.startswith("月度复盘")
    speaks(org.east_mgr, "en")
    login(org.east_mgr)
    page = client.get(reverse("alerts:report", args=[report.pk]))
    html = page.content.decode()
    data = page.context["data"]
    assert page.context["title"] == "Monthly review · East · 2025-05"
    assert "members were below 80% of pace" in data["calibration"]["message"]
    assert escape(data["calibration"]["message"]) in html
    texts = [a["text"] for a in data["actions"]]
    assert len(texts) == 3 and texts[0].startswith("Too few deals were closed")
    assert all(t.startswith("Revise ") for t in texts[1:])
    assert not any(CJK.search(t) for t in [*texts, data["calibration"]["message"]])
    gap = chart(page, "gap_target")["data"][0]
    assert gap["x"][1:4] == ["Opportunities", "Win<br>rate", "Deal<br>size"]
    assert gap["x"][4] == "Won"  # a month reviewed once over: won, not "won to date"
    assert chart(page, "gap_last")["data"][0]["x"][0] == "2025-04"  # the month before
    assert [t["name"] for t in chart(page, "gap_children")["data"]] == [
        "Opportunities",
        "Win rate",
        "Deal size",
    ]

    speaks(org.east_mgr, "zh-hans")
    zh = client.get(reverse("alerts:report", args=[report.pk]))
    zh_data = zh.context["data"]
    assert zh.context["title"] == "月度复盘 · East · 2025-05"
    assert all(CJK.search(a["text"]) for a in zh_data["actions"])
    assert CJK.search(zh_data["calibration"]["message"])
    assert chart(zh, "gap_target")["data"][0]["x"][1:4] == ["商机", "赢单率", "单笔金额"]
    # the change tables head their reference column with the month compared with (the column
    # read "上一页", a pager's "previous page")
    assert (
        '<th class="num">2025-04</th>' in zh.content.decode()
        and "上一页" not in zh.content.decode()
    )
    # the figures do not depend on the language
    assert kpis(zh.content.decode()) == kpis(html)
    assert chart(zh, "gap_target")["data"][0]["y"] == gap["y"]
    for en_a, zh_a in zip(data["actions"], zh_data["actions"], strict=True):
        assert en_a["effect"] == zh_a["effect"]
    assert (
        zh_data["gaps"] == data["gaps"]
        and zh_data["adjustments"][0]["new"] == (data["adjustments"][0]["new"])
    )


def test_report_emails_go_out_in_each_recipients_own_language(english_company, smtp):
    """The company speaks English; rep_b1 chose Chinese: their email (subject, text, HTML and
    workbook) is Chinese, rep_a2's (no choice) English."""
    org = english_company.org
    speaks(org.rep_b1, "zh-hans")
    assert reports_send(kind="weekly", today=MONDAY)["errors"] == {}
    for member, subject, words, sheet in (
        (org.rep_b1, "每周进度报告 · Rep_B1", ("主要风险", "2025财年 Q2"), "概要"),
        (org.rep_a2, "Weekly progress report · Rep_A2", ("Top risks", "FY2025 Q2"), "Summary"),
    ):
        report = Report.objects.get(kind="weekly", recipient=member)
        [msg] = [m for m in smtp.to(member.user.email) if smtp.subject(m) == report.title]
        assert report.title.startswith(subject)
        text, html = parts(msg)
        for word in words:
            assert word in text and word in html
        [book] = [p for p in msg.iter_attachments() if p.get_filename().endswith(".xlsx")]
        assert load_workbook(io.BytesIO(book.get_content())).sheetnames[0] == sheet
    chinese = parts(
        next(m for m in smtp.to(org.rep_b1.user.email) if smtp.subject(m).startswith("每周"))
    )[0]
    assert "Top risks" not in chinese and "FY2025" not in chinese


def test_the_snapshot_is_stored_without_sentences(settings, scenario, time_machine):
    """What a report stores is figures, keys and parameters; the words are written when it is
    read (the alerts' own words kept in both languages)."""
    settings.LANGUAGE_CODE = "zh-hans"
    rules_evaluate(today=TODAY)
    time_machine.move_to(at(MONDAY, 8), tick=False)
    reports_send(kind="weekly", today=MONDAY)
    time_machine.move_to(at(JUNE, 9), tick=False)
    reports_send(kind="monthly", today=JUNE)
    weekly = Report.objects.get(kind="weekly", recipient=scenario.org.director).data
    review = Report.objects.get(kind="monthly", recipient=scenario.org.east_mgr).data
    for data in (weekly, review):
        assert "label" not in data["period"] and data["card"]["label"] is None
        assert not CJK.search(json.dumps({k: v for k, v in data.items() if k != "risks"}))
        assert all("data" not in f for f in data["figures"].values())  # no built figure
    assert isinstance(review["period"]["previous"], dict)
    assert "message" not in review["calibration"] and all(
        "text" not in a for a in review["actions"]
    )
    for risk in weekly["risks"]:
        assert set(risk["title"]) == set(risk["action"]) == {"zh-hans", "en"}
        assert CJK.search(risk["title"]["zh-hans"]) and not CJK.search(risk["title"]["en"])


def test_a_report_stored_with_its_text_still_shows(english_company, client, login):
    """A report stored before the snapshot was language-neutral (its text as built, its figures
    drawn) is shown as it was stored, to a reader of either language."""
    org = english_company.org
    reports_send(kind="weekly", today=MONDAY)
    report = Report.objects.get(kind="weekly", recipient=org.director)
    with translation.override("en"):
        legacy = {k: v for k, v in report_present(report.data).items() if k != "v"}
    for r in legacy["risks"]:
        del r["rule_label"]
        r["rule"] = "Stalled deal"  # the rule's name then, not its key
    report.data = legacy
    report.save(update_fields=["data"])
    speaks(org.director, "zh-hans")
    login(org.director)
    page = client.get(reverse("alerts:report", args=[report.pk]))
    html = page.content.decode()
    assert page.status_code == 200 and page.context["title"] == report.title
    assert "FY2025 Q2" in html and "Stalled deal" in html  # as stored
    assert "主要风险" in html  # the page's own headings in the reader's language
    assert chart(page, "burn_up")["data"][1]["name"] == "Actual"
    assert f'data-value="{legacy["card"]["actual"]}"' in html
    book = client.get(reverse("alerts:report_xlsx", args=[report.pk]))
    assert load_workbook(io.BytesIO(book.content)).worksheets[0]["A1"].value == report.title
    assert client.get(reverse("alerts:inbox")).status_code == 200
    assert escape(report.title) in client.get(reverse("alerts:reports")).content.decode()
    note = Notification.objects.get(report=report)
    assert note.localized("title", "zh-hans") == report.title


def test_a_reviews_workbook_writes_its_actions_in_the_readers_language(
    settings, scenario, client, login, time_machine
):
    """The review built in English, its workbook downloaded by a Chinese reader: the actions'
    kinds and sentences in Chinese, their effects the same. Needs the zh-Hans catalogue entries
    of the action kinds ("Gap driver", "Target adjustment")."""
    settings.LANGUAGE_CODE = "en"
    org = scenario.org
    time_machine.move_to(at(JUNE, 9), tick=False)
    reports_send(kind="monthly", today=JUNE)
    report = Report.objects.get(kind="monthly", recipient=org.east_mgr)
    speaks(org.east_mgr, "zh-hans")
    login(org.east_mgr)
    book = load_workbook(
        io.BytesIO(client.get(reverse("alerts:report_xlsx", args=[report.pk])).content)
    )
    assert book.worksheets[0]["A1"].value == "月度复盘 · East · 2025-05"
    rows = [[c.value for c in row] for row in book["建议措施"].iter_rows(min_row=2)]
    assert [r[0] for r in rows] == ["差距驱动因素", "目标调整", "目标调整"]
    assert all(CJK.search(r[1]) for r in rows)
    with translation.override("en"):
        effects = [a["effect"] for a in report_present(report.data)["actions"]]
    assert [r[2] for r in rows] == effects


def test_recommended_actions_read_money_as_the_page_does():
    """¥3,572,190 in English, ¥357.2万 in Chinese (as the cards and tables beside them); a
    target's change signed: +¥…, −¥…."""
    from salesloop.alerts.reports.present import action_text

    driver = {"kind": "driver", "driver": "deal_size", "amount": 3572190.4}
    bottleneck = {
        "kind": "bottleneck",
        "name": "宁秀梅",
        "stage": "商务谈判 → 赢单",
        "conversion": 0.25,
        "team_median": 0.6,
        "gain": 280011.0,
    }
    revise = {
        "kind": "target",
        "name": "Rep_A1",
        "old": 1200000.0,
        "new": 950000.0,
        "change": -250000.0,
        "median_pace": 0.62,
    }
    with translation.override("en"):
        assert action_text(driver).endswith("deal size explains ¥3,572,190 of the gap.")
        assert action_text(bottleneck).endswith("would have added ¥280,011.")
        assert "from ¥1,200,000 to ¥950,000 (−¥250,000)" in action_text(revise)
        assert "(+¥250,000)" in action_text({**revise, "change": 250000.0})
    with translation.override("zh-hans"):
        assert "单笔金额解释了差距中的 ¥357.2万" in action_text(driver)
        assert action_text(bottleneck).endswith("可多带来 ¥28万。")
        assert "从 ¥120万 调整为 ¥95万（−¥25万）" in action_text(revise)


def test_lists_write_titles_from_the_snapshots_title_keys_only(
    english_company, client, login, django_assert_num_queries
):
    """The report list and the notification centre read the few snapshot keys a title needs —
    not each report's snapshot and email — in as many queries for four reports as for one; the
    titles are those the report page shows."""
    from datetime import timedelta

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from salesloop.alerts import selectors

    org = english_company.org
    reports_send(kind="weekly", today=MONDAY)
    speaks(org.director, "zh-hans")
    login(org.director)
    [report] = selectors.report_list(user=org.director.user)
    assert {"data", "html", "text"} <= report.get_deferred_fields()
    with translation.override("zh-hans"):
        assert report.localized_title() == Report.objects.get(pk=report.pk).localized_title()

    def queries(name: str) -> int:
        with CaptureQueriesContext(connection) as seen:
            assert client.get(reverse(name)).status_code == 200
        return len(seen.captured_queries)

    client.get(reverse("alerts:reports"))  # the session warmed
    one = {name: queries(name) for name in ("alerts:reports", "alerts:inbox")}
    full = Report.objects.get(pk=report.pk)
    notice = Notification.objects.get(report=full)
    for weeks in (1, 2, 3):  # three more weeks' reports, each with its notification
        shifted = timedelta(weeks=weeks)
        more = Report.objects.create(
            kind=full.kind,
            recipient=full.recipient,
            period_start=full.period_start - shifted,
            period_end=full.period_end - shifted,
            title=full.title,
            data=full.data,
            text=full.text,
            html=full.html,
        )
        Notification.objects.create(
            recipient=notice.recipient,
            report=more,
            title=notice.title,
            body=notice.body,
            link=notice.link,
            severity=notice.severity,
        )
    assert {name: queries(name) for name in one} == one
    title = full.localized_title("zh-hans")
    assert title.startswith("每周进度报告")
    for name in one:
        assert client.get(reverse(name)).content.decode().count(escape(title)) == 4
