"""salesloop import FILE --kind K [--user U] [--dry-run] [--valid-rows-only]"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from salesloop.common.audit import security_event
from salesloop.dataio.engine import ImportResult, run_import
from salesloop.dataio.kinds import KINDS


class Command(BaseCommand):
    help = "Import customers, contacts, leads, opportunities, orders, payments, activities, members or targets from XLSX or CSV."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "file", help="an .xlsx workbook or a CSV file (UTF-8, UTF-8 with BOM, GBK / GB18030)"
        )
        parser.add_argument("--kind", required=True, choices=sorted(KINDS))
        parser.add_argument(
            "--user",
            default="admin",
            help="import as this user (their role and team decide what they may import)",
        )
        parser.add_argument("--dry-run", action="store_true", help="check every row, write nothing")
        parser.add_argument(
            "--valid-rows-only",
            action="store_true",
            help="import the valid rows, skip the rejected ones",
        )
        parser.add_argument(
            "--rejects", help="write the rejected rows, with their reasons, to this CSV file"
        )
        parser.add_argument(
            "--no-bulk",
            action="store_true",
            help="orders / payments: one service call per row (slower)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        path = Path(options["file"])
        if not path.exists():
            raise CommandError(_("No such file: %(f)s") % {"f": path})
        user = get_user_model().objects.filter(username=options["user"]).first()
        if user is None:
            raise CommandError(_("No user %(u)s.") % {"u": options["user"]})
        rejects = options["rejects"] or str(path.with_name(f"{path.stem}-rejected.csv"))
        started = time.monotonic()
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]} rows/s"),
            TimeElapsedColumn(),
            disable=not self.stdout.isatty() if hasattr(self.stdout, "isatty") else True,
        ) as bar:
            task = bar.add_task(path.name, total=None, rate="–")

            def progress(done: int, estimate: int | None, result: ImportResult) -> None:
                elapsed = time.monotonic() - started
                bar.update(
                    task,
                    completed=done,
                    total=max(estimate or done, done),
                    rate=f"{done / elapsed:,.0f}" if elapsed else "–",
                )

            result = run_import(
                path=path,
                filename=path.name,
                kind=options["kind"],
                user=user,
                dry_run=options["dry_run"],
                valid_rows_only=options["valid_rows_only"],
                bulk=False if options["no_bulk"] else None,
                rejects_path=rejects,
                progress=progress,
            )
        security_event(
            actor=user,
            action="import.dry_run" if options["dry_run"] else "import",
            kind=options["kind"],
            file=path.name,
            via="cli",
            **result.as_dict(),
        )
        if result.error:
            raise CommandError(result.error)
        verb = _("would be") if not result.committed else _("were")
        self.stdout.write(
            _(
                "%(total)s rows in %(s).1f s (%(rate)s rows/s): %(c)s created, %(u)s updated, %(n)s unchanged, %(r)s rejected."
            )
            % {
                "total": result.total,
                "s": result.seconds,
                "rate": f"{result.rows_per_second:,.0f}",
                "c": result.created,
                "u": result.updated,
                "n": result.unchanged,
                "r": result.rejected,
            }
        )
        if not result.committed:
            self.stdout.write(
                _("Nothing was written (%(why)s).")
                % {
                    "why": _("dry run")
                    if options["dry_run"]
                    else _("some rows were rejected; use --valid-rows-only to import the others")
                }
            )
        del verb
        if result.rejected:
            for sample in result.samples[:20]:
                self.stderr.write(_("row %(row)s: %(reason)s") % sample)
            self.stderr.write(_("All rejected rows, with their reasons: %(f)s") % {"f": rejects})
            raise CommandError(
                _("%(n)s rows were rejected.") % {"n": result.rejected}, returncode=2
            )
