"""A stored report as an XLSX workbook (from its snapshot, in the active language: the reader's
or, attached to the email, the recipient's; formula-like text neutralised)."""

from __future__ import annotations

import io
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl import Workbook
from openpyxl.styles import Font

from salesloop.alerts.models import Report
from salesloop.alerts.reports.present import report_present
from salesloop.common.xlsx import print_setup
from salesloop.targets.export import safe

CARD_COLUMNS = (
    ("name", gettext_lazy("Name")),
    ("actual", gettext_lazy("Actual")),
    ("floor", gettext_lazy("Floor")),
    ("target", gettext_lazy("Target")),
    ("stretch", gettext_lazy("Stretch")),
    ("vs_floor", gettext_lazy("vs floor")),
    ("vs_target", gettext_lazy("vs target")),
    ("vs_stretch", gettext_lazy("vs stretch")),
    ("expected", gettext_lazy("Expected to date")),
    ("pace", gettext_lazy("Pace index")),
    ("run_rate", gettext_lazy("Run-rate projection")),
    ("remaining_gap", gettext_lazy("Remaining gap")),
    ("p_floor", gettext_lazy("P(floor)")),
    ("p_target", gettext_lazy("P(target)")),
    ("p_stretch", gettext_lazy("P(stretch)")),
)
SPLIT_COLUMNS = (
    ("name", gettext_lazy("Name")),
    ("reference", gettext_lazy("Reference")),
    ("current", gettext_lazy("Actual")),
    ("gap", gettext_lazy("Gap")),
    ("opportunities", gettext_lazy("Opportunities")),
    ("win_rate", gettext_lazy("Win rate")),
    ("deal_size", gettext_lazy("Deal size")),
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
    ws.freeze_panes = "B2"
    print_setup(ws, header_row=1, columns=len(columns))


def report_workbook(report: Report) -> bytes:
    data = report_present(report.data)
    wb = Workbook()
    ws = wb.active
    ws.title = _("Summary")[:31]
    ws.append([safe(report.localized_title())])
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
    print_setup(ws, header_row=5, columns=len(CARD_COLUMNS))
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
                ("severity_label", gettext_lazy("Severity")),
                ("rule_label", gettext_lazy("Rule")),
                ("title", gettext_lazy("Alert")),
                ("action", gettext_lazy("What to do")),
            ),
            data["risks"],
        )
        acts = data["actions"]
        _sheet(
            wb,
            _("Deals closing"),
            (
                ("name", gettext_lazy("Deal")),
                ("customer", gettext_lazy("Customer")),
                ("owner", gettext_lazy("Owner")),
                ("amount", gettext_lazy("Amount")),
                ("close", gettext_lazy("Expected close")),
                ("stage", gettext_lazy("Stage")),
            ),
            acts["closing"],
        )
        _sheet(
            wb,
            _("Overdue follow-ups"),
            (
                ("due", gettext_lazy("Due")),
                ("owner", gettext_lazy("Owner")),
                ("customer", gettext_lazy("Customer")),
                ("subject", gettext_lazy("Subject")),
            ),
            acts["overdue"],
        )
        if data.get("planning"):
            _sheet(
                wb,
                _("Targets being agreed"),
                (
                    ("plan_name", gettext_lazy("Plan")),
                    ("metric_label", gettext_lazy("Metric")),
                    ("node", gettext_lazy("Team / person")),
                    ("top_down", gettext_lazy("Top-down target")),
                    ("bottom_up", gettext_lazy("Bottom-up")),
                    ("ratio", gettext_lazy("Gap (share)")),
                    ("proposals", gettext_lazy("Proposals")),
                    ("to_decide", gettext_lazy("Waiting for you")),
                    ("not_proposed", gettext_lazy("Not proposed yet")),
                    ("asked_on", gettext_lazy("Last asked for")),
                    ("due", gettext_lazy("Due by")),
                ),
                data["planning"],
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
                ("name", gettext_lazy("Member")),
                ("stage", gettext_lazy("Stage")),
                ("conversion", gettext_lazy("Conversion")),
                ("team_median", gettext_lazy("Team median")),
                ("gain", gettext_lazy("Revenue at median")),
            ),
            data["bottlenecks"],
        )
        _sheet(
            wb,
            _("Actions"),
            (
                ("kind_label", gettext_lazy("Kind")),
                ("text", gettext_lazy("Recommended action")),
                ("effect", gettext_lazy("Effect (¥)")),
            ),
            data["actions"],
        )
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
