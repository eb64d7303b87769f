"""A plan as an XLSX workbook: one sheet per metric with the tree, floor / target / stretch and months."""

from __future__ import annotations

import io
from typing import Any

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill

from salesloop.targets.choices import Metric
from salesloop.targets.models import Plan
from salesloop.targets.selectors import plan_rows

DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def safe(value: Any) -> Any:
    """Neutralise text that a spreadsheet would run as a formula."""
    if isinstance(value, str) and value.startswith(DANGEROUS):
        return "'" + value
    return value


def plan_workbook(*, user: Any, plan: Plan) -> bytes:
    wb = Workbook()
    wb.remove(wb.active)
    metrics = list(plan.targets.values_list("metric", flat=True).distinct().order_by("metric"))
    bold = Font(bold=True)
    head_fill = PatternFill("solid", fgColor="E8EFFF")
    for metric in metrics:
        ws = wb.create_sheet(title=str(Metric(metric).label)[:31])
        header = [
            _("Level"),
            _("Owner"),
            _("Product line"),
            _("Floor"),
            _("Target"),
            _("Stretch"),
        ] + [_("Month %(m)s") % {"m": m} for m in range(1, 13)]
        ws.append(header)
        for cell in ws[1]:
            cell.font, cell.fill = bold, head_fill
        lines = [
            None,
            *{
                t.product_line
                for t in plan.targets.filter(metric=metric)
                .exclude(product_line=None)
                .select_related("product_line")
            },
        ]
        for line in lines:
            for row in plan_rows(user=user, plan=plan, metric=metric, product_line=line):
                t = row.target
                months = {m.month: m.target_value for m in t.months.all()}
                ws.append(
                    [
                        row.depth,
                        safe(t.owner_name),
                        safe(line.name if line else _("All")),
                        t.floor,
                        t.target,
                        t.stretch,
                        *[months.get(m) for m in range(1, 13)],
                    ]
                )
        ws.column_dimensions["B"].width = 28
        ws.freeze_panes = "D2"
    if not metrics:
        wb.create_sheet(title=_("Empty"))
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
