from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from salesloop.common.words import labelled, listed, sentences
from salesloop.core.periods import (
    FiscalCalendar,
    Period,
    SeasonalWeights,
    add_months,
    months_between,
)
from salesloop.customers.models import ProductLine
from salesloop.org.choices import Role
from salesloop.org.decorators import writer_required
from salesloop.org.models import Member, OrgUnit
from salesloop.org.services import company_get
from salesloop.org.visibility import can_write, member_of, sees_everything, visible
from salesloop.targets import charts, moves, rules, selectors, services, smart
from salesloop.targets.choices import MONEY_METRICS, Metric, PlanStatus
from salesloop.targets.forms import (
    InputsForm,
    MoveForm,
    NewPlanForm,
    ProposalForm,
    RevisionForm,
    TargetValuesForm,
)
from salesloop.targets.history import percent_shares
from salesloop.targets.models import Plan, PlanRun, Proposal, Target
from salesloop.targets.notify import reconcile_link
from salesloop.targets.planning import LINE_METRICS, history_window
from salesloop.targets.tasks import plan_recompute
from salesloop.web.templatetags.salesloop import exact_figure


def _revision_months(plan: Any) -> list[tuple[int, date]]:
    """For an active plan: the fiscal months a revision may count from (the month in progress
    and those after it), each with its first day; empty once the year is over."""
    if plan.status != PlanStatus.ACTIVE:
        return []
    first = services.first_open_month(plan, timezone.localdate())
    fiscal = FiscalCalendar(company_get().fiscal_year_start_month)
    return [(k, fiscal.month(plan.fiscal_year, k).start) for k in range(first, 13)]


def _revision_from(months: list[tuple[int, date]]) -> date | None:
    """For an active plan whose year is under way: the first month a revision changes by
    default (the months before it keep their targets)."""
    return months[0][1] if months and months[0][0] > 1 else None


def _metric(request: HttpRequest) -> str:
    metric = request.GET.get("metric") or request.POST.get("metric") or Metric.BOOKED_REVENUE
    if metric in Metric.values:
        return metric
    _said_instead(
        request, _("There is no metric %(value)s: showing booked revenue instead."), metric
    )
    return Metric.BOOKED_REVENUE


def _line(request: HttpRequest) -> ProductLine | None:
    raw = request.GET.get("line") or request.POST.get("line")
    if not raw:
        return None
    line = ProductLine.objects.filter(pk=raw).first() if raw.isdigit() else None
    if line is None:
        _said_instead(request, _("There is no product line %(value)s: showing all lines."), raw)
    return line


def _said_instead(request: HttpRequest, message: str, value: str) -> None:
    """A page asked for what does not exist (an old bookmark, a hand-edited address) says what
    it shows instead rather than silently showing something else."""
    if request.method == "GET" and not getattr(request, "htmx", False):
        messages.warning(request, message % {"value": value[:20]})


def plans_view(request: HttpRequest) -> HttpResponse:
    this_year = FiscalCalendar(company_get().fiscal_year_start_month).fiscal_year_of(
        timezone.localdate()
    )
    plans = list(selectors.plan_list(user=request.user))
    # the first year from next year on without a plan (a year with one gets new versions)
    taken = set(Plan.objects.values_list("fiscal_year", flat=True))
    year = this_year + 1
    while year in taken:
        year += 1
    form = NewPlanForm(initial={"fiscal_year": year})
    headlines = selectors.plan_headlines(user=request.user, plans=plans)
    return render(
        request,
        "targets/plans.html",
        {
            "plans": [(p, headlines.get(p.pk)) for p in plans],
            "form": form,
            "may_create": sees_everything(request.user),
        },
    )


