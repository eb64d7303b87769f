"""Production settings: refuse to start with a missing or known-insecure secret."""

from django.core.exceptions import ImproperlyConfigured

from salesloop.settings import env
from salesloop.settings.base import *  # noqa: F403

if not env.SECRET_KEY or len(env.SECRET_KEY) < 32 or env.SECRET_KEY.startswith("insecure"):
    raise ImproperlyConfigured(
        "SECRET_KEY must be set to a random value of at least 32 characters in production "
        "(for example: python -c 'import secrets; print(secrets.token_urlsafe(50))')."
    )
if env.DEBUG:
    raise ImproperlyConfigured("DEBUG must be off in production.")

SECRET_KEY = env.SECRET_KEY
DEBUG = False
SESSION_COOKIE_SECURE = env.SECURE_SSL
CSRF_COOKIE_SECURE = env.SECURE_SSL
SECURE_SSL_REDIRECT = env.SECURE_SSL
