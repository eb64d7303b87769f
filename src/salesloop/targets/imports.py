"""A plan's workbook back from Excel: the round trip of ``targets.export``.

A director exports a draft plan (or the active one, whose changes become revisions with one
reason for the import), changes floors, targets, stretches, locks, split methods or
the monthly split in Excel or WPS, and uploads the file again. Every row carries its target's
key and the version it was exported at (the "Row key" column, ``T<id>/<version>``), so that:

- a row whose figures equal the plan's current ones is left alone, whatever its version;
- a row that differs is a change, taken only if nobody changed that target in salesloop after
  the export (its version is still the file's); otherwise the row is refused with the figures
  on both sides — an import never overwrites someone else's edit silently;
- every change is checked as an edit on the plan page would be (a draft plan, the rules of
  who may set what, floor ≤ target ≤ stretch, the metric's decimals) before anything is
  written; one bad row refuses the whole file and changes nothing.

Changes are applied in one transaction through the same services as the plan page (so the
audit trail, the SMART re-check and the product lines' realignment follow), totals before
product lines and parents before children. Month cells that differ from the current split
are the new monthly profile (taken as shares of the year when they do not add up to it).
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable, Mapping
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypedDict

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from openpyxl import load_workbook

from salesloop.common.audit import audit_record
from salesloop.common.money import ENTRY_MAX, typed_figure
from salesloop.common.words import labelled
from salesloop.core.periods import FiscalCalendar, SeasonalWeights
from salesloop.dataio.readers import FileRejected, check_zip
from salesloop.org.services import company_get
from salesloop.targets import rules, services
from salesloop.targets.choices import REASON_MIN, Method, PlanStatus, metric_places
from salesloop.targets.models import Plan, Target, TargetMonth
from salesloop.targets.selectors import target_list
from salesloop.web.templatetags.salesloop import exact_figure

KEY = re.compile(r"^\s*T(\d{1,12})/(\d{1,9})\s*$")
MONTH_HEAD = re.compile(r"^\s*(\d{4})-(\d{1,2})\s*$")
MAX_ERRORS = 50
STALE_LISTED = 5  # rows changed since the export named one by one; more are summed up
LEVELS = {
    "floor": gettext_lazy("Floor"),
    "target": gettext_lazy("Target"),
    "stretch": gettext_lazy("Stretch"),
}


def row_key(target: Target) -> str:
    """The key the export writes on each row: the target and the version it was read at."""
    return f"T{target.pk}/{target.lock_version}"


def _labels(text: str) -> set[str]:
    """A column header as it reads in every shipped language (a file exported in Chinese may be
    uploaded by someone reading English)."""
    out = set()
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            out.add(_(text).strip().casefold())
    return out


def _columns() -> dict[str, set[str]]:
    return {
        "owner": _labels("Team / person"),
        "floor": _labels("Floor"),
        "target": _labels("Target"),
        "stretch": _labels("Stretch"),
        "method": _labels("Split by"),
        "locked": _labels("Locked"),
        "key": _labels("Row key"),
    }


def _yes_values() -> set[str]:
    return _labels("Yes") | {"1", "y", "yes", "true", "x", "✓", "✔", "是", "锁定"}


def _methods() -> dict[str, str]:
    """Every way a split method may be written (its label in each language, its code)."""
    out: dict[str, str] = {}
    for value, label in Method.choices:
        out[value.casefold()] = value
        for code, _name in settings.LANGUAGES:
            with translation.override(code):
                out[str(label).strip().casefold()] = value
    return out


class LevelValues(TypedDict):
    floor: Decimal
    target_value: Decimal
    stretch: Decimal


@dataclass
class Edit:
    """One target's changes as read from a row (``None``: left as it is)."""

    target_id: int
    version: int
    where: str  # "Sheet!row" for messages
    levels: tuple[Decimal, Decimal, Decimal] | None = None
    locked: bool | None = None
    method: str | None = None
    months: list[Decimal] | None = None
    # filled by the check, for the preview
    owner: str = ""
    metric: str = ""
    before: tuple[Decimal, Decimal, Decimal] | None = None
    months_note: str = ""

    def level_values(self) -> LevelValues:
        """The new floor / target / stretch as the services take them."""
        assert self.levels is not None
        floor, value, stretch = self.levels
        return LevelValues(floor=floor, target_value=value, stretch=stretch)

    @property
    def method_label(self) -> str:
        return str(Method(self.method).label) if self.method in Method.values else ""

    def payload(self) -> list[Any]:
        return [
            self.target_id,
            self.version,
            self.where,
            [str(v) for v in self.levels] if self.levels else None,
            self.locked,
            self.method,
            [str(v) for v in self.months] if self.months is not None else None,
        ]

    @classmethod
    def from_payload(cls, data: list[Any]) -> Edit:
        tid, version, where, levels, locked, method, months = data
        return cls(
            target_id=int(tid),
            version=int(version),
            where=str(where),
            levels=tuple(Decimal(v) for v in levels) if levels else None,  # type: ignore[arg-type]
            locked=locked,
            method=method,
            months=[Decimal(v) for v in months] if months is not None else None,
        )


