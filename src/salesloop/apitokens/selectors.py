"""Reads for API tokens: a user sees only their own."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404

from salesloop.apitokens.models import ApiToken


def token_list(*, user: Any) -> QuerySet[ApiToken]:
    if not getattr(user, "is_authenticated", False):
        return ApiToken.objects.none()
    return ApiToken.objects.filter(user=user).order_by("revoked_at", "-created_at", "-id")


def token_get(*, user: Any, pk: Any) -> ApiToken:
    """One of the user's tokens; another user's answers exactly like a missing one."""
    token = token_list(user=user).filter(pk=pk).first()
    if token is None:
        raise Http404("Not found.")
    return token
