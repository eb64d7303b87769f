"""How the API knows who is calling: a personal token, or the browser's session.

- ``Authorization: Bearer <token>``: a personal token (``TokenAuth``). A header that is present
  but wrong answers 401 (the session is not tried).
- Otherwise the logged-in session (``SessionCsrfAuth``), with Django's CSRF check on unsafe
  methods (the ``X-CSRFToken`` header).

After either, an unsafe method (POST, PUT, PATCH, DELETE) needs a role that may write (a viewer
may not) and, with a token, the read-write scope: otherwise 403, logged as a security event.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja.errors import AuthenticationError
from ninja.security import APIKeyCookie, HttpBearer
from ninja.utils import check_csrf

from salesloop.apitokens.models import ApiToken
from salesloop.apitokens.services import token_authenticate
from salesloop.common.audit import security_event
from salesloop.org.visibility import can_write

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def client_ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def bearer_value(request: HttpRequest) -> str | None:
    """The token of an ``Authorization: Bearer …`` header ("" when malformed), None if absent."""
    header = request.headers.get("Authorization")
    if not header:
        return None
    scheme, _sep, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


def authorize_method(request: HttpRequest, user: Any, token: ApiToken | None) -> None:
    """403 for an unsafe method when the role or the token may only read."""
    if request.method in SAFE_METHODS:
        return
    if token is not None and not token.may_write:
        reason = "read-only token"
    elif not can_write(user):
        reason = "read-only role"
    else:
        return
    security_event(
        actor=user,
        action="denied",
        ip=client_ip(request),
        path=request.path,
        method=request.method,
        reason=reason,
    )
    raise PermissionDenied(_("You may only read: this request would change data."))


class TokenAuth(HttpBearer):
    """``Authorization: Bearer sl_…``: a personal API token."""

    def __call__(self, request: HttpRequest) -> Any:
        raw = bearer_value(request)
        if raw is None:
            return None
        token = token_authenticate(raw=raw, ip=client_ip(request)) if raw else None
        if token is None:
            security_event(
                actor=None, action="api_token.invalid", ip=client_ip(request), path=request.path
            )
            raise AuthenticationError(message=_("Invalid or revoked token."))
        request.user = token.user
        request.api_token = token  # type: ignore[attr-defined]
        authorize_method(request, token.user, token)
        return token.user

    def authenticate(self, request: HttpRequest, token: str) -> Any:  # pragma: no cover - unused
        return None


class SessionCsrfAuth(APIKeyCookie):
    """The browser's session; unsafe methods must carry the CSRF token."""

    param_name = settings.SESSION_COOKIE_NAME

    def __init__(self) -> None:
        super().__init__(csrf=False)
        self.csrf = True  # the docs page then sends X-CSRFToken

    def __call__(self, request: HttpRequest) -> Any:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        if request.method not in SAFE_METHODS and check_csrf(request) is not None:
            raise PermissionDenied(_("CSRF check failed: send the X-CSRFToken header."))
        request.api_token = None  # type: ignore[attr-defined]
        authorize_method(request, user, None)
        return user

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:  # pragma: no cover
        return None


def api_user(request: HttpRequest) -> Any:
    """The caller of an API request without side effects (for idempotency), or None."""
    raw = bearer_value(request)
    if raw is not None:
        from salesloop.apitokens.services import token_hash

        token = (
            ApiToken.objects.select_related("user")
            .filter(key_hash=token_hash(raw), revoked_at__isnull=True, user__is_active=True)
            .first()
            if raw
            else None
        )
        return token.user if token else None
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None