@dataclass
class Reading:
    """What a workbook holds for a plan: the changes, and why it cannot be taken if so."""

    edits: list[Edit] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    rows: int = 0
    unchanged: int = 0

    def error(self, message: str) -> None:
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(message)
        elif len(self.errors) == MAX_ERRORS:
            self.errors.append(
                _("… and more: the first %(n)s problems are shown.") % {"n": MAX_ERRORS}
            )


def _decimal(value: Any) -> Decimal | None:
    """A cell's number as typed (``1,234,567``, ``¥1,234,567``, ``123.4万``, ``1.2亿``), None if
    it is not."""
    if isinstance(value, (bool, datetime, date)):
        return None
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, (int, Decimal)):
        return Decimal(value)
    return typed_figure(str(value))  # "1,2,3" or "1e6" is a slip, not a figure


def _number(value: Any, places: int, where: str, what: str) -> Decimal:
    """A cell as a figure of the metric (cents for money, whole for counts), or why not."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ValidationError(
            _(
                "%(where)s: %(what)s is empty (if it holds a formula, open and save the file in "
                "Excel or WPS so that its value is stored)."
            )
            % {"where": where, "what": what}
        )
    number = _decimal(value)
    if number is None or not number.is_finite():
        raise ValidationError(
            _("%(where)s: %(what)s is not a number (%(value)s).")
            % {"where": where, "what": what, "value": value}
        )
    if number < 0:
        raise ValidationError(
            _("%(where)s: %(what)s cannot be negative (%(value)s).")
            % {"where": where, "what": what, "value": value}
        )
    if number > ENTRY_MAX:
        raise ValidationError(
            _("%(where)s: %(what)s %(value)s is too large (at most %(most)s).")
            % {"where": where, "what": what, "value": value, "most": f"{ENTRY_MAX:,.0f}"}
        )
    quantum = Decimal(1).scaleb(-places)
    rounded = number.quantize(quantum)
    # a float computed in Excel (=B5*1.1) carries binary noise far below a cent: that is not
    # a decimal the user typed
    if abs(number - rounded) > Decimal("1e-6"):
        raise ValidationError(
            _(
                "%(where)s: %(what)s %(value)s has more decimal places than this metric takes "
                "(%(places)s)."
            )
            % {"where": where, "what": what, "value": value, "places": places}
        )
    return rounded


def _cell_number(value: Any, places: int, where: str, what: str, bad: list[str]) -> Decimal:
    """``_number``, its refusal added to ``bad`` (and 0 returned) so that the row goes on."""
    try:
        return _number(value, places, where, what)
    except ValidationError as exc:
        bad.append(exc.messages[0])
        return Decimal(0)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (datetime, date)):
        return value.strftime("%Y-%m")
    return str(value).strip()


def open_workbook(data: bytes) -> Any:
    """The workbook (values as last calculated), or FileRejected saying why not."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            check_zip(archive)
    except zipfile.BadZipFile:
        raise FileRejected(
            _(
                "This is not an XLSX workbook. Export the plan, change it in Excel or WPS, save it "
                "as .xlsx and upload that file."
            )
        ) from None
    try:
        return load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds on a damaged file
        raise FileRejected(
            _("The workbook could not be read (%(error)s). Save it again from Excel or WPS.")
            % {"error": exc.__class__.__name__}
        ) from None


