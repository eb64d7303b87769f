"""Plans, targets (with their monthly split), revisions and proposals over the REST API.

Plans are company-wide documents (every member may read one); the targets, revisions and
proposals inside a plan go through the visibility rule. Who may change what is decided by
``targets.rules`` inside the services, exactly as on the planning page. Targets and plans carry a
``lock_version``: send it back (or the ETag in ``If-Match``) and a concurrent change answers 409.
"""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Query, Router, Status

from salesloop.apitokens.rest import (
    OBJECT_ERRORS,
    READ_ERRORS,
    WRITE_ERRORS,
    Conflict,
    Page,
    PathId,
    paginate,
)
from salesloop.core.periods import FiscalCalendar
from salesloop.customers.models import ProductLine
from salesloop.org.models import Member, OrgUnit
from salesloop.org.services import company_get
from salesloop.org.visibility import get_visible_or_404, member_of, visible
from salesloop.targets import charts, moves, rules, selectors, services, smart
from salesloop.targets.choices import PlanStatus
from salesloop.targets.forms import HIRE_ROWS, InputsForm
from salesloop.targets.models import Plan, PlanRun, Proposal, Target
from salesloop.targets.planning import LINE_METRICS, split_subtree
from salesloop.targets.schemas import (
    AcceptedOut,
    AcceptWithinIn,
    CompareOut,
    CompareQuery,
    DecisionIn,
    MonthsIn,
    MoveIn,
    MoveOut,
    PageQuery,
    PlanOut,
    PlanQuery,
    ProposalIn,
    ProposalOut,
    ProposalRequestIn,
    ProposalRequestOut,
    RecommendationOut,
    RecomputeIn,
    RevisionIn,
    RevisionOut,
    RunOut,
    SplitOut,
    TargetOut,
    TargetPatch,
    TargetQuery,
    TransitionIn,
    WaitingOut,
)
from salesloop.targets.tasks import plan_recompute

router = Router(tags=["targets"])

FAN_KEYS = ("mean", "lo80", "hi80", "lo95", "hi95")
ROUNDED = (
    "floor",
    "target",
    "stretch",
    "capacity",
    "ramped_productivity",
    "top_decile_productivity",
)


def _cents(value: Any) -> Any:
    """The recommendation's statistics (floats, lists of them) rounded to the cent."""
    if isinstance(value, list):
        return [_cents(v) for v in value]
    if isinstance(value, dict):
        return {k: _cents(v) for k, v in value.items()}
    return round(float(value), 2) if isinstance(value, int | float) else value


_TAG = re.compile(r'^(?:W/)?"v(\d+)"$')


def _etag(obj: Plan | Target) -> str:
    return f'"v{obj.lock_version}"'


def _expected_version(request: HttpRequest, sent: int | None, current: int) -> int | None:
    """The lock_version the client read: from ``If-Match`` (our ETag) or the body's ``version``.
    ``If-Match`` may list several tags: it matches when any of them is the ``current`` one."""
    header = request.headers.get("If-Match")
    if not header or header.strip() == "*":
        return sent
    versions = [int(m.group(1)) for tag in header.split(",") if (m := _TAG.match(tag.strip()))]
    if not versions:
        raise Conflict(
            _("Someone else changed this record after you read it: read it again, then retry."),
            "stale",
        )
    return current if current in versions else versions[0]


def _target(request: HttpRequest, target_id: int) -> Target:
    return selectors.target_get(user=request.user, pk=target_id)


def _target_out(request: HttpRequest, target_id: int, response: HttpResponse) -> Target:
    """The target as the API shows it (with its months), its ETag set; 404 when hidden."""
    target = get_visible_or_404(
        Target.objects.select_related("unit", "member").prefetch_related("months"),
        user=request.user,
        pk=target_id,
    )
    response["ETag"] = _etag(target)
    return target


# ---------------------------------------------------------------- plans


@router.get("/plans/", response={200: Page[PlanOut], **READ_ERRORS}, url_name="plan_list")
def plan_list_route(request: HttpRequest, query: Query[PlanQuery]) -> Any:
    """Every plan (they are company-wide), newest fiscal year first."""
    plans = selectors.plan_list(user=request.user)
    if query.fiscal_year:
        plans = plans.filter(fiscal_year=query.fiscal_year)
    if query.status:
        plans = plans.filter(status=query.status)
    return paginate(plans, order="-fiscal_year", cursor=query.cursor, limit=query.limit)


