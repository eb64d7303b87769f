"""Webhook formats and signatures, checked by a real HTTP receiver on 127.0.0.1; failures are
retried, never raised."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import timedelta
from urllib.parse import parse_qs, unquote_plus, urlsplit

import pytest
from django.utils import timezone

from salesloop.alerts.channels import ChannelError, Message, send
from salesloop.alerts.delivery import deliveries_send_due, webhook_queue
from salesloop.alerts.models import Channel, Delivery
from salesloop.alerts.services import alerts_route, rules_evaluate
from tests.alerts.conftest import TODAY

pytestmark = pytest.mark.django_db
MSG = Message(
    "3 new alerts",
    "[Warning] Rep_A2 is behind pace\n[Info] Stalled deal",
    "http://x.example/alerts/",
)


def channel(org, kind, url, secret=""):
    return Channel.objects.create(name=kind, kind=kind, url=url, secret=secret, unit=org.company)


def test_wecom_markdown(org, receiver):
    send(channel(org, "wecom", f"{receiver.url}/cgi-bin/webhook/send?key=abc"), MSG)
    [r] = receiver.requests
    assert r.path == "/cgi-bin/webhook/send?key=abc"
    assert r.body["msgtype"] == "markdown"
    assert r.body["markdown"]["content"].startswith(
        "### 3 new alerts\n[Warning] Rep_A2 is behind pace"
    )
    assert r.headers["Content-Type"].startswith("application/json")


def test_dingtalk_signed_url(org, receiver):
    secret = "SECabc123"
    before = int(time.time() * 1000)
    send(channel(org, "dingtalk", f"{receiver.url}/robot/send?access_token=tok", secret), MSG)
    [r] = receiver.requests
    query = parse_qs(urlsplit(r.path).query)
    assert query["access_token"] == ["tok"]
    ts = int(query["timestamp"][0])
    assert before <= ts <= int(time.time() * 1000)
    # the raw query value is the urlencoded base64 signature
    raw_sign = urlsplit(r.path).query.split("sign=")[1]
    expected = base64.b64encode(
        hmac.new(secret.encode(), f"{ts}\n{secret}".encode(), hashlib.sha256).digest()
    ).decode()
    assert unquote_plus(raw_sign) == expected
    assert r.body == {
        "msgtype": "markdown",
        "markdown": {"title": "3 new alerts", "text": r.body["markdown"]["text"]},
    }
    assert "Rep_A2 is behind pace" in r.body["markdown"]["text"]


def test_feishu_signed_body(org, receiver):
    receiver.reply = json.dumps({"code": 0, "msg": "success"})
    secret = "feishu-secret"
    send(channel(org, "feishu", f"{receiver.url}/open-apis/bot/v2/hook/xyz", secret), MSG)
    [r] = receiver.requests
    ts = r.body["timestamp"]
    assert ts.isdigit() and abs(int(ts) - time.time()) < 10
    key = f"{ts}\n{secret}".encode()
    assert r.body["sign"] == base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
    assert r.body["msg_type"] == "text" and r.body["content"]["text"].startswith("3 new alerts\n")


def test_slack_blocks(org, receiver):
    receiver.reply = "ok"
    send(channel(org, "slack", f"{receiver.url}/services/T/B/X"), MSG)
    [r] = receiver.requests
    assert r.body["text"].startswith("3 new alerts")
    assert r.body["blocks"][0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "3 new alerts"},
    }
    assert "<http://x.example/alerts/|" in r.body["blocks"][1]["text"]["text"]


def test_refusals_raise_channel_error(org, receiver):
    ch = channel(org, "dingtalk", f"{receiver.url}/robot/send?access_token=t", "s")
    receiver.reply = json.dumps({"errcode": 310000, "errmsg": "sign not match"})
    with pytest.raises(ChannelError, match="sign not match"):
        send(ch, MSG)
    receiver.status = 500
    with pytest.raises(ChannelError, match="HTTP 500"):
        send(ch, MSG)


def test_500_and_hanging_receivers_are_retried_not_raised(org, receiver, settings):
    settings.SALESLOOP_WEBHOOK_TIMEOUT = 0.5
    ch = channel(org, "wecom", f"{receiver.url}/hook")
    receiver.status = 500
    d = webhook_queue(channel=ch, subject="t", text="x")
    assert deliveries_send_due() == {"due": 1, "sent": 0}
    d.refresh_from_db()
    assert d.status == "pending" and d.attempts == 1 and "500" in d.last_error
    receiver.status, receiver.delay = 200, 2.0  # now it hangs
    later = timezone.now() + timedelta(minutes=2)
    deliveries_send_due(now=later)
    d.refresh_from_db()
    assert d.attempts == 2 and "timed out" in d.last_error.lower()
    receiver.delay = 0
    assert deliveries_send_due(now=later + timedelta(minutes=20))["sent"] == 1
    d.refresh_from_db()
    assert d.status == "sent"


def test_new_alerts_go_to_the_unit_channels_that_cover_them(scenario, receiver):
    org = scenario.org
    west = Channel.objects.create(
        name="West", kind="wecom", url=f"{receiver.url}/west", unit=org.west
    )
    east = Channel.objects.create(
        name="East", kind="wecom", url=f"{receiver.url}/east", unit=org.east
    )
    rules_evaluate(today=TODAY)
    by_path = {r.path: r.body["markdown"]["content"] for r in receiver.requests}
    assert set(by_path) == {"/west", "/east"}
    assert "Big slipped deal" in by_path["/west"] and "Rep_A2" not in by_path["/west"]
    assert "Rep_A2" in by_path["/east"] and "Big slipped deal" not in by_path["/east"]
    assert Delivery.objects.filter(webhook__in=[west, east], status="sent").count() == 2
    assert alerts_route  # routing is the service under test
