"""Settings → API tokens: create (the token is shown once), list, revoke."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from salesloop.apitokens import services
from salesloop.apitokens.forms import TokenForm
from salesloop.apitokens.selectors import token_get, token_list


def token_list_view(request: HttpRequest) -> HttpResponse:
    form = TokenForm(request.POST or None, user=request.user)
    new_token = None
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                token, new_token = services.token_create(user=request.user, **form.cleaned_data)
            except PermissionDenied as exc:
                form.add_error("scope", str(exc))
                status = 400
            else:
                messages.success(request, _("Token %(name)s created.") % {"name": token.name})
                form = TokenForm(user=request.user)
        else:
            status = 400
    context = {"form": form, "tokens": token_list(user=request.user), "new_token": new_token}
    response = render(request, "apitokens/token_list.html", context, status=status)
    if new_token:
        response["Cache-Control"] = "no-store"  # the secret must not stay in a cache
    return response


@require_POST
def token_revoke_view(request: HttpRequest, pk: int) -> HttpResponse:
    token = token_get(user=request.user, pk=pk)
    services.token_revoke(token=token, actor=request.user)
    messages.success(request, _("Token %(name)s revoked.") % {"name": token.name})
    return redirect("apitokens:list")
