"""Settings for the test suite. ``DATABASE_URL`` selects PostgreSQL; SQLite otherwise."""

import os
from urllib.parse import unquote, urlsplit

SECRET_KEY = "tests-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
USE_TZ = True
TIME_ZONE = "Asia/Seoul"
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("ko", "Korean")]
ROOT_URLCONF = "tests.urls"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_kakaopay",
    "example_project.shop",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

STATIC_URL = "/static/"


def _database_from_url(url: str) -> dict[str, object]:
    parts = urlsplit(url)
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(parts.path.lstrip("/")) or "test",
        "USER": unquote(parts.username or "postgres"),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "127.0.0.1",
        "PORT": str(parts.port or 5432),
        # The webhook view opts out; everything else runs in a request transaction,
        # the setting most likely to surprise a payment app.
        "ATOMIC_REQUESTS": True,
        "TEST": {"NAME": "test_django_kakaopay"},
    }


_url = os.environ.get("DATABASE_URL", "")
if _url.startswith(("postgres://", "postgresql://")):
    DATABASES = {"default": _database_from_url(_url)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": ":memory:",
            "ATOMIC_REQUESTS": True,
        }
    }

KAKAOPAY = {
    "DEFAULT_BACKEND": "sandbox",
    "BACKENDS": {
        "sandbox": {
            "BACKEND": "django_kakaopay.backends.sandbox.SandboxBackend",
            # Tests run with DEBUG off, as production does; this sandbox opts in
            # (kakaopay.E008 and the sandbox pages' 404 are tested with it removed).
            "OPTIONS": {"MERCHANT_NAME": "Test shop", "ALLOW_WITHOUT_DEBUG": True},
        },
    },
    "SITE_URL": "http://testserver",
}

# Django's Tasks framework: built in from Django 6.0, the django-tasks backport
# on 5.2. Tests run tasks at once (the immediate backend); the queue tests pick
# their own backend, and the worker test a database queue (django-tasks-db).
try:
    import django.tasks  # noqa: F401

    TASKS_MODULE = "django.tasks"
except ImportError:
    try:
        import django_tasks  # noqa: F401

        TASKS_MODULE = "django_tasks"
        INSTALLED_APPS.append("django_tasks")
    except ImportError:
        TASKS_MODULE = ""
if TASKS_MODULE:
    TASKS = {"default": {"BACKEND": f"{TASKS_MODULE}.backends.immediate.ImmediateBackend"}}

# django-tasks-db's table is in the test database whenever the package is
# installed, so that tests/test_tasks_worker.py can run a real queue there;
# every other test still runs tasks at once.
if TASKS_MODULE:
    import importlib.util

    if importlib.util.find_spec("django_tasks_db") is not None:
        INSTALLED_APPS.append("django_tasks_db")

# The settings of a ``db_worker`` started by tests/test_tasks_worker.py. Its
# DATABASE_URL names the test database that the test run already created (and
# destroys): the worker only reads and writes rows there; db_worker creates,
# migrates and flushes nothing. Queued mode and the sandbox as the test
# configures them (tests.worker_signals.queued_kakaopay), the database queue,
# and the hooks that record the worker's signals.
if os.environ.get("KAKAOPAY_TEST_TASKS") == "database":
    from django.core.exceptions import ImproperlyConfigured

    from tests.worker_signals import STALE_AFTER, queued_kakaopay

    if not str(DATABASES["default"]["NAME"]).startswith("test_"):
        raise ImproperlyConfigured(
            "KAKAOPAY_TEST_TASKS=database needs DATABASE_URL to name a test database "
            "(test_...): the worker of tests/test_tasks_worker.py runs in the test run's own."
        )
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    KAKAOPAY = queued_kakaopay(KAKAOPAY, int(os.environ.get(STALE_AFTER, "600")))
    INSTALLED_APPS.append("tests.worker_signals.WorkerSignalsConfig")
