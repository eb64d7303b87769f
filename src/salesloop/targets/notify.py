"""Who hears about what in the plan workflow (目标制定流程的通知). Each step tells the people who
must act on it or whose targets it changes — in their notification centre and, when they take
email, by email, each in their own language (``alerts.services.members_notify``):

- a plan submitted → those who may approve it (``rules.may_approve_plan``);
- a plan sent back to draft, or approved → its owner (withdrawn by its owner: those who were
  asked to approve it);
- a plan made active → every member with a target in it, and each team's managers for their
  team's target: the floor, target and stretch they now carry;
- a bottom-up proposal → the nearest managers above the proposer who may decide it (the
  directors when no manager may, the admins when there is no director);
- a proposal decided → its author;
- an active target revised → its owner (a team's: the team's managers), with the reason.

Nobody is told about their own action. The messages go out once the change is committed (a
refused or rolled-back step tells nobody), from a worker; a failure to notify is logged and
changes nothing that was saved."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import partial
from typing import Any
from urllib.parse import urlencode

from django.apps import apps
from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from salesloop.common.words import labelled
from salesloop.org.choices import Role
from salesloop.org.models import Member
from salesloop.targets import rules
from salesloop.targets.choices import Metric, ProposalStatus
from salesloop.targets.models import Plan, Proposal, Revision, Target

logger = logging.getLogger("salesloop.targets")


def reconcile_link(plan_id: int, metric: str, *, show: str = "open") -> str:
    """The reconciliation of ``plan_id`` for ``metric``, narrowed to ``show`` (by default the
    proposals awaiting a decision: where a notice or My day leads the one who decides)."""
    return (
        reverse("targets:reconcile", args=[plan_id])
        + "?"
        + urlencode({"metric": metric, "show": show})
    )


_EMAIL: ContextVar[bool] = ContextVar("targets_notify_email", default=True)


@contextmanager
def without_email() -> Iterator[None]:
    """Notify in the app only (the demo company, whose addresses are not real)."""
    token = _EMAIL.set(False)
    try:
        yield
    finally:
        _EMAIL.reset(token)


def after_commit(event: Callable[..., None], *args: Any) -> None:
    """Run ``event(*args)`` once the current transaction commits: in a worker (a plan made
    active tells everyone in it — about 1 s at scale S1 — which the click should not wait
    for), or at once when the worker cannot be asked or for the demo (in the app only)."""
    email = _EMAIL.get()
    if not email:
        transaction.on_commit(partial(_safely, email, event, *args))
        return
    transaction.on_commit(partial(_enqueue, event, *args))


def _enqueue(event: Callable[..., None], *args: Any) -> None:
    from salesloop.targets.tasks import workflow_notify

    try:
        workflow_notify.enqueue(event.__name__, list(args))
    except Exception:  # no task queue at hand: tell them now rather than never
        logger.exception("could not queue the notifications of %s", event.__name__)
        _safely(True, event, *args)


def run_event(name: str, args: list[Any]) -> None:
    """The worker's side of :func:`after_commit`."""
    _safely(True, EVENTS[name], *args)


def _safely(email: bool, event: Callable[..., None], *args: Any) -> None:
    if not apps.is_installed("salesloop.alerts"):
        return
    token = _EMAIL.set(email)
    try:
        event(*args)
    except Exception:  # the change is saved; a lost notice must not turn it into an error
        logger.exception("could not send the notifications of %s", event.__name__)
    finally:
        _EMAIL.reset(token)


def _send(
    members: Iterable[Member],
    message: Callable[[Member], tuple[str, str]],
    link: str,
    at: Any = None,
) -> int:
    """``at``: when the step was taken (the plan's or record's own time stamp)."""
    from salesloop.alerts.services import members_notify

    return members_notify(members=members, message=message, link=link, email=_EMAIL.get(), now=at)


def _active() -> Any:
    return Member.objects.filter(left_on__isnull=True, user__is_active=True).select_related(
        "user", "org_unit"
    )


def _figure(value: Any, metric: str) -> str:
    from salesloop.web.templatetags.salesloop import exact_figure

    return exact_figure(value, metric)


def _levels(target: Target) -> str:
    return _("floor %(floor)s · target %(target)s · stretch %(stretch)s") % {
        "floor": _figure(target.floor, target.metric),
        "target": _figure(target.target, target.metric),
        "stretch": _figure(target.stretch, target.metric),
    }


def _metric(target: Target) -> str:
    return str(Metric(target.metric).label) if target.metric in Metric.values else target.metric


