"""``salesloop --help`` lists the commands people run, each one a command that exists."""

from __future__ import annotations

from django.core.management import get_commands

from salesloop.cli import USER_COMMANDS, main


def test_the_help_lists_the_commands_people_run_and_each_exists(capsys):
    main(["--help"])
    out = capsys.readouterr().out
    for name in ("demo", "serve", "migrate", "worker", "scheduler", "import", "export"):
        assert f"  {name} " in out, name  # the worker was missing, as deploy.md tells to run it
    assert set(USER_COMMANDS) <= set(get_commands())
