"""Settings for the test suite."""

from salesloop.settings.base import *  # noqa: F403
from salesloop.settings.base import STORAGES

SECRET_KEY = "test-only-secret-key-not-for-production-000000000000"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
LANGUAGE_CODE = "en"

STATIC_ROOT = None
