"""``salesloop insights_rollups``: refresh the dashboard rollups and the pipeline calibration."""

from __future__ import annotations

import time
from datetime import date

from django.core.management.base import BaseCommand, CommandParser

from salesloop.insights.calibration import calibration_refresh
from salesloop.insights.rollups import DEFAULT_WINDOW_DAYS, rollup_fill, rollup_refresh


class Command(BaseCommand):
    help = "Refresh the dashboard rollups (idempotent) and the calibrated win rates."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--today", default=None, help="YYYY-MM-DD (default: today)")
        parser.add_argument("--window", type=int, default=DEFAULT_WINDOW_DAYS)
        parser.add_argument(
            "--fill-from", default=None, help="refill the months of [fill-from, fill-to] instead"
        )
        parser.add_argument("--fill-to", default=None)

    def handle(self, *args: object, **options: object) -> None:
        today = date.fromisoformat(str(options["today"])) if options["today"] else None
        t0 = time.perf_counter()
        if options["fill_from"]:
            rows = rollup_fill(
                start=date.fromisoformat(str(options["fill_from"])),
                end=date.fromisoformat(str(options["fill_to"] or options["fill_from"])),
            )
            self.stdout.write(f"filled {rows} rows in {time.perf_counter() - t0:.1f} s")
            return
        result = rollup_refresh(today=today, window=int(options["window"]))  # type: ignore[arg-type]
        self.stdout.write(
            f"rollup: {result['rows']} rows, {len(result['ranges'])} ranges, {time.perf_counter() - t0:.1f} s"
        )
        t1 = time.perf_counter()
        calibration_refresh(today=today)
        self.stdout.write(f"calibration: {time.perf_counter() - t1:.1f} s")
