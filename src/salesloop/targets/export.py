"""A plan as an XLSX workbook, as a director would lay it out in Excel: one sheet per metric with
the org tree (indented), floor / target / stretch, how each was split, its lock and SMART check
in words, and the twelve months under their calendar names, and the row key that lets the file come back
(``targets.imports``); then the revisions of active targets with their reasons. Everything read goes through the visibility rule (the same rows as
the plan page and the history page)."""

from __future__ import annotations

import io
from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from salesloop.common.words import sentences
from salesloop.common.xlsx import print_setup
from salesloop.core.periods import FiscalCalendar
from salesloop.customers.models import ProductLine
from salesloop.org.services import company_get
from salesloop.org.visibility import member_of
from salesloop.targets.choices import MONEY_METRICS, Method, Metric, PlanStatus
from salesloop.targets.imports import row_key
from salesloop.targets.models import Plan, TargetMonth
from salesloop.targets.selectors import Row, plan_rows, revision_history, target_list

DANGEROUS = ("=", "+", "-", "@", "\t", "\r")
MONEY_FORMAT = "#,##0.00"
COUNT_FORMAT = "#,##0"
BOLD = Font(bold=True)
TITLE = Font(bold=True, size=14)
HEAD_FILL = PatternFill("solid", fgColor="E8EFFF")
UNIT_FILL = PatternFill("solid", fgColor="F5F7FB")
FLAG_FONT = Font(color="B42318")
KEY_FONT = Font(color="98A2B3", size=9)


def safe(value: Any) -> Any:
    """Neutralise text that a spreadsheet would run as a formula."""
    if isinstance(value, str) and value.startswith(DANGEROUS):
        return "'" + value
    return value


def plan_workbook(*, user: Any, plan: Plan) -> bytes:
    """The workbook's bytes: one sheet per metric the user sees targets of, then "Revisions"."""
    wb = Workbook()
    wb.remove(wb.active)
    fiscal = FiscalCalendar(company_get().fiscal_year_start_month)
    months = [fiscal.month(plan.fiscal_year, m).start for m in range(1, 13)]
    visible = target_list(user=user, plan=plan)
    metrics = sorted(
        set(visible.values_list("metric", flat=True)),
        key=lambda m: list(Metric.values).index(m) if m in Metric.values else 99,
    )
    monthly: dict[int, dict[int, Decimal]] = defaultdict(dict)
    for target_id, month, value in TargetMonth.objects.filter(
        target__in=visible.values("pk")
    ).values_list("target_id", "month", "target_value"):
        monthly[target_id][month] = value
    member = member_of(user)
    stamp = _("Status: %(status)s · exported %(at)s by %(who)s") % {
        "status": PlanStatus(plan.status).label,
        "at": timezone.localtime().strftime("%Y-%m-%d %H:%M"),
        "who": member.display_name if member else user.get_username(),
    }
    for metric in metrics:
        lines = ProductLine.objects.filter(
            pk__in=visible.filter(metric=metric).exclude(product_line=None).values("product_line")
        ).order_by("name", "pk")
        sections = [(None, plan_rows(user=user, plan=plan, metric=metric))] + [
            (line, plan_rows(user=user, plan=plan, metric=metric, product_line=line))
            for line in lines
        ]
        _metric_sheet(wb, plan, metric, months, sections, monthly, stamp)
    _revisions_sheet(wb, user, plan, fiscal, stamp)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _metric_sheet(
    wb: Workbook,
    plan: Plan,
    metric: str,
    months: list[Any],
    sections: list[tuple[Any, list[Row]]],
    monthly: dict[int, dict[int, Decimal]],
    stamp: str,
) -> None:
    label = str(Metric(metric).label)
    ws = wb.create_sheet(title=_sheet_title(wb, label))
    number = MONEY_FORMAT if metric in MONEY_METRICS else COUNT_FORMAT
    ws.append([safe(f"{plan} · {label}")])
    ws["A1"].font = TITLE
    ws.append([safe(stamp)])
    ws.append([])
    header = [
        _("Team / person"),
        _("Product line"),
        _("Floor"),
        _("Target"),
        _("Stretch"),
        _("Split by"),
        _("Locked"),
        _("SMART"),
        _("Why it is flagged"),
        *(m.strftime("%Y-%m") for m in months),
        _("Row key"),
    ]
    # title, stamp, a blank row, the header; rows counted from here on (openpyxl's max_row
    # walks every cell, which made a 3,000-row sheet quadratic)
    head_row = r = _header(ws, header)
    first_month_col = len(header) - 12
    key_col = len(header)
    for line, rows in sections:
        for row in rows:
            t = row.target
            verdict = row.smart
            flags = verdict.get("failed_letters") or []
            ws.append(
                [
                    safe(t.owner_name),
                    safe(line.name if line else _("All")),
                    t.floor,
                    t.target,
                    t.stretch,
                    str(Method(t.method).label) if t.method in Method.values else t.method,
                    _("Yes") if t.locked else "",
                    (" ".join(f"{letter} ✗" for letter in flags) if flags else "✓")
                    if verdict.get("checked")
                    else "",
                    safe(sentences(verdict.get("sentences") or [])) if flags else "",
                    *[monthly.get(t.pk, {}).get(m) for m in range(1, 13)],
                    row_key(t),
                ]
            )
            r += 1
            ws.cell(r, 1).alignment = Alignment(indent=min(row.depth, 15))
            if t.unit_id:
                ws.cell(r, 1).font = ws.cell(r, 2).font = BOLD
                for col in range(1, len(header) + 1):
                    ws.cell(r, col).fill = UNIT_FILL
            for col in (3, 4, 5, *range(first_month_col, first_month_col + 12)):
                ws.cell(r, col).number_format = number
            ws.cell(r, 4).font = BOLD
            if flags:
                ws.cell(r, 8).font = FLAG_FONT
            ws.cell(r, 9).alignment = Alignment(wrap_text=False)
            ws.cell(r, key_col).font = KEY_FONT
    widths = {1: 26, 2: 16, 3: 16, 4: 16, 5: 16, 6: 16, 7: 8, 8: 9, 9: 48, key_col: 11}
    for col in range(1, len(header) + 1):
        ws.column_dimensions[get_column_letter(col)].width = widths.get(col, 14)
    ws.freeze_panes = ws.cell(head_row + 1, 3)
    ws.auto_filter.ref = f"A{head_row}:{get_column_letter(len(header))}{r}"
    print_setup(ws, header_row=head_row, columns=len(header), title_columns=2)


