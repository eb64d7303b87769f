"""A plan's workbook back from Excel (targets.imports): the exported file, changed with openpyxl
as a director would change it in Excel, uploaded through the pages; what is written, what is
refused and that a refused file changes nothing."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import connection, connections
from django.urls import reverse
from django.utils import translation
from openpyxl import Workbook, load_workbook

from salesloop.common.models import AuditEvent
from salesloop.targets import services as s
from salesloop.targets.export import plan_workbook
from salesloop.targets.models import Revision, Target, TargetMonth
from salesloop.targets.planning import Inputs, recommend_plan
from tests.factories import set_levels, team_a_plan
from tests.factories import target_node as node

pytestmark = pytest.mark.django_db
D = Decimal
HEADER_ROW = 4
MONTHS = [f"2027-{m:02d}" for m in range(1, 13)]


@pytest.fixture
def draft(org):
    plan, team = team_a_plan(org)
    return plan


def exported(user, plan, language="en"):
    with translation.override(language):
        return load_workbook(io.BytesIO(plan_workbook(user=user, plan=plan)))


def row_of(ws, owner, line=None):
    """The row (cells by header) of ``owner`` (and product line) on a metric sheet."""
    header = [c.value for c in ws[HEADER_ROW]]
    for row in ws.iter_rows(min_row=HEADER_ROW + 1):
        cells = dict(zip(header, row, strict=True))
        if cells[header[0]].value == owner and (line is None or cells[header[1]].value == line):
            return cells
    raise AssertionError(f"no row for {owner}")


def as_file(wb, name="plan.xlsx"):
    buffer = io.BytesIO()
    wb.save(buffer)
    buffer.seek(0)
    buffer.name = name
    return buffer


def snapshot(plan):
    """Everything an import may change, to prove that a refused one changed nothing."""
    return (
        list(
            Target.objects.filter(plan=plan)
            .order_by("pk")
            .values_list("pk", "floor", "target", "stretch", "locked", "method", "lock_version")
        ),
        list(
            TargetMonth.objects.filter(target__plan=plan)
            .order_by("target", "month")
            .values_list("target_value", flat=True)
        ),
        AuditEvent.objects.count(),
    )


def check(client, plan, wb):
    return client.post(reverse("targets:import", args=[plan.pk]), {"file": as_file(wb)})


def payload(response):
    return re.search(r'name="payload" value="([^"]+)"', response.content.decode()).group(1)


def apply(client, plan, response):
    return client.post(
        reverse("targets:import_apply", args=[plan.pk]), {"payload": payload(response)}
    )


def test_the_exported_rows_carry_their_key(org, draft):
    ws = exported(org.director.user, draft)["Booked revenue"]
    header = [c.value for c in ws[HEADER_ROW]]
    assert header[-1] == "Row key"
    rep = node(draft, member=org.rep_a1)
    assert row_of(ws, "Rep_A1")["Row key"].value == f"T{rep.pk}/{rep.lock_version}"


def test_an_unchanged_workbook_is_read_and_changes_nothing(client, org, draft, login):
    login(org.director)
    before = snapshot(draft)
    response = check(client, draft, exported(org.director.user, draft))
    assert response.status_code == 200
    reading = response.context["reading"]
    assert reading.errors == [] and reading.edits == []
    assert reading.rows == reading.unchanged == Target.objects.filter(plan=draft).count()
    assert b'data-testid="import-nothing"' in response.content
    assert snapshot(draft) == before


def test_changed_levels_and_months_are_previewed_then_applied(client, org, draft, login):
    login(org.director)
    rep1, rep2, team = (
        node(draft, member=org.rep_a1),
        node(draft, member=org.rep_a2),
        node(draft, unit=org.team_a),
    )
    team_before = (team.floor, team.target, team.stretch)
    wb = exported(org.director.user, draft)
    ws = wb["Booked revenue"]
    row = row_of(ws, "Rep_A1")
    row["Floor"].value, row["Target"].value, row["Stretch"].value = 350000, "¥420,000", "50万"
    # rep_a2's year typed month by month: 20,000 a month to November, December the rest
    months = [20000.0] * 11 + [float(rep2.target) - 220000]
    assert months[-1] > 0
    for label, value in zip(MONTHS, months, strict=True):
        row_of(ws, "Rep_A2")[label].value = value
    response = check(client, draft, wb)
    assert response.status_code == 200, response.context["reading"].errors
    reading = response.context["reading"]
    assert reading.errors == []
    by_id = {e.target_id: e for e in reading.edits}
    assert set(by_id) == {rep1.pk, rep2.pk}
    assert by_id[rep1.pk].levels == (D("350000.00"), D("420000.00"), D("500000.00"))
    assert by_id[rep1.pk].before == (rep1.floor, rep1.target, rep1.stretch)
    assert by_id[rep2.pk].levels is None and by_id[rep2.pk].months_note == ""
    # Team A's people no longer add up to it: said before anything is written
    gap = rep1.target - D("420000")
    assert [w for w in reading.warnings if "Team A" in w], reading.warnings
    assert f"{team.target - gap:,.0f}" in " ".join(reading.warnings)
    assert node(draft, member=org.rep_a1).target == rep1.target  # nothing written yet

    response = apply(client, draft, response)
    assert response.status_code == 302
    rep1.refresh_from_db()
    assert (rep1.floor, rep1.target, rep1.stretch) == (D(350000), D(420000), D(500000))
    assert sum(TargetMonth.objects.filter(target=rep1).values_list("target_value", flat=True)) == D(
        420000
    )
    assert [
        float(v)
        for v in TargetMonth.objects.filter(target=rep2)
        .order_by("month")
        .values_list("target_value", flat=True)
    ] == months
    team.refresh_from_db()
    assert (team.floor, team.target, team.stretch) == team_before  # the parent is left as is
    actions = list(AuditEvent.objects.order_by("-pk").values_list("action", flat=True)[:3])
    assert actions[0] == "plan.import"
    assert {"target.import", "target.months"} <= set(actions)
    event = AuditEvent.objects.filter(action="plan.import").get()
    assert event.changes == {"file": [None, "plan.xlsx"], "targets": [None, 2]}


def test_a_chinese_export_comes_back_with_locks_and_methods(client, org, draft, login):
    login(org.director)
    with translation.override("zh-hans"):
        wb = exported(org.director.user, draft, "zh-hans")
        ws = wb.worksheets[0]
        header = [c.value for c in ws[HEADER_ROW]]
        assert header[0] == "团队 / 个人" and header[-1] != "Row key"
    lock_col, method_col = header.index("锁定"), header.index("分解方式")
    for row in ws.iter_rows(min_row=HEADER_ROW + 1):
        if row[0].value == "Rep_A2":
            row[lock_col].value = "是"
        if row[0].value == "Team A":
            row[method_col].value = "平均分配"
    response = check(client, draft, wb)  # read in English
    reading = response.context["reading"]
    assert reading.errors == [], reading.errors
    assert {(e.locked, e.method) for e in reading.edits} == {(True, None), (None, "equal")}
    assert apply(client, draft, response).status_code == 302
    assert node(draft, member=org.rep_a2).locked is True
    assert node(draft, unit=org.team_a).method == "equal"


@pytest.mark.parametrize(
    ("cells", "message"),
    [
        ({"Floor": 500000, "Target": 400000}, "must not exceed the target"),
        ({"Target": -5}, "cannot be negative"),
        ({"Target": "a lot"}, "is not a number"),
        ({"Target": "4,00,000"}, "is not a number (4,00,000)"),
        ({"Target": "4e5"}, "is not a number (4e5)"),
        ({"Target": 400000.125}, "more decimal places"),
        ({"Target": None}, "is empty"),
        ({"Split by": "by gut feeling"}, "is not a split method"),
        ({"Row key": "T1/x"}, "the row key"),
        ({"Row key": "T999999/1"}, "is not a target of"),
    ],
)
def test_a_bad_row_refuses_the_whole_file(client, org, draft, login, cells, message):
    login(org.director)
    before = snapshot(draft)
    wb = exported(org.director.user, draft)
    ws = wb["Booked revenue"]
    row_of(ws, "Rep_A2")["Target"].value = 1  # a good change that must not land either
    row = row_of(ws, "Rep_A1")
    for name, value in cells.items():
        row[name].value = value
    response = check(client, draft, wb)
    assert response.status_code == 400
    errors = response.context["reading"].errors
    assert any(message in e for e in errors), errors
    assert any(e.startswith("Booked revenue!") for e in errors)  # where, as sheet!row
    assert b"import-apply" not in response.content
    assert snapshot(draft) == before


def test_every_bad_cell_of_a_row_is_named_and_figures_read_as_money(client, org, draft, login):
    login(org.director)
    wb = exported(org.director.user, draft)
    ws = wb["Booked revenue"]
    row = row_of(ws, "Rep_A1")
    row["Floor"].value, row["Target"].value = "lots", -3  # two bad cells in one row
    response = check(client, draft, wb)
    errors = response.context["reading"].errors
    assert any("Floor is not a number (lots)" in e for e in errors), errors
    assert any("Target cannot be negative (-3)" in e for e in errors), errors
    # the order check names the figures as the plan page shows them, not raw decimals
    wb = exported(org.director.user, draft)
    row = row_of(wb["Booked revenue"], "Rep_A2")
    row["Floor"].value, row["Target"].value, row["Stretch"].value = 1234567.5, 1000000, 2000000
    errors = check(client, draft, wb).context["reading"].errors
    assert any("floor (¥1,234,567.50)" in e and "target (¥1,000,000)" in e for e in errors), errors


def test_a_count_metric_takes_whole_numbers(client, org, draft, login, history):
    recommend_plan(plan=draft, metric="deals_won", inputs=Inputs(), actor=org.director.user)
    login(org.director)
    wb = exported(org.director.user, draft)
    row = row_of(wb["Deals won"], "Rep_A1", "All")
    row["Stretch"].value = row["Stretch"].value + 0.5
    response = check(client, draft, wb)
    assert any("more decimal places" in e for e in response.context["reading"].errors)


def test_a_duplicated_row_is_refused(client, org, draft, login):
    login(org.director)
    wb = exported(org.director.user, draft)
    ws = wb["Booked revenue"]
    ws.append([c.value for c in row_of(ws, "Rep_A1").values()])
    response = check(client, draft, wb)
    assert any("appears twice" in e for e in response.context["reading"].errors)


def test_a_row_added_by_hand_is_refused_not_skipped(client, org, draft, login):
    """A new person typed under the others, without a row key: the file was read as "no
    change" and the row quietly ignored."""
    login(org.director)
    wb = exported(org.director.user, draft)
    ws = wb["Booked revenue"]
    added = [c.value for c in row_of(ws, "Rep_A1").values()]
    header = next(r for r in ws.iter_rows(values_only=True) if "Row key" in r)
    key_col = header.index("Row key")
    added[key_col] = None
    added[0] = "新人甲"
    ws.append(added)
    ws.append([None] * len(added))  # an empty row stays quiet
    response = check(client, draft, wb)
    errors = response.context["reading"].errors
    assert len(errors) == 1 and "a row without a row key (新人甲" in errors[0], errors
    assert "rows cannot be added in the workbook" in errors[0]


