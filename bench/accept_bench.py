"""Accept in bulk at scale: every person (and every team's manager, for the team) proposes a
figure on a draft plan of the S1 demo; the director accepts them all at once.

Usage (on a database that already holds a demo, e.g. built with `salesloop demo --scale 1 --no-serve`):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/salesloop_bench python bench/accept_bench.py
    DATABASE_URL=sqlite:///path/to/s1.sqlite3 python bench/accept_bench.py --repeat 3

It creates a throw-away draft plan for the fiscal year after the latest order (recommended for
booked revenue: totals, product lines, months), then each rep and manager proposes their own
total within ±15 % of its top-down figure and each manager the team's. In the same run it
measures, each in a transaction rolled back afterwards: ``services.proposals_accept_within``
(people's totals written together, a team's total in its turn) and, as the reference, the same
proposals accepted one after another by ``services.proposal_decide`` — what the bulk action
did before. It prints their times and statement counts and whether both leave the same figures,
months, SMART checks and versions. The plan is deleted at the end.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "salesloop.settings.dev")

import django

django.setup()

import numpy as np  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.db.models import Max  # noqa: E402

from salesloop.orders.models import Order  # noqa: E402
from salesloop.org.models import Member  # noqa: E402
from salesloop.targets import rules, services  # noqa: E402
from salesloop.targets.models import Plan, Proposal, Target, TargetMonth  # noqa: E402
from salesloop.targets.planning import Inputs, recommend_plan  # noqa: E402

METRIC = "booked_revenue"


class _Undo(Exception):
    pass


def fingerprint(plan: Plan) -> str:
    """A digest of every target's figures, lock, version and SMART check and every month row."""
    digest = hashlib.sha256()
    for row in (
        Target.objects.filter(plan=plan)
        .order_by("pk")
        .values_list("pk", "floor", "target", "stretch", "locked", "lock_version", "smart")
    ):
        digest.update(repr(row).encode())
    for row in (
        TargetMonth.objects.filter(target__plan=plan)
        .order_by("target", "month")
        .values_list("target", "month", "floor", "target_value", "stretch")
    ):
        digest.update(repr(row).encode())
    return digest.hexdigest()


def timed(plan: Plan, run) -> tuple[float, int, str, int]:
    """Run ``run`` in a transaction rolled back afterwards: seconds, statements, fingerprint,
    proposals accepted."""
    out: tuple[float, int, str, int] = (0.0, 0, "", 0)
    count = [0]

    def counted(execute, sql, params, many, context):
        count[0] += 1
        return execute(sql, params, many, context)

    try:
        with transaction.atomic():
            with connection.execute_wrapper(counted):
                start = time.perf_counter()
                n = run()
                seconds = time.perf_counter() - start
            out = (seconds, count[0], fingerprint(plan), n)
            raise _Undo
    except _Undo:
        pass
    return out


def propose(plan: Plan, *, teams: bool) -> int:
    """Each active rep and manager proposes their own total (``teams``: each manager the
    team's instead), within ±15 % (a team ±10 %) of the top-down figure (a fixed seed)."""
    rng = np.random.default_rng(11 if not teams else 12)
    n = 0
    totals = Target.objects.filter(plan=plan, metric=METRIC, product_line=None).select_related(
        "member__user", "unit"
    )
    if not teams:
        for t in totals.filter(member__isnull=False, member__left_on__isnull=True).order_by("pk"):
            if t.member.role not in ("rep", "manager") or not t.target:
                continue
            value = (t.target * Decimal(str(round(1 + rng.uniform(-0.15, 0.15), 4)))).quantize(
                Decimal(1)
            )
            services.proposal_create(target=t, value=value, comment="", actor=t.member.user)
            n += 1
        return n
    managers = {
        m.org_unit_id: m
        for m in Member.objects.filter(role="manager", left_on__isnull=True).select_related("user")
    }
    for t in totals.filter(unit__isnull=False).order_by("pk"):
        manager = managers.get(t.unit_id)
        if manager is None or not t.target or not rules.may_propose(manager, t):
            continue
        value = (t.target * Decimal(str(round(1 + rng.uniform(-0.1, 0.1), 4)))).quantize(Decimal(1))
        services.proposal_create(target=t, value=value, comment="", actor=manager.user)
        n += 1
    return n


def measure(plan: Plan, director: Member, repeat: int, label: str) -> None:
    """Accept every open proposal both ways, ``repeat`` times each, and print the figures."""
    ordered = list(Proposal.objects.filter(target__plan=plan).order_by("created_at", "pk"))

    def in_bulk() -> int:
        return len(
            services.proposals_accept_within(
                plan=plan, metric=METRIC, actor=director.user, within=None
            )
        )

    def one_by_one() -> int:
        for p in ordered:
            services.proposal_decide(proposal=p, accept=True, actor=director.user)
        return len(ordered)

    print(f"\n{label}")
    print(f"{'':24} {'accepted':>9} {'best s':>8} {'median s':>9} {'statements':>11}")
    prints = set()
    for name, run in (("accept in bulk", in_bulk), ("one by one (reference)", one_by_one)):
        runs = [timed(plan, run) for _ in range(repeat)]
        seconds = [r[0] for r in runs]
        prints |= {r[2] for r in runs}
        print(
            f"{name:24} {runs[0][3]:>9} {min(seconds):>8.2f} "
            f"{statistics.median(seconds):>9.2f} {runs[0][1]:>11,}"
        )
    same = "yes" if len(prints) == 1 else "NO"
    print("same figures, months, SMART and versions both ways:", same)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="measure each way this many times")
    args = parser.parse_args()
    director = Member.objects.filter(role="director").select_related("user").first()
    if director is None:
        sys.exit("No demo company in this database: run `salesloop demo --no-serve` first.")
    last = Order.objects.aggregate(m=Max("signed_on"))["m"]
    fiscal_year = last.year + 1
    version = (
        Plan.objects.filter(fiscal_year=fiscal_year).aggregate(v=Max("version"))["v"] or 0
    ) + 1
    plan = services.plan_create(
        fiscal_year=fiscal_year, owner=director, actor=director.user, name=f"bench v{version}"
    )
    try:
        start = time.perf_counter()
        recommend_plan(plan=plan, metric=METRIC, inputs=Inputs(), actor=director.user)
        setup = time.perf_counter() - start
        print(
            f"database: {connection.vendor}; plan FY{fiscal_year}: "
            f"{Target.objects.filter(plan=plan).count():,} targets (recommended in {setup:.1f} s)"
        )
        people = propose(plan, teams=False)
        measure(plan, director, args.repeat, f"{people} proposals on people's own totals")
        teams = propose(plan, teams=True)
        measure(
            plan,
            director,
            args.repeat,
            f"{people + teams} proposals: those and then {teams} teams' (each accepted in its turn)",
        )
    finally:
        plan.delete()


if __name__ == "__main__":
    main()
