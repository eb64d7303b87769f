"""``salesloop worker``: run background tasks (django-tasks' database worker).

Start as many as you like, on as many machines as share the database: a task is claimed by
one worker only, and a scheduled run executes once (see docs/alerts.md)."""

from __future__ import annotations

from typing import Any

from django_tasks.backends.database.management.commands.db_worker import Command as DbWorker


class Command(DbWorker):
    help = "Run background tasks (reports, alerts, deliveries, scheduled jobs). Start one or more."

    def add_arguments(self, parser: Any) -> None:
        super().add_arguments(parser)
        parser.set_defaults(queue_name="*", reload=False)