@router.get("/plans/{plan_id}", response={200: PlanOut, **OBJECT_ERRORS}, url_name="plan_detail")
def plan_detail_route(request: HttpRequest, plan_id: PathId, response: HttpResponse) -> Any:
    plan = selectors.plan_get(user=request.user, pk=plan_id)
    response["ETag"] = _etag(plan)
    return plan


@router.post(
    "/plans/{plan_id}/transition",
    response={200: PlanOut, **WRITE_ERRORS},
    url_name="plan_transition",
)
def plan_transition_route(
    request: HttpRequest, plan_id: PathId, payload: TransitionIn, response: HttpResponse
) -> Any:
    """Move the plan through draft → submitted → approved → active → archived (or back to draft)."""
    user = request.user
    plan = selectors.plan_get(user=user, pk=plan_id)
    version = _expected_version(request, payload.version, plan.lock_version)
    common: dict[str, Any] = {"plan": plan, "actor": user, "expected_version": version}
    if payload.action == "return":
        services.plan_return_to_draft(**common, reason=payload.reason)
    else:
        {
            "submit": services.plan_submit,
            "approve": services.plan_approve,
            "activate": services.plan_activate,
            "archive": services.plan_archive,
        }[payload.action](**common)
    plan = selectors.plan_get(user=user, pk=plan_id)
    response["ETag"] = _etag(plan)
    return plan


@router.get(
    "/plans/{plan_id}/targets/",
    response={200: Page[TargetOut], **OBJECT_ERRORS},
    url_name="plan_targets",
)
def plan_targets_route(request: HttpRequest, plan_id: PathId, query: Query[TargetQuery]) -> Any:
    """The plan's targets you may see (a rep: their own; a manager: their subtree), each with
    its twelve months and its SMART check."""
    plan = selectors.plan_get(user=request.user, pk=plan_id)
    targets = visible(
        Target.objects.filter(plan=plan).select_related("unit", "member"), user=request.user
    ).prefetch_related("months")
    if query.metric:
        targets = targets.filter(metric=query.metric)
    if query.product_line == 0:
        targets = targets.filter(product_line__isnull=True)
    elif query.product_line:
        targets = targets.filter(product_line=query.product_line)
    if query.member:
        targets = targets.filter(member=query.member)
    if query.unit:
        targets = targets.filter(unit=query.unit)
    return paginate(targets, order="pk", cursor=query.cursor, limit=query.limit)


@router.get(
    "/plans/{plan_id}/revisions/",
    response={200: Page[RevisionOut], **OBJECT_ERRORS},
    url_name="plan_revisions",
)
def plan_revisions_route(request: HttpRequest, plan_id: PathId, query: Query[PageQuery]) -> Any:
    """Changes of the plan's active targets you may see, newest first, with their reasons."""
    plan = selectors.plan_get(user=request.user, pk=plan_id)
    revisions = selectors.revision_history(user=request.user, plan=plan)
    return paginate(revisions, order="-at", cursor=query.cursor, limit=query.limit)


@router.get(
    "/plans/{plan_id}/proposals/",
    response={200: Page[ProposalOut], **OBJECT_ERRORS},
    url_name="plan_proposals",
)
def plan_proposals_route(request: HttpRequest, plan_id: PathId, query: Query[PageQuery]) -> Any:
    """Bottom-up proposals on the plan's targets you may see, newest first."""
    plan = selectors.plan_get(user=request.user, pk=plan_id)
    proposals = visible(
        Proposal.objects.filter(target__plan=plan).select_related("target__unit", "target__member"),
        user=request.user,
    )
    return paginate(proposals, order="-created_at", cursor=query.cursor, limit=query.limit)


