"""DingTalk (钉钉) custom robot: POST {"msgtype": "markdown", "markdown": {"title", "text"}}.

With a signing secret, the URL gets ``timestamp`` (milliseconds) and ``sign`` =
urlencode(base64(HMAC-SHA256(key=secret, message=timestamp + "\\n" + secret))).
Accepted when the answer's ``errcode`` is 0."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any
from urllib.parse import quote_plus


def signature(timestamp_ms: int, secret: str) -> str:
    digest = hmac.new(
        secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256
    ).digest()
    return quote_plus(base64.b64encode(digest).decode("ascii"))


def build(channel: Any, message: Any, *, now: float | None = None) -> Any:
    from salesloop.alerts.channels import Request

    url = channel.url
    if channel.secret:
        ts = int((now if now is not None else time.time()) * 1000)
        url += ("&" if "?" in url else "?") + f"timestamp={ts}&sign={signature(ts, channel.secret)}"
    text = f"### {message.title}\n\n{message.text}"
    if message.link:
        text += f"\n\n[{message.link}]({message.link})"
    return Request(
        url,
        {"msgtype": "markdown", "markdown": {"title": message.title[:100], "text": text[:5000]}},
    )


def accepted(status: int, body: str) -> bool:
    from salesloop.alerts.channels import parse_json

    return status == 200 and parse_json(body).get("errcode") == 0
