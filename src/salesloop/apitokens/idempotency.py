"""``Idempotency-Key`` for POST: a retried request gets the first response, not a second record.

The same key + the same user + the same method, path and body → the stored first response is
replayed (with ``Idempotency-Replayed: true``). The same key with another request → 422. The
same key while the first request is still running → 409. Only successful (2xx) responses are
kept; after an error the key is forgotten, so the client may fix the request and retry. Keys
are kept 24 hours.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _

from salesloop.apitokens.auth import api_user
from salesloop.apitokens.services import (
    idempotency_begin,
    idempotency_fingerprint,
    idempotency_finish,
)

HEADER = "Idempotency-Key"


def _error(status: int, code: str, detail: str) -> HttpResponse:
    return JsonResponse({"detail": detail, "code": code, "errors": {}}, status=status)


def idempotent(run: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A ninja "view" decorator: wraps the whole operation (authentication included)."""

    @wraps(run)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        key = request.headers.get(HEADER)
        if request.method != "POST" or key is None:
            return run(request, *args, **kwargs)
        user = api_user(request)
        if user is None:  # not authenticated: let the operation answer 401
            return run(request, *args, **kwargs)
        key = key.strip()
        if not 1 <= len(key) <= 255:
            return _error(
                422, "invalid_idempotency_key", _("An idempotency key has 1 to 255 characters.")
            )
        fingerprint = idempotency_fingerprint(
            method=request.method, path=request.path, body=request.body
        )
        stored = idempotency_begin(user=user, key=key, fingerprint=fingerprint)
        if stored is not None:
            if stored.fingerprint != fingerprint:
                return _error(
                    422,
                    "idempotency_key_reused",
                    _("This idempotency key was used for another request."),
                )
            if stored.status == 0:
                return _error(
                    409,
                    "idempotency_in_progress",
                    _("A request with this idempotency key is still running."),
                )
            response = HttpResponse(
                bytes(stored.body), status=stored.status, content_type=stored.content_type
            )
            response["Idempotency-Replayed"] = "true"
            return response
        try:
            response = run(request, *args, **kwargs)
        except BaseException:
            idempotency_finish(user=user, key=key, status=500, content_type="", body=b"")
            raise
        idempotency_finish(
            user=user,
            key=key,
            status=response.status_code,
            content_type=response.get("Content-Type", ""),
            body=response.content,
        )
        return response

    return wrapped