@router.get(
    "/plans/{plan_id}/compare",
    response={200: CompareOut, **OBJECT_ERRORS},
    url_name="plan_compare",
)
def plan_compare_route(request: HttpRequest, plan_id: PathId, query: Query[CompareQuery]) -> Any:
    """The plan's floor, target and stretch beside another plan's, node by node (matched by the
    team or person), as far as you may see: what a new version changed, or this year against
    last year. 404 when the other plan does not exist; 422 when there is none to compare with."""
    from salesloop.targets import compare

    plan = selectors.plan_get(user=request.user, pk=plan_id)
    if query.with_ == plan.pk:
        raise ValidationError({"with": _("Choose another plan than this one to compare with.")})
    other = (
        selectors.plan_get(user=request.user, pk=query.with_)
        if query.with_
        else compare.default_other(user=request.user, plan=plan)
    )
    if other is None:
        raise ValidationError({"with": _("There is no other plan to compare this one with.")})
    line = None
    if query.product_line:
        line = ProductLine.objects.filter(pk=query.product_line).first()
        if line is None:
            raise ValidationError({"product_line": _("No product line has this id.")})
    c = compare.plan_compare(
        user=request.user, plan=plan, other=other, metric=query.metric, product_line=line
    )

    def side(t: Target | None) -> dict[str, Any] | None:
        if t is None:
            return None
        return {"id": t.pk, "floor": t.floor, "target": t.target, "stretch": t.stretch}

    def out(row: compare.CompareRow, depth: int | None) -> dict[str, Any]:
        kind, owner_id = row.key
        return {
            "owner_kind": "member" if kind == "m" else "unit",
            "owner_id": owner_id,
            "owner_name": row.owner_name,
            "depth": depth,
            "this": side(row.this),
            "other": side(row.other),
            "change": row.change,
            "change_ratio": float(row.ratio) if row.ratio is not None else None,
            "changed": row.changed,
            "flagged": row.flag,
            "moved_from": row.moved_from,
            "actual": row.actual,
            "attainment": float(row.attainment) if row.attainment is not None else None,
        }

    return {
        "plan": plan.pk,
        "other": other.pk,
        "metric": query.metric,
        "product_line": line.pk if line else None,
        "changed": c.changed,
        "unchanged": c.unchanged,
        "added": c.added,
        "removed": len(c.gone),
        "actual_to": c.actual_to,
        "rows": [out(r, r.depth) for r in c.rows] + [out(r, None) for r in c.gone],
    }


def _inputs_form_data(payload: RecomputeIn) -> dict[str, Any]:
    """The JSON inputs as the planning page's form fields (one validation for both)."""
    data: dict[str, Any] = {
        "growth_pct": payload.growth_pct,
        "strategy_line": payload.strategy_line,
        "floor_probability": payload.floor_probability,
        "target_probability": payload.target_probability,
        "stretch_probability": payload.stretch_probability,
        "round_to": payload.round_to,
    }
    if payload.cap_to_capacity:
        data["cap_to_capacity"] = "on"
    data.update({f"uplift_{code}": value for code, value in payload.uplifts.items()})
    for i, hire in enumerate(payload.hires):
        data.update(
            {
                f"hire{i}_month": hire.start_month,
                f"hire{i}_fte": hire.fte,
                f"hire{i}_ramp": hire.ramp_months,
            }
        )
    return {k: str(v) for k, v in data.items()}


def _api_field(name: str) -> str:
    if name.startswith("uplift_"):
        return f"uplifts.{name.removeprefix('uplift_')}"
    match = re.fullmatch(r"hire(\d+)_(month|fte|ramp)", name)
    if match:
        field = {"month": "start_month", "fte": "fte", "ramp": "ramp_months"}[match.group(2)]
        return f"hires.{match.group(1)}.{field}"
    return name


@router.post(
    "/plans/{plan_id}/recompute",
    response={202: RunOut, **WRITE_ERRORS},
    url_name="plan_recompute",
)
def plan_recompute_route(request: HttpRequest, plan_id: PathId, payload: RecomputeIn) -> Any:
    """Recompute a draft plan's recommendation for one metric (forecasts, floor / target /
    stretch, the splits down the tree, over the product lines and the months) in the
    background. Answers 202 with the run; follow it at ``/plans/{id}/runs/{run_id}``."""
    plan = selectors.plan_get(user=request.user, pk=plan_id)
    member = member_of(request.user)
    if member is None or not rules.may_edit_plan(member, plan):
        raise PermissionDenied(_("You may not change this plan."))
    if not plan.is_editable:
        raise ValidationError(_("Only a draft plan can be recomputed."))
    lines = (
        list(ProductLine.objects.filter(is_active=True)) if payload.metric in LINE_METRICS else []
    )
    known = {line.code for line in lines}
    unknown = sorted(set(payload.uplifts) - known)
    if unknown:
        raise ValidationError(
            {
                "uplifts": _("No active product line has the code %(codes)s (known: %(known)s).")
                % {"codes": ", ".join(unknown), "known": ", ".join(sorted(known)) or "—"}
            }
        )
    if len(payload.hires) > HIRE_ROWS:
        raise ValidationError({"hires": _("At most %(n)s hiring rows.") % {"n": HIRE_ROWS}})
    form = InputsForm(_inputs_form_data(payload), lines=lines, metric=payload.metric)
    if not form.is_valid():
        raise ValidationError(
            {_api_field(name): [str(m) for m in messages] for name, messages in form.errors.items()}
        )
    run = PlanRun.objects.create(
        plan=plan, metric=payload.metric, requested_by=member, inputs=form.inputs()
    )
    plan_recompute.enqueue(run.pk)
    run.refresh_from_db()
    return Status(202, run)


