from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from salesloop.common.audit import security_event
from salesloop.org.visibility import can_write


def writer_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """403 for users whose role may not change data (a viewer), on every method."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not can_write(request.user):
            security_event(
                actor=request.user, action="denied", path=request.path, method=request.method
            )
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapped
