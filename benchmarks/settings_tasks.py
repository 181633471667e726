"""Settings for ``bench_tasks.py``: ``settings_webhooks`` plus a database task queue.

Two sandbox aliases with the same options: ``sandbox`` processes its
notifications inline, ``sandbox_queued`` (its entry's own
``NOTIFICATION_PROCESSING``) stores, acknowledges and leaves them to
``django_kakaopay.tasks.process_notification`` on django-tasks-db's
``DatabaseBackend`` (``sandbox_queued_memory``, the same, is timed with the
framework's in-memory dummy backend, to tell the enqueue's own cost). On PostgreSQL the benchmark creates and drops its own
database, ``bench_tasks_kakaopay``; the ``db_worker`` processes it starts get
``KAKAOPAY_BENCH_WORKER=1`` and a ``DATABASE_URL`` naming that database, which
they only read and write rows in.
"""

from __future__ import annotations

import os
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from benchmarks.settings_webhooks import *  # noqa: F403
from benchmarks.settings_webhooks import DATABASES, INSTALLED_APPS, KAKAOPAY

BENCH_DATABASE = "bench_tasks_kakaopay"

if "django_tasks_db" not in INSTALLED_APPS:
    INSTALLED_APPS = [*INSTALLED_APPS, "django_tasks_db"]
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

_kakaopay: dict[str, Any] = dict(KAKAOPAY)
_sandbox = _kakaopay["BACKENDS"]["sandbox"]
KAKAOPAY = {
    **_kakaopay,
    "BACKENDS": {
        **_kakaopay["BACKENDS"],
        "sandbox_queued": {**_sandbox, "NOTIFICATION_PROCESSING": "queued"},
        # The same, timed with an in-memory task backend (the enqueue writes nothing).
        "sandbox_queued_memory": {**_sandbox, "NOTIFICATION_PROCESSING": "queued"},
    },
}

_database = DATABASES["default"]
if _database["ENGINE"] != "django.db.backends.sqlite3":
    _database["TEST"] = {"NAME": BENCH_DATABASE}
if os.environ.get("KAKAOPAY_BENCH_WORKER") == "1" and _database["NAME"] != BENCH_DATABASE:
    raise ImproperlyConfigured(
        f"A bench_tasks worker runs only in the benchmark's own database, {BENCH_DATABASE}."
    )