def test_what_is_not_a_plan_workbook_is_refused(client, org, draft, login):
    login(org.director)
    before = snapshot(draft)
    response = client.post(
        reverse("targets:import", args=[draft.pk]),
        {"file": io.BytesIO(b"name,target\nrep_a1,1\n")},
    )
    assert "not an XLSX workbook" in " ".join(response.context["reading"].errors)
    other = Workbook()
    other.active.append(["Name", "Target"])
    other.active.append(["Rep_A1", 1])
    response = check(client, draft, other)
    assert "no rows with a row key" in " ".join(response.context["reading"].errors)
    response = client.post(reverse("targets:import", args=[draft.pk]), {})
    assert response.status_code == 400 and "Choose the workbook" in response.context["error"]
    assert snapshot(draft) == before


def test_a_target_changed_after_the_export_is_never_overwritten(client, org, draft, login):
    login(org.director)
    wb = exported(org.director.user, draft)
    row_of(wb["Booked revenue"], "Rep_A1")["Target"].value = 450000
    rep1 = node(draft, member=org.rep_a1)
    # meanwhile the manager sets rep_a1 in salesloop
    s.target_set(
        target=rep1,
        floor=rep1.floor,
        target_value=rep1.floor + 1,
        stretch=rep1.stretch,
        actor=org.mgr_a.user,
    )
    before = snapshot(draft)
    response = check(client, draft, wb)
    errors = response.context["reading"].errors
    assert any(
        "Rep_A1" in e and "changed in salesloop after this file was exported" in e for e in errors
    )
    assert snapshot(draft) == before


