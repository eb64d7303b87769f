"""Dashboard pages: parse the scope, build the figures, render."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from salesloop.common.memo import memo_scope
from salesloop.insights.dashboard import build_dashboard
from salesloop.insights.health import customer_health
from salesloop.insights.scope import TRACKED_METRICS, resolve_scope, shift_anchor
from salesloop.targets.choices import Metric

PERIOD_KINDS = (("month", _("Month")), ("quarter", _("Quarter")), ("year", _("Year")))


def dashboard_view(request: HttpRequest) -> HttpResponse:
    """The logged-in user's dashboard (director: company, manager: team, rep: me), or any
    node they may see (``?node=u12`` / ``?node=m34``) for a period and product line."""
    with memo_scope():
        return _dashboard(request)


def _dashboard(request: HttpRequest) -> HttpResponse:
    scope = resolve_scope(request.user, request.GET)
    if request.GET.get("part") == "health":  # loaded by the page after it renders (htmx)
        return render(
            request,
            "insights/dashboard.html#health",
            {"scope": scope, "health": customer_health(scope)},
        )
    board = build_dashboard(scope)
    context = {
        **board.context,
        "prev_query": scope.query(on=shift_anchor(scope, -1)),
        "next_query": scope.query(on=shift_anchor(scope, 1)),
        "period_kinds": PERIOD_KINDS,
        "metric_choices": [(m.value, m.label) for m in Metric if m in TRACKED_METRICS],
    }
    return render(request, "insights/dashboard.html", context)
