"""Fixtures for the alerts tests: a company with planted problems, a real SMTP server and a
real HTTP receiver on 127.0.0.1 (ephemeral ports), both in threads."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from salesloop.alerts.models import AlertRule
from salesloop.alerts.services import rules_ensure
from salesloop.orders.services import order_create
from salesloop.org.models import Member
from salesloop.pipeline.models import Stage
from salesloop.pipeline.services import opportunity_move_stage, opportunity_update
from salesloop.targets.choices import Metric, PlanStatus
from salesloop.targets.models import Plan, Target, TargetMonth
from tests import factories as f

SH = ZoneInfo("Asia/Shanghai")
TODAY = date(2025, 5, 15)  # FY2025 Q2, about half the quarter gone


def at(d: date, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(d.year, d.month, d.day, hour, minute, tzinfo=SH)


def member_target(plan: Plan, member: Member, yearly: str) -> Target:
    total = Decimal(yearly)
    t = Target.objects.create(
        plan=plan,
        member=member,
        metric=Metric.BOOKED_REVENUE,
        floor=total * Decimal("0.8"),
        target=total,
        stretch=total * Decimal("1.2"),
    )
    per = total / 12
    for m in range(1, 13):
        TargetMonth.objects.create(
            target=t,
            month=m,
            floor=per * Decimal("0.8"),
            target_value=per,
            stretch=per * Decimal("1.2"),
        )
    return t


@dataclass
class Scenario:
    org: Any
    rep_a3: Member
    quiet: Any
    stalled: Any
    slipped: Any
    plan: Plan
    extra: dict[str, Any] = field(default_factory=dict)


@pytest.fixture
def scenario(org, time_machine) -> Scenario:
    """FY2025 Q2 on 2025-05-15 with one of each planted problem.

    Targets (yearly, equal months; Q2 target = a quarter): rep_a1 240 000 (ahead: 50 000 booked),
    rep_a2 480 000 (10 000 booked: behind, low probability), rep_b1 240 000 (nothing booked:
    behind), rep_w1 120 000 (99 999 booked: far ahead). East (a1, a2, b1): two of three far
    behind → the target looks miscalibrated there; the company as a whole does not.
    rep_a2 also has an overdue follow-up and logs far fewer activities than rep_a1 and rep_a3;
    rep_a1's key account "Quiet Key Co" ordered monthly until February; rep_b1's 80 000 deal
    has been in its first stage for 60 days; rep_w1's 300 000 deal slipped from June to July.
    """
    for m in vars(org).values():
        if isinstance(m, Member):
            m.user.email = f"{m.user.username}@example.cn"
            m.user.save(update_fields=["email"])
    time_machine.move_to(at(date(2025, 1, 2)), tick=False)
    a1, a2, b1, w1 = org.rep_a1, org.rep_a2, org.rep_b1, org.rep_w1
    rep_a3 = f.member("rep_a3", org.team_a, hired_on=date(2024, 1, 1), email="rep_a3@example.cn")
    quiet = f.customer(a1, name="Quiet Key Co", tier="key")
    for i, d in enumerate(
        (date(2024, 11, 5), date(2024, 12, 5), date(2025, 1, 6), date(2025, 2, 5))
    ):
        order_create(number=f"Q-{i}", customer=quiet, owner=a1, signed_on=d, amount=Decimal("5000"))
    # closed deals in Q1 and Q2 (the review's funnel and gap split need them)
    won = Stage.objects.get(pipeline=org.pipeline, kind="won")
    lost = Stage.objects.get(pipeline=org.pipeline, kind="lost")
    q1 = [
        f.opportunity(
            a1, f.customer(a1), amount="30000", name="Q1 win A1", expected_close=date(2025, 2, 20)
        ),
        f.opportunity(
            w1, f.customer(w1), amount="60000", name="Q1 win W1", expected_close=date(2025, 2, 20)
        ),
    ]
    q1_lost = f.opportunity(
        a2, f.customer(a2), amount="8000", name="Q1 loss A2", expected_close=date(2025, 2, 20)
    )
    time_machine.move_to(at(date(2025, 2, 20)), tick=False)
    for o in q1:
        opportunity_move_stage(opportunity=o, stage=won, actor=o.owner.user)
    opportunity_move_stage(opportunity=q1_lost, stage=lost, actor=a2.user)
    time_machine.move_to(at(date(2025, 3, 16)), tick=False)
    stalled = f.opportunity(
        b1, f.customer(b1), amount="80000", name="Stalled deal", expected_close=date(2025, 6, 25)
    )
    time_machine.move_to(at(date(2025, 4, 20)), tick=False)
    slipped = f.opportunity(
        w1,
        f.customer(w1),
        amount="300000",
        name="Big slipped deal",
        expected_close=date(2025, 6, 20),
    )
    cust = f.customer(a1)
    order_create(
        number="A1-1", customer=cust, owner=a1, signed_on=date(2025, 4, 10), amount=Decimal("30000")
    )
    order_create(
        number="A1-2", customer=cust, owner=a1, signed_on=date(2025, 5, 5), amount=Decimal("20000")
    )
    order_create(
        number="A2-1",
        customer=f.customer(a2),
        owner=a2,
        signed_on=date(2025, 4, 20),
        amount=Decimal("10000"),
    )
    order_create(
        number="W1-1",
        customer=f.customer(w1),
        owner=w1,
        signed_on=date(2025, 5, 2),
        amount=Decimal("99999"),
    )
    f.opportunity(a1, cust, amount="40000", name="Open deal", expected_close=date(2025, 6, 20))
    q2 = f.opportunity(a1, cust, amount="50000", name="Q2 win A1", expected_close=date(2025, 5, 30))
    q2_lost = f.opportunity(
        b1, f.customer(b1), amount="9000", name="Q2 loss B1", expected_close=date(2025, 5, 30)
    )
    time_machine.move_to(at(date(2025, 5, 6)), tick=False)
    opportunity_move_stage(opportunity=q2, stage=won, actor=a1.user)
    opportunity_move_stage(opportunity=q2_lost, stage=lost, actor=b1.user)
    time_machine.move_to(at(date(2025, 5, 12)), tick=False)
    opportunity_update(opportunity=slipped, actor=w1.user, expected_close=date(2025, 7, 15))
    time_machine.move_to(at(TODAY, 12), tick=False)
    # activities of the last two weeks (logged once they happened): a1 and a3 busy, a2 nearly
    # silent (and one follow-up overdue)
    c2, c3 = f.customer(a2), f.customer(rep_a3)
    for day in range(10):
        d = TODAY - timedelta(days=day + 1)
        f.activity(a1, cust, at=at(d, 11), due=None)
        f.activity(rep_a3, c3, at=at(d, 11), due=None)
    f.activity(a2, c2, at=at(date(2025, 4, 25), 11), due=date(2025, 5, 1))
    plan = Plan.objects.create(
        fiscal_year=2025,
        name="FY2025",
        status=PlanStatus.ACTIVE,
        owner=org.director,
        root_unit=org.company,
    )
    for m, yearly in ((a1, "240000"), (a2, "480000"), (b1, "240000"), (w1, "120000")):
        member_target(plan, m, yearly)
    rules_ensure()
    # the test company has no stage history to learn stalled limits from: configure 30 days
    AlertRule.objects.filter(key="stalled_deal").update(
        params={"min_amount": 50000, "limit_days": 30}
    )
    return Scenario(
        org=org, rep_a3=rep_a3, quiet=quiet, stalled=stalled, slipped=slipped, plan=plan
    )


# ------------------------------------------------------------------ SMTP


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []
        self.fail = 0  # answer the next N messages with 451

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.fail > 0:
            self.fail -= 1
            return "451 Requested action aborted: local error in processing"
        msg = message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append(msg)
        return "250 OK"

    def to(self, address: str) -> list[Any]:
        assert address
        return [m for m in self.messages if str(m["To"]).strip() == address]

    def subject(self, msg: Any) -> str:
        return str(msg["Subject"]).strip()


@pytest.fixture
def smtp(settings):
    """A real SMTP server on 127.0.0.1 (aiosmtpd in a thread) and Django's SMTP backend."""
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.SALESLOOP_EMAIL_TIMEOUT = 5
    inbox.port = port  # type: ignore[attr-defined]
    yield inbox
    controller.stop()


