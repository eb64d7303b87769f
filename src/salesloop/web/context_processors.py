"""Navigation shown in the layout: what the logged-in user may reach."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import resolve
from django.utils.translation import gettext_lazy as _

from salesloop.alerts.selectors import unread_count
from salesloop.org.visibility import can_write, member_of

NAV = (
    ("home", _("My day"), "home"),
    ("dashboard", _("Dashboard"), "insights:dashboard"),
    ("customers", _("Customers"), "customers:list"),
    ("opportunities", _("Opportunities"), "pipeline:list"),
    ("board", _("Pipeline board"), "pipeline:board"),
    ("followups", _("Follow-ups"), "activities:followups"),
    ("dataio", _("Import / export"), "dataio:import"),
    ("targets", _("Targets"), "targets:plans"),
    ("alerts", _("Notifications"), "alerts:inbox"),
)


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    try:
        current = resolve(request.path_info).url_name or ""
        namespace = resolve(request.path_info).namespace
    except Exception:
        current, namespace = "", ""
    active = {
        "customers": "customers",
        "pipeline": "board" if current == "board" else "opportunities",
        "activities": "followups",
        "targets": "targets",
        "insights": "dashboard",
        "alerts": "alerts",
    }.get(namespace, "home" if current == "home" else "")
    return {
        "nav_items": NAV,
        "nav_active": active,
        "me": member_of(user),
        "may_write": can_write(user),
        "unread_alerts": unread_count(user=user),
    }
