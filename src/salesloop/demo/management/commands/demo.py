"""``salesloop demo``: build (or rebuild) the demo company, print its logins, then serve it.

The default scale (0.01) loads about 5 000 opportunities, 10 000 orders and 50 000 activities in
a few seconds; ``--scale 1`` is DESIGN.md's S1 size (500 k opportunities, 1 M orders, 1 M
payments, 5 M activities) and takes a few minutes. Every demo member (director, manager, rep,
admin, viewer, and the generated rep001…, mgr02…, rgm01…) logs in with the password
``salesloop-demo``.
"""

from __future__ import annotations

import time
from datetime import date
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.translation import gettext as _
from rich.console import Console
from rich.table import Table

from salesloop.demo.build import DEFAULT_SCALE, DemoInputError, build_demo, validate
from salesloop.demo.profiles import DEMO_PASSWORD


class Command(BaseCommand):
    help = _("Build (or rebuild) the demo company, then serve it.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--scale",
            type=float,
            default=DEFAULT_SCALE,
            help=_("Size relative to scale S1 (1 = 500 000 opportunities); default %(default)s."),
        )
        parser.add_argument("--seed", type=int, default=42, help=_("Random seed (default 42)."))
        parser.add_argument(
            "--today",
            default=None,
            help=_(
                "The last day of history, YYYY-MM-DD (default: today in the company time zone)."
            ),
        )
        parser.add_argument("--no-serve", action="store_true", help=_("Build only, do not serve."))
        parser.add_argument(
            "--no-plans",
            action="store_true",
            help=_("Skip the target plans (this year's active plan, next year's draft)."),
        )
        parser.add_argument(
            "--no-alerts",
            action="store_true",
            help=_("Skip the alert run and the demo logins' latest reports."),
        )
        parser.add_argument("--port", type=int, default=8000, help=_("Port to serve on."))
        parser.add_argument("--host", default="127.0.0.1", help=_("Address to serve on."))

    def handle(self, *args: object, **options: object) -> None:
        scale = options["scale"]
        seed = options["seed"]
        raw_today = options["today"]
        if raw_today:
            try:
                today = date.fromisoformat(str(raw_today))
            except ValueError as exc:
                raise CommandError(
                    _("--today must be a date written YYYY-MM-DD, not %(v)s.") % {"v": raw_today}
                ) from exc
        else:
            today = timezone.localdate()
        port = int(options["port"])
        if not 0 < port < 65536:
            raise CommandError(_("--port must be between 1 and 65535."))
        try:
            validate(scale, seed, today)  # before touching the database
        except DemoInputError as exc:
            raise CommandError(str(exc)) from exc

        verbosity = int(options.get("verbosity", 1))
        console = Console(file=self.stdout, highlight=False) if verbosity > 0 else None
        call_command("migrate", interactive=False, verbosity=0)
        try:
            result = build_demo(scale=scale, seed=seed, today=today, console=console)
        except DemoInputError as exc:
            raise CommandError(str(exc)) from exc
        from django.db import connection

        from salesloop.insights.rollups import rollup_refresh

        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(
                "ANALYZE"
            )  # fresh statistics after the bulk load: the planner needs them
        rollup_refresh(today=today)
        if console is not None:
            console.print(
                _("Dashboard rollups filled in %(s).1f s") % {"s": time.perf_counter() - started}
            )
        if not options.get("no_plans"):
            from salesloop.targets.seed import seed_demo_plans

            plans, seconds = _timed(seed_demo_plans, today=today)
            if console is not None:
                console.print(
                    _("Target plans: %(plans)s in %(s).1f s")
                    % {
                        "plans": ", ".join(f"FY{p.fiscal_year} {p.status}" for p in plans),
                        "s": seconds,
                    }
                )
        if not options.get("no_alerts"):
            from salesloop.alerts.seed import seed_demo_alerts

            filed, seconds = _timed(seed_demo_alerts, today=today)
            if console is not None:
                console.print(
                    _("Alerts: %(alerts)d opened; reports filed: %(reports)d, in %(s).1f s")
                    % {"alerts": filed["alerts"], "reports": filed["reports"], "s": seconds}
                )
        if console is not None:
            self._summary(console, result, str(options["host"]), port)
        if not options["no_serve"]:
            call_command("runserver", f"{options['host']}:{port}", use_reloader=False)

    def _summary(self, console: Console, result: object, host: str, port: int) -> None:
        table = Table(
            title=_("Demo company built (scale %(s)g, seed %(seed)d, today %(d)s)")
            % {"s": result.scale, "seed": result.seed, "d": result.today.isoformat()}
        )
        table.add_column(_("table"))
        table.add_column(_("rows"), justify="right")
        table.add_column(_("seconds"), justify="right")
        table.add_column(_("rows/s"), justify="right")
        rows = 0
        for label, timing in result.timings.items():
            rows += timing.rows
            rate = f"{timing.rows / timing.seconds:,.0f}" if timing.seconds and timing.rows else ""
            table.add_row(label, f"{timing.rows:,}", f"{timing.seconds:.2f}", rate)
        table.add_row(_("generating (NumPy)"), "", f"{result.generate_seconds:.2f}", "")
        table.add_row(
            _("total"),
            f"{rows:,}",
            f"{result.total_seconds:.2f}",
            f"{rows / result.total_seconds:,.0f}",
        )
        console.print(table)
        console.print(_("Log in at http://%(host)s:%(port)d/login/") % {"host": host, "port": port})
        console.print(
            _("Users: director, manager, rep (also admin, viewer) — password: %(pw)s")
            % {"pw": DEMO_PASSWORD}
        )
        console.print(_("Every other member (rep001…, mgr02…, rgm01…) has the same password."))


def _timed(step: Any, **kwargs: Any) -> tuple[Any, float]:
    """Run one seeding step; its result and the seconds it took."""
    started = time.perf_counter()
    return step(**kwargs), time.perf_counter() - started
