"""Settings for the demo and local development: safe defaults, SQLite in the project folder."""

from salesloop.settings import env
from salesloop.settings.base import *  # noqa: F403
from salesloop.settings.base import STORAGES

STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Static files come from the apps and installed packages through the finders (no collectstatic).
STATIC_ROOT = None

# The demo has no mail server: emails are printed by the worker unless EMAIL_BACKEND says otherwise.
EMAIL_BACKEND = env.EMAIL_BACKEND or "django.core.mail.backends.console.EmailBackend"
