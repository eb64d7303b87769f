"""Writes for API tokens and idempotency keys."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from salesloop.apitokens.choices import TokenScope
from salesloop.apitokens.models import ApiToken, IdempotencyKey
from salesloop.common.audit import security_event
from salesloop.org.visibility import can_write

TOKEN_PREFIX = "sl_"
# Write last_used_at at most this often: a busy integration must not write on every request.
TOUCH_EVERY = timedelta(minutes=5)
IDEMPOTENCY_TTL = timedelta(hours=24)
ABANDONED_AFTER = timedelta(minutes=5)


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def token_create(*, user: Any, name: str, scope: str = TokenScope.READ) -> tuple[ApiToken, str]:
    """A new token and its secret. The secret is returned here once and never stored."""
    if scope == TokenScope.READ_WRITE and not can_write(user):
        raise PermissionDenied(_("Your role may only read: create a read-only token."))
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user=user, name=name.strip(), scope=scope, prefix=raw[:10], key_hash=token_hash(raw)
    )
    token.full_clean()
    token.save()
    security_event(actor=user, action="api_token.create", token=token.prefix, scope=str(scope))
    return token, raw


@transaction.atomic
def token_revoke(*, token: ApiToken, actor: Any) -> ApiToken:
    if token.user_id != getattr(actor, "pk", None):
        raise PermissionDenied
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at", "updated_at"])
        security_event(actor=actor, action="api_token.revoke", token=token.prefix)
    return token


def token_authenticate(*, raw: str, ip: str | None = None) -> ApiToken | None:
    """The active token for a secret (and its user), or None. Records use cheaply.

    A security event is logged on the first use of each day; ``last_used_at`` is written at most
    every few minutes.
    """
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 100:
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=token_hash(raw), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if token is None:
        return None
    now = timezone.now()
    last = token.last_used_at
    new_day = last is None or timezone.localdate(last) != timezone.localdate(now)
    if new_day or now - last >= TOUCH_EVERY:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    if new_day:
        security_event(actor=token.user, action="api_token.use", ip=ip, token=token.prefix)
    return token


# ---------------------------------------------------------------- idempotency


def idempotency_fingerprint(*, method: str, path: str, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def idempotency_begin(*, user: Any, key: str, fingerprint: str) -> IdempotencyKey | None:
    """Claim ``key`` for this request. None when it was claimed now (run the request);
    otherwise the stored row (a replay, a mismatch or a request still running)."""
    if not 1 <= len(key) <= 255:
        raise ValidationError({"Idempotency-Key": _("An idempotency key has 1 to 255 characters.")})
    cutoff = timezone.now() - IDEMPOTENCY_TTL
    abandoned = timezone.now() - ABANDONED_AFTER  # a first request that never finished
    IdempotencyKey.objects.filter(user=user, key=key).filter(
        models.Q(created_at__lt=cutoff) | models.Q(status=0, created_at__lt=abandoned)
    ).delete()
    try:
        with transaction.atomic():
            IdempotencyKey.objects.create(user=user, key=key, fingerprint=fingerprint)
    except IntegrityError:
        return IdempotencyKey.objects.filter(user=user, key=key).first() or IdempotencyKey(
            user=user, key=key, fingerprint=fingerprint
        )
    return None


def idempotency_finish(*, user: Any, key: str, status: int, content_type: str, body: bytes) -> None:
    """Keep a successful first response; forget the key after a failure so it can be retried."""
    rows = IdempotencyKey.objects.filter(user=user, key=key, status=0)
    if 200 <= status < 300:
        rows.update(status=status, content_type=content_type, body=body)
    else:
        rows.delete()


def idempotency_purge() -> int:
    """Delete keys older than 24 hours (run daily)."""
    deleted, _detail = IdempotencyKey.objects.filter(
        created_at__lt=timezone.now() - IDEMPOTENCY_TTL
    ).delete()
    return deleted
