"""The REST API at /api/: one NinjaAPI, one router per app, domain errors mapped once here.

Every error answers ``{"detail": str, "code": str, "errors": {field: [str, ...]}}`` (docs/api.md):

    400 bad_request / invalid_cursor    the request cannot be read
    401 not_authenticated               no or a wrong token / session
    403 permission_denied               the role or the token may not do this
    404 not_found                       missing, or hidden by the visibility rule (same body)
    409 conflict / stale / protected / idempotency_in_progress
    422 validation_error / idempotency_key_reused
    500 server_error
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError
from django.db.models import ProtectedError
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver, path
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as SchemaValidationError
from ninja.renderers import JSONRenderer

from salesloop.apitokens.auth import SessionCsrfAuth, TokenAuth
from salesloop.apitokens.docs import LocalSwagger, docs_access, docs_asset
from salesloop.apitokens.idempotency import HEADER as IDEMPOTENCY_HEADER
from salesloop.apitokens.idempotency import idempotent
from salesloop.apitokens.rest import BadRequest, Conflict
from salesloop.common.words import sentences
from salesloop.targets.services import STALE_VERSION, StaleEdit

log = logging.getLogger("salesloop.api")


class Utf8JSONRenderer(JSONRenderer):
    json_dumps_params = {"ensure_ascii": False}


class SalesloopAPI(NinjaAPI):
    """NinjaAPI with our authentication checks in front of the login-required middleware."""

    def _get_urls(self) -> list[URLResolver | URLPattern]:
        patterns = [
            *super()._get_urls(),
            path("docs/assets/<str:name>", docs_asset, name="docs-asset"),
        ]
        for pattern in patterns:
            # The API authenticates every request itself (token or session): the site's
            # LoginRequiredMiddleware must not redirect it to the login page.
            pattern.callback.login_required = False  # type: ignore[union-attr]
        return patterns

    def get_openapi_schema(self, *args: Any, **kwargs: Any) -> Any:
        schema = super().get_openapi_schema(*args, **kwargs)
        for item in schema.get("paths", {}).values():
            for operation in item.values():
                # Ninja titles a view's name ("customer_list_route" -> "Customer List Route"):
                # the docs list "Customer list", as a sentence and without our suffix
                summary = operation.get("summary") if isinstance(operation, dict) else None
                if summary and summary.endswith(" Route"):
                    words = summary.removesuffix(" Route").split()
                    operation["summary"] = " ".join([words[0], *(w.lower() for w in words[1:])])
            post = item.get("post")
            if post is not None:
                post.setdefault("parameters", []).append(
                    {
                        "in": "header",
                        "name": IDEMPOTENCY_HEADER,
                        "required": False,
                        "schema": {"type": "string", "minLength": 1, "maxLength": 255},
                        "description": "Send the same key to retry safely: the first response is replayed.",
                    }
                )
        return schema


api = SalesloopAPI(
    title="salesloop API",
    version="1",
    description="The REST API of salesloop (销售闭环). See docs/api.md for authentication, "
    "errors, pagination, idempotency and webhooks.",
    urls_namespace="api",
    auth=[TokenAuth(), SessionCsrfAuth()],
    docs=LocalSwagger(),
    docs_url="/docs",
    openapi_url="/openapi.json",
    docs_decorator=docs_access,
    renderer=Utf8JSONRenderer(),
)
api.add_decorator(idempotent, mode="view")

api.add_router("", "salesloop.customers.api.router")
api.add_router("", "salesloop.pipeline.api.router")
api.add_router("", "salesloop.orders.api.router")
api.add_router("", "salesloop.activities.api.router")
api.add_router("", "salesloop.targets.api.router")
api.add_router("", "salesloop.insights.api.router")


# ---------------------------------------------------------------- errors, mapped once


def error(
    request: HttpRequest,
    status: int,
    code: str,
    detail: str,
    errors: dict[str, list[str]] | None = None,
) -> HttpResponse:
    return api.create_response(
        request, {"detail": detail, "code": code, "errors": errors or {}}, status=status
    )


def _messages(items: Any) -> list[str]:
    return [str(message) for item in items for message in getattr(item, "messages", [item])]


@api.exception_handler(SchemaValidationError)
def on_schema_error(request: HttpRequest, exc: SchemaValidationError) -> HttpResponse:
    fields: dict[str, list[str]] = {}
    for item in exc.errors:
        loc = [
            str(part)
            for part in item.get("loc", ())
            if part not in ("body", "query", "path", "header", "payload", "filters")
        ]
        fields.setdefault(".".join(loc) or "__all__", []).append(str(item.get("msg", "")))
    return error(request, 422, "validation_error", _("The request is not valid."), fields)


@api.exception_handler(ValidationError)
def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    if hasattr(exc, "error_dict"):
        fields = {
            ("__all__" if k == "__all__" else k): _messages(v) for k, v in exc.error_dict.items()
        }
    else:
        fields = {"__all__": [str(m) for m in exc.messages]}
    detail = sentences(m for messages in fields.values() for m in messages) or _(
        "The request is not valid."
    )
    return error(request, 422, "validation_error", detail, fields)


@api.exception_handler(StaleEdit)
def on_stale(request: HttpRequest, exc: StaleEdit) -> HttpResponse:
    if getattr(exc, "code", None) == STALE_VERSION:  # the page's words speak of reloading it
        detail = _("Someone else changed this record after you read it: read it again, then retry.")
        return error(request, 409, "stale", detail)
    return error(request, 409, "stale", sentences(exc.messages))


@api.exception_handler(Conflict)
def on_conflict(request: HttpRequest, exc: Conflict) -> HttpResponse:
    return error(request, 409, exc.code, exc.detail)


@api.exception_handler(ProtectedError)
def on_protected(request: HttpRequest, exc: ProtectedError) -> HttpResponse:
    # A delete refused by a service because other records still refer to this one (an order
    # with payments, a customer with orders): the service's message says which and how many.
    return error(request, 409, "protected", str(exc.args[0]))


@api.exception_handler(IntegrityError)
def on_integrity(request: HttpRequest, exc: IntegrityError) -> HttpResponse:
    log.info("integrity error on %s: %s", request.path, exc)
    return error(
        request, 409, "conflict", _("This conflicts with an existing record (a duplicate?).")
    )


@api.exception_handler(BadRequest)
def on_bad_request(request: HttpRequest, exc: BadRequest) -> HttpResponse:
    return error(request, 400, exc.code, exc.detail)


@api.exception_handler(PermissionDenied)
def on_denied(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return error(request, 403, "permission_denied", str(exc) or _("You may not do this."))


@api.exception_handler(Http404)
def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    # One body for "missing" and "hidden by the visibility rule": ids reveal nothing.
    return error(request, 404, "not_found", _("Not found."))


@api.exception_handler(AuthenticationError)
def on_unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    message = exc.message if exc.message != "Unauthorized" else _("Authentication required.")
    response = error(request, 401, "not_authenticated", message)
    response["WWW-Authenticate"] = 'Bearer realm="salesloop"'
    return response


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    codes = {
        400: "bad_request",
        403: "permission_denied",
        404: "not_found",
        405: "method_not_allowed",
        429: "throttled",
    }
    return error(request, exc.status_code, codes.get(exc.status_code, "error"), str(exc.message))


@api.exception_handler(Exception)
def on_unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    log.exception("API error on %s %s", request.method, request.path)
    return error(request, 500, "server_error", _("Something went wrong on our side."))
