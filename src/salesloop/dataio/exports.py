"""Exports of every list to CSV and XLSX, through the same selectors and filters as the pages.

- the visibility rule applies (the apps' selectors call ``visible()``);
- cells that a spreadsheet would run as a formula (starting with = + - @, a tab or a carriage
  return) are neutralised with a leading apostrophe; numbers and dates stay typed;
- CSV is UTF-8 with a BOM (so Excel opens Chinese correctly) and streamed row by row;
- XLSX is written by openpyxl in write-only mode (constant memory) and sent from a temporary file.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import QueryDict
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
BATCH = 2000


def neutralise(value: Any) -> Any:
    """Text a spreadsheet would read as a formula gets a leading apostrophe; other values pass."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


@dataclass(frozen=True)
class Dataset:
    name: str
    label: Promise | str
    columns: tuple[tuple[Promise | str, Callable[[Any], Any]], ...]
    queryset: Callable[[Any, QueryDict], QuerySet[Any]]
    #: the column a period ("from", "to") applies to, as the export page names it; None: all rows
    dated_by: Promise | str | None = None


def export_period(params: QueryDict) -> tuple[date | None, date | None]:
    """The period asked for (``from`` / ``to``, or ``<field>_from`` / ``<field>_to``), checked:
    a date that is not one, or a period that ends before it starts, is refused with a sentence
    rather than quietly exporting every row."""
    from django import forms

    found: dict[str, date] = {}
    for name, raw in params.items():
        if not raw or not (name in {"from", "to"} or name.endswith(("_from", "_to"))):
            continue
        try:
            found[name] = forms.DateField().clean(raw)
        except forms.ValidationError:
            raise ValidationError(
                _("%(value)s is not a date: write it as 2026-01-31.") % {"value": raw[:40]}
            ) from None
    start = found.get("from") or next((v for k, v in found.items() if k.endswith("_from")), None)
    end = found.get("to") or next((v for k, v in found.items() if k.endswith("_to")), None)
    if start and end and end < start:
        raise ValidationError(
            _("The period ends (%(end)s) before it starts (%(start)s).")
            % {"start": start.isoformat(), "end": end.isoformat()}
        )
    return start, end


def _display(attr: str) -> Callable[[Any], Any]:
    return lambda obj: getattr(obj, f"get_{attr}_display")()


def _customers(user: Any, params: QueryDict) -> QuerySet[Any]:
    from salesloop.customers.filters import CustomerFilter
    from salesloop.customers.selectors import customer_list

    return customer_list(user=user, filters=CustomerFilter(params))


def _opportunities(user: Any, params: QueryDict) -> QuerySet[Any]:
    from salesloop.pipeline.filters import OpportunityFilter
    from salesloop.pipeline.selectors import opportunity_list

    return opportunity_list(user=user, filters=OpportunityFilter(params))


def _date_range(
    queryset: QuerySet[Any], field: str, params: QueryDict, lookup_field: str = ""
) -> QuerySet[Any]:
    """Rows whose ``field`` falls in the period (``export_period`` has checked the dates)."""
    from django import forms

    for suffix, lookup in (("from", "gte"), ("to", "lte")):
        raw = params.get(f"{field}_{suffix}") or params.get(suffix)
        if raw:
            value = forms.DateField().clean(raw)
            queryset = queryset.filter(**{f"{lookup_field or field}__{lookup}": value})
    return queryset


def _owner(queryset: QuerySet[Any], lookup: str, params: QueryDict) -> QuerySet[Any]:
    owner = params.get("owner")
    if owner and owner.isdigit():
        queryset = queryset.filter(**{lookup: int(owner)})
    return queryset


def _orders(user: Any, params: QueryDict) -> QuerySet[Any]:
    from salesloop.orders.selectors import order_list

    queryset = _owner(_date_range(order_list(user=user), "signed_on", params), "owner_id", params)
    if (status := params.get("status")) in {"active", "cancelled"}:
        queryset = queryset.filter(status=status)
    return queryset.order_by("-signed_on", "-id")


def _payments(user: Any, params: QueryDict) -> QuerySet[Any]:
    from salesloop.orders.selectors import payment_list

    queryset = payment_list(user=user).select_related("order__customer", "order__owner")
    return _owner(_date_range(queryset, "paid_on", params), "order__owner_id", params).order_by(
        "-paid_on", "-id"
    )


def _activities(user: Any, params: QueryDict) -> QuerySet[Any]:
    from salesloop.activities.choices import ActivityKind
    from salesloop.activities.selectors import activity_list

    queryset = _owner(
        _date_range(activity_list(user=user), "occurred_at", params, "occurred_at__date"),
        "owner_id",
        params,
    )
    # "kind" names the dataset (kind=activities); the activity's own kind is "type"
    if (kind := params.get("type")) in ActivityKind.values:
        queryset = queryset.filter(kind=kind)
    return queryset


def _leads(user: Any, params: QueryDict) -> QuerySet[Any]:
    from salesloop.pipeline.selectors import lead_list

    queryset = _owner(
        _date_range(lead_list(user=user), "created_at", params, "created_at__date"),
        "owner_id",
        params,
    )
    if status := params.get("status"):
        queryset = queryset.filter(status=status)
    return queryset.order_by("-created_at", "-id")