def read_workbook(data: bytes, *, plan: Plan, user: Any, reason: str = "") -> Reading:
    """Every row of every sheet that carries a row key, compared with the plan as it is now,
    and the changes checked as the user's (``check_edits``; ``reason``: for an active plan's
    revisions)."""
    reading = Reading()
    try:
        wb = open_workbook(data)
    except FileRejected as exc:
        reading.errors.append(exc.message)
        return reading
    fiscal = FiscalCalendar(company_get().fiscal_year_start_month)
    month_label = {
        m: fiscal.month(plan.fiscal_year, m).start.strftime("%Y-%m") for m in range(1, 13)
    }
    month_of = {label: m for m, label in month_label.items()}
    heads = _columns()
    yes = _yes_values()
    methods = _methods()
    raw: list[tuple[str, int, int, dict[str, Any], dict[int, Any]]] = []
    try:
        for ws in wb.worksheets:
            columns: dict[str, int] | None = None
            month_cols: dict[int, int] = {}
            for r, values in enumerate(ws.iter_rows(values_only=True), start=1):
                if columns is None:
                    texts = [_text(v).casefold() for v in values]
                    if any(t in heads["key"] for t in texts):
                        columns = {}
                        for i, t in enumerate(texts):
                            for name, labels in heads.items():
                                if t in labels and name not in columns:
                                    columns[name] = i
                            match = MONTH_HEAD.match(t)
                            if match:
                                label = f"{int(match[1]):04d}-{int(match[2]):02d}"
                                if label in month_of:
                                    month_cols[month_of[label]] = i
                        missing = [n for n in ("floor", "target", "stretch") if n not in columns]
                        if missing:
                            reading.error(
                                _(
                                    "Sheet %(sheet)s: the columns %(cols)s are missing from its "
                                    "header (row %(row)s). Keep the columns as exported."
                                )
                                % {
                                    "sheet": ws.title,
                                    "cols": ", ".join(str(LEVELS[n]) for n in missing),
                                    "row": r,
                                }
                            )
                            break
                    continue
                cell = dict(enumerate(values))
                key = _text(cell.get(columns["key"]))
                if not key:
                    # a row added by hand (its figures typed, no key): said, not skipped
                    typed = [_text(cell.get(columns[n])) for n in LEVELS if n in columns] + [
                        _text(cell.get(i)) for i in month_cols.values()
                    ]
                    if any(typed):
                        reading.error(
                            _(
                                "%(where)s: a row without a row key (%(row)s): rows cannot be "
                                "added in the workbook. Add the person or team in salesloop, "
                                "then export the plan again."
                            )
                            % {
                                "where": f"{ws.title}!{r}",
                                "row": " · ".join(_text(v) for v in values[:3] if _text(v))[:60],
                            }
                        )
                    continue
                match = KEY.match(key)
                where = f"{ws.title}!{r}"
                if not match:
                    reading.error(
                        _(
                            "%(where)s: the row key %(key)s was changed; keep the row keys as "
                            "exported."
                        )
                        % {"where": where, "key": key}
                    )
                    continue
                raw.append(
                    (
                        where,
                        int(match[1]),
                        int(match[2]),
                        {n: cell.get(i) for n, i in columns.items()},
                        {m: cell.get(i) for m, i in month_cols.items()},
                    )
                )
    finally:
        wb.close()
    if not raw and not reading.errors:
        reading.errors.append(
            _(
                "The workbook has no rows with a row key. Export the plan from salesloop, change "
                "that file and upload it again (keep its Row key column)."
            )
        )
        return reading
    ids = [tid for _w, tid, _v, _c, _m in raw]
    # only what the user may see: a target hidden from them reads as one of no plan at all, so
    # that a hand-made key tells nothing about it (not even whether its figures are these)
    current = {
        t.pk: t
        for t in target_list(user=user, plan=plan)
        .filter(pk__in=ids)
        .select_related("unit", "member", "product_line")
    }
    months_now: dict[int, dict[int, Decimal]] = {}
    for tid, month, value in TargetMonth.objects.filter(target__in=list(current)).values_list(
        "target_id", "month", "target_value"
    ):
        months_now.setdefault(tid, {})[month] = value
    seen: dict[int, str] = {}
    foreign: list[str] = []
    for where, tid, version, cells, months in raw:
        reading.rows += 1
        target = current.get(tid)
        if target is None:
            foreign.append(where)
            continue
        if tid in seen:
            reading.error(
                _(
                    "%(where)s: %(owner)s appears twice (also at %(other)s); keep one row per "
                    "target."
                )
                % {"where": where, "owner": target, "other": seen[tid]}
            )
            continue
        seen[tid] = where
        places = metric_places(target.metric)
        edit = Edit(target_id=tid, version=version, where=where, owner=str(target))
        bad: list[str] = []  # every bad cell of the row is named, not only the first
        levels = tuple(
            _cell_number(cells[name], places, where, str(label), bad)
            for name, label in LEVELS.items()
        )
        typed = [
            _cell_number(months[m], places, where, month_label[m], bad)
            if months.get(m) not in (None, "")
            else None
            for m in range(1, 13)
        ]
        if bad:
            for message in bad:
                reading.error(message)
            continue
        now = (target.floor, target.target, target.stretch)
        if levels != now:
            edit.levels, edit.before = levels, now  # type: ignore[assignment]
        if "locked" in cells:
            locked = _text(cells["locked"]).casefold() in yes
            if locked != target.locked:
                edit.locked = locked
        if "method" in cells and _text(cells["method"]):
            method = methods.get(_text(cells["method"]).casefold())
            if method is None:
                reading.error(
                    _("%(where)s: %(value)s is not a split method (one of %(choices)s).")
                    % {
                        "where": where,
                        "value": _text(cells["method"]),
                        "choices": ", ".join(str(label) for _v, label in Method.choices),
                    }
                )
                continue
            if method != target.method:
                edit.method = method
        if len(months) == 12 and any(v is not None for v in typed):
            split = [v or Decimal(0) for v in typed]
            if split != [months_now.get(tid, {}).get(m, Decimal(0)) for m in range(1, 13)]:
                edit.months = split
        if edit.levels is None and edit.locked is None and edit.method is None and not edit.months:
            reading.unchanged += 1
        else:
            reading.edits.append(edit)
    if foreign:
        reading.errors.insert(0, _foreign_error(foreign, plan))
    if reading.edits:
        # the rows that read well are checked against the rules too, so that one upload names
        # every problem of the file rather than the rules' only once its cells are mended
        # (each rule is about its own row, so a row refused while reading changes none)
        for message in check_edits(reading.edits, plan=plan, user=user, reason=reason):
            reading.error(message)
        if not reading.errors and plan.status == PlanStatus.ACTIVE:
            reading.errors.extend(_dry_run(reading.edits, plan=plan, user=user, reason=reason))
        if not reading.errors:
            reading.warnings = _new_gaps(reading.edits, plan)
    return reading


