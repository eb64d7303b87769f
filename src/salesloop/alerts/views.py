"""Notification centre, reports, rules and preferences: parse, call a selector or service, render."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.core.serializers.json import DjangoJSONEncoder
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from salesloop.alerts import selectors, services
from salesloop.alerts.choices import RuleKey
from salesloop.alerts.forms import RULE_HELP, PreferenceForm, RuleForm
from salesloop.alerts.models import AlertRule, NotificationPreference
from salesloop.alerts.reports.present import report_present
from salesloop.alerts.reports.xlsx import report_workbook
from salesloop.common.audit import security_event
from salesloop.common.words import labelled, sentences
from salesloop.insights.charts import with_category_axes
from salesloop.org.choices import COMPANY_WIDE_ROLES
from salesloop.org.visibility import member_of


def _member(request: HttpRequest) -> Any:
    member = member_of(request.user)
    if member is None:
        raise Http404("Not found.")
    return member


@require_GET
def inbox_view(request: HttpRequest) -> HttpResponse:
    """The notification centre: my notifications, and the open alerts I may see."""
    notes = Paginator(selectors.notification_list(user=request.user), 30).get_page(
        request.GET.get("page")
    )
    counts = selectors.alert_counts(user=request.user)
    alerts = selectors.alert_list(user=request.user)
    rule = request.GET.get("rule", "")
    if rule not in RuleKey.values:
        rule = ""
    if rule:
        alerts = alerts.filter(rule=rule)
    labels = dict(RuleKey.choices)
    # one chip per rule with open alerts, the most frequent first: "Stalled deals 40" tells a
    # director at a glance where the trouble is, and filters the list below
    chips = sorted(
        ((key, labels.get(key, key), n) for key, n in counts.items()), key=lambda c: (-c[2], c[1])
    )
    return render(
        request,
        "alerts/inbox.html",
        {
            "page": notes,
            "alerts": Paginator(alerts, 25).get_page(request.GET.get("apage")),
            "alert_total": sum(counts.values()),
            "chips": chips,
            "rule": rule,
            "unread": selectors.unread_count(user=request.user),
        },
    )


@require_GET
def notification_open_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark a notification read and go to its subject."""
    note = selectors.notification_get(user=request.user, pk=pk)
    services.notification_mark_read(member=_member(request), pk=note.pk)
    target = (
        note.link
        if note.link and url_has_allowed_host_and_scheme(note.link, allowed_hosts=None)
        else "alerts:inbox"
    )
    return redirect(target)


@require_POST
def notification_read_view(request: HttpRequest, pk: int) -> HttpResponse:
    note = selectors.notification_get(user=request.user, pk=pk)
    services.notification_mark_read(member=_member(request), pk=note.pk)
    return redirect("alerts:inbox")


@require_POST
def notification_read_all_view(request: HttpRequest) -> HttpResponse:
    n = services.notification_mark_read(member=_member(request))
    messages.success(request, _("%(n)d notifications marked read.") % {"n": n})
    return redirect("alerts:inbox")


