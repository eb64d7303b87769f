"""Webhooks against a real HTTP receiver on 127.0.0.1 (ephemeral port, in a thread)."""

from __future__ import annotations

import json
import threading
import time
from datetime import date
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from salesloop.orders.services import order_create
from salesloop.pipeline.models import Stage
from salesloop.pipeline.services import opportunity_move_stage
from salesloop.webhooks.choices import DeliveryStatus, WebhookEvent
from salesloop.webhooks.models import WebhookAttempt, WebhookDelivery
from salesloop.webhooks.payloads import target_payload
from salesloop.webhooks.services import backoff_seconds, webhook_emit, webhook_endpoint_create
from salesloop.webhooks.signing import verify
from tests import factories as f

pytestmark = pytest.mark.django_db

SECRET = "whsec_test_secret"


class Receiver:
    """Records every request; ``script`` gives the status (or "hang") of each next answer."""

    def __init__(self, script=None, hang_seconds=1.0):
        self.requests = []
        self.script = list(script or [])
        self.hang_seconds = hang_seconds
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append({"headers": dict(self.headers), "body": body})
                action = receiver.script.pop(0) if receiver.script else 200
                if action == "hang":
                    time.sleep(receiver.hang_seconds)
                    action = 200
                try:
                    self.send_response(action)
                    self.end_headers()
                    self.wfile.write(b'{"ok": true}' if action == 200 else b"boom")
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(autouse=True)
def fast_webhooks(settings):
    settings.SALESLOOP_WEBHOOK_ALLOW_PRIVATE = True  # the receiver is on 127.0.0.1
    settings.SALESLOOP_WEBHOOK_BACKOFF_BASE = 0.01
    settings.SALESLOOP_WEBHOOK_BACKOFF_MAX = 0.05
    settings.SALESLOOP_WEBHOOK_TIMEOUT = 0.3
    settings.SALESLOOP_WEBHOOK_MAX_ATTEMPTS = 5


def _verified(request):
    headers = request["headers"]
    assert headers["Content-Type"].startswith("application/json")
    assert verify(
        secret=SECRET,
        timestamp=headers["X-Salesloop-Timestamp"],
        body=request["body"],
        signature=headers["X-Salesloop-Signature"],
    ), "bad signature"
    payload = json.loads(request["body"])
    assert payload["event"] == headers["X-Salesloop-Event"]
    assert payload["id"] == headers["X-Salesloop-Delivery"]
    return payload


def test_each_event_is_delivered_once_and_signed(org, django_capture_on_commit_callbacks):
    with Receiver() as receiver:
        webhook_endpoint_create(name="ERP", url=receiver.url, secret=SECRET)
        opp = f.opportunity(org.rep_a1, name="ERP 升级")
        negotiation = Stage.objects.get(pipeline=org.pipeline, order=4)
        won = Stage.objects.get(pipeline=org.pipeline, kind="won")
        with django_capture_on_commit_callbacks(execute=True):
            opportunity_move_stage(opportunity=opp, stage=negotiation, actor=org.rep_a1.user)
        with django_capture_on_commit_callbacks(execute=True):
            opportunity_move_stage(opportunity=opp, stage=won, actor=org.rep_a1.user)
        with django_capture_on_commit_callbacks(execute=True):
            order_create(
                number="SO-1",
                customer=opp.customer,
                owner=org.rep_a1,
                signed_on=date.today(),
                amount=Decimal("250000"),
                opportunity=opp,
            )
        # target.revised: the targets app emits it from target_revise (see docs/api.md)
        revision = type("Revision", (), {})()
        target = type(
            "Target",
            (),
            {
                "pk": 7,
                "plan_id": 1,
                "member_id": org.rep_a1.pk,
                "unit_id": None,
                "metric": "booked_revenue",
                "product_line_id": None,
                "floor": Decimal("1"),
                "target": Decimal("2"),
                "stretch": Decimal("3"),
            },
        )()
        revision.__dict__.update(
            pk=3,
            target=target,
            reason="market shrank",
            author_id=org.mgr_a.pk,
            before={"target": "3"},
            after={"target": "2"},
            counts_from=8,
            at=None,
        )
        webhook_emit(WebhookEvent.TARGET_REVISED, target_payload(revision))

        events = [_verified(r) for r in receiver.requests]
    names = [e["event"] for e in events]
    assert names == [
        "opportunity.stage_changed",
        "opportunity.stage_changed",
        "deal.won",
        "order.created",
        "target.revised",
    ]
    stage_change, _second, deal_won, order, target_event = events
    assert stage_change["data"]["opportunity"]["name"] == "ERP 升级"
    assert stage_change["data"]["to_stage"]["id"] == negotiation.pk
    assert (
        deal_won["data"]["to_stage"]["kind"] == "won"
        and deal_won["data"]["from_stage"]["id"] == negotiation.pk
    )
    assert (
        order["data"]["order"]["number"] == "SO-1"
        and order["data"]["order"]["amount"] == "250000.00"
    )
    assert target_event["data"]["revision"]["reason"] == "market shrank"
    assert target_event["data"]["revision"]["counts_from"] == 8
    assert WebhookDelivery.objects.filter(status=DeliveryStatus.SUCCEEDED).count() == 5