def test_a_change_between_the_preview_and_applying_it_refuses_all(client, org, draft, login):
    login(org.director)
    wb = exported(org.director.user, draft)
    row_of(wb["Booked revenue"], "Rep_A1")["Target"].value = 450000
    row_of(wb["Booked revenue"], "Rep_A2")["Target"].value = 420000
    preview = check(client, draft, wb)
    assert len(preview.context["reading"].edits) == 2
    rep2 = node(draft, member=org.rep_a2)
    s.target_set_locked(target=rep2, locked=True, actor=org.mgr_a.user)
    before = snapshot(draft)
    response = apply(client, draft, preview)
    assert response.status_code == 409
    assert any("Rep_A2" in e for e in response.context["reading"].errors)
    assert b'data-testid="import-file"' in response.content  # upload the file again from here
    assert b'data-testid="import-not-draft"' not in response.content
    assert snapshot(draft) == before  # rep_a1's change did not land either


def test_a_tampered_or_foreign_preview_is_refused(client, org, draft, login):
    login(org.director)
    wb = exported(org.director.user, draft)
    row_of(wb["Booked revenue"], "Rep_A1")["Target"].value = 450000
    preview = check(client, draft, wb)
    before = snapshot(draft)
    url = reverse("targets:import_apply", args=[draft.pk])
    response = client.post(url, {"payload": payload(preview)[:-3] + "abc"})
    assert response.status_code == 400 and "could not be read" in response.context["error"]
    login(org.admin)  # the preview was the director's
    response = client.post(url, {"payload": payload(preview)})
    assert response.status_code == 400 and "another plan or user" in response.context["error"]
    assert snapshot(draft) == before


