"""The signature scheme of outbound webhooks (documented in docs/api.md).

    X-Salesloop-Timestamp: <unix seconds>
    X-Salesloop-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>." + raw body)>

The timestamp is inside the signed string, so a captured request cannot be replayed later with
a fresh timestamp; a receiver refuses timestamps older than a few minutes and remembers the
``X-Salesloop-Delivery`` ids it has processed.
"""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "X-Salesloop-Signature"
TIMESTAMP_HEADER = "X-Salesloop-Timestamp"
EVENT_HEADER = "X-Salesloop-Event"
DELIVERY_HEADER = "X-Salesloop-Delivery"
TOLERANCE_SECONDS = 300


def sign(*, secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(
    *,
    secret: str,
    timestamp: str,
    body: bytes,
    signature: str,
    now: float | None = None,
    tolerance: int = TOLERANCE_SECONDS,
) -> bool:
    """What a receiver does: a fresh timestamp and a matching signature (constant time)."""
    try:
        ts = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs((time.time() if now is None else now) - ts) > tolerance:
        return False
    return hmac.compare_digest(sign(secret=secret, timestamp=ts, body=body), signature)