@router.get(
    "/plans/{plan_id}/runs/{run_id}",
    response={200: RunOut, **OBJECT_ERRORS},
    url_name="plan_run",
)
def plan_run_route(request: HttpRequest, plan_id: PathId, run_id: PathId) -> Any:
    """A recomputation's progress: ``done`` of ``total`` steps, then done (or failed, with why)."""
    return selectors.run_get(user=request.user, plan_pk=plan_id, run_id=run_id)


# ---------------------------------------------------------------- targets


@router.get(
    "/targets/{target_id}", response={200: TargetOut, **OBJECT_ERRORS}, url_name="target_detail"
)
def target_detail_route(request: HttpRequest, target_id: PathId, response: HttpResponse) -> Any:
    return _target_out(request, target_id, response)


@router.get(
    "/targets/{target_id}/recommendation",
    response={200: RecommendationOut, **OBJECT_ERRORS},
    url_name="target_recommendation",
)
def target_recommendation_route(request: HttpRequest, target_id: PathId) -> Any:
    """The recommendation behind a target (as the planning page's charts show it): the
    probabilities, the baseline, the waterfall of inputs, capacity, the forecast fan by month,
    the monthly split and each SMART check in words."""
    target = _target(request, target_id)
    rec = target.recommendation or {}
    names = dict(ProductLine.objects.values_list("code", "name"))
    figure = charts.waterfall(rec, line_names=names)["data"][0] if rec.get("waterfall") else None
    steps = [
        {
            "key": step["key"],
            "label": str(label).replace("<br>", " "),
            "amount": _cents(step["amount"]),
        }
        for step, label in zip(
            rec.get("waterfall", []), figure["x"] if figure else [], strict=False
        )
    ]
    fan = rec.get("fan") or {}
    fiscal = FiscalCalendar(company_get().fiscal_year_start_month)
    months = [p.start.strftime("%Y-%m") for p in fiscal.months(target.plan.fiscal_year)]
    return {
        "computed": "waterfall" in rec,
        "probabilities": rec.get("probabilities"),
        **{name: _cents(rec.get(name)) for name in ROUNDED},
        "baseline": _cents(rec.get("baseline")),
        "waterfall": steps,
        "capped": rec.get("capped"),
        "forecast": {"months": months, **{k: _cents(fan.get(k, [])) for k in FAN_KEYS}}
        if fan
        else None,
        "monthly": _cents(rec.get("monthly", [])),
        "history_months": rec.get("history_months", []),
        "method": rec.get("method"),
        "own_trend": _cents(rec.get("own_baseline")),
        "smart": [
            {
                "letter": c.get("letter", ""),
                "ok": bool(c.get("ok")),
                "reason": str(c.get("reason", "")),
                "sentence": smart.sentence(c, target.metric),
                "figures": c.get("figures") or {},
            }
            for c in target.smart or []
        ],
    }


@router.patch(
    "/targets/{target_id}", response={200: TargetOut, **WRITE_ERRORS}, url_name="target_update"
)
def target_update_route(
    request: HttpRequest, target_id: PathId, payload: TargetPatch, response: HttpResponse
) -> Any:
    """Set a draft plan's target: floor / target / stretch (the ones not sent keep their
    values; the months follow), the lock, the split method. An active plan's target changes
    through ``POST /targets/{id}/revisions`` with a reason."""
    user = request.user
    target = _target(request, target_id)
    version = _expected_version(request, payload.version, target.lock_version)
    values = {"floor": payload.floor, "target": payload.target, "stretch": payload.stretch}
    with transaction.atomic():
        if any(v is not None for v in values.values()) or payload.locked is not None:
            merged = {k: getattr(target, k) if v is None else v for k, v in values.items()}
            if all(v is None for v in values.values()):
                services.target_set_locked(
                    target=target, locked=bool(payload.locked), actor=user, expected_version=version
                )
            else:
                services.target_set(
                    target=target,
                    floor=merged["floor"],
                    target_value=merged["target"],
                    stretch=merged["stretch"],
                    lock=payload.locked,
                    actor=user,
                    expected_version=version,
                )
            version = None  # checked once, by the first change
            target = _target(request, target_id)
        if payload.method is not None:
            services.target_set_method(
                target=target, method=payload.method, actor=user, expected_version=version
            )
    return _target_out(request, target_id, response)


