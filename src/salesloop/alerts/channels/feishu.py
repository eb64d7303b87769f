"""Feishu (飞书) custom bot: POST {"msg_type": "text", "content": {"text"}}.

With a signing secret, the body also carries ``timestamp`` (seconds, a string) and ``sign`` =
base64(HMAC-SHA256(key=timestamp + "\\n" + secret, message=b"")). Accepted when the answer's
``code`` (or the older ``StatusCode``) is 0."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any


def signature(timestamp_s: int, secret: str) -> str:
    digest = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def build(channel: Any, message: Any, *, now: float | None = None) -> Any:
    from salesloop.alerts.channels import Request

    text = f"{message.title}\n{message.text}"
    if message.link:
        text += f"\n{message.link}"
    body: dict[str, Any] = {"msg_type": "text", "content": {"text": text[:4000]}}
    if channel.secret:
        ts = int(now if now is not None else time.time())
        body = {"timestamp": str(ts), "sign": signature(ts, channel.secret), **body}
    return Request(channel.url, body)


def accepted(status: int, body: str) -> bool:
    from salesloop.alerts.channels import parse_json

    data = parse_json(body)
    return status == 200 and (data.get("code", data.get("StatusCode")) == 0)