def test_a_manager_imports_only_below_themselves(client, org, draft, login):
    login(org.mgr_a)
    wb = exported(org.mgr_a.user, draft)
    ws = wb["Booked revenue"]
    row_of(ws, "Rep_A1")["Target"].value = 450000
    row_of(ws, "Mgr_A")["Target"].value = row_of(ws, "Mgr_A")["Stretch"].value
    response = check(client, draft, wb)
    errors = response.context["reading"].errors
    assert len(errors) == 1 and "you may not set Mgr_A" in errors[0]
    row_of(ws, "Mgr_A")["Target"].value = node(draft, member=org.mgr_a).target
    response = check(client, draft, wb)
    assert response.context["reading"].errors == []
    assert apply(client, draft, response).status_code == 302
    assert node(draft, member=org.rep_a1).target == D(450000)


@pytest.mark.parametrize("role", ["rep_a1", "viewer_a"])
def test_readers_cannot_import(client, org, draft, login, role):
    login(getattr(org, role))
    assert client.get(reverse("targets:import", args=[draft.pk])).status_code == 403
    assert client.post(reverse("targets:import_apply", args=[draft.pk])).status_code == 403


def test_only_a_draft_takes_an_import(client, org, draft, login):
    login(org.director)
    wb = exported(org.director.user, draft)
    row_of(wb["Booked revenue"], "Rep_A1")["Target"].value = 450000
    s.plan_submit(plan=draft, actor=org.director.user)
    page = client.get(reverse("targets:import", args=[draft.pk]))
    assert b'data-testid="import-not-draft"' in page.content
    assert b'data-testid="import-file"' not in page.content
    before = snapshot(draft)
    response = check(client, draft, wb)
    assert "an import changes a draft plan, or the active plan" in " ".join(
        response.context["reading"].errors
    )
    assert snapshot(draft) == before


@pytest.fixture
def lines_plan(org, history):
    """A draft FY2027 recommended from the history (booked revenue by product line); with
    Rep_A2's total and Software line targets."""
    plan = s.plan_create(fiscal_year=2027, owner=org.director, actor=org.director.user)
    recommend_plan(plan=plan, metric="booked_revenue", inputs=Inputs(), actor=org.director.user)
    total = node(plan, member=org.rep_a2)
    software = Target.objects.get(plan=plan, member=org.rep_a2, product_line=org.product_line)
    return plan, total, software


def test_totals_land_before_their_product_lines(client, org, login, lines_plan):
    """A file that changes rep_a2's total and one of its lines: the total's change realigns
    the lines first, then the line typed in the file is written as typed."""
    plan, total, software = lines_plan
    login(org.director)
    wb = exported(org.director.user, plan)
    ws = wb["Booked revenue"]
    new_total = (total.target + 100000).quantize(D(1))
    row = row_of(ws, "Rep_A2", "All")
    row["Target"].value = float(new_total)
    row["Stretch"].value = float(max(total.stretch, new_total))
    line_row = row_of(ws, "Rep_A2", "Software")
    line_row["Target"].value = float(software.target + 7)
    line_row["Stretch"].value = float(software.stretch + 7)
    response = check(client, plan, wb)
    assert response.context["reading"].errors == [], response.context["reading"].errors
    assert apply(client, plan, response).status_code == 302
    assert node(plan, member=org.rep_a2).target == new_total
    software.refresh_from_db()
    assert software.target == D(str(line_row["Target"].value)).quantize(D("0.01"))