DATASETS: dict[str, Dataset] = {
    d.name: d
    for d in (
        Dataset(
            "customers",
            _("Customers"),
            (
                (_("External id"), lambda c: c.external_id or ""),
                (_("Name"), lambda c: c.name),
                (_("Tier"), _display("tier")),
                (_("Industry"), _display("industry")),
                (_("Region"), lambda c: c.region),
                (_("Owner"), lambda c: c.owner.display_name),
                (_("Annual potential"), lambda c: c.potential),
                (_("Phone"), lambda c: c.phone),
                (_("Address"), lambda c: c.address),
                (_("Notes"), lambda c: c.notes),
            ),
            _customers,
        ),
        Dataset(
            "opportunities",
            _("Opportunities"),
            (
                (_("External id"), lambda o: o.external_id or ""),
                (_("Name"), lambda o: o.name),
                (_("Customer"), lambda o: o.customer.name),
                (_("Owner"), lambda o: o.owner.display_name),
                (_("Stage"), lambda o: o.stage.name),
                (_("Amount"), lambda o: o.amount),
                (_("Currency"), lambda o: o.currency),
                (_("Amount (company currency)"), lambda o: o.amount_base),
                (_("Expected close"), lambda o: o.expected_close),
                (_("Product line"), lambda o: o.product_line.name if o.product_line else ""),
                (_("Source"), _display("source")),
                (_("Created on"), lambda o: o.created_at),
            ),
            _opportunities,
        ),
        Dataset(
            "orders",
            _("Orders"),
            (
                (_("Contract number"), lambda o: o.number),
                (_("External id"), lambda o: o.external_id or ""),
                (_("Customer"), lambda o: o.customer.name),
                (_("Owner"), lambda o: o.owner.display_name),
                (_("Signed on"), lambda o: o.signed_on),
                (_("Amount"), lambda o: o.amount),
                (_("Currency"), lambda o: o.currency),
                (_("Amount (company currency)"), lambda o: o.amount_base),
                (_("Product line"), lambda o: o.product_line.name if o.product_line else ""),
                (_("Status"), _display("status")),
            ),
            _orders,
            dated_by=_("period by the date signed"),
        ),
        Dataset(
            "payments",
            _("Payments"),
            (
                (_("External id"), lambda p: p.external_id or ""),
                (_("Contract number"), lambda p: p.order.number),
                (_("Customer"), lambda p: p.order.customer.name),
                (_("Owner"), lambda p: p.order.owner.display_name),
                (_("Paid on"), lambda p: p.paid_on),
                (_("Amount"), lambda p: p.amount),
                (_("Currency"), lambda p: p.currency),
                (_("Amount (company currency)"), lambda p: p.amount_base),
                (_("Method"), _display("method")),
            ),
            _payments,
            dated_by=_("period by the date paid"),
        ),
        Dataset(
            "activities",
            _("Activities"),
            (
                (_("External id"), lambda a: a.external_id or ""),
                (_("Customer"), lambda a: a.customer.name),
                (_("Owner"), lambda a: a.owner.display_name),
                (_("Type"), _display("kind")),
                (_("Subject"), lambda a: a.subject),
                (_("When"), lambda a: a.occurred_at),
                (_("Duration (minutes)"), lambda a: a.duration_minutes),
                (_("Outcome"), _display("outcome")),
                (_("Notes"), lambda a: a.notes),
                (_("Next follow-up due"), lambda a: a.follow_up_due),
            ),
            _activities,
            dated_by=_("period by the activity's date"),
        ),
        Dataset(
            "leads",
            _("Leads"),
            (
                (_("External id"), lambda lead: lead.external_id or ""),
                (_("Contact name"), lambda lead: lead.name),
                (_("Company"), lambda lead: lead.company_name),
                (_("Phone"), lambda lead: lead.phone),
                (_("Email"), lambda lead: lead.email),
                (_("Source"), _display("source")),
                (_("Status"), _display("status")),
                (_("Owner"), lambda lead: lead.owner.display_name),
                (_("Created on"), lambda lead: lead.created_at),
            ),
            _leads,
            dated_by=_("period by the date created"),
        ),
    )
}


def export_rows(dataset: Dataset, user: Any, params: QueryDict) -> Iterator[list[Any]]:
    """The header, then one list of typed, neutralised values per visible record."""
    yield [str(label) for label, _getter in dataset.columns]
    queryset = dataset.queryset(user, params)
    for obj in queryset.iterator(chunk_size=BATCH):
        yield [neutralise(_typed(getter(obj))) for _label, getter in dataset.columns]


def _typed(value: Any) -> Any:
    if isinstance(value, datetime):
        return timezone.localtime(value).replace(tzinfo=None) if timezone.is_aware(value) else value
    if value is None:
        return ""
    if isinstance(value, Promise):
        return str(value)
    return value


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_stream(rows: Iterable[list[Any]]) -> Iterator[str]:
    """CSV text, UTF-8 with BOM, produced row by row."""
    writer = csv.writer(_Echo())
    yield "\ufeff"
    for row in rows:
        yield writer.writerow([_csv_value(v) for v in row])


def _csv_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    return value


def write_xlsx_rows(path: Path, rows: Iterable[list[Any]], *, sheet_title: Any = "") -> Path:
    """Write rows (the first is the header) to a workbook in write-only mode."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=str(sheet_title)[:31] or "Sheet1")
    first = True
    for row in rows:
        if first:
            cells = []
            for value in row:
                cell = WriteOnlyCell(sheet, value=neutralise(str(value)))
                cell.font = Font(bold=True)
                cells.append(cell)
            sheet.append(cells)
            first = False
            continue
        sheet.append([_xlsx_value(v) for v in row])
    workbook.save(path)
    return path


def _xlsx_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value) if abs(value) < Decimal("1e15") else str(value)
    if isinstance(value, str):
        return neutralise(value)
    return value