def _revisions_sheet(
    wb: Workbook, user: Any, plan: Plan, fiscal: FiscalCalendar, stamp: str
) -> None:
    """Every revision of an active target the user may see, oldest first, with its reason."""
    ws: Worksheet = wb.create_sheet(title=_sheet_title(wb, _("Revisions")))
    ws.append([safe(f"{plan} · {_('Revisions')}")])
    ws["A1"].font = TITLE
    ws.append([safe(stamp)])
    ws.append([])
    header = [
        _("When"),
        _("Target"),
        _("By"),
        _("Floor before"),
        _("Floor after"),
        _("Target before"),
        _("Target after"),
        _("Stretch before"),
        _("Stretch after"),
        _("Counts from"),
        _("Reason"),
    ]
    r = _header(ws, header, centred=False)
    revisions = revision_history(user=user, plan=plan).order_by("at", "pk")
    for rev in revisions:
        money = rev.target.metric in MONEY_METRICS
        values = [
            _decimal(side.get(level))
            for level in ("floor", "target", "stretch")
            for side in (rev.before or {}, rev.after or {})
        ]
        ws.append(
            [
                timezone.localtime(rev.at).strftime("%Y-%m-%d %H:%M"),
                safe(str(rev.target)),
                safe(rev.author.display_name),
                *values,
                fiscal.month(plan.fiscal_year, rev.counts_from).start.strftime("%Y-%m")
                if rev.counts_from
                else "",
                safe(rev.reason),
            ]
        )
        r += 1
        for col in range(4, 10):
            ws.cell(r, col).number_format = MONEY_FORMAT if money else COUNT_FORMAT
    if r == 4:
        ws.append([_("No revisions: targets change here only through a revision with a reason.")])
    widths = [17, 36, 12, 15, 15, 15, 15, 15, 15, 11, 60]
    for col, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(col)].width = width
    ws.freeze_panes = "A5"
    print_setup(ws, header_row=4, columns=len(widths), title_columns=0)