def test_an_active_plan_takes_an_import_as_revisions_with_a_reason(
    client, org, draft, login, time_machine
):
    """In July of the plan's year: Rep_A1's year raised by 12,000 in the file becomes a
    revision with the import's reason, counting from July (January to June keep their
    targets); without a reason, or with a lock changed, nothing is written."""
    s.plan_submit(plan=draft, actor=org.director.user)
    s.plan_approve(plan=draft, actor=org.admin.user)
    s.plan_activate(plan=draft, actor=org.admin.user)
    time_machine.move_to(datetime(2027, 7, 10, 10, 0, tzinfo=UTC))
    login(org.director)
    rep = node(draft, member=org.rep_a1)
    months_before = list(rep.months.order_by("month").values_list("target_value", flat=True))
    wb = exported(org.director.user, draft)
    row = row_of(wb["Booked revenue"], "Rep_A1")
    row["Target"].value, row["Stretch"].value = (
        float(rep.target + 12000),
        float(rep.stretch + 12000),
    )
    row["Stretch"].value = float(rep.stretch + 12000)
    page = client.get(reverse("targets:import", args=[draft.pk]))
    assert b'data-testid="import-reason"' in page.content
    before = snapshot(draft)
    response = check(client, draft, wb)  # no reason
    assert any("Give the reason" in e for e in response.context["reading"].errors)
    row_of(wb["Booked revenue"], "Rep_A2")["Locked"].value = "Yes"
    response = client.post(
        reverse("targets:import", args=[draft.pk]),
        {"file": as_file(wb), "reason": "大客户提前签约 a key account signed early"},
    )
    errors = response.context["reading"].errors
    assert len(errors) == 1 and "locks and split methods do not change" in errors[0]
    assert snapshot(draft) == before
    row_of(wb["Booked revenue"], "Rep_A2")["Locked"].value = None
    # Rep_A2 +60,000 with the stretch as it was: January to June keep their months, which
    # leaves July to December less room between target and stretch (6 × 8,333) than that —
    # found by the preview's rolled-back dry run, not by Apply
    rep2 = node(draft, member=org.rep_a2)
    assert rep2.stretch - rep2.target == 100000
    row_of(wb["Booked revenue"], "Rep_A2")["Target"].value = float(rep2.target + 60000)
    row["Stretch"].value = float(rep.stretch)  # Rep_A1 +12,000 alone fits; with it, both fail
    row["Target"].value = float(rep.target + 60000)
    response = client.post(
        reverse("targets:import", args=[draft.pk]),
        {"file": as_file(wb), "reason": "大客户提前签约 a key account signed early"},
    )
    errors = response.context["reading"].errors
    assert len(errors) == 2, errors  # every row that cannot be written, not only the first
    assert all("Raise the stretch to at least" in e for e in errors), errors
    assert {e.split(": ")[1] for e in errors} == {
        "Rep_A1 · Booked revenue",
        "Rep_A2 · Booked revenue",
    }
    assert {"Rep_A1", "Rep_A2"} == {n for n in ("Rep_A1", "Rep_A2") for e in errors if n in e}
    assert b"import-apply" not in response.content
    assert snapshot(draft) == before and not Revision.objects.exists()
    row_of(wb["Booked revenue"], "Rep_A2")["Target"].value = float(rep2.target)
    row["Target"].value, row["Stretch"].value = (
        float(rep.target + 12000),
        float(rep.stretch + 12000),
    )
    response = client.post(
        reverse("targets:import", args=[draft.pk]),
        {"file": as_file(wb), "reason": "大客户提前签约 a key account signed early"},
    )
    assert response.context["reading"].errors == []
    assert b"counting from 2027-07" in response.content
    assert apply(client, draft, response).status_code == 302
    revision = Revision.objects.get(target=rep)
    assert revision.reason == "大客户提前签约 a key account signed early"
    assert revision.counts_from == 7
    assert D(revision.after["target"]) - D(revision.before["target"]) == 12000
    months = list(rep.months.order_by("month").values_list("target_value", flat=True))
    assert months[:6] == months_before[:6]  # the months over keep their targets
    assert sum(months) == rep.target + 12000
    event = AuditEvent.objects.filter(action="plan.import").get()
    assert event.changes["reason"] == [None, "大客户提前签约 a key account signed early"]