class _DryRun(Exception):
    pass


def _dry_run(edits: list[Edit], *, plan: Plan, user: Any, reason: str) -> list[str]:
    """Revisions of an active plan can fail only once written (the months over keep their
    targets, and what the year leaves may not fit the months to come): write them in a
    transaction that is rolled back, so that the preview says so rather than Apply. Nothing
    leaves it (notices and webhooks wait for a commit that never comes)."""
    try:
        with transaction.atomic():
            apply_edits(edits, plan=plan, user=user, filename="", reason=reason, every_error=True)
            raise _DryRun
    except _DryRun:
        return []
    except (ValidationError, PermissionDenied) as exc:
        return list(getattr(exc, "messages", [str(exc)]))


def _new_gaps(edits: list[Edit], plan: Plan) -> list[str]:
    """The parents whose children added up to their target before the changes and no longer
    will after them (the plan page then shows the gap; a split closes it), and the totals whose
    product lines will no longer add up to them. The sums come from the database; the changes
    move them by their differences."""
    changed = {e.target_id: e.levels[1] for e in edits if e.levels}
    if not changed:
        return []
    old = {
        pk: (parent, v)
        for pk, parent, v in Target.objects.filter(pk__in=list(changed)).values_list(
            "pk", "parent_id", "target"
        )
    }
    parents = {parent for parent, _v in old.values() if parent} | set(changed)
    before = dict(
        Target.objects.filter(parent__in=parents)
        .values("parent")
        .annotate(total=Sum("target"))
        .order_by()
        .values_list("parent", "total")
    )
    after = dict(before)
    for pk, (parent, v) in old.items():
        if parent in after:
            after[parent] += changed[pk] - v
    value = dict(Target.objects.filter(pk__in=parents).values_list("pk", "target"))
    gaps = [
        pk
        for pk in parents
        if pk in before and before[pk] == value[pk] and after[pk] != changed.get(pk, value[pk])
    ]
    lines = _line_gaps(changed, old, plan)
    names, metrics = {}, {}
    for t in Target.objects.filter(pk__in=[*gaps, *lines]).select_related(
        "unit", "member", "product_line"
    ):
        names[t.pk], metrics[t.pk] = str(t), t.metric
    return [
        _(
            "%(owner)s: its children will add up to %(sum)s, not its target %(target)s — split it "
            "down on the plan page, or change the file so that they match."
        )
        % {
            "owner": names[pk],
            "sum": exact_figure(after[pk], metrics[pk]),
            "target": exact_figure(changed.get(pk, value[pk]), metrics[pk]),
        }
        for pk in sorted(gaps, key=lambda pk: names[pk])
    ] + [
        _(
            "%(owner)s: its product lines will add up to %(sum)s, not its target %(target)s — "
            "change the lines so that they match, or its total."
        )
        % {
            "owner": names[pk],
            "sum": exact_figure(total, metrics[pk]),
            "target": exact_figure(target, metrics[pk]),
        }
        for pk, (total, target) in sorted(lines.items(), key=lambda item: names[item[0]])
    ]


