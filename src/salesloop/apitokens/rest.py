"""Building blocks shared by the apps' API routers: errors, cursor pagination, filters, ETags.

(They live beside the API's authentication; an app router imports them, never the NinjaAPI.)
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Path as PathParam
from ninja import Schema
from pydantic import AfterValidator, AwareDatetime, Field, StringConstraints

from salesloop.common.money import ENTRY_DIGITS

T = TypeVar("T")
M = TypeVar("M", bound=models.Model)

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


# ---------------------------------------------------------------- errors


class ErrorOut(Schema):
    """Every error answers with this body."""

    detail: str = Field(description="A sentence for people.")
    code: str = Field(description="A stable identifier for programs, e.g. not_found.")
    errors: dict[str, list[str]] = Field(
        default_factory=dict, description="Messages by field ('__all__' for the whole request)."
    )


class Conflict(Exception):
    """The record changed since the client read it (a stale ``If-Match``), or a duplicate."""

    def __init__(self, detail: str, code: str = "conflict") -> None:
        super().__init__(detail)
        self.detail = detail
        self.code = code


class BadRequest(Exception):
    def __init__(self, detail: str, code: str = "bad_request") -> None:
        super().__init__(detail)
        self.detail = detail
        self.code = code


def errors(*codes: int) -> dict[int, type[ErrorOut]]:
    """The error responses of a route, for the OpenAPI schema (400, 401, 422 always possible)."""
    return dict.fromkeys({400, 401, 422, *codes}, ErrorOut)


READ_ERRORS = errors()
OBJECT_ERRORS = errors(404)
CREATE_ERRORS = errors(403, 409)
WRITE_ERRORS = errors(403, 404, 409)


# ---------------------------------------------------------------- cursor pagination


class Page(Schema, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the next page; null on the last page."
    )


def _key_bytes() -> bytes:
    return hashlib.sha256(b"salesloop.cursor:" + settings.SECRET_KEY.encode()).digest()


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"dt": value.isoformat()}
    if isinstance(value, date):
        return {"d": value.isoformat()}
    if isinstance(value, Decimal):
        return {"n": str(value)}
    return value


def _unplain(value: Any) -> Any:
    if isinstance(value, dict):
        if "dt" in value:
            return datetime.fromisoformat(value["dt"])
        if "d" in value:
            return date.fromisoformat(value["d"])
        if "n" in value:
            return Decimal(value["n"])
    return value


def cursor_encode(*, order: str, value: Any, pk: int) -> str:
    """An opaque cursor: the ordering, the sort key and the pk of the last row, signed."""
    raw = json.dumps([order, _plain(value), pk], separators=(",", ":")).encode()
    mac = hmac.new(_key_bytes(), raw, hashlib.sha256).digest()[:12]
    return base64.urlsafe_b64encode(mac + raw).decode().rstrip("=")


def cursor_decode(cursor: str, *, order: str) -> tuple[Any, int]:
    invalid = BadRequest(
        _("This cursor is not valid for this list: start again without it."), "invalid_cursor"
    )
    try:
        blob = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        mac, raw = blob[:12], blob[12:]
        if not hmac.compare_digest(mac, hmac.new(_key_bytes(), raw, hashlib.sha256).digest()[:12]):
            raise invalid
        cursor_order, value, pk = json.loads(raw)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise invalid from exc
    if cursor_order != order or not isinstance(pk, int):
        raise invalid
    return _unplain(value), pk


def _lookup_value(obj: Any, lookup: str) -> Any:
    for part in lookup.split("__"):
        obj = getattr(obj, part)
    return obj


def paginate(
    queryset: QuerySet[M], *, order: str, cursor: str | None, limit: int
) -> dict[str, Any]:
    """Keyset pagination over ``order`` (a field, "-" for descending) then the pk (ascending).

    Rows inserted while a client pages through appear at most once, and no row that existed at
    the start is skipped. The queryset's own ordering is replaced.
    """
    limit = max(1, min(limit, MAX_LIMIT))
    descending = order.startswith("-")
    field = order.lstrip("-")
    queryset = queryset.order_by(order, "pk")
    if cursor:
        value, pk = cursor_decode(cursor, order=order)
        beyond = f"{field}__lt" if descending else f"{field}__gt"
        queryset = queryset.filter(Q(**{beyond: value}) | Q(**{field: value, "pk__gt": pk}))
    rows = list(queryset[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = None
    if more and rows:
        last = rows[-1]
        next_cursor = cursor_encode(order=order, value=_lookup_value(last, field), pk=last.pk)
    return {"items": rows, "next_cursor": next_cursor}


# ---------------------------------------------------------------- filters


def filter_form(form_class: type[forms.Form], params: dict[str, Any]) -> forms.Form:
    """The app's own filter form (the one its HTML list uses) fed with the API's query.

    An invalid query answers 422 with the form's errors (the page ignores it instead).
    """
    data = {k: ("" if v is None else str(v)) for k, v in params.items() if v is not None}
    form = form_class(data)
    if not form.is_valid():
        raise ValidationError(form.errors.as_data())
    return form


def form_ordering(form: forms.Form, orderings: dict[str, str], default: str) -> str:
    """The database ordering chosen by the form's ``order`` field (as the page uses it)."""
    return orderings.get(form.cleaned_data.get("order") or default, orderings[default])


