"""Settings for ``bench_webhooks.py``: the test settings plus the floor and peer apps.

``DATABASE_URL`` selects PostgreSQL (the benchmark creates and drops its own
database, ``bench_webhooks_kakaopay``, so it never touches the test suite's);
otherwise a SQLite file in a new temporary directory.

The same for every path measured: persistent connections (``CONN_MAX_AGE =
None``, one connection for the whole run) and ``ATOMIC_REQUESTS = False``
(Django's default), so each receiver runs exactly the transactions its own
code asks for. The example shop is left out: its ``payment_paid`` receiver
would add an UPDATE of its own to django-kakaopay's side only.
"""

from __future__ import annotations

import importlib.util
import tempfile
from pathlib import Path

from tests.settings import *  # noqa: F403
from tests.settings import DATABASES, INSTALLED_APPS

INSTALLED_APPS = [app for app in INSTALLED_APPS if app != "example_project.shop"]
INSTALLED_APPS += ["benchmarks.floorapp"]
ROOT_URLCONF = "benchmarks.urls_webhooks"

_database = DATABASES["default"]
_database["CONN_MAX_AGE"] = None
_database["ATOMIC_REQUESTS"] = False
if _database["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not :memory:, so that every commit costs what it costs on disk.
    _database["NAME"] = str(Path(tempfile.mkdtemp(prefix="kakaopay-bench-")) / "bench.sqlite3")
else:
    _database["TEST"] = {"NAME": "bench_webhooks_kakaopay"}

# Placeholders, not credentials: nothing here is ever sent anywhere.
FLOOR_WEBHOOK_KEY = "bench-floor-webhook-key"
CHECKOUT_WEBHOOK_KEY = "bench-checkout-webhook-key"
STRIPE_ENDPOINT_SECRET = "whsec_bench_placeholder"  # noqa: S105

KAKAOPAY = {
    "DEFAULT_BACKEND": "checkout",
    "BACKENDS": {
        "sandbox": {
            "BACKEND": "django_kakaopay.backends.sandbox.SandboxBackend",
            "OPTIONS": {
                "MERCHANT_NAME": "Bench shop",
                "NOTIFICATIONS": "none",
                "ALLOW_WITHOUT_DEBUG": True,
            },
        },
        "checkout": {
            "BACKEND": "django_kakaopay.backends.checkout.CheckoutBackend",
            "OPTIONS": {
                "SECRET_KEY": "sk_sbox_bench_placeholder",
                "PROCESSING_CHANNEL_ID": "pc_benchbenchbenchbenchbenchb",
                "ENVIRONMENT": "sandbox",
                "SUBDOMAIN_PREFIX": "benchpfx",
                "WEBHOOK_SIGNATURE_KEYS": [CHECKOUT_WEBHOOK_KEY],
            },
        },
    },
    "SITE_URL": "http://testserver",
}

# The django-payments peer, when the ``bench`` extra is installed.
HAVE_DJANGO_PAYMENTS = all(
    importlib.util.find_spec(name) is not None for name in ("payments", "stripe")
)
if HAVE_DJANGO_PAYMENTS:
    INSTALLED_APPS += ["payments", "benchmarks.peerapp"]
    PAYMENT_HOST = "testserver"
    PAYMENT_USES_SSL = False
    PAYMENT_MODEL = "peerapp.PeerPayment"
    PAYMENT_VARIANTS = {
        "stripe": (
            "payments.stripe.StripeProviderV3",
            {
                "api_key": "sk_test_bench_placeholder",
                "endpoint_secret": STRIPE_ENDPOINT_SECRET,
                "secure_endpoint": True,
            },
        ),
    }