def _line_gaps(
    changed: dict[int, Decimal], old: Mapping[int, tuple[Any, Decimal]], plan: Plan
) -> dict[int, tuple[Decimal, Decimal]]:
    """The totals (left as they are) whose product lines added up to them before the changes and
    will not after (some of their lines changed): total id → (the lines' new sum, the total). A
    total changed in the same file realigns its lines first, so it is not judged here."""
    moved: dict[tuple[str, int | None, int | None], Decimal] = {}
    for pk, metric, unit, member in Target.objects.filter(
        pk__in=list(changed), product_line__isnull=False
    ).values_list("pk", "metric", "unit_id", "member_id"):
        key = (metric, unit, member)
        moved[key] = moved.get(key, Decimal(0)) + changed[pk] - old[pk][1]
    if not moved:
        return {}
    owners = Q(unit__in={u for _m, u, _p in moved if u}) | Q(
        member__in={p for _m, _u, p in moved if p}
    )
    scope = Target.objects.filter(owners, plan=plan)
    sums = {
        (metric, unit, member): total
        for metric, unit, member, total in scope.filter(product_line__isnull=False)
        .values("metric", "unit", "member")
        .annotate(total=Sum("target"))
        .order_by()
        .values_list("metric", "unit", "member", "total")
    }
    gaps = {}
    for pk, metric, unit, member, value in scope.filter(product_line__isnull=True).values_list(
        "pk", "metric", "unit_id", "member_id", "target"
    ):
        key = (metric, unit, member)
        if key in moved and pk not in changed and sums.get(key) == value and moved[key]:
            gaps[pk] = (value + moved[key], value)
    return gaps


def check_edits(edits: list[Edit], *, plan: Plan, user: Any, reason: str = "") -> list[str]:
    """Why these changes cannot be written now (empty when they can): the plan must be a draft,
    or the active plan with a reason (each change a revision: figures or months, one of the
    two per target, no locks or split methods); each target visible to and settable by the
    user, unchanged since the export, its levels in order. Also fills each edit's owner, before
    and months note for the preview."""
    errors: list[str] = []
    plan = Plan.objects.get(pk=plan.pk)
    revising = plan.status == PlanStatus.ACTIVE
    if not (plan.is_editable or revising):
        return [
            _(
                "This plan is %(status)s: an import changes a draft plan, or the active plan "
                "through revisions with a reason."
            )
            % {"status": plan.get_status_display()}
        ]
    if revising and services.first_open_month(plan, timezone.localdate()) > 12:
        return [_("The plan's year is over: its targets no longer change.")]
    if revising and len(reason.strip()) < REASON_MIN:
        errors.append(
            _(
                "Give the reason for these revisions (at least a few words): it is recorded with each."
            )
        )
    member = services._actor_member(user)
    stale: list[tuple[Edit, Target]] = []
    ids = [e.target_id for e in edits]
    seen = {
        t.pk: t for t in target_list(user=user, plan=plan).filter(pk__in=ids).select_related("plan")
    }
    for e in edits:
        t = seen.get(e.target_id)
        if t is None:
            errors.append(
                _("%(where)s: this target is not one you may see in this plan.")
                % {"where": e.where}
            )
            continue
        e.owner, e.metric = str(t), t.metric
        if e.levels is not None:
            e.before = (t.floor, t.target, t.stretch)
        if t.lock_version != e.version:
            stale.append((e, t))
            continue
        if revising and (e.locked is not None or e.method is not None):
            errors.append(
                _(
                    "%(where)s: an active plan's locks and split methods do not change; only its "
                    "figures and months are revised."
                )
                % {"where": e.where}
            )
        if revising and e.levels is not None and e.months is not None:
            errors.append(
                _(
                    "%(where)s: revise %(owner)s's year or its months, not both in one import "
                    "(the months follow a revised year by their profile)."
                )
                % {"where": e.where, "owner": t}
            )
        sets = e.levels is not None or e.locked is not None or e.months is not None
        if sets and not rules.may_edit_target(member, t):
            errors.append(
                _(
                    "%(where)s: you may not set %(owner)s (you set the targets of the people and "
                    "teams below you, not your own)."
                )
                % {"where": e.where, "owner": t}
            )
        if e.method is not None and not rules.may_edit_target(member, t, for_children=True):
            errors.append(
                _("%(where)s: you may not change how %(owner)s is split.")
                % {"where": e.where, "owner": t}
            )
        errors += _order_errors(e)
        if e.months is not None:
            year = e.levels[1] if e.levels else t.target
            total = sum(e.months, Decimal(0))
            if total == 0:
                errors.append(
                    _(
                        "%(where)s: the months of %(owner)s add up to zero; give at least one "
                        "month a share, or leave the months as exported."
                    )
                    % {"where": e.where, "owner": t}
                )
            elif total != year:
                e.months_note = _(
                    "the months add up to %(total)s, the year to %(year)s: taken as shares"
                ) % {"total": exact_figure(total, t.metric), "year": exact_figure(year, t.metric)}
    return _stale_errors(stale) + errors


