from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from salesloop.activities import services
from salesloop.activities.forms import ActivityForm
from salesloop.activities.selectors import activity_get, activity_list, follow_up_buckets
from salesloop.common.forms import apply_service_errors
from salesloop.common.words import sentences
from salesloop.customers.selectors import customer_get
from salesloop.org.decorators import writer_required
from salesloop.org.visibility import member_of, sees_everything
from salesloop.pipeline.selectors import opportunity_get


@writer_required
@require_POST
def activity_log_view(request: HttpRequest) -> HttpResponse:
    """Log a follow-up from a customer or an opportunity page (an HTMX form swap)."""
    opportunity = None
    if opportunity_id := request.POST.get("opportunity"):
        opportunity = opportunity_get(user=request.user, pk=opportunity_id)
        customer = opportunity.customer
    else:
        customer = customer_get(user=request.user, pk=request.POST.get("customer"))
    form = ActivityForm(request.POST)
    member = member_of(request.user)
    saved = False
    if member is None:
        form.add_error(None, _("Only members of the sales org can log activities."))
    elif form.is_valid():
        try:
            services.activity_log(
                owner=member, customer=customer, opportunity=opportunity, **form.cleaned_data
            )
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            saved = True
    context = {
        "activity_form": ActivityForm() if saved else form,
        "activities": activity_list(user=request.user, customer=customer, opportunity=opportunity)[
            :30
        ],
        "customer": customer,
        "opportunity": opportunity,
        "saved": saved,
    }
    if request.htmx:
        return render(request, "activities/timeline.html", context, status=200 if saved else 400)
    if saved:
        messages.success(request, _("Activity logged."))
    else:
        messages.error(request, _("The activity was not saved: please check the form."))
    target = (
        ("pipeline:detail", opportunity.pk) if opportunity else ("customers:detail", customer.pk)
    )
    return redirect(*target)


def followups_view(request: HttpRequest) -> HttpResponse:
    member = member_of(request.user)
    can_see_team = sees_everything(request.user) or bool(member and member.role != "rep")
    # a manager or director opens on their people's follow-ups (a director has few of their own)
    scope = request.GET.get("scope") or ("team" if can_see_team else "mine")
    mine_only = scope != "team" or not can_see_team
    context = {
        "buckets": follow_up_buckets(user=request.user, mine_only=mine_only, limit=100),
        "scope": "mine" if mine_only else "team",
        "can_see_team": can_see_team,
    }
    return render(request, "activities/followups.html", context)


@writer_required
@require_POST
def follow_up_done_view(request: HttpRequest, pk: int) -> HttpResponse:
    activity = activity_get(user=request.user, pk=pk)
    try:
        services.follow_up_complete(activity=activity)
    except ValidationError as error:
        messages.error(request, sentences(error.messages))
    if request.htmx:
        return HttpResponse("")
    return redirect("activities:followups")