def test_an_endpoint_gets_only_its_events(org, django_capture_on_commit_callbacks):
    with Receiver() as receiver:
        webhook_endpoint_create(
            name="Won only", url=receiver.url, secret=SECRET, events=["deal.won"]
        )
        opp = f.opportunity(org.rep_a1)
        won = Stage.objects.get(pipeline=org.pipeline, kind="won")
        with django_capture_on_commit_callbacks(execute=True):
            opportunity_move_stage(opportunity=opp, stage=won)
    assert [json.loads(r["body"])["event"] for r in receiver.requests] == ["deal.won"]


def test_500_twice_then_200_is_three_attempts(org):
    with Receiver(script=[500, 500, 200]) as receiver:
        webhook_endpoint_create(name="Flaky", url=receiver.url, secret=SECRET)
        (delivery,) = webhook_emit(WebhookEvent.ORDER_CREATED, {"order": {"id": 1}})
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED and delivery.attempts == 3
    log = list(WebhookAttempt.objects.filter(delivery=delivery).order_by("number"))
    assert [a.status_code for a in log] == [500, 500, 200]
    assert log[0].response_excerpt == "boom" and all(a.duration_ms >= 0 for a in log)
    # the same delivery id and payload on every attempt (receivers de-duplicate by it)
    assert len({r["headers"]["X-Salesloop-Delivery"] for r in receiver.requests}) == 1


def test_a_hanging_receiver_times_out_is_retried_then_marked_failed(org, settings):
    settings.SALESLOOP_WEBHOOK_MAX_ATTEMPTS = 3
    with Receiver(script=["hang", "hang", "hang"], hang_seconds=1.0) as receiver:
        webhook_endpoint_create(name="Slow", url=receiver.url, secret=SECRET)
        started = time.monotonic()
        (delivery,) = webhook_emit(WebhookEvent.ORDER_CREATED, {"order": {"id": 1}})
        elapsed = time.monotonic() - started
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED and delivery.attempts == 3
    log = list(delivery.log.order_by("number"))
    assert all(a.status_code is None and "timed out" in a.error for a in log)
    assert elapsed < 3 * 1.0  # each attempt gave up at the timeout, not when the receiver answered
    assert len(receiver.requests) == 3


def test_an_unreachable_endpoint_never_breaks_the_caller(
    org, django_capture_on_commit_callbacks, settings
):
    settings.SALESLOOP_WEBHOOK_MAX_ATTEMPTS = 2
    webhook_endpoint_create(name="Gone", url="http://127.0.0.1:9/nothing", secret=SECRET)
    opp = f.opportunity(org.rep_a1)
    won = Stage.objects.get(pipeline=org.pipeline, kind="won")
    with django_capture_on_commit_callbacks(execute=True):
        moved = opportunity_move_stage(opportunity=opp, stage=won)
    assert moved.stage == won
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {DeliveryStatus.FAILED}


def test_private_addresses_are_refused_unless_allowed(org, settings):
    settings.SALESLOOP_WEBHOOK_ALLOW_PRIVATE = False
    webhook_endpoint_create(name="Internal", url="http://127.0.0.1:9/x", secret=SECRET)
    (delivery,) = webhook_emit(WebhookEvent.ORDER_CREATED, {})
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED and delivery.attempts == 1
    assert "private" in delivery.log.get().error


def test_backoff_is_exponential_and_bounded(settings):
    settings.SALESLOOP_WEBHOOK_BACKOFF_BASE = 1
    settings.SALESLOOP_WEBHOOK_BACKOFF_MAX = 16
    assert [backoff_seconds(n) for n in range(1, 7)] == [1, 2, 4, 8, 16, 16]


def test_signature_rejects_tampering_and_old_timestamps():
    from salesloop.webhooks.signing import sign

    body = b'{"a":1}'
    now = int(time.time())
    signature = sign(secret=SECRET, timestamp=now, body=body)
    assert verify(secret=SECRET, timestamp=str(now), body=body, signature=signature)
    assert not verify(secret=SECRET, timestamp=str(now), body=b'{"a":2}', signature=signature)
    assert not verify(secret="other", timestamp=str(now), body=body, signature=signature)
    assert not verify(
        secret=SECRET,
        timestamp=str(now - 3600),
        body=body,
        signature=sign(secret=SECRET, timestamp=now - 3600, body=body),
    )


def test_unknown_events_are_refused():
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        webhook_endpoint_create(name="x", url="https://example.com/h", events=["nope"])