@writer_required
def plan_create_view(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":  # the form is on the plans page
        return redirect("targets:plans")
    member = member_of(request.user)
    form = NewPlanForm(request.POST)
    if member is None or not sees_everything(request.user):
        raise PermissionDenied
    if not form.is_valid():
        messages.error(request, sentences(e for errs in form.errors.values() for e in errs))
        return redirect("targets:plans")
    existing = Plan.objects.filter(fiscal_year=form.cleaned_data["fiscal_year"]).order_by(
        "-version"
    )
    if existing.exists():
        # one plan per year, in versions: a second empty draft would stand beside it unseen
        messages.error(
            request,
            _(
                "FY%(year)s already has a plan: here it is. A new version is made from it with "
                "“New version”."
            )
            % {"year": form.cleaned_data["fiscal_year"]},
        )
        return redirect("targets:plan", pk=existing[0].pk)
    plan = services.plan_create(
        fiscal_year=form.cleaned_data["fiscal_year"], owner=member, actor=request.user
    )
    services.plan_build_tree(plan=plan, metric=Metric.BOOKED_REVENUE)
    return redirect("targets:plan", pk=plan.pk)


def _plan_context(
    request: HttpRequest, plan: Any, metric: str, line: ProductLine | None
) -> dict[str, Any]:
    rows = selectors.plan_rows(
        user=request.user, plan=plan, metric=metric, product_line=line, month_gaps=True
    )
    member = member_of(request.user)
    revision_months = _revision_months(plan)
    lines = list(ProductLine.objects.filter(is_active=True)) if metric in LINE_METRICS else []
    root = next((r.target for r in rows if r.depth == 0), None)
    context: dict[str, Any] = {
        "plan": plan,
        "rows": rows,
        "metric": metric,
        "metric_label": Metric(metric).label,
        "metrics": Metric.choices,
        "money_metrics": MONEY_METRICS,
        "line": line,
        "lines": lines,
        "root": root,
        "may_edit_plan": bool(member) and rules.may_edit_plan(member, plan),  # type: ignore[arg-type]
        "may_approve": bool(member) and rules.may_approve_plan(member, plan),  # type: ignore[arg-type]
        "may_set_targets": rules.may_set_targets(member),
        # the probabilities of a row's stored quantiles (``Row.chance_totals``), for its chance
        # as a figure is typed
        "chance_probs": ",".join(str(p) for p in smart.BASIS_PROBS),
        # a computation's progress is for those who may start one
        "run": selectors.latest_run(plan=plan, metric=metric)
        if member is not None and rules.may_edit_plan(member, plan)
        else None,
        "revision_months": revision_months,
        # who may open "Move" on a person's row (the move page checks each team offered)
        "may_move": member is not None
        and plan.status in (PlanStatus.DRAFT, PlanStatus.ACTIVE)
        and (
            member.role in (Role.ADMIN, Role.DIRECTOR)
            # a manager moves people between the teams below them: one team has nowhere to go
            or member.role == Role.MANAGER
            and OrgUnit.objects.filter(path__startswith=member.org_unit.path).count() > 1
        ),
        "viewer_id": member.pk if member else None,
        # the reader's own row (or their team's) on a draft: the way to propose their figure
        "proposable": {r.target.pk for r in rows if rules.may_propose(member, r.target)}
        if member is not None and plan.status == PlanStatus.DRAFT and can_write(request.user)
        else set(),
        "revision_from": _revision_from(revision_months),
        "query": f"metric={metric}" + (f"&line={line.pk}" if line else ""),
    }
    if (
        plan.status == PlanStatus.DRAFT
        and context["may_edit_plan"]
        or plan.status == PlanStatus.SUBMITTED
        and context["may_approve"]
    ):
        context["readiness"] = selectors.plan_readiness(user=request.user, plan=plan)
        context["readiness_lines"] = _readiness_lines(context["readiness"], plan, metric)
    rec = (root.recommendation if root is not None and root.product_line_id is None else {}) or {}
    if rec.get("fan") and sees_everything(request.user):
        money = metric in MONEY_METRICS
        figure, landing = _fan_figure(plan, metric, rec, money)
        context["fan_figure"] = json.dumps(figure)
        if landing is not None and root is not None and landing["total"] > 0:
            landing["growth"] = float(root.target) / landing["total"] - 1
            baseline = next(
                (w["amount"] for w in rec.get("waterfall", []) if w["key"] == "baseline"), None
            )
            if baseline is not None:  # what the trend alone adds, before the inputs
                landing["trend_growth"] = float(baseline) / landing["total"] - 1
            context["landing"] = landing
        context["waterfall_figure"] = json.dumps(
            charts.waterfall(rec, line_names={ln.code: ln.name for ln in lines}, money=money)
        )
        context["rec"] = rec
    if context["may_edit_plan"] and plan.status == PlanStatus.DRAFT and line is None:
        context["inputs_form"] = InputsForm(
            initial=InputsForm.initial_from(plan.assumptions.get(metric, {})),
            lines=lines,
            metric=metric,
        )
    return context


def _html(template: str, **values: Any) -> str:
    """A translated sentence with %(name)s placeholders, the sentence and the values escaped
    (a value already safe, a link, is kept as it is)."""
    from django.utils.html import conditional_escape
    from django.utils.safestring import mark_safe

    # both the sentence and the values are escaped
    return mark_safe(
        conditional_escape(template) % {k: conditional_escape(v) for k, v in values.items()}
    )


def _readiness_lines(
    readiness: selectors.Readiness, plan: Any, metric: str
) -> list[tuple[str, str]]:
    """The plan page's "Before you submit" list: (the line's test id, its HTML), the
    punctuation as the reader writes it."""
    from django.utils.html import format_html
    from django.utils.translation import pgettext

    lines: list[tuple[str, str]] = []
    if readiness.empty:
        lines.append(("ready-empty", _html(str(services.EMPTY_PLAN))))
    if readiness.zero_metrics:
        zero = _html(_("%(metrics)s: every target is 0."), metrics=listed(readiness.zero_metrics))
        lines.append(("ready-zero", zero))
    if readiness.unbalanced_count:
        items = []
        for gap in readiness.unbalanced:
            t = gap.target
            name = " · ".join(
                [t.owner_name, t.get_metric_display()]
                + ([t.product_line.name] if t.product_line else [])
            )
            query = f"?metric={t.metric}" + (
                f"&line={t.product_line_id}" if t.product_line_id else ""
            )
            figures = {
                "below": exact_figure(gap.below, t.metric),
                "own": exact_figure(gap.own, t.metric),
            }
            detail = labelled(gap.level_label, _("%(below)s under it, %(own)s its own") % figures)
            link = format_html('<a href="{}">{}</a>', f"{query}#target-{t.pk}", name)
            items.append(_html(_("%(name)s (%(detail)s)"), name=link, detail=detail))
        joined = items[0]
        for item in items[1:]:
            between = pgettext("between the parts of a sentence", "%(first)s; %(next)s")
            joined = _html(between, first=joined, next=item)
        n = readiness.unbalanced_count
        text = _html(
            ngettext(
                "%(n)s target does not add up to the targets under it: %(items)s%(more)s.",
                "%(n)s targets do not add up to the targets under them: %(items)s%(more)s.",
                n,
            ),
            n=n,
            items=joined,
            more=" …" if n > len(items) else "",
        )
        hint = _(
            "“Split down” on it spreads it again over them; “Take their sum” makes it what they "
            "add up to."
        )
        both = _html(
            pgettext("two sentences in a row", "%(first)s %(next)s"), first=text, next=hint
        )
        lines.append(("ready-unbalanced", both))
    if readiness.open_proposals:
        where = reverse("targets:reconcile", args=[plan.pk]) + f"?metric={metric}"
        link = format_html('<a href="{}">{}</a>', where, _("Top-down vs bottom-up"))
        n = readiness.open_proposals
        waiting = ngettext(
            "%(n)s proposal waits for a decision (%(where)s): once the plan is submitted, it is "
            "decided only when the plan is a draft again.",
            "%(n)s proposals wait for a decision (%(where)s): once the plan is submitted, they "
            "are decided only when the plan is a draft again.",
            n,
        )
        lines.append(("ready-proposals", _html(waiting, n=n, where=link)))
    return lines


def _fan_figure(
    plan: Any, metric: str, rec: dict[str, Any], money: bool
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The recommendation's chart: the history it was computed from, then what has been
    recorded since (for a plan under way, its year so far), to the last complete month; and,
    for a plan made before its year, where the year before it is heading (``_landing``)."""
    fiscal = FiscalCalendar(company_get().fiscal_year_start_month)
    year = fiscal.year(plan.fiscal_year)
    if rec.get("history_months"):
        first, last = (tuple(int(p) for p in ym.split("-")) for ym in rec["history_months"])
    else:  # computed before the window was recorded
        _start, _end, window = history_window(plan)
        first, last = window[0], window[-1]
    today = timezone.localdate()
    upto = min(
        date(today.year, today.month, 1) - timedelta(days=1),  # the last complete month
        year.end,
    )
    months = month_range(date(first[0], first[1], 1), upto)
    values = _root_totals(plan, metric, months)
    split = months.index(last) + 1 if last in months else len(months)
    after = months[split:]
    figure = charts.forecast_fan(
        history=values[:split],
        history_start=date(first[0], first[1], 1),
        recommendation=rec,
        plan_start=year.start,
        actual=values[split:],
        actual_start=date(after[0][0], after[0][1], 1) if after else None,
        money=money,
    )
    before = plan.fiscal_year - 1
    return figure, _landing(before, fiscal.year(before), months, values, rec)


def _landing(
    fiscal_year: int,
    year: Period,
    months: list[tuple[int, int]],
    values: list[float],
    rec: dict[str, Any],
) -> dict[str, Any] | None:
    """Where the fiscal year before the plan's is heading while it is not over: its months
    recorded so far plus the lead-in's forecast of the others (the growth of next year's target
    is judged against that, not against a year that lacks its last months)."""
    lead = rec.get("lead_in") or {}
    if not lead.get("mean"):
        return None
    y0, m0 = (int(v) for v in lead["start"].split("-"))
    forecast = dict(
        zip(
            month_range(date(y0, m0, 1), add_months(date(y0, m0, 1), len(lead["mean"]) - 1)),
            lead["mean"],
            strict=True,
        )
    )
    recorded = {
        ym: v
        for ym, v in zip(months, values, strict=True)
        if year.start <= date(*ym, 1) <= year.end
    }
    rest = {
        ym: v
        for ym, v in forecast.items()
        if ym not in recorded and year.start <= date(*ym, 1) <= year.end
    }
    if not rest or not recorded:
        return None
    last = max(recorded)
    return {
        "fiscal_year": fiscal_year,
        "recorded": sum(recorded.values()),
        "recorded_to": date(*last, 1),
        "forecast": sum(rest.values()),
        "total": sum(recorded.values()) + sum(rest.values()),
    }


def _root_totals(plan: Any, metric: str, months: list[tuple[int, int]]) -> list[float]:
    """The plan's members' monthly totals of ``metric`` over ``months`` (consecutive)."""
    from salesloop.insights.actuals import monthly_actuals

    if not months:
        return []
    member_ids = list(
        Target.objects.filter(plan=plan, metric=metric, member__isnull=False)
        .values_list("member_id", flat=True)
        .distinct()
    )
    start = date(months[0][0], months[0][1], 1)
    end = add_months(date(months[-1][0], months[-1][1], 1), 1) - timedelta(days=1)
    actual = monthly_actuals(metric=metric, members=member_ids, start=start, end=end)
    totals = {ym: Decimal(0) for ym in months}
    for (_mid, y, m), v in actual.values.items():
        if (y, m) in totals:
            totals[(y, m)] += v
    return [float(totals[ym]) for ym in months]


def month_range(start: date, end: date) -> list[tuple[int, int]]:
    """The (year, month) pairs from ``start``'s month to ``end``'s, both included."""
    firsts = (add_months(start, k) for k in range(months_between(start, end) + 1))
    return [(d.year, d.month) for d in firsts]


def plan_view(request: HttpRequest, pk: int) -> HttpResponse:
    plan = selectors.plan_get(user=request.user, pk=pk)
    context = _plan_context(request, plan, _metric(request), _line(request))
    template = (
        "targets/plan.html#tree"
        if request.htmx and not request.htmx.boosted and request.GET.get("partial") == "tree"
        else "targets/plan.html"
    )
    return render(request, template, context)


def form_errors(form: Any) -> str:
    """A form's errors in one line, each field's said with its label ("Target: Cannot be
    negative."), one sentence said of several fields once ("Floor, Stretch: …")."""
    said: dict[str, list[str]] = {}
    for name, errors in form.errors.items():
        label = "" if name == "__all__" else str(form.fields[name].label)
        for error in errors:
            said.setdefault(error, []).append(label)
    return sentences(
        labelled(listed(labels), error) if any(labels) else error
        for error, labels in ((e, [lb for lb in ls if lb]) for e, ls in said.items())
    )


def _posted_int(request: HttpRequest, name: str) -> int | None:
    """A whole number the page posted (a version), None when absent or not one."""
    raw = request.POST.get(name, "")
    return int(raw) if raw.isascii() and raw.isdigit() else None


def _tree_response(
    request: HttpRequest,
    plan: Any,
    status: int = 200,
    error: str = "",
    failed: dict[str, Any] | None = None,
    notice: str = "",
) -> HttpResponse:
    """The tree again; ``failed`` (the refused row's pk and what was typed in it) keeps that
    row's input as typed, marked, so that it can be corrected rather than retyped."""
    context = _plan_context(request, plan, _metric(request), _line(request))
    context["tree_error"] = error
    context["tree_notice"] = notice
    context["failed"] = failed
    if not request.htmx:  # no JavaScript: the whole page
        return render(request, "targets/plan.html", context, status=status)
    # the tree, and the "Before you submit" card beside it (a change may settle or open a gap)
    html = render_to_string("targets/plan.html#tree", context, request)
    if context.get("readiness"):
        html += render_to_string("targets/plan.html#readiness", {**context, "oob": True}, request)
    return HttpResponse(html, status=status)


@writer_required
@require_POST
def target_save_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Inline edit of one node (draft) or a revision with a reason (active)."""
    target = selectors.target_get(user=request.user, pk=pk)
    plan = target.plan
    revising = plan.status == PlanStatus.ACTIVE
    form = (RevisionForm if revising else TargetValuesForm)(request.POST)
    error = notice = ""
    refused: list[str] = []  # the cells a refusal of the services is about, if it says
    if form.is_valid():
        d = form.cleaned_data
        try:
            if revising:
                first_open = services.first_open_month(plan, timezone.localdate())
                revision = services.target_revise(
                    target=target,
                    floor=d["floor"],
                    target_value=d["target"],
                    stretch=d["stretch"],
                    reason=d["reason"],
                    actor=request.user,
                    expected_version=d["version"],
                    from_month=d.get("from_month"),
                )
                if revision.counts_from == 1 and first_open > 1:
                    notice = _(
                        "%(owner)s: the months already over held more than the revised figures "
                        "leave, so the whole year was split again (the history says so)."
                    ) % {"owner": target.owner_name}
            else:
                services.target_set(
                    target=target,
                    floor=d["floor"],
                    target_value=d["target"],
                    stretch=d["stretch"],
                    actor=request.user,
                    expected_version=d["version"],
                    lock=d["locked"],
                )
        except (ValidationError, PermissionDenied) as exc:
            error = sentences(getattr(exc, "messages", [str(exc)]))
            if hasattr(exc, "error_dict"):  # {"reason": …}: about that field
                refused = list(exc.error_dict)
            elif getattr(exc, "code", None) in ("floor", "target", "stretch"):
                refused = [exc.code]  # type: ignore[union-attr]
    else:
        error = form_errors(form)
    if not error:
        return _tree_response(request, plan, notice=notice)
    typed = {k: request.POST.get(k, "")[:40] for k in ("floor", "target", "stretch")}
    failed = {"pk": target.pk, **typed, "reason": request.POST.get("reason", "")[:500]}
    # the cells to mark: those refused, or all three when the refusal is about them together
    bad = refused or [name for name in form.errors if name != "__all__"]
    failed["bad"] = bad or ["floor", "target", "stretch"]
    return _tree_response(
        request, plan, status=400, error=labelled(target.owner_name, error), failed=failed
    )


def _tree_action(request: HttpRequest, pk: int, action: Callable[[Any], Any]) -> HttpResponse:
    """Do ``action`` on the target the user may see, then show the tree again, with the
    refusal's sentence (and status 400) when it is refused."""
    target = selectors.target_get(user=request.user, pk=pk)
    error = ""
    try:
        action(target)
    except (ValidationError, PermissionDenied) as exc:
        error = sentences(getattr(exc, "messages", [str(exc)]))
    return _tree_response(request, target.plan, status=400 if error else 200, error=error)


@writer_required
@require_POST
def target_method_view(request: HttpRequest, pk: int) -> HttpResponse:
    return _tree_action(
        request,
        pk,
        lambda target: services.target_set_method(
            target=target,
            method=request.POST.get("method", ""),
            actor=request.user,
            expected_version=_posted_int(request, "version"),
        ),
    )


@writer_required
@require_POST
def target_split_view(request: HttpRequest, pk: int) -> HttpResponse:
    from salesloop.targets.planning import split_subtree

    return _tree_action(
        request,
        pk,
        lambda target: split_subtree(
            target=target, actor=request.user, expected_stamp=_posted_int(request, "stamp")
        ),
    )


@writer_required
@require_POST
def target_take_sum_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Bottom-up: the target takes what the targets under it add up to."""
    return _tree_action(
        request,
        pk,
        lambda target: services.target_take_sum(
            target=target, actor=request.user, expected_stamp=_posted_int(request, "stamp")
        ),
    )


@writer_required
@require_POST
def plan_recompute_view(request: HttpRequest, pk: int) -> HttpResponse:
    plan = selectors.plan_get(user=request.user, pk=pk)
    member = member_of(request.user)
    metric = _metric(request)
    if member is None or not rules.may_edit_plan(member, plan):
        raise PermissionDenied
    lines = list(ProductLine.objects.filter(is_active=True)) if metric in LINE_METRICS else []
    form = InputsForm(request.POST, lines=lines, metric=metric)
    if not form.is_valid():
        context = _plan_context(request, plan, metric, None)
        context["inputs_form"] = form
        template = "targets/plan.html#inputs" if request.htmx else "targets/plan.html"
        response = render(request, template, context, status=400)
        # the form posts into the run slot; its errors go back in place of the form itself
        response["HX-Retarget"] = "#inputs"
        response["HX-Reswap"] = "outerHTML show:top"  # its message in view
        return response
    run = PlanRun.objects.create(
        plan=plan, metric=metric, requested_by=member, inputs=form.inputs()
    )
    plan_recompute.enqueue(run.pk)
    run.refresh_from_db()
    if not request.htmx:  # a plain form post (no JavaScript yet): back to the plan page
        return redirect(reverse("targets:plan", args=[plan.pk]) + f"?metric={metric}")
    response = render(
        request, "targets/plan.html#run", {"plan": plan, "run": run, "metric": metric}
    )
    if run.status == PlanRun.Status.DONE and request.htmx:
        response["HX-Refresh"] = "true"  # computed already (immediate backend): show the new plan
    return response


def plan_run_view(request: HttpRequest, pk: int, run_id: int) -> HttpResponse:
    run = selectors.run_get(user=request.user, plan_pk=pk, run_id=run_id)
    response = render(
        request, "targets/plan.html#run", {"plan": run.plan, "run": run, "metric": run.metric}
    )
    if run.status == PlanRun.Status.DONE and request.htmx:
        response["HX-Refresh"] = "true"
    return response


@writer_required
@require_POST
def plan_transition_view(request: HttpRequest, pk: int) -> HttpResponse:
    plan = selectors.plan_get(user=request.user, pk=pk)
    action = request.POST.get("action", "")
    raw_version = request.POST.get("version", "")
    version = int(raw_version) if raw_version.isascii() and raw_version.isdigit() else 0
    try:
        if action != "copy" and version < 1:
            # the page sends the version it shows: without it, a step could pass over a
            # change made meanwhile
            raise ValidationError(_("This page is out of date: reload it and try again."))
        if action == "submit":
            services.plan_submit(plan=plan, actor=request.user, expected_version=version)
        elif action == "approve":
            services.plan_approve(plan=plan, actor=request.user, expected_version=version)
        elif action == "activate":
            services.plan_activate(plan=plan, actor=request.user, expected_version=version)
        elif action == "return":
            services.plan_return_to_draft(
                plan=plan,
                actor=request.user,
                reason=request.POST.get("reason", ""),
                expected_version=version,
            )
        elif action == "archive":
            services.plan_archive(plan=plan, actor=request.user, expected_version=version)
        elif action == "copy":
            new = services.plan_copy(plan=plan, actor=request.user)
            messages.success(request, _("Version %(v)s created as a draft.") % {"v": new.version})
            return redirect("targets:plan", pk=new.pk)
        else:
            raise ValidationError(_("Unknown action."))
    except PermissionDenied as exc:
        messages.error(request, str(exc) or _("You may not do that."))
    except ValidationError as exc:
        messages.error(request, sentences(exc.messages))
    else:
        messages.success(
            request,
            _("Done: the plan is now %(status)s.")
            % {"status": selectors.plan_get(user=request.user, pk=pk).get_status_display()},
        )
    return redirect(reverse("targets:plan", args=[plan.pk]) + f"?metric={_metric(request)}")


def _plan_url(target: Target) -> str:
    """The plan page showing ``target``'s metric and product line."""
    query = f"?metric={target.metric}" + (
        f"&line={target.product_line_id}" if target.product_line_id else ""
    )
    return reverse("targets:plan", args=[target.plan_id]) + query


def _shares_to_confirm(
    numbers: list[Decimal], weights: SeasonalWeights, target: Any
) -> tuple[str, str] | None:
    """Month figures typed that make neither 100 % nor the year's target (amounts that do not
    add up to it, or amounts mixed with percentages) are taken as shares of their sum, but
    only once confirmed: (the token the second submit carries, the sentence that says what they
    would become); None when they add up to 100 % (to a rounding) or to the year's target."""
    import hashlib

    total = sum(numbers, Decimal(0))
    year = target.target
    if abs(total - 100) <= Decimal("0.1") or total == year:
        return None
    plan = target.plan
    shares = weights.values
    top = max(range(12), key=lambda i: shares[i])
    token = hashlib.sha256("|".join(str(n) for n in numbers).encode()).hexdigest()[:16]
    fiscal = FiscalCalendar(company_get().fiscal_year_start_month)
    month = f"{fiscal.month(plan.fiscal_year, top + 1).start:%Y-%m}"
    typed = sorted(n for n in numbers if n > 0)
    if (
        year > 0
        and total > 0
        and typed[len(typed) // 2] > 100  # not percentages with an amount among them
        and abs(math.log(total / year)) < abs(math.log(total / 100))
    ):
        # amounts, nearer the year than 100: said in amounts
        figure = functools.partial(exact_figure, metric=target.metric)
        values = {
            "total": figure(total),
            "year": figure(year),
            "gap": figure(abs(year - total)),
            "month": month,
            "amount": figure(year * numbers[top] / total),
            "typed": figure(numbers[top]),
        }
        if total < year:
            return token, _(
                "The months add up to %(total)s, %(gap)s short of the year's %(year)s: each is "
                "taken as its share of their sum, so %(month)s would get about %(amount)s "
                "(%(typed)s typed). If that is what you mean, save again; else correct them."
            ) % values
        return token, _(
            "The months add up to %(total)s, %(gap)s more than the year's %(year)s: each is "
            "taken as its share of their sum, so %(month)s would get about %(amount)s "
            "(%(typed)s typed). If that is what you mean, save again; else correct them."
        ) % values
    return token, _(
        "The shares add up to %(total)s %%, not 100 %%: each is taken as its share of their sum, "
        "so %(month)s would get %(share)s %% of the year. If that is what you mean, save again; "
        "else correct them (an amount typed among percentages counts as a huge share)."
    ) % {
        "total": f"{total:,.1f}" if total < 10**15 else f"{total:.3g}",
        "month": month,
        "share": f"{100 * shares[top]:.1f}",
    }


@writer_required
def target_months_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The monthly split of one target, set by hand (a share per month). In a draft: for it
    alone or for it and every target under it (locked ones keep their months). In the active
    plan: over the months not yet over, as a revision with a reason."""
    target = selectors.target_get(user=request.user, pk=pk)
    member = member_of(request.user)
    if member is None or not rules.may_edit_target(member, target):
        raise PermissionDenied(_("You may not change the monthly split of this target."))
    plan = target.plan
    active = plan.status == PlanStatus.ACTIVE
    first_open = services.first_open_month(plan, timezone.localdate()) if active else 1
    fiscal = FiscalCalendar(company_get().fiscal_year_start_month)
    current = list(target.months.order_by("month"))
    total = sum((m.target_value for m in current), Decimal(0))
    shares = percent_shares([m.target_value for m in current])
    parent_shares = (
        percent_shares(
            list(target.parent.months.order_by("month").values_list("target_value", flat=True))  # type: ignore[union-attr]
        )
        if target.parent_id
        else []
    )
    if len(parent_shares) != 12 or not any(parent_shares):
        parent_shares = []
    closed_sum = sum((m.target_value for m in current[: first_open - 1]), Decimal(0))
    error = to_confirm = ""
    bad_month = 0  # the month whose share was refused (its cell is marked)
    values = [str(v) for v in shares] if len(shares) == 12 else ["8.33"] * 12
    subtree, reason = False, ""
    if request.method == "POST" and (plan.is_editable or (active and first_open <= 12)):
        posted = [request.POST.get(f"m{i}", "") for i in range(1, 13)]
        # the months already over keep theirs: what was posted for them is not read
        values = [values[i] if i + 1 < first_open else posted[i] for i in range(12)]
        subtree = request.POST.get("subtree") == "on" and not active
        reason = request.POST.get("reason", "")
        version = _posted_int(request, "version")
        try:
            typed = ["0" if i + 1 < first_open else values[i] for i in range(12)]
            weights = services.month_weights(typed, plan=plan)
            numbers = services.typed_months(typed, plan=plan)
            # amounts that add up to what the months split are kept as typed, to the cent
            exact = services.amounts_exact(
                numbers, target.target - closed_sum if active else target.target, target.metric
            )
            if version is None:  # the page sends the version it showed
                raise ValidationError(_("This page is out of date: reload it and try again."))
            confirm = _shares_to_confirm(numbers, weights, target) if not active else None
            if confirm is not None and request.POST.get("confirm") != confirm[0]:
                to_confirm = confirm[0]
                raise ValidationError(confirm[1])
            # the shares as shown (rounded for the eye) mean the split as it is: the target
            # keeps its months to the cent, and the targets under it take its exact profile
            as_shown = values == [str(v) for v in shares] and total > 0
            if as_shown:
                weights = SeasonalWeights.of_split(m.target_value for m in current) or weights
            if as_shown and not subtree:
                messages.info(request, _("Nothing changed: the shares are the split as it is."))
                return redirect(_plan_url(target))
            if active:
                services.target_revise_months(
                    target=target,
                    weights=weights,
                    reason=reason,
                    actor=request.user,
                    expected_version=version,
                    exact=exact,
                )
                messages.success(
                    request,
                    _("The months of %(target)s are revised; the reason is on record.")
                    % {"target": target},
                )
                return redirect(_plan_url(target))
            changed = services.target_set_months(
                target=target,
                weights=weights,
                actor=request.user,
                expected_version=version,
                subtree=subtree,
                include_self=not as_shown,
                exact=exact,
            )
        except (ValidationError, PermissionDenied) as exc:
            error = sentences(getattr(exc, "messages", [str(exc)]))
            code = getattr(exc, "code", None) or ""
            bad_month = int(code.removeprefix("month-")) if code.startswith("month-") else 0
        else:
            under = len(changed) - 1
            messages.success(
                request,
                ngettext(
                    "The monthly split of %(target)s and %(n)s target under it is set.",
                    "The monthly split of %(target)s and %(n)s targets under it is set.",
                    under,
                )
                % {"target": target, "n": under}
                if subtree
                else _("The monthly split of %(target)s is set.") % {"target": target},
            )
            return redirect(_plan_url(target))
    months = [
        {
            "index": i + 1,
            "first": fiscal.month(plan.fiscal_year, i + 1).start,
            "amount": current[i].target_value if i < len(current) else None,
            "value": values[i],
            "over": i + 1 < first_open,
            "refused": i + 1 == bad_month,
        }
        for i in range(12)
    ]
    return render(
        request,
        "targets/months.html",
        {
            "target": target,
            "plan": plan,
            "months": months,
            "parent_shares": parent_shares,
            "subtree": subtree,
            "reason": reason,
            "has_children": Target.objects.filter(parent=target).exists(),
            "error": error,
            "confirm": to_confirm,
            "editable": plan.is_editable or (active and first_open <= 12),
            "active": active,
            "open_from": fiscal.month(plan.fiscal_year, first_open).start
            if active and 1 < first_open <= 12
            else None,
            "left": target.target - closed_sum,
        },
        status=400 if error else 200,
    )


@writer_required
def member_move_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Move a member to another team, their targets going along (``targets.moves``)."""
    mover = member_of(request.user)
    member = get_object_or_404(
        visible(Member.objects.select_related("org_unit"), user=request.user), pk=pk
    )
    units = OrgUnit.objects.exclude(pk=member.org_unit_id).order_by("path")
    if mover is not None and not sees_everything(request.user):
        units = units.filter(path__startswith=mover.org_unit.path)
    allowed = [u.pk for u in units if mover is not None and rules.may_move_member(mover, member, u)]
    if not allowed:
        raise PermissionDenied(_("You may not move %(member)s.") % {"member": member})
    form = MoveForm(request.POST or None, units=units.filter(pk__in=allowed))
    back = request.GET.get("plan", "")
    if request.method == "POST" and form.is_valid():
        try:
            move = moves.member_move(
                member=member,
                unit=form.cleaned_data["unit"],
                reason=form.cleaned_data["reason"],
                actor=request.user,
                expected_unit=_posted_int(request, "from_unit"),  # the team the page showed
            )
        except ValidationError as exc:
            for field, errors in getattr(exc, "message_dict", {"__all__": exc.messages}).items():
                form.add_error(None if field not in form.fields else field, errors)
        else:
            messages.success(
                request,
                ngettext(
                    "%(member)s is now in %(unit)s; their targets moved along in %(n)s plan.",
                    "%(member)s is now in %(unit)s; their targets moved along in %(n)s plans.",
                    len(move.plans),
                )
                % {"member": member, "unit": form.cleaned_data["unit"].name, "n": len(move.plans)},
            )
            if back.isdigit():
                return redirect("targets:plan", pk=int(back))
            return redirect("targets:plans")
    plans = moves.plans_of(member)
    figures = {
        t.plan_id: t
        for t in Target.objects.filter(
            plan__in=plans, member=member, metric=Metric.BOOKED_REVENUE, product_line=None
        )
    }
    return render(
        request,
        "targets/move.html",
        {
            "member": member,
            "form": form,
            "plans": [(p, figures.get(p.pk)) for p in plans],
            "back": next((p for p in plans if str(p.pk) == back), None),
        },
        status=400 if form.errors else 200,
    )


def reconcile_view(request: HttpRequest, pk: int) -> HttpResponse:
    plan = selectors.plan_get(user=request.user, pk=pk)
    metric = _metric(request)
    rows = selectors.reconciliation(user=request.user, plan=plan, metric=metric)
    show = _reconcile_show(request)
    rows, counts = selectors.reconcile_narrow(rows, show)
    waiting = selectors.open_proposal_counts(user=request.user, plan=plan)
    member = member_of(request.user)
    ask: dict[str, Any] | None = None
    bulk: list[tuple[Any, int, bool]] = []
    if plan.status == PlanStatus.DRAFT and member is not None and can_write(request.user):
        # where the reader may answer with a figure of their own and has none standing: the
        # way to My targets' proposal form, rather than a bare "Not proposed"
        for r in rows:
            r["may_propose"] = r["proposal"] is None and rules.may_propose(member, r["row"].target)
        if rules.may_set_targets(member):
            ask = _ask_context(plan, metric, member)
            decidable = selectors.decidable_proposals(member=member, plan=plan, metric=metric)
            if decidable:
                within = selectors.accept_within_counts(decidable)
                # the narrowest choice that takes any proposal is offered first
                first = next(w for w, n in within if n)
                bulk = [(w, n, w == first) for w, n in within]
    return render(
        request,
        "targets/reconcile.html",
        {
            "plan": plan,
            "metric": metric,
            "metric_label": Metric(metric).label,
            # each metric says how many of its proposals wait for a decision
            "metrics": [
                (
                    value,
                    ngettext(
                        "%(metric)s (%(n)s awaiting decision)",
                        "%(metric)s (%(n)s awaiting decision)",
                        waiting[value],
                    )
                    % {"metric": label, "n": waiting[value]}
                    if waiting.get(value)
                    else label,
                )
                for value, label in Metric.choices
            ],
            "rows": rows,
            "ask": ask,
            "ask_note_max": services.ASK_NOTE_MAX,
            "bulk": bulk,
            "show": show,
            "shows": _reconcile_show_labels(counts),
        },
    )


def _reconcile_show(request: HttpRequest) -> str:
    """The reconciliation's choice of rows (``selectors.RECONCILE_SHOWS``); another value says
    so and shows everyone."""
    show = request.GET.get("show") or "all"
    if show not in selectors.RECONCILE_SHOWS:
        _said_instead(request, _("There is no choice %(value)s: showing everyone instead."), show)
        show = "all"
    return show


def _reconcile_show_labels(counts: dict[str, int] | None = None) -> list[tuple[str, str, Any]]:
    counts = counts or {}
    return [
        ("all", _("Everyone"), None),
        ("proposals", _("With a proposal"), counts.get("proposals")),
        ("open", _("Awaiting decision"), counts.get("open")),
        ("gaps", _("Gaps of %(share)s or more") % {"share": "10%"}, counts.get("gaps")),
    ]


def reconcile_export_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The reconciliation as the page shows it (metric, choice of rows), as an XLSX sheet."""
    from salesloop.common.audit import security_event
    from salesloop.targets.export import reconciliation_workbook

    plan = selectors.plan_get(user=request.user, pk=pk)
    metric = _metric(request)
    show = _reconcile_show(request)
    rows, _counts = selectors.reconcile_narrow(
        selectors.reconciliation(user=request.user, plan=plan, metric=metric), show
    )
    label = next(str(lbl) for value, lbl, _n in _reconcile_show_labels() if value == show)
    data = reconciliation_workbook(
        user=request.user, plan=plan, metric=metric, rows=rows, shown="" if show == "all" else label
    )
    response = HttpResponse(
        data, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = (
        f'attachment; filename="reconcile-FY{plan.fiscal_year}-v{plan.version}-{metric}.xlsx"'
    )
    security_event(
        actor=request.user, action="export", kind="plan-reconciliation", plan=plan.pk, show=show
    )
    return response


def _ask_context(plan: Plan, metric: str, member: Member) -> dict[str, Any]:
    """For "Ask for proposals": how many people below the reader have not proposed, and when
    the figures of this metric were last asked for (by whom, how many people, how many have
    proposed since)."""
    people = {m.pk for m, _t in services.proposal_askees(plan=plan, metric=metric, member=member)}
    last = selectors.latest_proposal_requests([plan.pk]).get((plan.pk, metric))
    by = Member.objects.filter(user_id=last.actor_id).first() if last and last.actor_id else None
    answered = (
        Proposal.objects.filter(target__plan=plan, target__metric=metric, created_at__gt=last.at)
        .values("proposed_by")
        .distinct()
        .count()
        if last
        else 0
    )
    due = selectors.request_terms(last)[1] if last else None
    return {
        "people": len(people),
        "last": last,
        "last_by": by.display_name if by else "",
        "last_count": (last.changes.get("asked") or [None, 0])[1] if last else 0,
        "due": due,
        "overdue": due is not None and due < timezone.localdate(),
        "answered": answered,
    }


def _due_day(text: str) -> date | None:
    """The due day of a request for proposals as the date box sends it (YYYY-MM-DD), or None."""
    text = text.strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationError(
            _("%(value)s is not a day: give it as YYYY-MM-DD.") % {"value": text[:20]}
        ) from None


@writer_required
@require_POST
def proposals_request_view(request: HttpRequest, pk: int) -> HttpResponse:
    """ "Ask for proposals" on the reconciliation: the people below the reader who have not
    proposed hear that their figure is asked for."""
    plan = selectors.plan_get(user=request.user, pk=pk)
    metric = _metric(request)
    try:
        due = _due_day(request.POST.get("due", ""))
        n = services.proposals_request(
            plan=plan,
            metric=metric,
            actor=request.user,
            note=request.POST.get("note", ""),
            due=due,
        )
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, sentences(getattr(exc, "messages", [str(exc)])))
    else:
        messages.success(
            request,
            ngettext(
                "Asked %(n)s person for their own figure (%(metric)s); each is told, with "
                "their top-down target.",
                "Asked %(n)s people for their own figures (%(metric)s); each is told, with "
                "their top-down target.",
                n,
            )
            % {"n": n, "metric": Metric(metric).label},
        )
    return redirect(reconcile_link(plan.pk, metric, show="all"))


@writer_required
@require_POST
def proposals_accept_view(request: HttpRequest, pk: int) -> HttpResponse:
    """ "Accept in bulk" on the reconciliation: every open proposal the reader decides within
    the chosen closeness to its top-down target (or all of them) is accepted."""
    plan = selectors.plan_get(user=request.user, pk=pk)
    metric = _metric(request)
    raw = request.POST.get("within", "").strip()
    try:
        within = None if raw == "all" else _within(raw)
        accepted = services.proposals_accept_within(
            plan=plan,
            metric=metric,
            actor=request.user,
            within=within,
            note=request.POST.get("note", ""),
        )
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, sentences(getattr(exc, "messages", [str(exc)])))
    else:
        n = len(accepted)
        messages.success(
            request,
            ngettext(
                "Accepted %(n)s proposal of %(metric)s: the target takes the figure, locked so "
                "that a new split keeps it; its author is told.",
                "Accepted %(n)s proposals of %(metric)s: each target takes its figure, locked so "
                "that a new split keeps it; each author is told.",
                n,
            )
            % {"n": n, "metric": Metric(metric).label},
        )
    show = request.POST.get("show", "all")
    return redirect(
        reconcile_link(plan.pk, metric, show=show if show in selectors.RECONCILE_SHOWS else "all")
    )


def _within(text: str) -> Decimal:
    """How close, in percent, as the bulk form sends it; a ValidationError otherwise."""
    number = text.removesuffix("%").strip()
    if not re.fullmatch(r"\d{1,3}(\.\d{1,2})?", number):
        raise ValidationError(
            _("%(value)s is not a percentage: give how close, from 0 to 100, e.g. 5.")
            % {"value": text[:20] or "—"}
        )
    return Decimal(number)


def _compared_with(request: HttpRequest, plan: Any) -> tuple[list[Any], Any]:
    """The plans ``plan`` can be compared with, and the one chosen in ``with`` (or the usual
    one; None when there is none)."""
    from salesloop.targets import compare

    choices = list(compare.candidates(user=request.user, plan=plan))
    raw = request.GET.get("with", "")
    other = next((p for p in choices if str(p.pk) == raw), None)
    if raw and other is None:
        messages.error(
            request,
            _("There is no other plan %(id)s to compare with; showing the usual one instead.")
            % {"id": raw[:20]},
        )
    if other is None:
        other = compare.default_other(user=request.user, plan=plan)
    return choices, other


def _comparison(
    request: HttpRequest, plan: Any, chosen: tuple[list[Any], Any] | None = None
) -> dict[str, Any]:
    """The comparison a compare page or its export shows: the plan chosen in ``with`` (or the
    usual one), the metric and the product line."""
    from salesloop.targets import compare

    metric = _metric(request)
    line = _line(request) if metric in LINE_METRICS else None
    choices, other = chosen if chosen is not None else _compared_with(request, plan)
    return {
        "plan": plan,
        "other": other,
        "choices": choices,
        "metric": metric,
        "line": line,
        "comparison": compare.plan_compare(
            user=request.user, plan=plan, other=other, metric=metric, product_line=line
        )
        if other is not None
        else None,
    }


def _plan_order(plan: Any) -> tuple[int, int, int]:
    """Earlier plans first: by fiscal year, then version."""
    return (plan.fiscal_year, plan.version, plan.pk)


def compare_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The plan beside another one (by default the version it was copied from, or last year's).
    Changes read from the earlier plan to the later: when the usual plan to compare with is a
    later one (the first year's plan beside next year's draft, a version beside a newer one),
    the page is the later plan's, beside this one. A plan chosen in ``with`` is shown as
    chosen."""
    plan = selectors.plan_get(user=request.user, pk=pk)
    chosen = _compared_with(request, plan)
    other = chosen[1]
    if not request.GET.get("with") and other is not None and _plan_order(other) > _plan_order(plan):
        query = request.GET.copy()
        query["with"] = str(plan.pk)
        return redirect(f"{reverse('targets:compare', args=[other.pk])}?{query.urlencode()}")
    context = _comparison(request, plan, chosen)
    comparison = context["comparison"]
    only_changes = request.GET.get("changes") == "1"
    rows = comparison.rows if comparison is not None else []
    if only_changes:
        rows = [r for r in rows if r.changed_below]
    return render(
        request,
        "targets/compare.html",
        {
            **context,
            "rows": rows,
            "only_changes": only_changes,
            "metrics": Metric.choices,
            "lines": list(ProductLine.objects.filter(is_active=True))
            if context["metric"] in LINE_METRICS
            else [],
            "query": request.GET.urlencode(),
        },
    )


def compare_export_view(request: HttpRequest, pk: int) -> HttpResponse:
    from salesloop.common.audit import security_event
    from salesloop.targets.export import comparison_workbook

    plan = selectors.plan_get(user=request.user, pk=pk)
    context = _comparison(request, plan)
    comparison = context["comparison"]
    if comparison is None:
        messages.error(request, _("There is no other plan to compare this one with."))
        return redirect("targets:compare", pk=plan.pk)
    data = comparison_workbook(
        user=request.user,
        comparison=comparison,
        product_line=context["line"],
        only_changes=request.GET.get("changes") == "1",
    )
    response = HttpResponse(
        data, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    other = comparison.other
    response["Content-Disposition"] = (
        f'attachment; filename="compare-FY{plan.fiscal_year}-v{plan.version}'
        f'-FY{other.fiscal_year}-v{other.version}.xlsx"'
    )
    security_event(
        actor=request.user, action="export", kind="plan-comparison", plan=plan.pk, other=other.pk
    )
    return response


@writer_required
@require_POST
def proposal_decide_view(request: HttpRequest, pk: int) -> HttpResponse:
    proposal = selectors.proposal_get(user=request.user, pk=pk)
    accept = request.POST.get("accept") == "1"
    try:
        decided = services.proposal_decide(
            proposal=proposal,
            accept=accept,
            actor=request.user,
            note=request.POST.get("note", ""),
        )
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, sentences(getattr(exc, "messages", [str(exc)])))
    else:
        from salesloop.web.templatetags.salesloop import exact_figure

        target = decided.target
        said = {
            "who": decided.proposed_by.display_name,
            "value": exact_figure(decided.value, target.metric),
            "target": target,
        }
        messages.success(
            request,
            _(
                "Accepted: %(target)s is now %(value)s, locked so that a new split keeps it; "
                "%(who)s is told."
            )
            % said
            if accept
            else (
                # their own target (the usual case): the owner is not named twice
                _("Rejected %(who)s's proposal of %(value)s (%(metric)s); %(who)s is told.")
                if target.member_id == decided.proposed_by_id
                else _("Rejected %(who)s's proposal of %(value)s for %(target)s; %(who)s is told.")
            )
            % {**said, "metric": target.get_metric_display()},
        )
    show = request.POST.get("show", "all")  # back to the rows the decider was reading
    return redirect(
        reconcile_link(
            proposal.target.plan_id,
            proposal.target.metric,
            show=show if show in selectors.RECONCILE_SHOWS else "all",
        )
    )


@writer_required
@require_POST
def proposal_create_view(request: HttpRequest, pk: int) -> HttpResponse:
    target = selectors.target_get(user=request.user, pk=pk)
    form = ProposalForm(request.POST)
    error = ""
    if form.is_valid():
        try:
            services.proposal_create(
                target=target,
                value=form.cleaned_data["value"],
                comment=form.cleaned_data["comment"],
                actor=request.user,
            )
        except (ValidationError, PermissionDenied) as exc:
            error = sentences(getattr(exc, "messages", [str(exc)]))
        else:
            messages.success(request, _("Proposal sent to your manager."))
    else:
        error = form_errors(form)
    if error:  # said beside the field, and what was typed stays in its row for correcting
        request.session["proposal_refused"] = {
            "pk": target.pk,
            "value": request.POST.get("value", "")[:40],
            "comment": request.POST.get("comment", "")[:500],
            "error": error,
            "where": f"{target.plan.name} · {target}",
        }
        return redirect(reverse("targets:mine") + f"#propose-{target.pk}")
    return redirect("targets:mine")


def history_view(request: HttpRequest, pk: int) -> HttpResponse:
    plan = selectors.plan_get(user=request.user, pk=pk)
    revisions = list(selectors.revision_history(user=request.user, plan=plan))
    fiscal = FiscalCalendar(company_get().fiscal_year_start_month)
    for r in revisions:  # the calendar month the revision counts from
        r.from_date = r.counts_from and fiscal.month(plan.fiscal_year, r.counts_from).start  # type: ignore[attr-defined]
    return render(
        request,
        "targets/history.html",
        {
            "plan": plan,
            "revisions": revisions,
            **(
                dict(zip(("events", "events_total"), selectors.plan_audit(plan=plan), strict=True))
                if sees_everything(request.user)
                else {"events": [], "events_total": 0}
            ),
        },
    )


def my_targets_view(request: HttpRequest) -> HttpResponse:
    refused = request.session.pop("proposal_refused", None)
    refused_form = ProposalForm(initial=refused) if refused else None
    if refused_form is not None:
        refused_form.fields["value"].widget.attrs["aria-invalid"] = "true"
    plans = selectors.my_targets(user=request.user)
    if refused and not any(
        line.target.pk == refused["pk"] and line.may_propose
        for mp in plans
        for section in mp.sections
        for line in section.lines
    ):  # its row no longer takes a proposal (the plan moved on): said at the top
        messages.error(request, labelled(refused.get("where", ""), refused.get("error", "")))
    asks = selectors.figures_asked_of(member_of(request.user))
    for mp in plans:  # on a draft's block: whose request for the reader's figure waits
        mp.asks = [a for a in asks if a.plan.pk == mp.plan.pk]  # type: ignore[attr-defined]
    return render(
        request,
        "targets/mine.html",
        {
            "plans": plans,
            "proposal_form": ProposalForm(),
            "refused": refused,
            "refused_form": refused_form,
        },
    )


def plan_export_view(request: HttpRequest, pk: int) -> HttpResponse:
    from salesloop.targets.export import plan_workbook

    plan = selectors.plan_get(user=request.user, pk=pk)
    data = plan_workbook(user=request.user, plan=plan)
    response = HttpResponse(
        data, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = (
        f'attachment; filename="plan-FY{plan.fiscal_year}-v{plan.version}.xlsx"'
    )
    from salesloop.common.audit import security_event

    security_event(actor=request.user, action="export", kind="plan", plan=plan.pk)
    return response


PLAN_IMPORT_MAX_BYTES = 20 * 1024 * 1024
IMPORT_SALT = "salesloop.targets.import"
IMPORT_MAX_AGE = 60 * 60  # a preview can be applied within the hour
# more changes than this are applied by a worker (S1: 197 changes take about 4 s in one
# transaction, 1,182 about 13 s; bench/plan_import_bench.py)
IMPORT_INLINE_EDITS = 200


def _import_context(plan: Any, reason: str, **more: Any) -> dict[str, Any]:
    """What the import page shows of the plan: whether it takes an import (a draft, or the
    active plan of a year not over: then with a reason, counting from the month in progress)."""
    revision_months = _revision_months(plan)
    return {
        "plan": plan,
        "limit_mb": PLAN_IMPORT_MAX_BYTES // 2**20,
        "importable": plan.status == PlanStatus.DRAFT or bool(revision_months),
        "counts_from": revision_months[0][1] if revision_months else None,
        "reason": reason.strip()[:500],
        **more,
    }


@writer_required
def plan_import_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Upload a plan's workbook changed in Excel: nothing is written, the page shows every
    change (or every reason it cannot be taken) and asks to apply them."""
    from django.core import signing

    from salesloop.targets.imports import read_workbook

    plan = selectors.plan_get(user=request.user, pk=pk)
    if not rules.may_set_targets(member_of(request.user)):
        raise PermissionDenied(_("Only those who set targets import a plan's workbook."))
    context = _import_context(plan, request.POST.get("reason", ""))
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            context["error"] = _("Choose the workbook to upload.")
        elif upload.size is not None and upload.size > PLAN_IMPORT_MAX_BYTES:
            context["error"] = _("The file is too big: a plan's workbook is far smaller.")
        else:
            reading = read_workbook(
                upload.read(), plan=plan, user=request.user, reason=context["reason"]
            )
            context.update(reading=reading, filename=upload.name)
            if reading.edits and not reading.errors:
                context["payload"] = signing.dumps(
                    {
                        "plan": plan.pk,
                        "user": request.user.pk,
                        "file": upload.name,
                        "reason": context["reason"],
                        "edits": [e.payload() for e in reading.edits],
                    },
                    salt=IMPORT_SALT,
                    compress=True,
                )
        failed = context.get("error") or context.get("reading") and context["reading"].errors
        return render(request, "targets/import.html", context, status=400 if failed else 200)
    return render(request, "targets/import.html", context)


@writer_required
@require_POST
def plan_import_apply_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Apply the changes the preview showed, all or none."""
    from django.core import signing

    from salesloop.targets.imports import Edit, Reading, apply_edits

    plan = selectors.plan_get(user=request.user, pk=pk)
    if not rules.may_set_targets(member_of(request.user)):
        raise PermissionDenied(_("Only those who set targets import a plan's workbook."))
    try:
        data = signing.loads(
            request.POST.get("payload", ""), salt=IMPORT_SALT, max_age=IMPORT_MAX_AGE
        )
    except signing.SignatureExpired:
        data, error = None, _("The preview is over an hour old: upload the workbook again.")
    except signing.BadSignature:
        data, error = None, _("The preview could not be read: upload the workbook again.")
    if data is not None and (data.get("plan") != plan.pk or data.get("user") != request.user.pk):
        data, error = (
            None,
            _("This preview belongs to another plan or user: upload the workbook again."),
        )
    if data is None:
        return render(
            request, "targets/import.html", _import_context(plan, "", error=error), status=400
        )
    edits = [Edit.from_payload(row) for row in data["edits"]]
    if len(edits) > IMPORT_INLINE_EDITS:  # seconds of writing: a worker's, not the request's
        from salesloop.targets.models import PlanImport
        from salesloop.targets.tasks import plan_import_apply

        job = PlanImport.objects.create(
            plan=plan,
            requested_by=member_of(request.user),
            filename=data["file"][:255],
            reason=data.get("reason", "")[:500],
            edits=data["edits"],
        )
        plan_import_apply.enqueue(job.pk)
        return redirect(reverse("targets:import_job", args=[plan.pk, job.pk]))
    try:
        count = apply_edits(
            edits,
            plan=plan,
            user=request.user,
            filename=data["file"],
            reason=data.get("reason", ""),
        )
    except (ValidationError, PermissionDenied) as exc:
        reading = Reading(edits=edits, errors=list(getattr(exc, "messages", [str(exc)])))
        return render(
            request,
            "targets/import.html",
            _import_context(
                plan,
                data.get("reason", ""),
                reading=reading,
                filename=data["file"],
                applied_failed=True,
            ),
            status=409,
        )
    messages.success(
        request,
        ngettext(
            "%(n)s target changed from %(file)s.",
            "%(n)s targets changed from %(file)s.",
            count,
        )
        % {"n": count, "file": data["file"]},
    )
    return redirect(reverse("targets:plan", args=[plan.pk]))


def plan_import_job_view(request: HttpRequest, pk: int, job_id: int) -> HttpResponse:
    """An import being applied by a worker: the page reloads itself until it is done (then it
    says how many targets changed) or refused (then why, and nothing changed). Only its
    requester sees it."""
    from django.http import Http404

    from salesloop.targets.imports import Edit, Reading
    from salesloop.targets.models import PlanImport

    plan = selectors.plan_get(user=request.user, pk=pk)
    job = PlanImport.objects.filter(
        plan=plan, pk=job_id, requested_by=member_of(request.user)
    ).first()
    if job is None:
        raise Http404("Not found.")
    context = _import_context(plan, job.reason, job=job, filename=job.filename)
    if job.status == PlanImport.Status.FAILED:
        edits = [Edit.from_payload(row) for row in job.edits]
        context.update(reading=Reading(edits=edits, errors=job.errors), applied_failed=True)
    return render(request, "targets/import.html", context)
