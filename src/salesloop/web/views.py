from __future__ import annotations

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from salesloop.activities.selectors import follow_up_buckets, overdue_count
from salesloop.common.audit import security_event
from salesloop.insights.today import day_pace
from salesloop.org.choices import Role
from salesloop.org.services import member_set_language
from salesloop.org.visibility import member_of, sees_everything
from salesloop.pipeline.selectors import pipeline_summary
from salesloop.targets.selectors import figures_asked_of, waiting_decisions


def _ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR")


class SalesloopLoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def form_valid(self, form):  # type: ignore[no-untyped-def]
        response = super().form_valid(form)
        security_event(actor=self.request.user, action="login", ip=_ip(self.request))
        return response

    def form_invalid(self, form):  # type: ignore[no-untyped-def]
        security_event(
            actor=None,
            action="login.failed",
            ip=_ip(self.request),
            username=(self.request.POST.get("username") or "")[:150],
        )
        return super().form_invalid(form)


def home(request: HttpRequest) -> HttpResponse:
    """The landing page: the pace of this month and quarter, today's follow-ups and the open
    pipeline the user can see (a manager or director also sees the team's overdue count and
    the target-setting decisions that wait on them; anyone whose own figure a leader asked
    for sees that request until they propose)."""
    member = member_of(request.user)
    team = sees_everything(request.user) or (member is not None and member.role != Role.REP)
    context = {
        "pace": day_pace(request.user),
        "followups": follow_up_buckets(user=request.user, limit=8),
        "team_overdue": (overdue_count(user=request.user, mine_only=False) if team else None),
        "pipeline": pipeline_summary(user=request.user),
        "decisions": waiting_decisions(user=request.user),
        "asks": figures_asked_of(member),
    }
    return render(request, "web/home.html", context)


@login_not_required
@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """Switch the UI language; a logged-in member keeps the choice in their profile."""
    language = request.POST.get("language", "")
    codes = {code for code, _name in settings.LANGUAGES}
    next_url = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = "/"
    response = HttpResponseRedirect(next_url)
    if language in codes:
        translation.activate(language)
        response.set_cookie(settings.LANGUAGE_COOKIE_NAME, language, samesite="Lax")
        member = member_of(request.user)
        if member is not None:
            member_set_language(member=member, language=language)
    return response


@login_not_required
def healthz(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"status": "ok"})
