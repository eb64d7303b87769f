"""A page, not a browser's bare error, for an address visited that only takes a form's data."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string


class MethodNotAllowedPage:
    """Django answers a GET to a POST-only view (a reloaded form result, a bookmarked action, a
    link copied from the address bar) with an empty 405, which Chromium shows as "This page isn't
    working". Pages get the app's error card instead, with the same status and ``Allow`` header;
    the API (``/api/``) and HTMX requests keep their own answers."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.status_code != 405
            or response.content
            or request.path.startswith("/api/")
            or getattr(request, "htmx", False)
        ):
            return response
        page = HttpResponse(render_to_string("405.html", request=request), status=405)
        if allow := response.get("Allow"):
            page["Allow"] = allow
        return page
