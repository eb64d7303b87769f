"""``salesloop scheduler``: queue the periodic jobs when they are due (the schedules live in
the database; defaults in ``salesloop/alerts/schedules.py``). Running two schedulers is safe:
each firing is queued once."""

from __future__ import annotations

import signal
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections
from django.utils import timezone

from salesloop.alerts.scheduler import scheduler_tick, schedules_catch_up, schedules_ensure


class Command(BaseCommand):
    help = "Queue periodic jobs (reports, alert rules, digests) when their schedule is due."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--interval", type=float, default=20.0, help="Seconds between checks (default 20)."
        )
        parser.add_argument("--once", action="store_true", help="Check once, then exit.")
        parser.add_argument(
            "--catch-up",
            action="store_true",
            help="At start, run the alert rules and the weekly report once if they never ran "
            "(a fresh installation or the demo).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        self.running = True

        def stop(signum: int, frame: Any) -> None:
            self.running = False

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        schedules_ensure()
        if options["catch_up"]:
            for run in schedules_catch_up():
                self.stdout.write(f"catching up: {run.schedule.name}")
        self.stdout.write(f"scheduler started at {timezone.localtime():%Y-%m-%d %H:%M:%S %Z}")
        while self.running:
            try:
                schedules_ensure()  # a rebuilt database gets its default schedules back
                for run in scheduler_tick():
                    self.stdout.write(
                        f"queued {run.schedule.name} (due {timezone.localtime(run.due_at):%Y-%m-%d %H:%M})"
                    )
            except Exception as exc:
                self.stderr.write(f"scheduler tick failed: {exc}")
            close_old_connections()
            if options["once"]:
                break
            slept = 0.0
            while self.running and slept < options["interval"]:
                time.sleep(0.5)
                slept += 0.5