def _header(ws: Worksheet, header: list[Any], *, centred: bool = True) -> int:
    """Append the header row (bold on the header colour; ``centred`` and wrapped) below the
    sheet's few rows so far; returns its row number."""
    ws.append(header)
    row = ws.max_row
    for col in range(1, len(header) + 1):
        cell = ws.cell(row, col)
        cell.font, cell.fill = BOLD, HEAD_FILL
        if centred:
            cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    return row


def _decimal(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value))
    except ArithmeticError:
        return None


def _sheet_title(wb: Workbook, label: str) -> str:
    """A sheet name Excel accepts: at most 31 characters, none of []:*?/\\, unique."""
    clean = "".join("-" if ch in "[]:*?/\\" else ch for ch in label)[:31] or "Sheet"
    title, n = clean, 2
    while title in wb.sheetnames:
        suffix = f" ({n})"
        title, n = clean[: 31 - len(suffix)] + suffix, n + 1
    return title


def _titled_sheet(user: Any, label: str, title: str) -> tuple[Workbook, Worksheet]:
    """A one-sheet workbook named ``label`` that begins as an exported page does: ``title``,
    then who exported it and when, then a blank row."""
    wb = Workbook()
    ws: Worksheet = wb.active
    ws.title = _sheet_title(wb, label)
    member = member_of(user)
    ws.append([safe(title)])
    ws["A1"].font = TITLE
    ws.append(
        [
            safe(
                _("Exported %(at)s by %(who)s")
                % {
                    "at": timezone.localtime().strftime("%Y-%m-%d %H:%M"),
                    "who": member.display_name if member else user.get_username(),
                }
            )
        ]
    )
    ws.append([])
    return wb, ws