@router.put(
    "/targets/{target_id}/months",
    response={200: TargetOut, **WRITE_ERRORS},
    url_name="target_months",
)
def target_months_route(
    request: HttpRequest, target_id: PathId, payload: MonthsIn, response: HttpResponse
) -> Any:
    """Set how a draft target's year is spread over the months (and, with ``subtree``, of every
    unlocked target under it). The months add up exactly to floor, target and stretch. In the
    active plan, a revision with ``reason``: the months already over keep their targets, the
    open ones share what the year leaves."""
    target = _target(request, target_id)
    if target.plan.status == PlanStatus.ACTIVE:
        services.target_revise_months(
            target=target,
            weights=services.month_weights(payload.shares),
            reason=payload.reason,
            actor=request.user,
            expected_version=_expected_version(request, payload.version, target.lock_version),
        )
        return _target_out(request, target_id, response)
    services.target_set_months(
        target=target,
        weights=services.month_weights(payload.shares),
        actor=request.user,
        expected_version=_expected_version(request, payload.version, target.lock_version),
        subtree=payload.subtree,
    )
    return _target_out(request, target_id, response)


@router.post(
    "/targets/{target_id}/split",
    response={200: SplitOut, **WRITE_ERRORS},
    url_name="target_split",
)
def target_split_route(request: HttpRequest, target_id: PathId) -> Any:
    """Split the target's current values down its subtree, each node by its own method (locked
    targets keep theirs); the children always add up exactly to the parent."""
    target = _target(request, target_id)
    changed = split_subtree(target=target, actor=request.user)
    children = visible(
        Target.objects.filter(parent=target).select_related("unit", "member"), user=request.user
    ).prefetch_related("months")
    return {"changed": changed, "children": list(children.order_by("pk"))}


@router.post(
    "/targets/{target_id}/take-sum",
    response={200: TargetOut, **WRITE_ERRORS},
    url_name="target_take_sum",
)
def target_take_sum_route(request: HttpRequest, target_id: PathId, response: HttpResponse) -> Any:
    """Bottom-up: a draft target takes what the targets one level under it add up to (floor,
    target, stretch and each month; a total's product lines the same way). 422 when nothing is
    under it or it adds up already; the targets above it are left as they are."""
    services.target_take_sum(target=_target(request, target_id), actor=request.user)
    return _target_out(request, target_id, response)


@router.post(
    "/targets/{target_id}/revisions",
    response={200: RevisionOut, **WRITE_ERRORS},
    url_name="target_revise",
)
def target_revise_route(
    request: HttpRequest, target_id: PathId, payload: RevisionIn, response: HttpResponse
) -> Any:
    """Revise a target of the active plan (目标调整): the reason, the author, the old and new
    values go on record, the months follow, and ``target.revised`` webhooks are sent."""
    target = _target(request, target_id)
    revision = services.target_revise(
        target=target,
        floor=payload.floor,
        target_value=payload.target,
        stretch=payload.stretch,
        reason=payload.reason,
        actor=request.user,
        expected_version=_expected_version(request, payload.version, target.lock_version),
        from_month=payload.from_month,
    )
    response["ETag"] = _etag(_target(request, target_id))
    return revision


@router.post(
    "/targets/{target_id}/proposals",
    response={201: ProposalOut, **WRITE_ERRORS},
    url_name="proposal_create",
)
def proposal_create_route(request: HttpRequest, target_id: PathId, payload: ProposalIn) -> Any:
    """Propose a target bottom-up (自下而上提报) for yourself, or a manager for their team,
    while the plan is a draft."""
    proposal = services.proposal_create(
        target=_target(request, target_id),
        value=payload.value,
        comment=payload.comment,
        actor=request.user,
    )
    return Status(201, proposal)