def _foreign_error(rows: list[str], plan: Plan) -> str:
    """The rows whose key names no target of ``plan`` that the user may see, in one sentence."""
    if len(rows) == 1:
        return _(
            "%(where)s: this row is not a target of %(plan)s that you may see (was the file "
            "exported from another plan or version, or by someone who sees more of the plan? "
            "Export the plan yourself and change that file)."
        ) % {"where": rows[0], "plan": plan}
    listed = ", ".join(rows[:STALE_LISTED]) + (" …" if len(rows) > STALE_LISTED else "")
    return ngettext(
        "%(n)s row (%(rows)s) is not a target of %(plan)s that you may see: was the file "
        "exported from another plan or version, or by someone who sees more of the plan? "
        "Export the plan yourself and change that file.",
        "%(n)s rows (%(rows)s) are not targets of %(plan)s that you may see: was the file "
        "exported from another plan or version, or by someone who sees more of the plan? "
        "Export the plan yourself and change that file.",
        len(rows),
    ) % {"n": len(rows), "rows": listed, "plan": plan}


def _stale_errors(stale: list[tuple[Edit, Target]]) -> list[str]:
    """The rows changed in salesloop since the export: each by name when they are a few, else
    one sentence (a file exported long ago would otherwise list every row)."""
    if len(stale) <= STALE_LISTED:
        return [
            _(
                "%(where)s: %(owner)s was changed in salesloop after this file was exported "
                "(target now %(now)s). Export the plan again and make your change in the new "
                "file, so that nobody's edit is lost."
            )
            % {"where": e.where, "owner": t, "now": exact_figure(t.target, t.metric)}
            for e, t in stale
        ]
    return [
        _(
            "%(n)s of the changed rows were changed in salesloop after this file was exported "
            "(%(rows)s …): the file is out of date. Export the plan again and make your changes "
            "in the new file, so that nobody's edit is lost."
        )
        % {
            "n": len(stale),
            "rows": ", ".join(f"{e.where} {t.owner_name}" for e, t in stale[:STALE_LISTED]),
        }
    ]


def _order_errors(e: Edit) -> list[str]:
    if e.levels is None:
        return []
    floor, value, stretch = e.levels
    if floor <= value <= stretch:
        return []
    owner = e.owner
    return [
        _(
            "%(where)s: %(owner)s — the floor (%(floor)s) must not exceed the target (%(target)s), "
            "nor the target the stretch (%(stretch)s)."
        )
        % {
            "where": e.where,
            "owner": owner,
            "floor": exact_figure(floor, e.metric),
            "target": exact_figure(value, e.metric),
            "stretch": exact_figure(stretch, e.metric),
        }
    ]


