"""Plan history in words: the audit events of a plan and of its targets, as a director reads
them ("Revised · 王浩 · Target 128,181,632 → 140,000,000 · 新签大客户")."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from salesloop.common.models import AuditEvent
from salesloop.common.words import labelled
from salesloop.core.rounding import half_up, percent
from salesloop.targets.choices import Method, Metric, PlanStatus

ACTIONS = {
    "plan.create": gettext_lazy("Plan created"),
    "plan.recommend": gettext_lazy("Recommendation computed"),
    "plan.submitted": gettext_lazy("Submitted for approval"),
    "plan.approved": gettext_lazy("Approved"),
    "plan.active": gettext_lazy("Activated"),
    "plan.archived": gettext_lazy("Archived"),
    "plan.draft": gettext_lazy("Back to draft"),
    "plan.returned": gettext_lazy("Sent back to draft"),
    "target.set": gettext_lazy("Values set"),
    "target.import": gettext_lazy("Set from an imported workbook"),
    "plan.import": gettext_lazy("Workbook imported"),
    "target.allocate": gettext_lazy("Split from its parent"),
    "target.split": gettext_lazy("Split down"),
    "target.summed": gettext_lazy("Set to the sum of the targets under it"),
    "target.method": gettext_lazy("Split method changed"),
    "target.lock": gettext_lazy("Lock changed"),
    "target.months": gettext_lazy("Monthly split set by hand"),
    "target.revise": gettext_lazy("Revised"),
    "target.proposal_accepted": gettext_lazy("Proposal accepted"),
    "target.move": gettext_lazy("Moved with a member changing teams"),
    "proposal.create": gettext_lazy("Proposal made"),
    "plan.proposals_requested": gettext_lazy("Proposals asked for"),
}

FIELDS = {
    "floor": gettext_lazy("Floor"),
    "target": gettext_lazy("Target"),
    "stretch": gettext_lazy("Stretch"),
    "locked": gettext_lazy("Locked"),
    "method": gettext_lazy("Split method"),
    "status": gettext_lazy("Status"),
    "metric": gettext_lazy("Metric"),
    "reason": gettext_lazy("Reason"),
    "value": gettext_lazy("Proposed"),
    "children": gettext_lazy("Children"),
    "product_lines_realigned": gettext_lazy("Product-line targets realigned"),
    "product_line_months_refitted": gettext_lazy(
        "Product-line months moved to add up to each person's months"
    ),
    "fiscal_year": gettext_lazy("Fiscal year"),
    "version": gettext_lazy("Version"),
    "team": gettext_lazy("Team"),
    "subtree_targets": gettext_lazy("Targets under it split the same way"),
    "file": gettext_lazy("File"),
    "targets": gettext_lazy("Targets changed"),
    "asked": gettext_lazy("People asked"),
    "note": gettext_lazy("Note"),
    "due": gettext_lazy("Due by"),
}


@dataclass(frozen=True)
class Line:
    at: Any
    who: str
    what: str
    subject: str
    details: list[str]


def _number(value: Any) -> str:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    if amount == amount.to_integral_value():
        return f"{amount:,.0f}"
    return f"{amount:,.2f}"


def _figure(value: Any, metric: str) -> str:
    """A figure of the target's metric: money with ¥ and separators, exact (a history keeps
    cents); else as ``_number``."""
    from salesloop.targets.choices import MONEY_METRICS
    from salesloop.web.templatetags.salesloop import money_exact

    if metric in MONEY_METRICS:
        try:
            return money_exact(Decimal(str(value)))
        except (InvalidOperation, ValueError):
            return str(value)
    return _number(value)


def _value(field: str, value: Any, metric: str = "") -> str:
    if value is None or value == "":
        return "—"
    if field == "locked":
        return _("yes") if value in (True, "True", "true") else _("no")
    if field == "method" and value in Method.values:
        return str(Method(value).label)
    if field == "status" and value in PlanStatus.values:
        return str(PlanStatus(value).label)
    if field == "metric" and value in Metric.values:
        return str(Metric(value).label)
    if field in ("floor", "target", "stretch", "value"):
        return _figure(value, metric)
    return str(value)


def _inputs(inputs: dict[str, Any], line_names: dict[str, str]) -> list[str]:
    out = [
        _("Growth %(g)s%%") % {"g": _number(half_up(100 * float(inputs.get("growth_rate", 0)), 1))}
    ]
    probs = inputs.get("probabilities") or []
    if len(probs) == 3:
        out.append(_("Probabilities %(p)s") % {"p": " / ".join(percent(float(p)) for p in probs)})
    for code, amount in (inputs.get("uplifts") or {}).items():
        out.append(
            _("Uplift %(line)s %(amount)s")
            % {"line": line_names.get(code, code), "amount": _number(amount)}
        )
    if inputs.get("hires"):
        # the headcount (full-time equivalents), not the rows of the form
        fte = sum(float(h.get("fte", 1) or 0) for h in inputs["hires"])
        out.append(_("%(n)s planned hires") % {"n": _number(half_up(fte, 1))})
    if inputs.get("round_to"):
        out.append(_("Rounded to ¥%(unit)s") % {"unit": _number(inputs["round_to"])})
    return out


def percent_shares(values: list[Decimal]) -> list[Decimal]:
    """Each value's share of their sum, in percent to 0.01 (all 0 when the sum is 0)."""
    total = sum(values, Decimal(0))
    return [(v / total * 100).quantize(Decimal("0.01")) if total else Decimal(0) for v in values]


