"""A plan exported to XLSX: what a director lays out in Excel, read back from the file (openpyxl
and, where installed, LibreOffice), through the same visibility rule as the pages."""

from __future__ import annotations

import io
import shutil
import subprocess
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation
from openpyxl import load_workbook

from salesloop.targets import services as s
from salesloop.targets.export import plan_workbook
from salesloop.targets.models import Target
from salesloop.targets.planning import Inputs, recommend_plan

pytestmark = pytest.mark.django_db
HEADER_ROW = 4


@pytest.fixture
def active_plan(org, history, time_machine):
    """FY2027 computed from the history (booked revenue by line, visits), activated, and one
    target revised with a reason in July."""
    plan = s.plan_create(fiscal_year=2027, owner=org.director, actor=org.director.user)
    for metric in ("booked_revenue", "deals_won"):
        recommend_plan(plan=plan, metric=metric, inputs=Inputs(), actor=org.director.user)
    s.target_set_locked(
        target=Target.objects.get(
            plan=plan, member=org.rep_a2, metric="booked_revenue", product_line=None
        ),
        locked=True,
        actor=org.director.user,
    )
    s.plan_submit(plan=plan, actor=org.director.user)
    s.plan_approve(plan=plan, actor=org.admin.user)
    s.plan_activate(plan=plan, actor=org.admin.user)
    time_machine.move_to(date(2027, 7, 10))
    rep = Target.objects.get(
        plan=plan, member=org.rep_a1, metric="booked_revenue", product_line=None
    )
    s.target_revise(
        target=rep,
        floor=rep.floor + 1000,
        target_value=rep.target + 1000,
        stretch=rep.stretch + 1000,
        reason="=接手重点客户 took over a key account",
        actor=org.mgr_a.user,
    )
    plan.refresh_from_db()
    return plan