def preferences_view(request: HttpRequest) -> HttpResponse:
    member = _member(request)
    pref = NotificationPreference.objects.filter(member=member).first() or NotificationPreference(
        member=member
    )
    form = PreferenceForm(request.POST or None, instance=pref, address=member.user.email)
    if request.method == "POST" and form.is_valid():
        try:
            services.preference_save(member=member, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Your notification preferences were saved."))
            return redirect("alerts:preferences")
    return render(request, "alerts/preferences.html", {"form": form})


@require_GET
def report_list_view(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.report_list(user=request.user), 30).get_page(request.GET.get("page"))
    return render(request, "alerts/report_list.html", {"page": page})


@require_GET
def report_view(request: HttpRequest, pk: int) -> HttpResponse:
    """A report as it was sent (its stored snapshot), in the reader's language."""
    report = selectors.report_get(user=request.user, pk=pk)
    data = report_present(report.data)
    figures = {
        k: json.dumps(with_category_axes(v), cls=DjangoJSONEncoder, ensure_ascii=False)
        for k, v in (data.get("figures") or {}).items()
        if v
    }
    return render(
        request,
        "alerts/report.html",
        {
            "report": report,
            "title": report.localized_title(),
            "data": data,
            "figures": figures,
        },
    )


@require_GET
def report_xlsx_view(request: HttpRequest, pk: int) -> HttpResponse:
    report = selectors.report_get(user=request.user, pk=pk)
    security_event(actor=request.user, action="export.report", report=report.pk)
    response = HttpResponse(
        report_workbook(report),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = (
        f'attachment; filename="{report.kind}-{report.period_start.isoformat()}.xlsx"'
    )
    return response


def _require_rule_admin(request: HttpRequest) -> None:
    """Thresholds are company settings: admins and directors change them."""
    member = member_of(request.user)
    if not (
        request.user.is_superuser or (member is not None and member.role in COMPANY_WIDE_ROLES)
    ):
        raise PermissionDenied


@require_GET
def rules_view(request: HttpRequest) -> HttpResponse:
    _require_rule_admin(request)
    rules = services.rules_ensure()
    open_counts = selectors.alert_counts(user=request.user)
    # the outcome of the last save, said in its rule's card (at the top of the page it was off
    # the screen where the save lands): refused, the figures as typed and each error beside its
    # threshold; saved, a line of confirmation
    outcome = request.session.pop("rule_outcome", None) or {}
    forms_ = []
    for r in rules:
        form = RuleForm(rule=r, prefix=r.key)
        notice = None
        if outcome.get("key") == r.key:
            notice = outcome
            if not outcome.get("ok"):
                data = QueryDict(mutable=True)
                for name, values in outcome.get("post", {}).items():
                    data.setlist(name, values)
                form = RuleForm(data, rule=r, prefix=r.key)
                form.is_valid()
                for name, words in outcome.get("errors", {}).items():
                    if name in form.fields and name not in form.errors:
                        form.add_error(name, words)
        forms_.append((r, form, open_counts.get(r.key, 0), RULE_HELP.get(r.key, ""), notice))
    return render(request, "alerts/rules.html", {"rules": forms_})


@require_POST
def rule_edit_view(request: HttpRequest, key: str) -> HttpResponse:
    _require_rule_admin(request)
    rule = AlertRule.objects.filter(key=key).first()
    if rule is None:
        raise Http404("Not found.")
    form = RuleForm(request.POST, rule=rule, prefix=rule.key)
    if form.is_valid():
        try:
            services.rule_update(
                rule=rule,
                params=form.params(),
                enabled=form.cleaned_data["enabled"],
                severity=form.cleaned_data["severity"],
                actor=request.user,
            )
        except ValidationError as exc:
            # said like the form's own errors: the rule, then each threshold by its label
            for name, words in getattr(exc, "message_dict", {"": exc.messages}).items():
                form.add_error(f"p_{name}" if f"p_{name}" in form.fields else None, words)
        else:
            from salesloop.alerts.tasks import alerts_evaluate

            alerts_evaluate.enqueue(rules=[rule.key])
            request.session["rule_outcome"] = {
                "key": rule.key,
                "ok": True,
                "text": _("“%(rule)s” saved; its alerts are being re-evaluated.") % {"rule": rule},
            }
    if form.errors:
        request.session["rule_outcome"] = {
            "key": rule.key,
            "ok": False,
            "text": _("“%(rule)s” was not saved: %(errors)s")
            % {
                "rule": rule,
                "errors": sentences(
                    labelled(form.fields[k].label, sentences(v))
                    if k in form.fields
                    else sentences(v)
                    for k, v in form.errors.items()
                ),
            },
            "post": {
                k: [v[:200] for v in request.POST.getlist(k)][:20]
                for k in request.POST
                if k.startswith(f"{rule.key}-")
            },
            "errors": {k: [str(w) for w in v] for k, v in form.errors.items() if k in form.fields},
        }
    return redirect(f"{reverse('alerts:rules')}#rule-{rule.key}")
