"""Benchmark: the pages people open, under 20 concurrent users, on PostgreSQL with 2 app
workers, at scale S1 (DESIGN.md: any page ≤ 500 ms p95).

    python bench/pages_bench.py --pg-url postgres://postgres@127.0.0.1:5432/salesloop_pages

The database must hold the S1 demo (``DATABASE_URL=… salesloop demo --scale 1 --no-serve``, about
15 minutes). The script collects the static files into a temporary folder, starts
``gunicorn salesloop.wsgi -w 2`` with the production settings on a free local port (as
docs/deploy.md runs it), logs in 20 users — the director, the admin, 6 managers and 12 reps of
the demo — and lets each walk the pages of their role in a loop for ``--seconds``, waiting a
random think time (exponential, mean ``--think`` seconds) between two pages, as people do. It
prints, per page, the requests, p50, p95 and max, and whether p95 is within the budget.

Reference, in the same run and by the same users: ``/healthz``, which the same workers answer
without a session or a query of ours — the floor that the server, the network and the load
generator put under every figure. ``--think 0`` (each user fires the next page at once) shows
the saturated case: 20 users on 2 processes queue behind each other.

The workers use the cache ``CACHE_URL`` names (default: one per process). With a shared cache,
``--warm`` first builds the leaders' dashboards as the refresh task does after each rollup
refresh (``salesloop.insights.warm``), which is how a deployment with ``CACHE_URL`` runs.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "salesloop-demo"
BUDGET_MS = 500.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _plan_and_users(url: str) -> tuple[dict[str, int], list[tuple[str, str, dict[str, list[int]]]]]:
    """The active plan and next year's draft, and the users with the records they may open."""
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "salesloop.settings.dev")
    sys.path.insert(0, str(ROOT / "src"))
    import django

    django.setup()
    from salesloop.customers.models import Customer
    from salesloop.org.models import Member
    from salesloop.org.visibility import visible
    from salesloop.pipeline.models import Opportunity
    from salesloop.targets.models import Plan

    plans = {
        "active": Plan.objects.filter(status="active").order_by("-fiscal_year").first(),
        "draft": Plan.objects.filter(status="draft").order_by("-fiscal_year").first(),
    }
    if plans["active"] is None:
        raise SystemExit("The database holds no active plan: build the S1 demo first.")
    picks = [("director", 1), ("admin", 1), ("manager", 6), ("rep", 12)]
    users = []
    for role, count in picks:
        members = Member.objects.filter(role=role, left_on__isnull=True).select_related("user")
        for m in members.order_by("user__username")[:count]:
            records = {
                "customer": list(
                    visible(Customer.objects.order_by("-pk"), user=m.user).values_list(
                        "pk", flat=True
                    )[:30]
                ),
                "opportunity": list(
                    visible(Opportunity.objects.order_by("-pk"), user=m.user).values_list(
                        "pk", flat=True
                    )[:30]
                ),
            }
            users.append((m.user.username, role, records))
    return {k: p.pk for k, p in plans.items() if p is not None}, users


def _pages(role: str, plans: dict[str, int]) -> list[tuple[str, str]]:
    """(name, path) of the pages a user of ``role`` walks through."""
    active = plans["active"]
    pages = [
        ("my day", "/"),
        ("dashboard (quarter)", "/dashboard/"),
        ("dashboard (year)", "/dashboard/?period=year"),
        ("customers", "/customers/"),
        ("customer", "customer"),
        ("opportunities", "/opportunities/"),
        ("opportunity", "opportunity"),
        ("pipeline board", "/opportunities/board/"),
        ("follow-ups", "/activities/follow-ups/"),
        ("notifications", "/alerts/"),
        ("reports", "/alerts/reports/"),
        ("target plans", "/targets/"),
        ("my targets", "/targets/mine/"),
        ("plan (active)", f"/targets/plans/{active}/"),
        ("plan history", f"/targets/plans/{active}/history/"),
    ]
    if role != "rep":
        pages.append(("top-down vs bottom-up", f"/targets/plans/{active}/reconcile/"))
        if "draft" in plans:
            pages.append(("plan (draft)", f"/targets/plans/{plans['draft']}/"))
            # next year's draft against this year's plan, with this year's actuals
            pages.append(("compare plans", f"/targets/plans/{plans['draft']}/compare/"))
    return pages