def comparison_workbook(
    *, user: Any, comparison: Any, product_line: Any = None, only_changes: bool = False
) -> bytes:
    """A comparison of two plans (``targets.compare``) as one sheet: the tree with the other
    plan's floor / target / stretch (and its year's actual and attainment, once begun), this
    plan's, and the change of the target in amount and share; then the nodes only in the other.
    ``only_changes``: as the page shows it then (the changed nodes and the path down to them)."""
    c = comparison
    money = c.metric in MONEY_METRICS
    number = MONEY_FORMAT if money else COUNT_FORMAT
    this = f"FY{c.plan.fiscal_year} v{c.plan.version}"
    that = f"FY{c.other.fiscal_year} v{c.other.version}"
    scope = str(Metric(c.metric).label) + (f" · {product_line.name}" if product_line else "")
    wb, ws = _titled_sheet(
        user, str(Metric(c.metric).label), f"{c.plan} · {_('Compare with')} {c.other} · {scope}"
    )
    actuals = c.actual_to is not None
    actual_head = (
        [
            f"{that} · {_('Actual')}"
            if c.actual_whole_year
            else f"{that} · " + _("Actual to %(day)s") % {"day": c.actual_to.strftime("%m-%d")},
            f"{that} · {_('Attainment')}",
        ]
        if actuals
        else []
    )
    header = [
        _("Team / person"),
        *(f"{that} · {label}" for label in (_("Floor"), _("Target"), _("Stretch"))),
        *actual_head,
        *(f"{this} · {label}" for label in (_("Floor"), _("Target"), _("Stretch"))),
        _("Change of the target"),
        _("Change %"),
        _("Note"),
    ]
    head_row = r = _header(ws, header)
    shift = 2 if actuals else 0

    def levels(t: Any) -> list[Any]:
        return [t.floor, t.target, t.stretch] if t is not None else [None, None, None]

    rows = [row for row in c.rows if row.changed_below] if only_changes else c.rows
    for row in [*rows, *c.gone]:
        note = []
        if row.other is None:
            note.append(_("new in this plan"))
        if row.this is None:
            note.append(
                _("Only in FY%(fy)s v%(v)s") % {"fy": c.other.fiscal_year, "v": c.other.version}
            )
        if row.moved_from:
            note.append(_("was in %(team)s") % {"team": row.moved_from})
        ws.append(
            [
                safe(row.owner_name),
                *levels(row.other),
                *([row.actual, row.attainment] if actuals else []),
                *levels(row.this),
                row.change,
                row.ratio,
                safe("; ".join(str(n) for n in note)),
            ]
        )
        r += 1
        ws.cell(r, 1).alignment = Alignment(indent=min(row.depth, 15))
        if row.is_unit:
            ws.cell(r, 1).font = BOLD
            for col in range(1, len(header) + 1):
                ws.cell(r, col).fill = UNIT_FILL
        for col in (2, 3, 4, *range(5 + shift, 8 + shift), 8 + shift):
            ws.cell(r, col).number_format = number
        if actuals:
            ws.cell(r, 5).number_format = number
            ws.cell(r, 6).number_format = "0%"
        ws.cell(r, 9 + shift).number_format = "+0%;-0%;0%"
        if row.flag:
            ws.cell(r, 8 + shift).font = ws.cell(r, 9 + shift).font = FLAG_FONT
    for col in range(1, len(header) + 1):
        ws.column_dimensions[get_column_letter(col)].width = 26 if col == 1 else 15
    ws.column_dimensions[get_column_letter(len(header))].width = 30
    ws.freeze_panes = ws.cell(head_row + 1, 2)
    ws.auto_filter.ref = f"A{head_row}:{get_column_letter(len(header))}{r}"
    print_setup(ws, header_row=head_row, columns=len(header))
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def reconciliation_workbook(
    *, user: Any, plan: Plan, metric: str, rows: list[dict[str, Any]], shown: str = ""
) -> bytes:
    """The reconciliation (``selectors.reconciliation``, as the page narrowed it: ``rows``,
    ``shown`` its choice in words) as one sheet: the tree with the top-down target, the
    bottom-up figure, the gap in amount and share (gaps of 10 % or more in red), and the
    proposal — who, how much, its status, their reason and the decision's note."""
    number = MONEY_FORMAT if metric in MONEY_METRICS else COUNT_FORMAT
    scope = " · ".join(
        str(part)
        for part in (plan, _("Top-down vs bottom-up"), Metric(metric).label, shown)
        if part
    )
    wb, ws = _titled_sheet(user, str(Metric(metric).label), scope)
    header = [
        _("Team / person"),
        _("Top-down target"),
        _("Bottom-up"),
        _("Gap"),
        _("Gap %"),
        _("Proposed by"),
        _("Proposal"),
        _("Status"),
        _("Their reason"),
        _("Decision note"),
    ]
    head_row = r = _header(ws, header)
    for item in rows:
        t = item["row"].target
        shown_proposal = item["proposal"] or item["rejected"]
        ws.append(
            [
                safe(t.owner_name),
                t.target,
                item["bottom_up"],
                item["gap"],
                float(item["ratio"]) if item["ratio"] is not None else None,
                safe(shown_proposal.proposed_by.display_name) if shown_proposal else None,
                shown_proposal.value if shown_proposal else None,
                str(shown_proposal.get_status_display()) if shown_proposal else None,
                safe(shown_proposal.comment) if shown_proposal and shown_proposal.comment else None,
                safe(shown_proposal.decision_note)
                if shown_proposal and shown_proposal.decision_note
                else None,
            ]
        )
        r += 1
        ws.cell(r, 1).alignment = Alignment(indent=min(item["row"].depth, 15))
        if t.unit_id:
            ws.cell(r, 1).font = BOLD
            for col in range(1, len(header) + 1):
                ws.cell(r, col).fill = UNIT_FILL
        for col in (2, 3, 4, 7):
            ws.cell(r, col).number_format = number
        ws.cell(r, 5).number_format = "+0.0%;-0.0%;0%"
        if item["flag"]:
            ws.cell(r, 4).font = ws.cell(r, 5).font = FLAG_FONT
    for col in range(1, len(header) + 1):
        ws.column_dimensions[get_column_letter(col)].width = 26 if col == 1 else 15
    for col in (9, 10):
        ws.column_dimensions[get_column_letter(col)].width = 36
    ws.freeze_panes = ws.cell(head_row + 1, 2)
    ws.auto_filter.ref = f"A{head_row}:{get_column_letter(len(header))}{r}"
    print_setup(ws, header_row=head_row, columns=len(header))
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