def _carriers(target: Target) -> list[Member]:
    """Who carries a target: its member, or the managers of its team."""
    if target.member_id:
        return [target.member] if target.member else []
    return list(_active().filter(org_unit_id=target.unit_id, role=Role.MANAGER))


# ------------------------------------------------------------------------ plans


def _approvers(plan: Plan, actor_pk: int) -> list[Member]:
    return [
        m
        for m in _active().filter(role__in=(Role.ADMIN, Role.DIRECTOR, Role.MANAGER))
        if m.pk != actor_pk and rules.may_approve_plan(m, plan)
    ]


def plan_submitted(plan_pk: int, actor_pk: int) -> None:
    plan = Plan.objects.select_related("owner__org_unit").get(pk=plan_pk)
    actor = Member.objects.get(pk=actor_pk)
    approvers = _approvers(plan, actor_pk)

    def message(_member: Member) -> tuple[str, str]:
        return (
            _("%(plan)s is waiting for your approval") % {"plan": plan},
            _(
                "%(who)s submitted it. Review it — the reconciliation view shows the top-down "
                "and bottom-up figures side by side — then approve it or send it back to draft "
                "with a reason."
            )
            % {"who": actor.display_name},
        )

    _send(approvers, message, reverse("targets:plan", args=[plan.pk]), plan.submitted_at)
    _undecided_told(plan, actor)


def _undecided_told(plan: Plan, actor: Member) -> None:
    """Whoever proposed a figure still undecided when the plan was submitted hears that it was
    not decided: it can be only if the plan goes back to draft (My targets says "Not
    decided")."""
    waiting = (
        Proposal.objects.filter(target__plan=plan, status=ProposalStatus.OPEN)
        .exclude(proposed_by=actor)
        .select_related("target__member", "target__unit", "target__product_line", "proposed_by")
        .order_by("pk")
    )
    for proposal in waiting:

        def message(_member: Member, proposal: Proposal = proposal) -> tuple[str, str]:
            values = {
                "value": _figure(proposal.value, proposal.target.metric),
                "target": proposal.target,
                "plan": plan,
            }
            return (
                _("Your proposal of %(value)s for %(target)s was not decided") % values,
                _(
                    "%(plan)s was submitted for approval before it was decided: it can be "
                    "decided only if the plan is sent back to draft. Ask the plan's owner if "
                    "it still matters."
                )
                % values,
            )

        _send([proposal.proposed_by], message, reverse("targets:mine"), plan.submitted_at)


def plan_returned(plan_pk: int, actor_pk: int, reason: str) -> None:
    """Sent back by an approver: its owner hears why. Withdrawn by its owner: those who were
    asked to approve it hear that it no longer waits for them."""
    plan = Plan.objects.select_related("owner__user", "owner__org_unit").get(pk=plan_pk)
    actor = Member.objects.get(pk=actor_pk)
    if plan.owner_id == actor_pk:

        def withdrawn(_member: Member) -> tuple[str, str]:
            return (
                _("%(plan)s was withdrawn to draft") % {"plan": plan},
                _("%(who)s withdrew it: %(reason)s. It no longer waits for your approval.")
                % {"who": actor.display_name, "reason": reason},
            )

        link = reverse("targets:plan", args=[plan.pk])
        _send(_approvers(plan, actor_pk), withdrawn, link)
        return

    def message(_member: Member) -> tuple[str, str]:
        return (
            _("%(plan)s was sent back to draft") % {"plan": plan},
            _("%(who)s sent it back: %(reason)s") % {"who": actor.display_name, "reason": reason},
        )

    _send([plan.owner], message, reverse("targets:plan", args=[plan.pk]))


def plan_approved(plan_pk: int, actor_pk: int) -> None:
    plan = Plan.objects.select_related("owner__user").get(pk=plan_pk)
    actor = Member.objects.get(pk=actor_pk)
    if plan.owner_id == actor_pk:
        return

    def message(_member: Member) -> tuple[str, str]:
        return (
            _("%(plan)s was approved") % {"plan": plan},
            _("Approved by %(who)s. Activate it to make its targets count.")
            % {"who": actor.display_name},
        )

    _send([plan.owner], message, reverse("targets:plan", args=[plan.pk]), plan.approved_at)


