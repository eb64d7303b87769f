"""API test helpers: a token per role and a client that speaks JSON with a Bearer token."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from salesloop.apitokens.choices import TokenScope
from salesloop.apitokens.services import token_create


class ApiClient:
    """Django's test client with ``Authorization: Bearer <token>`` and JSON bodies."""

    def __init__(self, token: str | None = None) -> None:
        self.client = Client()
        self.token = token

    def request(self, method: str, path: str, body: Any = None, **headers: str) -> Any:
        extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
        if self.token:
            extra.setdefault("HTTP_AUTHORIZATION", f"Bearer {self.token}")
        data = json.dumps(body) if body is not None else None
        response = (
            getattr(self.client, method.lower())(
                path, data=data, content_type="application/json", **extra
            )
            if method.upper() not in ("GET", "HEAD")
            else getattr(self.client, method.lower())(path, **extra)
        )
        return response

    def get(self, path: str, **headers: str) -> Any:
        return self.request("GET", path, **headers)

    def post(self, path: str, body: Any = None, **headers: str) -> Any:
        return self.request("POST", path, body if body is not None else {}, **headers)

    def patch(self, path: str, body: Any = None, **headers: str) -> Any:
        return self.request("PATCH", path, body if body is not None else {}, **headers)

    def delete(self, path: str, **headers: str) -> Any:
        return self.request("DELETE", path, **headers)


@pytest.fixture
def api_as(org):
    """``api_as(org.rep_a1)`` → a client with a read-write token of that member
    (``scope="read"`` for a read-only token)."""

    def _client(member: Any, scope: str = TokenScope.READ_WRITE) -> ApiClient:
        if scope == TokenScope.READ_WRITE and member.role == "viewer":
            scope = TokenScope.READ  # a viewer may only hold read-only tokens
        _token, raw = token_create(user=member.user, name="test", scope=scope)
        return ApiClient(raw)

    return _client
