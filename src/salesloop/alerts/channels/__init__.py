"""Outgoing channels. Each webhook module builds the request its service expects
(``build(channel, message) -> Request``) and reads its answer (``accepted(status, body)``)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from django.conf import settings

from salesloop.alerts.channels import dingtalk, feishu, slack, wecom

MODULES: dict[str, ModuleType] = {
    "wecom": wecom,
    "dingtalk": dingtalk,
    "feishu": feishu,
    "slack": slack,
}


class ChannelError(Exception):
    """A message that could not be delivered (the delivery is retried later)."""


@dataclass(frozen=True)
class Message:
    title: str
    text: str
    link: str = ""


@dataclass(frozen=True)
class Request:
    url: str
    body: dict[str, Any]

    def data(self) -> bytes:
        return json.dumps(self.body, ensure_ascii=False).encode("utf-8")


def timeout() -> float:
    return float(getattr(settings, "SALESLOOP_WEBHOOK_TIMEOUT", 10))


def send(channel: Any, message: Message) -> str:
    """POST ``message`` to ``channel`` in its service's format; raise ChannelError unless accepted."""
    module = MODULES[channel.kind]
    req = module.build(channel, message)
    http = urllib.request.Request(
        req.url,
        data=req.data(),
        method="POST",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "salesloop-alerts",
        },
    )
    try:
        with urllib.request.urlopen(http, timeout=timeout()) as resp:
            status, body = resp.status, resp.read(65536).decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        raise ChannelError(f"HTTP {exc.code}") from exc
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise ChannelError(f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}") from exc
    if not module.accepted(status, body):
        raise ChannelError(f"refused: HTTP {status} {body[:300]}")
    return body[:300]


def parse_json(body: str) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
