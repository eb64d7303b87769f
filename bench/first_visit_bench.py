"""Benchmark: a leader's dashboard on the first visit after the rollup refresh moved the cursor.

    python bench/first_visit_bench.py --url postgres://postgres@127.0.0.1:5432/salesloop_pages
    python bench/first_visit_bench.py --url sqlite:////path/to/s1.sqlite3 --rounds 5

The dashboards cache their costly parts under keys that name the rollup's cursor, which the
refresh task moves every 15 minutes; the next visit of each page computes them again. The
new-business history the attainment simulation draws on is kept for the day instead. On a
database holding a demo (S1 for the budgets), for the director, a regional manager and a team
manager, each for the quarter and the year (`--periods month quarter year` adds the month),
this times through Django's test client, side by side in one run:

* **cold**: the cache empty (the first visit of the day, and what every visit after a cursor
  move cost before the day's history was kept);
* **after move**: the cache empty but for the day's history (what a visit after a cursor move
  costs now);
* **warm**: the next visit (everything cached).

Each figure is the median of ``--rounds`` rounds; the process first renders each page once so
that imports, templates and the database connection are warm.
"""

from __future__ import annotations

import argparse
import statistics
import time

from dashboard_bench import _setup  # the same database set-up (this folder is on the path)

PERIODS = ("quarter", "year")


def _leaders() -> dict[str, object]:
    from salesloop.org.models import Member

    director = Member.objects.filter(role="director", user__isnull=False).first()
    managers = Member.objects.filter(role="manager", user__isnull=False).select_related("org_unit")
    regional = next((m for m in managers if m.org_unit and m.org_unit.kind != "team"), None)
    team = next((m for m in managers if m.org_unit and m.org_unit.kind == "team"), None)
    return {
        label: member
        for label, member in (("director", director), ("regional", regional), ("team", team))
        if member is not None
    }


def _prime_history(user: object, period: str) -> None:
    """Read the day's new-business history of the page's nodes, as the first visit did."""
    from salesloop.insights import selectors
    from salesloop.insights.scope import resolve_scope

    scope = resolve_scope(user, {"period": period})
    members = sorted({m for n in (scope.node, *scope.children) for m in n.member_ids})
    selectors.new_business_of_day(scope, members)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="database holding the demo (DATABASE_URL)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--periods", nargs="+", default=list(PERIODS), choices=["month", *PERIODS])
    args = parser.parse_args()
    _setup(args.url)
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment

    setup_test_environment()
    leaders = _leaders()
    clients = {}
    for label, member in leaders.items():
        client = Client(HTTP_HOST="localhost")
        client.force_login(member.user)  # type: ignore[attr-defined]
        clients[label] = client

    def get(label: str, period: str) -> float:
        t0 = time.perf_counter()
        response = clients[label].get(f"/dashboard/?period={period}")
        assert response.status_code == 200, response.status_code
        return (time.perf_counter() - t0) * 1000

    for label in clients:  # imports, templates, connection
        for period in args.periods:
            get(label, period)
    print(
        f"{connection.vendor}, {len(leaders)} leaders, {args.rounds} rounds; ms, median\n"
        f"{'page':<22}{'cold':>8}{'after move':>12}{'warm':>8}"
    )
    for label, member in leaders.items():
        for period in args.periods:
            cold, moved, warm = [], [], []
            for _ in range(args.rounds):
                cache.clear()
                cold.append(get(label, period))
                cache.clear()
                _prime_history(member.user, period)  # type: ignore[attr-defined]
                moved.append(get(label, period))
                warm.append(get(label, period))
            print(
                f"{label + ' ' + period:<22}{statistics.median(cold):>8.0f}"
                f"{statistics.median(moved):>12.0f}{statistics.median(warm):>8.0f}"
            )
    cache.clear()


if __name__ == "__main__":
    main()