def plan_activated(plan_pk: int, actor_pk: int) -> None:
    """Everyone with a target in the plan hears the figures they now carry (product lines
    left out: the totals are what a person is measured on first)."""
    plan = Plan.objects.get(pk=plan_pk)
    mine: dict[int, list[Target]] = defaultdict(list)
    people: dict[int, Member] = {}
    targets = (
        Target.objects.filter(plan=plan, product_line__isnull=True)
        .select_related("member__user", "member__org_unit", "unit")
        .order_by("metric", "pk")
    )
    managers: dict[int, list[Member]] = defaultdict(list)
    for m in _active().filter(role=Role.MANAGER):
        managers[m.org_unit_id].append(m)
    for t in targets:
        if not (t.floor or t.target or t.stretch):  # nothing set: nothing to announce
            continue
        if t.member_id:
            carriers = [t.member] if t.member and t.member.left_on is None else []
        else:
            carriers = managers.get(t.unit_id or 0, [])
        for member in carriers:
            if member is None or member.pk == actor_pk:
                continue
            people[member.pk] = member
            mine[member.pk].append(t)

    def message(member: Member) -> tuple[str, str]:
        order = {value: i for i, value in enumerate(Metric.values)}
        lines = [
            labelled(f"{t.owner_name} · {_metric(t)}", _levels(t))
            for t in sorted(
                mine[member.pk], key=lambda t: (t.unit_id is not None, order.get(t.metric, 99))
            )
        ]
        return (
            _("Your targets for FY%(year)s are in force") % {"year": plan.fiscal_year},
            "\n".join(
                [
                    _("%(plan)s is now the active plan.") % {"plan": plan},
                    *lines,
                    _("My targets shows them month by month beside your actuals."),
                ]
            ),
        )

    _send(people.values(), message, reverse("targets:mine"), plan.activated_at)


# -------------------------------------------------------------------- proposals


def decider_pool() -> list[Member]:
    """The active managers, directors and admins: those :func:`deciders` chooses from."""
    return list(_active().filter(role__in=(Role.MANAGER, Role.DIRECTOR, Role.ADMIN)))


def deciders(target: Target, proposer: Member, pool: list[Member] | None = None) -> list[Member]:
    """Who is asked to decide a proposal on ``target``: the managers of the nearest unit above
    the target's owner who may set it; else the directors; else the admins. ``pool``: the
    :func:`decider_pool`, read once for many proposals."""
    pool = decider_pool() if pool is None else pool
    managers = [
        m
        for m in pool
        if m.role == Role.MANAGER and m.pk != proposer.pk and rules.may_edit_target(m, target)
    ]
    if managers:
        nearest = max(len(m.org_unit.path) for m in managers)
        return [m for m in managers if len(m.org_unit.path) == nearest]
    for role in (Role.DIRECTOR, Role.ADMIN):
        found = [m for m in pool if m.role == role and m.pk != proposer.pk]
        if found:
            return found
    return []


def mine_link(plan_pk: int) -> str:
    """My targets, opened on one plan's block (where a request for proposals is answered)."""
    return reverse("targets:mine") + f"#plan-{plan_pk}"


def proposals_requested(
    plan_pk: int,
    metric: str,
    actor_pk: int,
    target_pks: list[int],
    note: str,
    due: str | None = None,
) -> None:
    """The people a leader asked for their own figure (``services.proposals_request``) each
    hear it once, with the targets they are asked about, the due day (``YYYY-MM-DD``, when the
    leader gave one) and the leader's note."""
    plan = Plan.objects.get(pk=plan_pk)
    actor = Member.objects.get(pk=actor_pk)
    mine: dict[int, list[Target]] = defaultdict(list)
    people: dict[int, Member] = {}
    for t in (
        Target.objects.filter(pk__in=target_pks)
        .select_related("member__user", "member__org_unit", "unit")
        .order_by("pk")
    ):
        for member in _carriers(t):
            if member.pk != actor_pk and rules.may_propose(member, t):
                people[member.pk] = member
                mine[member.pk].append(t)

    def message(member: Member) -> tuple[str, str]:
        values = {"who": actor.display_name, "plan": plan, "metric": Metric(metric).label}
        lines = [
            _("%(owner)s: the top-down target is %(target)s.")
            % {"owner": t.owner_name, "target": _figure(t.target, t.metric)}
            for t in mine[member.pk]
        ]
        return (
            _("%(who)s asks for your own figure for %(plan)s (%(metric)s)") % values,
            "\n".join(
                [
                    *lines,
                    *([_("Please propose by %(day)s.") % {"day": due}] if due else []),
                    *([_("Their note: %(note)s") % {"note": note}] if note else []),
                    _(
                        "Propose the figure you can commit to on My targets: it goes to your "
                        "manager, who accepts or rejects it."
                    ),
                ]
            ),
        )

    _send(people.values(), message, mine_link(plan.pk))


