"""WeCom (企业微信) group robot: POST {"msgtype": "markdown", "markdown": {"content": …}} to the
robot's URL (…/cgi-bin/webhook/send?key=…). Accepted when the answer's ``errcode`` is 0."""

from __future__ import annotations

from typing import Any


def build(channel: Any, message: Any) -> Any:
    from salesloop.alerts.channels import Request

    content = f"### {message.title}\n{message.text}"
    if message.link:
        content += f"\n[{message.link}]({message.link})"
    return Request(channel.url, {"msgtype": "markdown", "markdown": {"content": content[:4000]}})


def accepted(status: int, body: str) -> bool:
    from salesloop.alerts.channels import parse_json

    return status == 200 and parse_json(body).get("errcode") == 0