# ---------------------------------------------------------------- optimistic concurrency


def etag_of(obj: Any) -> str:
    stamp = getattr(obj, "updated_at", None)
    digest = hashlib.sha256(f"{obj._meta.label_lower}:{obj.pk}:{stamp}".encode()).hexdigest()[:20]
    return f'"{digest}"'


def check_if_match(request: HttpRequest, model: type[models.Model], pk: Any) -> None:
    """With ``If-Match``, refuse (409) an edit of a record changed since the client read it.

    Call inside the transaction of the write: the row is locked until the write commits.
    """
    expected = request.headers.get("If-Match")
    if not expected:
        return
    if not transaction.get_connection().in_atomic_block:  # pragma: no cover - programming error
        raise RuntimeError("check_if_match must run inside transaction.atomic()")
    current = model._default_manager.select_for_update().filter(pk=pk).first()
    tags = {tag.strip().removeprefix("W/") for tag in expected.split(",")}
    if current is None or ("*" not in tags and etag_of(current) not in tags):
        raise Conflict(
            _("Someone else changed this record after you read it: read it again, then retry."),
            "stale",
        )


def resolve_ids(queryset: QuerySet[M], ids: Iterable[int], *, field: str) -> dict[int, M]:
    """Referenced records by id, only those the caller may see; a hidden or missing id is
    refused with the same field error."""
    wanted = set(ids)
    found = {obj.pk: obj for obj in queryset.filter(pk__in=wanted)}
    missing = wanted - set(found)
    if missing:
        raise ValidationError(
            {field: _("Not found: %(ids)s.") % {"ids": ", ".join(map(str, sorted(missing)))}}
        )
    return found


def resolve_one(queryset: QuerySet[M], pk: int | None, *, field: str) -> M | None:
    if pk is None:
        return None
    return resolve_ids(queryset, [pk], field=field)[pk]


def owner_for(request: HttpRequest, owner_id: int | None, *, default: Any = None) -> Any:
    """The owner named by the caller, checked against the members they may assign
    (a rep: only themselves); without one, ``default`` or the caller."""
    from salesloop.org.visibility import assignable_owners, member_of

    if owner_id is None:
        owner = default if default is not None else member_of(request.user)
        if owner is None:
            raise ValidationError({"owner": _("Choose an owner.")})
        return owner
    return resolve_one(assignable_owners(request.user), owner_id, field="owner")


def limit_field(default: int = DEFAULT_LIMIT) -> Any:
    return Field(
        default, ge=1, description=f"Rows per page; more than {MAX_LIMIT} is capped to {MAX_LIMIT}."
    )


# ---------------------------------------------------------------- input types

MAX_ID = 2**63 - 1


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("Null characters are not allowed.")
    return value


def _sane_moment(value: datetime) -> datetime:
    if not 1970 <= value.year <= 2200:
        raise ValueError("Use a date between 1970 and 2200.")
    return value


def _sane_day(value: date) -> date:
    if not 1970 <= value.year <= 2200:
        raise ValueError("Use a date between 1970 and 2200.")
    return value


def Text(max_length: int, *, min_length: int = 0) -> Any:
    """A string without null characters, of bounded length."""
    return Annotated[
        str,
        StringConstraints(min_length=min_length, max_length=max_length),
        AfterValidator(_no_nul),
    ]


Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Moment = Annotated[AwareDatetime, AfterValidator(_sane_moment)]
Day = Annotated[date, AfterValidator(_sane_day)]
Money = Annotated[Decimal, Field(ge=0, max_digits=ENTRY_DIGITS, decimal_places=2)]
PathId = Annotated[int, PathParam(ge=1, le=MAX_ID)]
