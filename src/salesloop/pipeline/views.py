from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from salesloop.activities.forms import ActivityForm
from salesloop.activities.selectors import activity_list
from salesloop.common.forms import apply_service_errors
from salesloop.common.htmx import render_page_or_partial
from salesloop.common.words import sentences
from salesloop.customers.selectors import customer_list
from salesloop.org.decorators import writer_required
from salesloop.pipeline import services
from salesloop.pipeline.choices import StageKind
from salesloop.pipeline.filters import OpportunityFilter
from salesloop.pipeline.forms import MoveStageForm, OpportunityForm
from salesloop.pipeline.selectors import (
    BOARD_CARDS,
    CLOSED_DAYS,
    board_columns,
    board_more_cards,
    opportunity_get,
    opportunity_list,
    opportunity_totals,
    pipeline_stages,
    stage_history,
)
from salesloop.pipeline.services import pipeline_default

PAGE_SIZE = 25


def opportunity_list_view(request: HttpRequest) -> HttpResponse:
    params = request.GET.copy()
    if "status" not in params:
        params["status"] = "open"
    filters = OpportunityFilter(params)
    listed = opportunity_list(user=request.user, filters=filters)
    # what the filters list, on every page: the sum a manager reads off a spreadsheet; its
    # count serves the pager too (one scan instead of two)
    totals = opportunity_totals(listed)
    paginator = Paginator(listed, PAGE_SIZE)
    paginator.count = totals["count"]  # type: ignore[misc]
    page = paginator.get_page(request.GET.get("page"))
    context = {
        "filters": filters,
        "page": page,
        "totals": totals if totals["count"] else None,
        "query": params,
        "owners": filters.owner_options(request.user),
        "today": timezone.localdate(),
    }
    return render_page_or_partial(request, "pipeline/opportunity_list.html", context, "table")


def opportunity_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    opportunity = opportunity_get(user=request.user, pk=pk)
    context = {
        "opportunity": opportunity,
        "history": stage_history(user=request.user, opportunity=opportunity),
        "stages": pipeline_stages(opportunity.pipeline),
        "move_form": MoveStageForm(opportunity=opportunity, initial={"stage": opportunity.stage}),
        "activities": activity_list(user=request.user, opportunity=opportunity)[:30],
        "activity_form": ActivityForm(),
    }
    return render(request, "pipeline/opportunity_detail.html", context)


@writer_required
def opportunity_create_view(request: HttpRequest) -> HttpResponse:
    initial = {}
    if customer_id := request.GET.get("customer"):
        customer = customer_list(user=request.user).filter(pk=customer_id).first()
        if customer is not None:
            initial["customer"] = f"{customer.name} · #{customer.pk}"
            initial["owner"] = customer.owner_id  # the account's owner, when the user may assign
    form = OpportunityForm(request.POST or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            opportunity = services.opportunity_create(actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(
                request, _("Opportunity %(name)s created.") % {"name": opportunity.name}
            )
            return redirect("pipeline:detail", pk=opportunity.pk)
    return render(request, "pipeline/opportunity_form.html", {"form": form})


@writer_required
def opportunity_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    opportunity = opportunity_get(user=request.user, pk=pk)
    form = OpportunityForm(request.POST or None, instance=opportunity, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            services.opportunity_update(
                opportunity=opportunity, actor=request.user, **form.cleaned_data
            )
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, _("Changes saved."))
            return redirect("pipeline:detail", pk=opportunity.pk)
    if request.method == "POST":
        opportunity.refresh_from_db()
    return render(
        request, "pipeline/opportunity_form.html", {"form": form, "opportunity": opportunity}
    )


@writer_required
@require_POST
def opportunity_move_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Move an opportunity to another stage (the board's drag and drop, or the detail page)."""
    opportunity = opportunity_get(user=request.user, pk=pk)
    form = MoveStageForm(request.POST, opportunity=opportunity)
    status = 200
    if form.is_valid():
        try:
            opportunity = services.opportunity_move_stage(
                opportunity=opportunity,
                stage=form.cleaned_data["stage"],
                actor=request.user,
                lost_reason=form.cleaned_data.get("lost_reason") or "",
            )
        except ValidationError as error:
            apply_service_errors(form, error)
            status = 400
    else:
        status = 400
    if request.htmx and request.POST.get("from") == "board":
        response = _board(
            request, status=status, error=form.errors.get("stage") or form.non_field_errors()
        )
        return response
    if status == 400:
        for error in form.errors.values():
            messages.error(request, sentences(error))
    else:
        messages.success(request, _("Moved to %(stage)s.") % {"stage": opportunity.stage.name})
    return redirect("pipeline:detail", pk=opportunity.pk)


def _shown_cards(raw: str) -> dict[int, int]:
    """The cards each column had loaded before a move, sent by the board as ``stage:count``
    pairs (``"3:40,4:20"``). It only decides how many cards the re-rendered board shows, and the
    move itself has been made by then, so a malformed pair is skipped rather than refused."""
    shown: dict[int, int] = {}
    for pair in raw.split(",")[:50]:
        stage, _sep, count = pair.partition(":")
        digits = stage.isascii() and stage.isdigit() and count.isascii() and count.isdigit()
        if digits and len(stage) <= 9 and len(count) <= 4:
            shown[int(stage)] = int(count)
    return shown


def _board(request: HttpRequest, *, status: int = 200, error: object = None) -> HttpResponse:
    pipeline = pipeline_default()
    params = request.GET.copy()
    params.pop("status", None)
    filters = OpportunityFilter(params)
    columns = board_columns(
        user=request.user,
        pipeline=pipeline,
        filters=filters,
        shown=_shown_cards(request.POST.get("shown", "")) if request.method == "POST" else None,
    )
    context = {
        "pipeline": pipeline,
        "columns": columns,
        "stages": [c["stage"] for c in columns],
        "closed_days": CLOSED_DAYS,
        "filters": filters,
        "owners": filters.owner_options(request.user),
        "today": timezone.localdate(),
        "board_error": error,
        "filter_query": params.urlencode(),
    }
    template = (
        "pipeline/board.html#board"
        if request.htmx and not request.htmx.boosted
        else "pipeline/board.html"
    )
    return render(request, template, context, status=status)


def board_view(request: HttpRequest) -> HttpResponse:
    return _board(request)


def board_more_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The next cards of one board column ("Show more"), with the same filters as the board."""
    pipeline = pipeline_default()
    stages = list(pipeline_stages(pipeline))
    stage = next((s for s in stages if s.pk == pk), None)
    if stage is None:
        raise Http404(_("No such stage on the pipeline board."))
    params = request.GET.copy()
    raw = params.pop("offset", ["0"])[-1]
    params.pop("status", None)
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 7):
        return HttpResponseBadRequest(_("The offset must be a whole number of cards."))
    offset = int(raw)
    filters = OpportunityFilter(params)
    cards, left = board_more_cards(
        user=request.user, pipeline=pipeline, stage=stage, offset=offset, filters=filters
    )
    context = {
        "cards": cards,
        "closed": stage.kind != StageKind.OPEN,
        "stage": stage,
        "stages": stages,
        "owners": filters.owner_options(request.user),
        "today": timezone.localdate(),
        "more_n": min(left, BOARD_CARDS),
        "next": offset + len(cards),
        "filter_query": params.urlencode(),
    }
    return render(request, "pipeline/board.html#more_cards", context)
