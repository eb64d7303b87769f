"""A stored report as an XLSX workbook (from its snapshot; formula-like text neutralised)."""

from __future__ import annotations

import io
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l
from openpyxl import Workbook
from openpyxl.styles import Font

from salesloop.alerts.models import Report
from salesloop.targets.export import safe

CARD_COLUMNS = (
    ("name", _l("Name")),
    ("actual", _l("Actual")),
    ("floor", _l("Floor")),
    ("target", _l("Target")),
    ("stretch", _l("Stretch")),
    ("vs_floor", _l("vs floor")),
    ("vs_target", _l("vs target")),
    ("vs_stretch", _l("vs stretch")),
    ("expected", _l("Expected to date")),
    ("pace", _l("Pace index")),
    ("run_rate", _l("Run-rate projection")),
    ("remaining_gap", _l("Remaining gap")),
    ("p_floor", _l("P(floor)")),
    ("p_target", _l("P(target)")),
    ("p_stretch", _l("P(stretch)")),
)
SPLIT_COLUMNS = (
    ("name", _l("Name")),
    ("reference", _l("Reference")),
    ("current", _l("Actual")),
    ("gap", _l("Gap")),
    ("opportunities", _l("Opportunities")),
    ("win_rate", _l("Win rate")),
    ("deal_size", _l("Deal size")),
)


def _sheet(
    wb: Workbook, title: str, columns: tuple[tuple[str, str], ...], rows: list[dict[str, Any]]
) -> None:
    ws = wb.create_sheet(title[:31])
    ws.append([str(label) for _k, label in columns])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in rows:
        ws.append([safe(row.get(k)) for k, _label in columns])
    for i, _c in enumerate(columns, start=1):
        ws.column_dimensions[ws.cell(1, i).column_letter].width = 16 if i > 1 else 28


def report_workbook(report: Report) -> bytes:
    data = report.data
    wb = Workbook()
    ws = wb.active
    ws.title = _("Summary")[:31]
    ws.append([safe(report.title)])
    ws["A1"].font = Font(bold=True, size=13)
    ws.append(
        [_("Period"), safe(data["period"]["label"]), data["period"]["start"], data["period"]["end"]]
    )
    ws.append([_("As of"), data["as_of"]])
    ws.append([])
    _rows = [data["card"], *([data["month"]] if data.get("month") else [])]
    ws.append([str(label) for _k, label in CARD_COLUMNS])
    for row in _rows:
        ws.append(
            [safe(row.get(k)) if k != "name" else safe(row.get("label")) for k, _l in CARD_COLUMNS]
        )
    ws.column_dimensions["A"].width = 30
    if data.get("children"):
        _sheet(wb, _("Breakdown"), CARD_COLUMNS, data["children"])
    if data["kind"] == "weekly":
        ch = data["changes"]
        ws.append([])
        ws.append([_("Last 7 days")])
        for label, key in (
            (_("Booked"), "booked"),
            (_("Deals won"), "won"),
            (_("Won amount"), "won_amount"),
            (_("Opportunities created"), "created"),
            (_("Activities"), "activities"),
            (_("Alerts opened"), "alerts_opened"),
            (_("Alerts resolved"), "alerts_resolved"),
        ):
            ws.append([label, ch.get(key)])
        _sheet(
            wb,
            _("Risks"),
            (
                ("severity", _l("Severity")),
                ("rule", _l("Rule")),
                ("title", _l("Alert")),
                ("action", _l("What to do")),
            ),
            data["risks"],
        )
        acts = data["actions"]
        _sheet(
            wb,
            _("Deals closing"),
            (
                ("name", _l("Deal")),
                ("customer", _l("Customer")),
                ("owner", _l("Owner")),
                ("amount", _l("Amount")),
                ("close", _l("Expected close")),
                ("stage", _l("Stage")),
            ),
            acts["closing"],
        )
        _sheet(
            wb,
            _("Overdue follow-ups"),
            (
                ("due", _l("Due")),
                ("owner", _l("Owner")),
                ("customer", _l("Customer")),
                ("subject", _l("Subject")),
            ),
            acts["overdue"],
        )
    else:
        g = data["gaps"]
        rows = [
            {"name": _("vs target"), **(g["vs_target"] or {})},
            {"name": _("vs previous period"), **(g["vs_last"] or {})},
        ]
        _sheet(wb, _("Gap by driver"), SPLIT_COLUMNS, rows)
        if g["children"]:
            _sheet(wb, _("Gap by unit"), SPLIT_COLUMNS, g["children"])
        if g["lines"]:
            _sheet(wb, _("Gap by product line"), SPLIT_COLUMNS, g["lines"])
        _sheet(
            wb,
            _("Bottlenecks"),
            (
                ("name", _l("Member")),
                ("stage", _l("Stage")),
                ("conversion", _l("Conversion")),
                ("team_median", _l("Team median")),
                ("gain", _l("Revenue at median")),
            ),
            data["bottlenecks"],
        )
        _sheet(
            wb,
            _("Actions"),
            (
                ("kind", _l("Kind")),
                ("text", _l("Recommended action")),
                ("effect", _l("Effect (¥)")),
            ),
            data["actions"],
        )
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