def proposal_made(proposal_pk: int) -> None:
    proposal = Proposal.objects.select_related(
        "target__plan", "target__member__org_unit", "target__unit", "proposed_by"
    ).get(pk=proposal_pk)
    target, who = proposal.target, proposal.proposed_by

    def message(_member: Member) -> tuple[str, str]:
        body = _(
            "%(plan)s · %(target)s: the target is %(current)s. Accept or reject the proposal "
            "in the reconciliation view."
        ) % {
            "plan": target.plan,
            "target": target,
            "current": _figure(target.target, target.metric),
        }
        if proposal.comment:
            body += "\n" + _("Their reason: %(comment)s") % {"comment": proposal.comment}
        values = {
            "who": who.display_name,
            "value": _figure(proposal.value, target.metric),
            "owner": target.owner_name,
        }
        title = (
            _("%(who)s proposes %(value)s as their own target") % values
            if target.member_id == who.pk
            else _("%(who)s proposes %(value)s for %(owner)s") % values
        )
        return title, body

    link = reconcile_link(target.plan_id, target.metric)
    _send(deciders(target, who), message, link, proposal.created_at)


def proposal_decided(proposal_pk: int) -> None:
    proposal = Proposal.objects.select_related(
        "target__plan",
        "target__member",
        "target__unit",
        "target__product_line",
        "proposed_by__user",
        "decided_by",
    ).get(pk=proposal_pk)
    if proposal.decided_by_id == proposal.proposed_by_id:
        return
    target = proposal.target
    accepted = proposal.status == ProposalStatus.ACCEPTED

    def message(_member: Member) -> tuple[str, str]:
        values = {"value": _figure(proposal.value, target.metric), "target": target}
        if target.member_id == proposal.proposed_by_id:  # their own target: not named to them
            line = f" · {target.product_line.name}" if target.product_line_id else ""  # type: ignore[union-attr]
            values["what"] = f"{target.get_metric_display()}{line}"
            title = (
                _("Your proposal of %(value)s as your own target (%(what)s) was accepted") % values
                if accepted
                else _("Your proposal of %(value)s as your own target (%(what)s) was rejected")
                % values
            )
        else:
            title = (
                _("Your proposal of %(value)s for %(target)s was accepted") % values
                if accepted
                else _("Your proposal of %(value)s for %(target)s was rejected") % values
            )
        who = proposal.decided_by.display_name if proposal.decided_by else ""
        body = (
            _("%(who)s accepted it: the target is now %(levels)s.")
            % {"who": who, "levels": _levels(target)}
            if accepted
            else _("%(who)s rejected it: the target stays %(levels)s.")
            % {"who": who, "levels": _levels(target)}
        )
        if proposal.decision_note:
            body += " " + _("Why: %(note)s") % {"note": proposal.decision_note}
        return title, body

    _send([proposal.proposed_by], message, reverse("targets:mine"), proposal.decided_at)


# -------------------------------------------------------------------- revisions


def target_revised(revision_pk: int) -> None:
    revision = Revision.objects.select_related(
        "target__plan", "target__member__user", "target__unit", "author"
    ).get(pk=revision_pk)
    target = revision.target
    carriers = [m for m in _carriers(target) if m.pk != revision.author_id]
    before, after = revision.before or {}, revision.after or {}

    def message(_member: Member) -> tuple[str, str]:
        if before == after and revision.counts_from:  # the year kept, its months split again
            from salesloop.targets.services import _month_label

            change = _("the months from %(month)s split again") % {
                "month": _month_label(target.plan, revision.counts_from)
            }
        else:
            change = _("target %(old)s → %(new)s") % {
                "old": _figure(before.get("target"), target.metric),
                "new": _figure(after.get("target"), target.metric),
            }
        return (
            _("Target revised: %(target)s") % {"target": target},
            "\n".join(
                [
                    labelled(f"{target.plan} · {_metric(target)}", f"{change} ({_levels(target)})"),
                    _("Reason: %(reason)s") % {"reason": revision.reason},
                    _("By %(who)s.") % {"who": revision.author.display_name},
                ]
            ),
        )

    _send(carriers, message, reverse("targets:history", args=[target.plan_id]), revision.at)


#: The events a worker may be asked to run (``tasks.workflow_notify``).
EVENTS: dict[str, Callable[..., None]] = {
    f.__name__: f
    for f in (
        plan_submitted,
        plan_returned,
        plan_approved,
        plan_activated,
        proposals_requested,
        proposal_made,
        proposal_decided,
        target_revised,
    )
}
