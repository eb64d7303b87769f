"""Settings for the demo and local development: safe defaults, SQLite in the project folder."""

from salesloop.settings.base import *  # noqa: F403
from salesloop.settings.base import STORAGES

STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
