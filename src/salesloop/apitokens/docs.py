"""The API's documentation page, served entirely from this installation (no CDN).

django-ninja ships Swagger UI's files in its package but only finds them when "ninja" is an
installed app; here they are served by a small view from the package folder instead, with a
fixed list of names.
"""

from __future__ import annotations

import json
import mimetypes
from pathlib import Path
from typing import Any

import ninja
from django.contrib.auth.views import redirect_to_login
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_safe
from ninja.openapi.docs import DocsBase

from salesloop.apitokens.auth import api_user

ASSETS_DIR = Path(ninja.__file__).resolve().parent / "static" / "ninja"
ASSETS = frozenset({"swagger-ui.css", "swagger-ui-bundle.js", "favicon.svg", "favicon.png"})


class LocalSwagger(DocsBase):
    """Swagger UI with every asset served by this installation (and no validator badge)."""

    settings: dict[str, Any] = {
        "layout": "BaseLayout",
        "deepLinking": True,
        "validatorUrl": None,
        "persistAuthorization": False,
        "tryItOutEnabled": False,
    }

    def render_page(self, request: HttpRequest, api: Any, **kwargs: Any) -> HttpResponse:
        config = {**self.settings, "url": self.get_openapi_url(api, kwargs)}
        context = {"api": api, "swagger_settings": json.dumps(config)}
        return render(request, "apitokens/api_docs.html", context)


@require_safe
def docs_asset(request: HttpRequest, name: str) -> HttpResponse:
    if name not in ASSETS:
        raise Http404("Not found.")
    content_type, _encoding = mimetypes.guess_type(name)
    response = FileResponse((ASSETS_DIR / name).open("rb"), content_type=content_type)
    patch_cache_control(response, public=True, max_age=86400)
    return response


def docs_access(view: Any) -> Any:
    """The schema and the docs page: for a logged-in user or a valid token."""

    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if api_user(request) is None:
            if request.path.endswith("/docs") and "Authorization" not in request.headers:
                return redirect_to_login(request.get_full_path(), reverse("login"))
            return JsonResponse(
                {"detail": "Authentication required.", "code": "not_authenticated", "errors": {}},
                status=401,
            )
        return view(request, *args, **kwargs)

    return wrapped
