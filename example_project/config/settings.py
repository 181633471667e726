"""Settings for the example shop, read from the environment with django-environ.

Everything has a default that works on a developer's machine: SQLite in
``example_project/db.sqlite3``, DEBUG on, and the KakaoPay sandbox (no
account, no network). Put overrides in the environment or in
``example_project/.env``:

``DATABASE_URL``
    e.g. ``postgresql://postgres@127.0.0.1:5432/shop`` (default: SQLite file).
``SECRET_KEY`` / ``DEBUG`` / ``ALLOWED_HOSTS``
    The usual Django settings.
``SECURE_SSL_REDIRECT`` / ``SESSION_COOKIE_SECURE`` / ``CSRF_COOKIE_SECURE``
    ``True`` behind HTTPS: redirect plain HTTP to HTTPS and send the cookies
    over HTTPS only (default ``False``, so that ``runserver`` works over HTTP).
``SECURE_HSTS_SECONDS`` (+ ``SECURE_HSTS_INCLUDE_SUBDOMAINS``, ``SECURE_HSTS_PRELOAD``)
    HTTP Strict Transport Security (default ``0``, off). Browsers remember
    it: start with a small value such as ``3600`` and raise it once HTTPS works
    everywhere, subdomains included.
``SECURE_PROXY_SSL_HEADER``
    Behind a proxy that terminates TLS, the header it sets to ``https``, as
    Django's request header name: ``HTTP_X_FORWARDED_PROTO``. Set it only
    when the proxy always sets (and overwrites) that header.
``KAKAOPAY_BACKEND``
    The alias payments use by default: ``sandbox`` (default), or ``checkout``
    / ``smart2pay`` / ``kakaopay`` / ``portone`` once their credentials below
    are set.
``KAKAOPAY_SANDBOX_NOTIFICATIONS``
    How the sandbox sends notifications: ``immediate`` (default), ``late``,
    ``twice``, ``out_of_order`` or ``none``.
``KAKAOPAY_SANDBOX_ALLOW_WITHOUT_DEBUG``
    Staging only: ``True`` keeps the sandbox serving with ``DEBUG=False``.
    Without it, ``manage.py check`` refuses the sandbox when ``DEBUG`` is off,
    because anyone could approve their own payment on its pages.
``KAKAOPAY_NOTIFICATION_PROCESSING``
    ``inline`` (default) or ``queued``: notifications are stored, answered,
    and processed by a worker of the database task queue (django-tasks-db),
    started with ``python example_project/manage.py db_worker``.
``KAKAOPAY_SITE_URL``
    This site's origin, for URLs built outside a request (default
    ``http://127.0.0.1:8000``).
``CHECKOUT_SECRET_KEY`` (+ ``CHECKOUT_PROCESSING_CHANNEL_ID``,
``CHECKOUT_ENVIRONMENT``, ``CHECKOUT_SUBDOMAIN_PREFIX``,
``CHECKOUT_WEBHOOK_SIGNATURE_KEYS``, ``CHECKOUT_WEBHOOK_AUTHORIZATION``,
``CHECKOUT_TERMINAL_TYPE``, ``CHECKOUT_OS_TYPE``)
    When set, adds the ``checkout`` backend (Checkout.com). With
    ``KAKAOPAY_BACKEND=checkout`` the shop pays through it.
``SMART2PAY_SITE_ID`` (+ ``SMART2PAY_API_KEY``, ``SMART2PAY_ENVIRONMENT``,
``SMART2PAY_KRW_EXPONENT``)
    When set, adds the ``smart2pay`` backend (Smart2Pay, KakaoPay method 1135).
``KAKAOPAY_DIRECT_SECRET_KEY`` (+ ``KAKAOPAY_DIRECT_CID``,
``KAKAOPAY_DIRECT_ENVIRONMENT``, ``KAKAOPAY_DIRECT_AUTHORIZATION_SCHEME``)
    When set, adds the ``kakaopay`` backend (KakaoPay's own Online Payment
    API; test CID ``TC0ONETIME`` by default). With ``KAKAOPAY_BACKEND=kakaopay``
    the shop pays through it. It sends no notifications: run
    ``manage.py kakaopay_reconcile`` every few minutes.
``PORTONE_API_SECRET`` (+ ``PORTONE_STORE_ID``, ``PORTONE_CHANNEL_KEY``,
``PORTONE_ENVIRONMENT`` (default ``test``), ``PORTONE_BILLING_CHANNEL_KEY``,
``PORTONE_WEBHOOK_SECRET``)
    When set, adds the ``portone`` backend (KakaoPay through PortOne V2: the
    V2 API secret, the store id and the KakaoPay channel's key; a second
    channel's key for agreements; the webhook secret, comma-separated while
    it is rotated). With ``KAKAOPAY_BACKEND=portone`` the shop pays through
    it. Without the webhook secret ``manage.py check`` reports
    ``kakaopay.E007``.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import environ
from django.utils.translation import gettext_lazy as _

# example_project/ (this file is example_project/config/settings.py)
PROJECT_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (PROJECT_DIR / ".env").is_file():
    env.read_env(str(PROJECT_DIR / ".env"))

SECRET_KEY = env(
    "SECRET_KEY", default="django-insecure-example-shop-dev-only-do-not-use-in-production"
)
DEBUG = env.bool("DEBUG", default=True)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])

# HTTPS, for a deployment (``manage.py check --deploy`` asks for each one).
# Off by default: the development server speaks plain HTTP.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=False)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=False)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
if env("SECURE_PROXY_SSL_HEADER", default=""):
    SECURE_PROXY_SSL_HEADER = (env("SECURE_PROXY_SSL_HEADER"), "https")

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
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "example_project.config.urls"
WSGI_APPLICATION = "example_project.config.wsgi.application"

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
            ],
        },
    },
]

# DATABASE_URL wins; otherwise a SQLite file next to manage.py.
DATABASES: dict[str, Any] = {
    "default": env.db(
        "DATABASE_URL", default="sqlite:///" + (PROJECT_DIR / "db.sqlite3").as_posix()
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("ko", _("Korean"))]
TIME_ZONE = "Asia/Seoul"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"

# -- KakaoPay -----------------------------------------------------------------

KAKAOPAY_BACKENDS: dict[str, dict[str, Any]] = {
    "sandbox": {
        "BACKEND": "django_kakaopay.backends.sandbox.SandboxBackend",
        "OPTIONS": {
            "MERCHANT_NAME": env("KAKAOPAY_MERCHANT_NAME", default="Example shop"),
            "NOTIFICATIONS": env("KAKAOPAY_SANDBOX_NOTIFICATIONS", default="immediate"),
            # Staging only: the sandbox approves any payment for free, so with
            # DEBUG off it must be asked for by name.
            "ALLOW_WITHOUT_DEBUG": env.bool("KAKAOPAY_SANDBOX_ALLOW_WITHOUT_DEBUG", default=False),
        },
    },
}

# Real providers are configured only when their credentials are in the
# environment, so a fresh checkout never imports a backend it cannot use.
if env("CHECKOUT_SECRET_KEY", default=""):
    KAKAOPAY_BACKENDS["checkout"] = {
        "BACKEND": "django_kakaopay.backends.checkout.CheckoutBackend",
        "OPTIONS": {
            "SECRET_KEY": env("CHECKOUT_SECRET_KEY"),
            "PROCESSING_CHANNEL_ID": env("CHECKOUT_PROCESSING_CHANNEL_ID", default=""),
            # "sandbox" or "production": always explicit, never derived from DEBUG.
            "ENVIRONMENT": env("CHECKOUT_ENVIRONMENT", default="sandbox"),
            "SUBDOMAIN_PREFIX": env("CHECKOUT_SUBDOMAIN_PREFIX", default=""),
            # Comma-separated; more than one while a key is being rotated.
            "WEBHOOK_SIGNATURE_KEYS": env.list("CHECKOUT_WEBHOOK_SIGNATURE_KEYS", default=[]),
            # The default when the customer's browser does not say: web, wap or app.
            "TERMINAL_TYPE": env("CHECKOUT_TERMINAL_TYPE", default="web"),
        },
    }
    if env("CHECKOUT_OS_TYPE", default=""):
        KAKAOPAY_BACKENDS["checkout"]["OPTIONS"]["OS_TYPE"] = env("CHECKOUT_OS_TYPE")
    if env("CHECKOUT_WEBHOOK_AUTHORIZATION", default=""):
        KAKAOPAY_BACKENDS["checkout"]["OPTIONS"]["WEBHOOK_AUTHORIZATION"] = env(
            "CHECKOUT_WEBHOOK_AUTHORIZATION"
        )
if env("SMART2PAY_SITE_ID", default=""):
    KAKAOPAY_BACKENDS["smart2pay"] = {
        "BACKEND": "django_kakaopay.backends.smart2pay.Smart2PayBackend",
        "OPTIONS": {
            "SITE_ID": env("SMART2PAY_SITE_ID"),
            "API_KEY": env("SMART2PAY_API_KEY", default=""),
            "ENVIRONMENT": env("SMART2PAY_ENVIRONMENT", default="test"),
        },
    }
    # Once you have confirmed on the test environment how KRW is scaled
    # (see the Smart2Pay docs page), say so: 0 for whole won, 2 for hundredths.
    if env("SMART2PAY_KRW_EXPONENT", default=""):
        KAKAOPAY_BACKENDS["smart2pay"]["OPTIONS"]["AMOUNT_EXPONENTS"] = {
            "KRW": env.int("SMART2PAY_KRW_EXPONENT")
        }

if env("KAKAOPAY_DIRECT_SECRET_KEY", default=""):
    KAKAOPAY_BACKENDS["kakaopay"] = {
        "BACKEND": "django_kakaopay.backends.kakaopay.KakaoPayBackend",
        "OPTIONS": {
            "SECRET_KEY": env("KAKAOPAY_DIRECT_SECRET_KEY"),
            "CID": env("KAKAOPAY_DIRECT_CID", default="TC0ONETIME"),
            # Required and never derived from DEBUG: which money moves is explicit.
            "ENVIRONMENT": env("KAKAOPAY_DIRECT_ENVIRONMENT", default="test"),
        },
    }
    if env("KAKAOPAY_DIRECT_AUTHORIZATION_SCHEME", default=""):
        KAKAOPAY_BACKENDS["kakaopay"]["OPTIONS"]["AUTHORIZATION_SCHEME"] = env(
            "KAKAOPAY_DIRECT_AUTHORIZATION_SCHEME"
        )

if env("PORTONE_API_SECRET", default=""):
    KAKAOPAY_BACKENDS["portone"] = {
        "BACKEND": "django_kakaopay.backends.portone.PortOneBackend",
        "OPTIONS": {
            "API_SECRET": env("PORTONE_API_SECRET"),
            # Public by design: both are written into the checkout page.
            "STORE_ID": env("PORTONE_STORE_ID", default=""),
            "CHANNEL_KEY": env("PORTONE_CHANNEL_KEY", default=""),
            # Which kind of channel the keys are: a payment on the other kind is ignored.
            "ENVIRONMENT": env("PORTONE_ENVIRONMENT", default="test"),
        },
    }
    # A second KakaoPay channel, the one that issues billing keys (agreements).
    if env("PORTONE_BILLING_CHANNEL_KEY", default=""):
        KAKAOPAY_BACKENDS["portone"]["OPTIONS"]["BILLING_CHANNEL_KEY"] = env(
            "PORTONE_BILLING_CHANNEL_KEY"
        )
    # Comma-separated: the old and the new secret while one is rotated.
    if env("PORTONE_WEBHOOK_SECRET", default=""):
        KAKAOPAY_BACKENDS["portone"]["OPTIONS"]["WEBHOOK_SECRETS"] = env.list(
            "PORTONE_WEBHOOK_SECRET"
        )

KAKAOPAY = {
    "DEFAULT_BACKEND": env("KAKAOPAY_BACKEND", default="sandbox"),
    "BACKENDS": KAKAOPAY_BACKENDS,
    "SITE_URL": env("KAKAOPAY_SITE_URL", default="http://127.0.0.1:8000"),
    "NOTIFICATION_PROCESSING": env("KAKAOPAY_NOTIFICATION_PROCESSING", default="inline"),
}

if KAKAOPAY["NOTIFICATION_PROCESSING"] == "queued":
    # A database queue in the shop's own database; Django 6 has the Tasks
    # framework built in, Django 5.2 needs the django-tasks backport.
    if importlib.util.find_spec("django.tasks") is None:
        INSTALLED_APPS.append("django_tasks")
    INSTALLED_APPS.append("django_tasks_db")
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "django_kakaopay": {
            "handlers": ["console"],
            "level": env("KAKAOPAY_LOG_LEVEL", default="INFO"),
        },
    },
}