def _soffice(tmp_path, path, to):
    """``path`` converted by LibreOffice (headless, its own profile) into ``to`` in ``tmp_path``."""
    subprocess.run(
        [
            "soffice",
            f"-env:UserInstallation=file://{tmp_path}/profile",
            "--headless",
            "--convert-to",
            to,
            "--outdir",
            str(tmp_path),
            str(path),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )


def _sheet_rows(ws):
    header = [c.value for c in ws[HEADER_ROW]]
    return header, [
        dict(zip(header, (c.value for c in row), strict=True))
        for row in ws.iter_rows(min_row=HEADER_ROW + 1)
        if row[0].value is not None
    ]


def test_each_metric_a_sheet_with_the_tree_months_and_checks(org, active_plan):
    with translation.override("en"):
        wb = load_workbook(io.BytesIO(plan_workbook(user=org.director.user, plan=active_plan)))
    assert wb.sheetnames == ["Booked revenue", "Deals won", "Revisions"]
    ws = wb["Booked revenue"]
    assert ws["A1"].value == f"{active_plan} · Booked revenue"
    assert ws["A2"].value.startswith("Status: Active · exported ")
    header, rows = _sheet_rows(ws)
    months = [f"2027-{m:02d}" for m in range(1, 13)]
    assert header[:9] == [
        "Team / person",
        "Product line",
        "Floor",
        "Target",
        "Stretch",
        "Split by",
        "Locked",
        "SMART",
        "Why it is flagged",
    ]
    assert header[9:21] == months
    assert header[21] == "Row key"  # the round trip's key (targets.imports)
    targets = Target.objects.filter(plan=active_plan, metric="booked_revenue")
    assert len(rows) == targets.count()  # the director sees every target: total and each line
    lines = [r["Product line"] for r in rows]
    assert lines[0] == "All" and lines[-1] != "All"
    assert lines == sorted(lines, key=lambda v: (v != "All", v))  # total first, lines by name
    for t in targets.select_related("member", "unit", "product_line"):
        row = next(
            r
            for r in rows
            if r["Team / person"] == t.owner_name
            and r["Product line"] == (t.product_line.name if t.product_line else "All")
        )
        assert (Decimal(str(row["Floor"])), Decimal(str(row["Target"]))) == (t.floor, t.target)
        assert sum(Decimal(str(row[m] or 0)) for m in months) == t.target  # the months add up
        assert (row["Locked"] == "Yes") == t.locked
        flagged = [c for c in t.smart or [] if not c["ok"]]
        assert (row["SMART"] == "✓") == (not flagged)
        assert bool(row["Why it is flagged"]) == bool(flagged)
    assert ws.freeze_panes == f"C{HEADER_ROW + 1}"
    assert ws.cell(HEADER_ROW + 1, 3).number_format == "#,##0.00"
    _, won = _sheet_rows(wb["Deals won"])  # a count: whole numbers
    assert len(won) == Target.objects.filter(plan=active_plan, metric="deals_won").count()
    assert wb["Deals won"].cell(HEADER_ROW + 1, 4).number_format == "#,##0"


def test_revisions_sheet_has_the_reason_and_the_figures(org, active_plan):
    with translation.override("en"):
        wb = load_workbook(io.BytesIO(plan_workbook(user=org.director.user, plan=active_plan)))
    header, rows = _sheet_rows(wb["Revisions"])
    assert len(rows) == 1
    (rev,) = rows
    stored = active_plan.targets.get(member=org.rep_a1, product_line=None, metric="booked_revenue")
    assert rev["Target"] == f"{org.rep_a1.display_name} · Booked revenue"
    assert rev["By"] == org.mgr_a.display_name
    assert Decimal(str(rev["Target after"])) - Decimal(str(rev["Target before"])) == 1000
    assert Decimal(str(rev["Target after"])) == stored.target
    assert rev["Counts from"].startswith("2027-")
    assert rev["Reason"] == "'=接手重点客户 took over a key account"  # never run as a formula


def test_a_manager_exports_only_what_the_pages_show_them(org, active_plan, client, login):
    login(org.mgr_w)
    response = client.get(reverse("targets:export", args=[active_plan.pk]))
    assert response.status_code == 200
    wb = load_workbook(io.BytesIO(response.content))
    _, rows = _sheet_rows(wb[wb.sheetnames[0]])
    names = {r[next(iter(r))] for r in rows}
    assert org.rep_w1.display_name in names
    assert org.rep_a1.display_name not in names and org.rep_a2.display_name not in names
    _, revisions = _sheet_rows(wb[wb.sheetnames[-1]])
    assert all(org.rep_a1.display_name not in str(r) for r in revisions)  # not their team's


def test_the_queries_do_not_grow_with_the_targets(org, active_plan):
    with CaptureQueriesContext(connection) as queries:
        plan_workbook(user=org.director.user, plan=active_plan)
    # a few per metric and product line, none per target (there are dozens of targets)
    assert Target.objects.filter(plan=active_plan).count() > 40
    assert len(queries.captured_queries) <= 20


def test_the_sheets_speak_the_users_language(org, active_plan):
    with translation.override("zh-hans"):
        wb = load_workbook(io.BytesIO(plan_workbook(user=org.director.user, plan=active_plan)))
    assert wb.sheetnames == ["签约额", "赢单数", "调整记录"], wb.sheetnames
    header = [c.value for c in wb["签约额"][HEADER_ROW]]
    assert header[:5] == ["团队 / 个人", "产品线", "底线", "目标", "挑战"]


@pytest.mark.skipif(
    not shutil.which("soffice"),
    reason="LibreOffice is not installed (apt-get install libreoffice-calc-nogui)",
)
def test_libreoffice_reads_the_figures(org, active_plan, tmp_path):
    """A real spreadsheet program opens the file and reads the same figures."""
    path = tmp_path / "plan.xlsx"
    with translation.override("en"):
        path.write_bytes(plan_workbook(user=org.director.user, plan=active_plan))
    _soffice(tmp_path, path, "csv")
    lines = (tmp_path / "plan.csv").read_text(encoding="utf-8", errors="replace").splitlines()
    root = Target.objects.get(
        plan=active_plan, parent=None, metric="booked_revenue", product_line=None
    )
    first = next(line for line in lines if line.startswith(root.owner_name))
    assert f"{root.target:,.2f}" in first or str(root.target) in first


def test_the_sheets_print_on_a4_landscape_with_their_headings_on_every_page(org, active_plan):
    """Made for a meeting: A4 landscape, the heading row (and the names) on every printed page;
    a sheet narrow enough is shrunk to one page wide, the wide plan sheets print at full size."""
    wb = load_workbook(io.BytesIO(plan_workbook(user=org.director.user, plan=active_plan)))
    for ws in wb.worksheets:
        assert ws.page_setup.orientation == "landscape", ws.title
        assert str(ws.page_setup.paperSize) == "9", ws.title  # A4
        assert ws.oddFooter.right.text == "&P / &N"
    plan_sheet, revisions = wb.worksheets[0], wb.worksheets[-1]
    assert plan_sheet.print_title_rows == f"${HEADER_ROW}:${HEADER_ROW}"
    assert plan_sheet.print_title_cols == "$A:$B"  # the names and the product line
    assert not plan_sheet.sheet_properties.pageSetUpPr.fitToPage  # 22 columns: full size
    assert revisions.sheet_properties.pageSetUpPr.fitToPage
    assert revisions.page_setup.fitToWidth == 1 and revisions.page_setup.fitToHeight == 0


def _pdf_pages(tmp_path, name, data):
    """The size (width, height in points) of each page LibreOffice prints the workbook on."""
    import re

    path = tmp_path / f"{name}.xlsx"
    path.write_bytes(data)
    _soffice(tmp_path, path, "pdf")
    pdf = (tmp_path / f"{name}.pdf").read_bytes()
    boxes = re.findall(
        rb"/Type\s*/Page\b(?!s).*?/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)", pdf, re.S
    )
    return [(float(w), float(h)) for w, h in boxes]


@pytest.mark.skipif(
    not shutil.which("soffice"),
    reason="LibreOffice is not installed (apt-get install libreoffice-calc-nogui)",
)
def test_libreoffice_prints_the_reconciliation_on_one_landscape_page(
    org, active_plan, tmp_path, client, login
):
    """A real spreadsheet program prints the reconciliation of the small company (ten columns,
    a dozen rows) on a single A4 landscape page; Excel's defaults cut it into three portrait
    strips."""
    login(org.director)
    response = client.get(
        reverse("targets:reconcile_export", args=[active_plan.pk]) + "?metric=booked_revenue"
    )
    assert response.status_code == 200
    pages = _pdf_pages(tmp_path, "reconcile", response.content)
    assert len(pages) == 1, pages
    width, height = pages[0]
    assert width == pytest.approx(842, abs=2) and height == pytest.approx(595, abs=2)
