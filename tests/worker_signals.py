"""What a ``db_worker`` started by ``tests/test_tasks_worker.py`` records, and where it stops.

Installed only in the worker's settings (``KAKAOPAY_TEST_TASKS=database``, see
the bottom of ``tests/settings.py``), as an app whose ``ready()`` connects:

* a ``payment_paid`` receiver appending ``<payment pk> <pid> <source>`` to the
  file ``KAKAOPAY_TEST_SIGNAL_LOG`` names: the signal fires in the worker, so
  the test counts it there;
* when ``KAKAOPAY_TEST_STALL_EVENT`` names an inbox event key, a stop in the
  middle of that notification's processing: once its task has moved the
  payment (the compare-and-set and the transition log written, nothing
  committed yet, the rows locked), the worker writes the file
  ``KAKAOPAY_TEST_STALL_MARKER`` names and waits there, so that the test's
  SIGKILL lands on a task that is certainly half-done.

Nothing here changes what the worker does otherwise.
"""

from __future__ import annotations

import importlib
import os
import time
from typing import Any

from django.apps import AppConfig

SIGNAL_LOG = "KAKAOPAY_TEST_SIGNAL_LOG"
STALL_EVENT = "KAKAOPAY_TEST_STALL_EVENT"
STALL_MARKER = "KAKAOPAY_TEST_STALL_MARKER"
STALE_AFTER = "KAKAOPAY_TEST_STALE_AFTER"
# How long the stopped worker waits for its SIGKILL before it goes on by itself.
STALL_SECONDS = 60.0
# The statement that moves a payment and writes its transition log.
TRANSITION_LOG = '"django_kakaopay_statustransition"'


def queued_kakaopay(base: dict[str, Any], stale_after: int) -> dict[str, Any]:
    """``base`` (the test settings' ``KAKAOPAY``) in queued mode, as both sides use it.

    Retries come after a second, not 30, so that a failure would be retried
    within the test; rows ``received`` for ``stale_after`` seconds count as stranded.
    """
    return {
        **base,
        "NOTIFICATION_PROCESSING": "queued",
        "NOTIFICATION_TASK_BACKOFF": 1,
        "WEBHOOK_STALE_AFTER": stale_after,
    }


class _Stall:
    """Whether this worker is running the task to stop in (one task at a time)."""

    armed = False
    done = False


def _record_paid(sender: Any, instance: Any, source: str = "", **kwargs: Any) -> None:
    path = os.environ.get(SIGNAL_LOG)
    if not path:
        return
    # One short write in append mode: lines from several workers do not interleave.
    with open(path, "a", encoding="utf-8") as log:
        log.write(f"{instance.pk} {os.getpid()} {source}\n")


def _arm(sender: Any, task_result: Any, **kwargs: Any) -> None:
    from django_kakaopay.models import WebhookEvent

    key = os.environ.get(STALL_EVENT, "")
    args = list(getattr(task_result, "args", []) or [])
    if _Stall.done or not key or not args or task_result.task.name != "process_notification":
        return
    _Stall.armed = WebhookEvent.objects.filter(pk=args[0], event_key=key).exists()


def _stall_after_the_transition(
    execute: Any, sql: str, params: Any, many: bool, context: Any
) -> Any:
    result = execute(sql, params, many, context)
    if _Stall.armed and TRANSITION_LOG in sql and "INSERT" in sql.upper():
        _Stall.armed, _Stall.done = False, True
        marker = os.environ.get(STALL_MARKER, "")
        if marker:
            with open(marker, "w", encoding="utf-8") as out:
                out.write(f"{os.getpid()}\n")
        time.sleep(STALL_SECONDS)
    return result


def _wrap_connection(sender: Any, connection: Any, **kwargs: Any) -> None:
    if _stall_after_the_transition not in connection.execute_wrappers:
        connection.execute_wrappers.append(_stall_after_the_transition)


class WorkerSignalsConfig(AppConfig):
    name = "tests"
    label = "kakaopay_test_worker"
    verbose_name = "django-kakaopay test worker hooks"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from django_kakaopay import signals

        signals.payment_paid.connect(_record_paid, weak=False)
        if os.environ.get(STALL_EVENT):
            from django_kakaopay.task_framework import require

            task_signals = importlib.import_module(f"{require().__name__}.signals")
            task_signals.task_started.connect(_arm, weak=False)
            connection_created.connect(_wrap_connection, weak=False)
