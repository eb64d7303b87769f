from __future__ import annotations

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Serve salesloop over HTTP on one machine (Django's threaded server). For production use "
        "gunicorn: gunicorn salesloop.wsgi -w 2 (see docs/deploy.md)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args, **opts):
        call_command("runserver", f"{opts['host']}:{opts['port']}", use_reloader=False)
