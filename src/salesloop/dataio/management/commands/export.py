"""salesloop export --kind K --format xlsx|csv --user USERNAME -o FILE"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.http import QueryDict
from django.utils.translation import gettext as _

from salesloop.common.audit import security_event
from salesloop.dataio.exports import (
    DATASETS,
    csv_stream,
    export_period,
    export_rows,
    write_xlsx_rows,
)


class Command(BaseCommand):
    help = "Export a list (what the user may see) to XLSX or CSV."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--kind", required=True, choices=sorted(DATASETS))
        parser.add_argument("--format", default="xlsx", choices=["xlsx", "csv"])
        parser.add_argument("--user", required=True, help="export what this user may see")
        parser.add_argument("-o", "--output", required=True)
        parser.add_argument(
            "--filter",
            action="append",
            default=[],
            metavar="NAME=VALUE",
            help="a filter of the list page, e.g. --filter tier=key --filter from=2025-01-01",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        user = get_user_model().objects.filter(username=options["user"]).first()
        if user is None:
            raise CommandError(_("No user %(u)s.") % {"u": options["user"]})
        params = QueryDict(mutable=True)
        for item in options["filter"]:
            name, _sep, value = item.partition("=")
            params[name] = value
        try:
            export_period(params)
        except ValidationError as error:
            raise CommandError(error.messages[0]) from None
        dataset = DATASETS[options["kind"]]
        out = Path(options["output"])
        rows = export_rows(dataset, user, params)
        count = -1

        def counted():
            nonlocal count
            for row in rows:
                count += 1
                yield row

        if options["format"] == "csv":
            with out.open("w", encoding="utf-8", newline="") as handle:
                for piece in csv_stream(counted()):
                    handle.write(piece)
        else:
            write_xlsx_rows(out, counted(), sheet_title=dataset.label)
        security_event(
            actor=user,
            action="export",
            kind=options["kind"],
            format=options["format"],
            via="cli",
            filters=dict(params.items()),
            rows=count,
        )
        self.stdout.write(_("%(n)s rows written to %(f)s.") % {"n": count, "f": out})