def _log_in(base: str, username: str) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{base}/login/", timeout=30)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token, "no CSRF token on the login page"
    answer = session.post(
        f"{base}/login/",
        data={"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token.group(1)},
        headers={"Referer": f"{base}/login/"},
        timeout=30,
        allow_redirects=False,
    )
    assert answer.status_code == 302, f"{username} could not log in ({answer.status_code})"
    return session


def _walk(
    base: str,
    session: requests.Session,
    pages: list[tuple[str, str]],
    records: dict[str, list[int]],
    until: float,
    think: float,
    seed: int,
    times: dict[str, list[float]],
    errors: dict[str, int],
    lock: threading.Lock,
) -> None:
    rng = random.Random(seed)
    order = list(pages) + [("/healthz (reference)", "/healthz")] * 3
    while time.monotonic() < until:
        rng.shuffle(order)
        for name, path in order:
            if time.monotonic() >= until:
                return
            if path in records:
                ids = records[path]
                if not ids:
                    continue
                path = (
                    f"/{'customers' if path == 'customer' else 'opportunities'}/{rng.choice(ids)}/"
                )
            started = time.perf_counter()
            answer = session.get(base + path, timeout=60, allow_redirects=False)
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                if answer.status_code == 200:
                    times[name].append(elapsed)
                else:
                    errors[f"{name} → {answer.status_code}"] += 1
            if think > 0:
                time.sleep(rng.expovariate(1.0 / think))


def _run(base: str, users: list, plans: dict[str, int], seconds: float, think: float) -> None:
    sessions = [(_log_in(base, name), role, records) for name, role, records in users]
    times: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, int] = defaultdict(int)
    lock = threading.Lock()
    # warm each worker process (imports, first connection): one pass, not counted
    for session, role, _records in sessions[:4]:
        for _name, path in _pages(role, plans):
            if path.startswith("/"):
                session.get(base + path, timeout=120)
    until = time.monotonic() + seconds
    threads = [
        threading.Thread(
            target=_walk,
            args=(base, s, _pages(role, plans), records, until, think, i, times, errors, lock),
        )
        for i, (s, role, records) in enumerate(sessions)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    total = sum(len(v) for v in times.values())
    print(
        f"\n{len(sessions)} users, think time {think:g} s (mean), {seconds:g} s: "
        f"{total} requests, {total / seconds:.1f} per second"
    )
    print(f"{'page':28} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}  budget")
    worst = 0.0
    for name in sorted(times, key=lambda k: (k.startswith("/healthz"), k)):
        values = sorted(times[name])
        p95 = values[min(len(values) - 1, int(round(0.95 * (len(values) - 1))))]
        if not name.startswith("/healthz"):
            worst = max(worst, p95)
        print(
            f"{name:28} {len(values):>5} {statistics.median(values):>8.0f} {p95:>8.0f} "
            f"{values[-1]:>8.0f}  {'ok' if p95 <= BUDGET_MS else 'OVER'}"
        )
    print(f"worst page p95: {worst:.0f} ms (budget {BUDGET_MS:.0f} ms)")
    for what, count in sorted(errors.items()):
        print(f"  not 200: {what} ×{count}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pg-url", required=True, help="PostgreSQL database holding the S1 demo")
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--think", type=float, nargs="+", default=[2.0, 0.0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument(
        "--threads",
        type=int,
        default=1,
        help="threads per worker (gunicorn gthread); 1: sync workers",
    )
    ap.add_argument(
        "--warm",
        action="store_true",
        help="before the users start, warm the leaders' dashboards as the refresh task does "
        "(needs CACHE_URL: a cache the app workers share)",
    )
    args = ap.parse_args()
    if args.warm and not os.environ.get("CACHE_URL"):
        raise SystemExit("--warm needs CACHE_URL (e.g. redis://127.0.0.1:6379/3)")
    plans, users = _plan_and_users(args.pg_url)
    static = Path(tempfile.mkdtemp(prefix="salesloop-static-"))
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": args.pg_url,
        "DJANGO_SETTINGS_MODULE": "salesloop.settings.prod",
        "SECRET_KEY": "bench-" + "x" * 40,
        "STATIC_ROOT": str(static),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL": "false",
    }
    python = sys.executable
    subprocess.run(
        [python, "-m", "django", "collectstatic", "--noinput", "-v", "0"],
        env={**env, "PYTHONPATH": str(ROOT / "src")},
        check=True,
    )
    server = subprocess.Popen(
        [
            python,
            "-m",
            "gunicorn",
            "salesloop.wsgi",
            "-w",
            str(args.workers),
            "--threads",
            str(args.threads),
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        env={**env, "PYTHONPATH": str(ROOT / "src")},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if requests.get(f"{base}/healthz", timeout=10).status_code == 200:
                    break
            except requests.RequestException:  # not listening yet, or still importing
                time.sleep(0.2)
        else:
            raise SystemExit("gunicorn did not start")
        if args.warm:
            started = time.perf_counter()
            subprocess.run(
                [
                    python,
                    "-c",
                    "import django; django.setup(); "
                    "from salesloop.insights.warm import dashboards_warm; dashboards_warm()",
                ],
                env={**env, "PYTHONPATH": str(ROOT / "src")},
                check=True,
            )
            print(f"dashboards warmed in {time.perf_counter() - started:.1f} s")
        load = os.getloadavg()[0]
        print(
            f"gunicorn -w {args.workers} --threads {args.threads} (prod settings), PostgreSQL, S1; "
            f"{len(users)} users; load average before: {load:.1f} on {os.cpu_count()} cores"
        )
        for think in args.think:
            _run(base, users, plans, args.seconds, think)
        print(f"load average after: {os.getloadavg()[0]:.1f}")
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(static, ignore_errors=True)


if __name__ == "__main__":
    main()
