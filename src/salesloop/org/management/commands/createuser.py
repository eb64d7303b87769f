from __future__ import annotations

import getpass
import sys

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from salesloop.org.choices import Role, UnitKind
from salesloop.org.models import OrgUnit
from salesloop.org.services import member_create, org_unit_create


class Command(BaseCommand):
    help = "Create a user with a role in the org tree (salesloop createuser NAME --role manager --unit 'East')."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument(
            "--unit",
            help="Org unit name or id (default: the top of the tree; created if the tree is empty).",
        )
        parser.add_argument("--name", help="Display name (default: the username).")
        parser.add_argument("--email", default="")
        parser.add_argument(
            "--password-stdin", action="store_true", help="Read the password from standard input."
        )

    def handle(self, *args, **opts):
        unit = self._unit(opts.get("unit"))
        if opts["password_stdin"]:
            password = sys.stdin.readline().rstrip("\n")
        elif sys.stdin.isatty():
            password = getpass.getpass("Password: ")
            if password != getpass.getpass("Password (again): "):
                raise CommandError("The passwords do not match; nothing was created.")
        else:
            raise CommandError("No terminal to ask for a password: use --password-stdin.")
        if len(password) < 8:
            raise CommandError("The password must have at least 8 characters; nothing was created.")
        try:
            member = member_create(
                username=opts["username"],
                password=password,
                display_name=opts.get("name") or opts["username"],
                org_unit=unit,
                role=opts["role"],
                email=opts["email"],
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages) + " Nothing was created.") from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Created {member.user.username} ({member.get_role_display()}) in {unit}."
            )
        )

    def _unit(self, ref: str | None) -> OrgUnit:
        if ref is None:
            root = OrgUnit.objects.filter(parent__isnull=True).order_by("pk").first()
            return root or org_unit_create(name="Company", kind=UnitKind.COMPANY)
        unit = OrgUnit.objects.filter(pk=int(ref)).first() if ref.isdigit() else None
        unit = unit or OrgUnit.objects.filter(name=ref).first()
        if unit is None:
            raise CommandError(f"No org unit named {ref!r}; nothing was created.")
        return unit