def test_a_file_out_of_date_is_said_in_one_sentence(client, org, draft, login):
    """Six targets changed in salesloop after the export: their rows in the file now differ,
    and at more than five the page sums them up instead of listing each."""
    login(org.director)
    wb = exported(org.director.user, draft)
    people = [org.rep_a1, org.rep_a2, org.rep_b1, org.rep_w1, org.mgr_w, org.east_mgr]
    for person in people:
        set_levels(node(draft, member=person), D(100000), org.director)
    before = snapshot(draft)
    errors = check(client, draft, wb).context["reading"].errors
    assert len(errors) == 1
    assert errors[0].startswith("6 of the changed rows were changed in salesloop after")
    assert errors[0].count("Booked revenue!") == 5  # the first five named
    assert snapshot(draft) == before
    set_levels(node(draft, member=org.rep_a1), D(200000), org.director)  # back to a few
    wb = exported(org.director.user, draft)
    for person in people[:2]:
        set_levels(node(draft, member=person), D(300000), org.director)
    errors = check(client, draft, wb).context["reading"].errors
    assert len(errors) == 2 and all("was changed in salesloop after" in e for e in errors)


def test_a_product_line_changed_alone_is_warned_of(client, org, login, lines_plan):
    """Rep_A2's Software line +7 with its total as it was: its lines will no longer add up to
    the total, and the preview says so with both figures (the import still goes through)."""
    plan, total, software = lines_plan
    login(org.director)
    wb = exported(org.director.user, plan)
    line_row = row_of(wb["Booked revenue"], "Rep_A2", "Software")
    line_row["Target"].value = float(software.target + 7)
    line_row["Stretch"].value = float(software.stretch + 7)
    reading = check(client, plan, wb).context["reading"]
    assert reading.errors == []
    warning = [w for w in reading.warnings if "product lines will add up to" in w]
    assert len(warning) == 1 and warning[0].startswith("Rep_A2 · Booked revenue:")
    assert f"¥{total.target + 7:,.2f}" in warning[0] and f"¥{total.target:,.2f}" in warning[0]


def test_a_large_import_is_applied_by_a_worker(client, org, draft, login, monkeypatch):
    """More changes than a request should wait for (IMPORT_INLINE_EDITS, here 1): Apply queues
    a job and shows its page, which follows it to the end; another user cannot open it; a job
    refused (a target changed after the preview) says why and changes nothing."""
    from salesloop.targets.models import PlanImport

    monkeypatch.setattr("salesloop.targets.views.IMPORT_INLINE_EDITS", 1)
    login(org.director)
    wb = exported(org.director.user, draft)
    row_of(wb["Booked revenue"], "Rep_A1")["Target"].value = 450000
    row_of(wb["Booked revenue"], "Rep_A2")["Target"].value = 420000
    response = apply(client, draft, check(client, draft, wb))
    job = PlanImport.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("targets:import_job", args=[draft.pk, job.pk])
    assert (job.status, job.count, job.filename) == ("done", 2, "plan.xlsx")  # immediate backend
    page = client.get(response["Location"])
    assert b'data-testid="import-job-done"' in page.content
    assert "2 targets changed from plan.xlsx" in page.content.decode()
    assert node(draft, member=org.rep_a1).target == D(450000)
    assert node(draft, member=org.rep_a2).target == D(420000)
    login(org.admin)
    assert client.get(response["Location"]).status_code == 404  # the director's job

    login(org.director)
    wb = exported(org.director.user, draft)
    row_of(wb["Booked revenue"], "Rep_A1")["Target"].value = 460000
    row_of(wb["Booked revenue"], "Rep_A2")["Target"].value = 430000
    preview = check(client, draft, wb)
    rep2 = node(draft, member=org.rep_a2)
    s.target_set_locked(target=rep2, locked=True, actor=org.mgr_a.user)
    before = snapshot(draft)
    page = client.get(apply(client, draft, preview)["Location"])
    failed = PlanImport.objects.order_by("-pk").first()
    assert failed.status == "failed" and any("Rep_A2" in e for e in failed.errors)
    assert b'data-testid="import-errors"' in page.content
    assert b'data-testid="import-file"' in page.content  # upload again from here
    assert snapshot(draft) == before


