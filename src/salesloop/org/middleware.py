from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import translation

from salesloop.org.visibility import member_of


class MemberLanguageMiddleware:
    """A member's chosen language wins over the browser's (LocaleMiddleware runs first)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        member = member_of(getattr(request, "user", None))
        if member is not None and member.language:
            translation.activate(member.language)
            request.LANGUAGE_CODE = member.language  # type: ignore[attr-defined]
        return self.get_response(request)
