"""Slack incoming webhook: POST {"text": fallback, "blocks": [header, section]}. Accepted on
HTTP 200 (Slack answers the plain text ``ok``)."""

from __future__ import annotations

from typing import Any


def build(channel: Any, message: Any) -> Any:
    from salesloop.alerts.channels import Request

    text = message.text + (f"\n<{message.link}|{message.link}>" if message.link else "")
    return Request(
        channel.url,
        {
            "text": f"{message.title}\n{message.text}"[:3000],
            "blocks": [
                {"type": "header", "text": {"type": "plain_text", "text": message.title[:150]}},
                {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}},
            ],
        },
    )


def accepted(status: int, body: str) -> bool:
    return status == 200