def parts(msg: Any) -> tuple[str, str]:
    """(text, html) of a received message."""
    text = msg.get_body(preferencelist=("plain",))
    html = msg.get_body(preferencelist=("html",))
    return (text.get_content() if text else "", html.get_content() if html else "")


# ------------------------------------------------------------------ HTTP receiver


@dataclass
class Received:
    path: str
    body: dict[str, Any]
    headers: dict[str, str]


class Receiver:
    """A local webhook receiver: records every POST and answers what the test asks for."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.status = 200
        self.reply: str = json.dumps({"errcode": 0, "errmsg": "ok"})
        self.delay = 0.0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                raw = self.rfile.read(length)
                receiver.requests.append(
                    Received(self.path, json.loads(raw or b"{}"), dict(self.headers))
                )
                if receiver.delay:
                    time.sleep(receiver.delay)
                body = receiver.reply.encode()
                self.send_response(receiver.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def alerted(scenario):
    """The scenario with its alerts evaluated on ``TODAY``."""
    from salesloop.alerts.services import rules_evaluate

    rules_evaluate(today=TODAY)
    return scenario


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):
    """Run a workflow step and then its commit callbacks: each step's notices go out once its
    transaction commits (a test runs inside one)."""

    def run(step, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return step(**kwargs)

    return run


def notices(member: Any) -> list[Any]:
    """The workflow notices ``member`` received (not alerts, not reports), oldest first."""
    from salesloop.alerts.models import Notification

    return list(
        Notification.objects.filter(recipient=member, alert=None, report=None).order_by("pk")
    )


def open_decision_alerts(today: Any) -> dict[Any, Any]:
    """Evaluate the rule "decisions waiting" on ``today``; its open alerts by owner."""
    from salesloop.alerts.models import Alert
    from salesloop.alerts.services import rules_evaluate

    rules_evaluate(today=today, keys=["decisions_waiting"], notify=False)
    return {
        a.owner: a
        for a in Alert.objects.filter(rule="decisions_waiting", status="open").select_related(
            "owner"
        )
    }