def _shares(values: list[Any]) -> str:
    """Twelve monthly values as their shares of the year: "8.3% / 7.1% / …"."""
    try:
        amounts = [Decimal(str(v)) for v in values]
    except (InvalidOperation, ValueError):
        return " / ".join(str(v) for v in values)
    if sum(amounts, Decimal(0)) <= 0:
        return " / ".join(_number(v) for v in amounts)
    return " / ".join(f"{share:.1f}%" for share in percent_shares(amounts))


# the order a change reads in: the figures as a director reads them, then what followed, the
# reason last (PostgreSQL's jsonb keeps keys by length, which put the reason between the floor
# and the target)
ORDER = ("status", "floor", "target", "stretch")


def _rank(field: str) -> int:
    if field == "reason":
        return len(ORDER) + 1
    return ORDER.index(field) if field in ORDER else len(ORDER)


def describe(
    event: AuditEvent,
    subjects: dict[str, str],
    line_names: dict[str, str] | None = None,
    metrics: dict[str, str] | None = None,
) -> Line:
    """One event in words. ``subjects``: target id → "owner · metric"; ``line_names``: product
    line code → name; ``metrics``: target id → its metric (money then reads with ¥)."""
    changes = event.changes or {}
    metric = (metrics or {}).get(event.subject_id, "")
    if not metric and isinstance(changes.get("metric"), list):
        metric = str(changes["metric"][-1] or "")
    details: list[str] = []
    for field, pair in sorted(changes.items(), key=lambda item: _rank(item[0])):
        old, new = (pair + [None, None])[:2] if isinstance(pair, list) else (None, pair)
        if field == "inputs" and isinstance(new, dict):
            details.extend(_inputs(new, line_names or {}))
        elif field == "root" and isinstance(new, list) and len(new) == 3:
            details.append(
                _("Floor / target / stretch: %(v)s")
                % {"v": " / ".join(_figure(v, metric) for v in new)}
            )
        elif field == "months" and isinstance(new, list):
            details.append(_("Monthly split: %(shares)s") % {"shares": _shares(new)})
        elif field == "reason":
            details.append(labelled(FIELDS["reason"], new))
        elif old is None or old == "":
            details.append(labelled(FIELDS.get(field, field), _value(field, new, metric)))
        else:
            details.append(
                labelled(
                    FIELDS.get(field, field),
                    f"{_value(field, old, metric)} → {_value(field, new, metric)}",
                )
            )
    actor = event.actor
    who = "—"
    if actor is not None:
        member = getattr(actor, "member", None)
        who = getattr(member, "display_name", "") or actor.get_username()
    return Line(
        at=event.at,
        who=who,
        what=str(ACTIONS.get(event.action, event.action)),
        subject=subjects.get(event.subject_id, "") if event.subject_type != "targets.plan" else "",
        details=details,
    )