def _order(edits: list[Edit], targets: dict[int, Target]) -> list[Edit]:
    """Totals before product lines, parents before children (depth in the tree)."""
    depth: dict[int, int] = {}

    def depth_of(t: Target) -> int:
        if t.pk not in depth:
            parent = targets.get(t.parent_id) if t.parent_id else None
            depth[t.pk] = 0 if parent is None else depth_of(parent) + 1
        return depth[t.pk]

    return sorted(
        edits,
        key=lambda e: (
            targets[e.target_id].product_line_id is not None,
            depth_of(targets[e.target_id]),
            e.target_id,
        ),
    )


@transaction.atomic
def apply_edits(
    edits: list[Edit],
    *,
    plan: Plan,
    user: Any,
    filename: str,
    reason: str = "",
    every_error: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Write the changes (all or none) and record the import; returns the targets changed. In
    the active plan each change is a revision with ``reason``. Raises ValidationError with
    every reason when the plan moved on since the check. ``every_error`` (the dry run): each
    change in its own savepoint, so that all the rows that cannot be written are named, not
    only the first. ``progress(done, total)`` is called after each change written."""
    plan = Plan.objects.select_for_update().get(pk=plan.pk)
    # hold the rows from the check to the last write, so that no edit slips in between
    list(
        Target.objects.select_for_update()
        .filter(pk__in=[e.target_id for e in edits])
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    errors = check_edits(edits, plan=plan, user=user, reason=reason)
    if errors:
        raise ValidationError(errors)
    revising = plan.status == PlanStatus.ACTIVE
    targets = {t.pk: t for t in Target.objects.filter(plan=plan)}
    failed: list[str] = []
    for done, e in enumerate(_order(edits, targets), start=1):
        target = Target.objects.get(pk=e.target_id)
        weights = SeasonalWeights.from_raw([float(v) for v in e.months]) if e.months else None
        try:
            with transaction.atomic() if every_error else nullcontext():
                if revising:
                    _revise(e, target, weights, user, reason)
                else:
                    _set(e, target, weights, user)
        except (ValidationError, PermissionDenied) as exc:
            failed += [labelled(e.where, m) for m in getattr(exc, "messages", [str(exc)])]
            if not every_error:
                break
        if progress is not None:
            progress(done, len(edits))
    if failed:
        raise ValidationError(failed)
    audit_record(
        actor=user,
        action="plan.import",
        subject=plan,
        changes={
            "file": [None, filename],
            "targets": [None, len(edits)],
            **({"reason": [None, reason.strip()]} if revising else {}),
        },
    )
    return len(edits)


def _set(e: Edit, target: Target, weights: SeasonalWeights | None, user: Any) -> None:
    """One row's changes to a draft target, as the plan page makes them."""
    if e.levels is not None:
        services.target_set(
            target=target,
            **e.level_values(),
            actor=user,
            lock=e.locked,
            weights=weights,
            audit_action="target.import",
        )
    else:
        if weights is not None:
            services.target_set_months(target=target, weights=weights, actor=user)
        if e.locked is not None:
            services.target_set_locked(target=target, locked=e.locked, actor=user)
    if e.method is not None:
        services.target_set_method(target=target, method=e.method, actor=user)


def _revise(
    e: Edit, target: Target, weights: SeasonalWeights | None, user: Any, reason: str
) -> None:
    """One row's change to an active target: a revision with the import's reason, counting
    from the month in progress (the months over keep their targets)."""
    if e.levels is not None:
        first_open = services.first_open_month(target.plan, timezone.localdate())
        try:
            services.target_revise(
                target=target,
                **e.level_values(),
                reason=reason,
                actor=user,
                from_month=first_open,  # the months over keep theirs, as the preview says
            )
        except ValidationError as exc:
            if "from_month" not in getattr(exc, "error_dict", {}):  # said of its row's owner
                raise ValidationError(
                    [labelled(e.owner or target, m) for m in exc.messages]
                ) from exc
            raise ValidationError(
                _(
                    "%(owner)s: the months before %(month)s keep their targets, and the revised "
                    "year leaves the months from %(month)s no room for floor ≤ target ≤ stretch "
                    "in each. Change floor, target and stretch together, or revise less."
                )
                % {
                    "owner": e.owner or target,
                    "month": services._month_label(target.plan, first_open),
                }
            ) from exc
    elif weights is not None:
        services.target_revise_months(target=target, weights=weights, reason=reason, actor=user)
