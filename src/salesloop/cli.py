"""The ``salesloop`` console script: the management commands users need, with --help on each.

salesloop demo [--scale S] [--seed N] [--no-serve] [--port P]
salesloop serve [--port P] [--host H]
salesloop migrate
salesloop createuser USERNAME --role ROLE --unit UNIT_ID
salesloop worker / salesloop scheduler (background tasks and their schedule)
salesloop import FILE / salesloop export DATASET
salesloop <any django-admin command>
"""

from __future__ import annotations

import os
import sys

USER_COMMANDS = {
    "demo": "Build (or rebuild) the demo company, then serve it.",
    "serve": "Serve salesloop over HTTP (development server; use gunicorn in production).",
    "migrate": "Create or update the database tables.",
    "createuser": "Create a user with a role in the org tree.",
    "worker": "Run background tasks (plan computations, imports, reports, alerts). One or more.",
    "scheduler": "Queue the periodic jobs (reminders, weekly and monthly reports). Run one.",
    "import": "Import customers, orders, targets … from an XLSX or CSV file.",
    "export": "Export customers, orders, activities … to an XLSX or CSV file.",
    "check": "Check the installation for problems.",
    "shell": "Open a Python shell with salesloop loaded.",
}


def _print_help() -> None:
    print("usage: salesloop COMMAND [options]\n")
    print("salesloop (销售闭环) — sales performance tracking and target setting.\n")
    print("commands:")
    for name, text in USER_COMMANDS.items():
        print(f"  {name:<12} {text}")
    print("\n'salesloop COMMAND --help' describes a command's options.")
    print("Any other django-admin command also works, e.g. 'salesloop collectstatic'.")


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "salesloop.settings.dev")
    if not args or args[0] in {"-h", "--help", "help"}:
        _print_help()
        return
    from django.core.management import execute_from_command_line

    execute_from_command_line(["salesloop", *args])


if __name__ == "__main__":
    main()
