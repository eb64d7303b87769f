"""HTMX helpers: render a page or, for a non-boosted HTMX request, one of its partials."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def render_page_or_partial(
    request: HttpRequest, template: str, context: dict[str, Any], partial: str
) -> HttpResponse:
    htmx = getattr(request, "htmx", None)
    if htmx and not htmx.boosted:
        return render(request, f"{template}#{partial}", context)
    return render(request, template, context)
