"""Complete base settings. dev / test / prod only override what differs."""

from __future__ import annotations

import dj_database_url
from django.utils.translation import gettext_lazy as _

from salesloop.settings import env

BASE_DIR = env.BASE_DIR
PACKAGE_DIR = __import__("pathlib").Path(__file__).resolve().parent.parent

SECRET_KEY = env.SECRET_KEY or "insecure-demo-key-change-me-in-production-0123456789"
DEBUG = env.DEBUG
ALLOWED_HOSTS = env.ALLOWED_HOSTS
CSRF_TRUSTED_ORIGINS = env.CSRF_TRUSTED_ORIGINS

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials",
    "django_tasks",
    "django_tasks.backends.database",
    "salesloop.common",
    "salesloop.org",
    "salesloop.customers",
    "salesloop.pipeline",
    "salesloop.orders",
    "salesloop.activities",
    "salesloop.dataio",
    "salesloop.apitokens",
    "salesloop.webhooks",
    "salesloop.targets",
    "salesloop.insights",
    "salesloop.alerts",
    "salesloop.demo",
    "salesloop.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "salesloop.org.middleware.MemberLanguageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "salesloop.web.middleware.MethodNotAllowedPage",
]

ROOT_URLCONF = "salesloop.urls"
WSGI_APPLICATION = "salesloop.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "salesloop.web.context_processors.navigation",
            ],
        },
    },
]

DATABASES = {"default": dj_database_url.parse(env.DATABASE_URL, conn_max_age=60)}
CACHES = env.CACHES
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;",
    }

elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # PostgreSQL's JIT compiles any query whose estimated cost passes jit_above_cost; the
    # dashboards' reads are short, index-driven GROUP BYs that it slows by 5-50 ms each (the
    # compile time) without gain. Off for the app's connections; the server setting is kept.
    # random_page_cost 1.1 (SSD; PG_RANDOM_PAGE_COST) lets the planner probe an index per row
    # where the default 4 hashes a whole table: a month of orders by product line hashed all
    # 1.4 M order lines at S1 (docs/deploy.md step 9).
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = env.PG_OPTIONS

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = env.LANGUAGE_CODE
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
# zh-Hans groups counts by three with commas, as Chinese spreadsheets do (salesloop/formats)
FORMAT_MODULE_PATH = ["salesloop.formats"]
USE_I18N = True
TIME_ZONE = env.TIME_ZONE
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = env.STATIC_ROOT
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "salesloop.web.finders.PlotlyFinder",
]

TASKS = {"default": {"BACKEND": "django_tasks.backends.database.DatabaseBackend"}}

EMAIL_HOST = env.EMAIL_URL_HOST
EMAIL_PORT = env.EMAIL_PORT
DEFAULT_FROM_EMAIL = env.DEFAULT_FROM_EMAIL
EMAIL_BACKEND = env.EMAIL_BACKEND or "django.core.mail.backends.smtp.EmailBackend"
# Links in emails and chat messages point here.
SALESLOOP_BASE_URL = env.BASE_URL

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True

# Uploads are capped by the app; bigger files are refused before they are read.
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# Company defaults (overridable per installation in the Company settings row).
SALESLOOP_CURRENCY = "CNY"
SALESLOOP_FISCAL_YEAR_START_MONTH = 1

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {
        "salesloop": {"handlers": ["console"], "level": "INFO"},
        "salesloop.security": {"handlers": ["console"], "level": "INFO", "propagate": False},
        # a page's server error with its traceback (Django prints it only with DEBUG on);
        # refused requests (4xx) are warnings and stay out of the log
        "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
    },
}