def test_a_queued_import_page_follows_its_job(client, org, draft, login):
    from salesloop.targets.models import PlanImport

    job = PlanImport.objects.create(
        plan=draft, requested_by=org.director, filename="big.xlsx", edits=[[1, 1, "x", None]] * 3
    )
    login(org.director)
    page = client.get(reverse("targets:import_job", args=[draft.pk, job.pk])).content.decode()
    assert 'data-testid="import-job"' in page and 'hx-trigger="every 2s"' in page
    assert "3 changes are being applied in the background" in page
    assert 'data-testid="import-file"' not in page  # no second upload while it runs


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a second writer needs PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_a_running_import_says_how_far_it_has_got(client, org, draft, login, monkeypatch):
    """While the worker's one transaction runs, the job's count of changes written is
    committed beside it, so that its page can say how far it has got; the changes themselves
    stay invisible until all are written. Checked from a third connection at each update."""
    from salesloop.common.db import SideChannel
    from salesloop.targets.models import PlanImport

    monkeypatch.setattr("salesloop.targets.views.IMPORT_INLINE_EDITS", 1)
    monkeypatch.setattr("salesloop.targets.tasks.IMPORT_PROGRESS_SECONDS", 0)
    rep1 = node(draft, member=org.rep_a1)
    seen = []
    update = SideChannel.update

    def update_and_look(self, model, pk, **values):
        update(self, model, pk, **values)
        other = connections.create_connection("default")
        try:
            with other.cursor() as cursor:
                cursor.execute(f"SELECT done FROM {PlanImport._meta.db_table} WHERE id = %s", [pk])
                done = cursor.fetchone()[0]
                cursor.execute(
                    f"SELECT target FROM {Target._meta.db_table} WHERE id = %s", [rep1.pk]
                )
                seen.append((done, cursor.fetchone()[0]))
        finally:
            other.close()

    monkeypatch.setattr(SideChannel, "update", update_and_look)
    login(org.director)
    wb = exported(org.director.user, draft)
    for owner, value in (("Rep_A1", 450000), ("Rep_A2", 420000), ("Mgr_A", 410000)):
        row_of(wb["Booked revenue"], owner)["Target"].value = value
    apply(client, draft, check(client, draft, wb))
    job = PlanImport.objects.get()
    assert (job.status, job.count, job.done) == ("done", 3, 3)
    assert [done for done, _ in seen] == [1, 2]  # the last one is said by "done"
    assert all(target == rep1.target for _, target in seen)  # nothing shows before the end
    assert node(draft, member=org.rep_a1).target == D(450000)


def test_a_running_import_page_shows_its_progress(client, org, draft, login):
    from salesloop.targets.models import PlanImport

    job = PlanImport.objects.create(
        plan=draft,
        requested_by=org.director,
        filename="big.xlsx",
        edits=[[1, 1, "x", None]] * 3,
        status=PlanImport.Status.RUNNING,
        done=2,
    )
    login(org.director)
    page = client.get(reverse("targets:import_job", args=[draft.pk, job.pk])).content.decode()
    assert 'data-testid="import-job-progress"' in page
    assert '<progress value="2" max="3">' in page
    assert "2 of 3 written so far" in page


def test_one_upload_names_the_bad_cells_and_the_rules_broken_together(client, org, draft, login):
    """A row refused while reading does not hide the rules the other rows break: the manager
    learns of both at once, and nothing is written."""
    login(org.mgr_a)
    before = snapshot(draft)
    wb = exported(org.mgr_a.user, draft)
    ws = wb["Booked revenue"]
    row_of(ws, "Rep_A1")["Target"].value = "a lot"  # refused while reading
    mgr = row_of(ws, "Mgr_A")
    mgr["Target"].value = mgr["Stretch"].value  # read well, but not the manager's to set
    rep = row_of(ws, "Rep_A2")
    rep["Floor"].value, rep["Target"].value = 500000, 400000  # read well, levels out of order
    errors = check(client, draft, wb).context["reading"].errors
    assert any("Target is not a number (a lot)" in e for e in errors), errors
    assert any("you may not set Mgr_A" in e for e in errors), errors
    assert any("must not exceed the target" in e for e in errors), errors
    assert snapshot(draft) == before