@router.post(
    "/plans/{plan_id}/proposal-requests",
    response={200: ProposalRequestOut, **WRITE_ERRORS},
    url_name="proposals_request",
)
def proposals_request_route(
    request: HttpRequest, plan_id: PathId, payload: ProposalRequestIn
) -> Any:
    """Ask for proposals (征集提报) while the plan is a draft: each person below you who has no
    proposal open or accepted on a target you may set is told that their own figure is asked
    for, with their top-down targets, your note and the due day (the reminders wait for it).
    Managers, directors and admins."""
    plan = selectors.plan_get(user=request.user, pk=plan_id)
    asked = services.proposals_request(
        plan=plan, metric=payload.metric, actor=request.user, note=payload.note, due=payload.due
    )
    return {"asked": asked}


@router.post(
    "/plans/{plan_id}/proposals/accept",
    response={200: AcceptedOut, **WRITE_ERRORS},
    url_name="proposals_accept_within",
)
def proposals_accept_within_route(
    request: HttpRequest, plan_id: PathId, payload: AcceptWithinIn
) -> Any:
    """Accept in bulk, while the plan is a draft, every open proposal on the metric that you
    decide (someone above the proposer) whose figure is within ``within`` percent of its
    top-down target, or all of them (``within`` null): each as a single decision accepts it,
    its author told. All or nothing: 422 when none is that close."""
    plan = selectors.plan_get(user=request.user, pk=plan_id)
    accepted = services.proposals_accept_within(
        plan=plan,
        metric=payload.metric,
        actor=request.user,
        within=payload.within,
        note=payload.note,
    )
    return {"accepted": len(accepted), "proposals": accepted}


@router.get("/me/waiting", response={200: WaitingOut, **READ_ERRORS}, url_name="my_waiting")
def my_waiting_route(request: HttpRequest) -> Any:
    """What waits on you in target setting, as My day shows it: the decisions (plans to
    approve, proposals to accept or reject) and the requests for your own figure that you have
    not answered yet. Only your own: every member may call it."""
    return {
        "decisions": [
            {
                "kind": d.kind,
                "plan": d.plan.pk,
                "plan_name": str(d.plan),
                "count": d.count,
                "metric": d.metric or None,
                "since": d.since,
                "link": d.link,
            }
            for d in selectors.waiting_decisions(user=request.user)
        ],
        "asks": [
            {
                "plan": a.plan.pk,
                "plan_name": str(a.plan),
                "metric": a.target.metric,
                "target": a.target.pk,
                "asked_by": a.leader.display_name,
                "at": a.at,
                "note": a.note,
                "due": a.due,
                "link": a.link,
            }
            for a in selectors.figures_asked_of(member_of(request.user))
        ],
    }


@router.post(
    "/proposals/{proposal_id}/decide",
    response={200: ProposalOut, **WRITE_ERRORS},
    url_name="proposal_decide",
)
def proposal_decide_route(request: HttpRequest, proposal_id: PathId, payload: DecisionIn) -> Any:
    """Accept or reject an open proposal (someone above the proposer decides)."""
    proposal = selectors.proposal_get(user=request.user, pk=proposal_id)
    return services.proposal_decide(
        proposal=proposal, accept=payload.accept, actor=request.user, note=payload.note
    )


@router.post(
    "/members/{member_id}/move",
    response={200: MoveOut, **WRITE_ERRORS},
    url_name="member_move",
)
def member_move_route(request: HttpRequest, member_id: PathId, payload: MoveIn) -> Any:
    """Move a member to another team (组织调整); their targets go along: the teams left give up
    their values month by month, the teams joined take them on, and an active plan records each
    change as a revision with the reason. A member you may not see answers 404."""
    member = get_visible_or_404(
        Member.objects.select_related("org_unit"), user=request.user, pk=member_id
    )
    unit = OrgUnit.objects.filter(pk=payload.unit).first()
    if unit is None:
        raise ValidationError({"unit": _("No such org unit.")})
    move = moves.member_move(member=member, unit=unit, reason=payload.reason, actor=request.user)
    return {
        "member": member.pk,
        "unit": unit.pk,
        "plans": [p.pk for p in move.plans],
        "units_changed": [t.pk for t in move.units_changed],
        "revisions": [r.pk for r in move.revisions],
    }
