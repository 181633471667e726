"""Background work as tasks of Django's Tasks framework (``django.tasks``, or the backport).

``process_notification`` processes one stored notification (the queued
mode's worker side); ``reconcile``, ``charge_due`` and
``replay_failed_notifications`` run what the ``kakaopay_reconcile``,
``kakaopay_charge_due`` and ``kakaopay_replay_webhooks`` commands run, with
the same row locks, so a task and a cron job running at the same moment
never do the same work twice. Arguments and results are JSON values, as
every task backend needs.

Importing this module needs the framework (see
:mod:`django_kakaopay.task_framework`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from django.utils import timezone

from . import services
from .conf import get_setting
from .models import ChangeSource, WebhookEvent, WebhookEventStatus
from .task_framework import supports_defer, task_decorator

logger = logging.getLogger("django_kakaopay")
# @task() turns a function into the framework's Task (its class depends on the Django).
task: Callable[[], Callable[[Callable[..., Any]], Any]] = task_decorator()

# What process_notification reports, by the row's status afterwards.
FINISHED = frozenset({WebhookEventStatus.PROCESSED, WebhookEventStatus.IGNORED})


@task()
def process_notification(event_id: int) -> str:
    """Process the stored notification ``event_id``; retried with backoff when it fails.

    The row is locked and applied as an inline delivery would be, so any
    number of workers, and the provider's own retries, apply it once. A row
    already finished is left alone. A failure stays visible (and replayable)
    in the inbox and the admin; it is tried again ``NOTIFICATION_TASK_ATTEMPTS``
    times in all, waiting ``NOTIFICATION_TASK_BACKOFF`` seconds, then twice
    that, and so on, when the task backend can run tasks later.
    """
    event = WebhookEvent.objects.filter(pk=event_id).first()
    if event is None:
        return "missing"
    if event.status in FINISHED:
        return str(event.status)
    response = services.process_event(event, source=ChangeSource.WEBHOOK)
    status = str(response.event.status) if response.event is not None else "unknown"
    if response.status_code >= 500:
        _retry_later(event_id, response.event.attempts if response.event is not None else 1)
    return status


def _retry_later(event_id: int, attempts: int) -> None:
    allowed = int(get_setting("NOTIFICATION_TASK_ATTEMPTS"))
    # The row's first attempt is its receipt; processing attempts come after.
    processed = max(attempts - 1, 1)
    if processed >= allowed:
        logger.warning(
            "Notification %s failed %s times; left failed for kakaopay_replay_webhooks",
            event_id,
            processed,
        )
        return
    if not supports_defer(process_notification):
        logger.warning(
            "Notification %s failed; the task backend cannot run it later, so it is "
            "left failed for kakaopay_replay_webhooks",
            event_id,
        )
        return
    delay = float(get_setting("NOTIFICATION_TASK_BACKOFF")) * 2 ** (processed - 1)
    run_after = timezone.now() + timedelta(seconds=delay)
    process_notification.using(run_after=run_after).enqueue(event_id)


@task()
def reconcile(
    backend: str | None = None,
    limit: int | None = None,
    older_than: float | None = None,
    expire_after: float | None = None,
) -> dict[str, Any]:
    """What ``kakaopay_reconcile`` does; the outcome counts as the result."""
    report = services.reconcile(
        backend=backend,
        limit=limit,
        older_than=older_than,
        expire_after=expire_after,
        source=ChangeSource.COMMAND,
    )
    return {"checked": report.checked, **_counts(report.results, "outcome")}


@task()
def charge_due(
    backend: str | None = None, limit: int | None = None, today: str | None = None
) -> dict[str, Any]:
    """What ``kakaopay_charge_due`` does; ``today`` as ``YYYY-MM-DD`` (default: today)."""
    report = services.charge_due_preapprovals(
        backend=backend, limit=limit, today=date.fromisoformat(today) if today else None
    )
    return {
        "today": report.today.isoformat(),
        "charged": report.charged,
        "pending": report.pending,
        **_counts(report.lines, "outcome"),
    }


@task()
def replay_failed_notifications(
    backend: str | None = None, limit: int | None = None, max_attempts: int | None = 10
) -> dict[str, Any]:
    """What ``kakaopay_replay_webhooks`` does without ids: failed and stranded rows.

    As the command, a row already processed ``max_attempts`` times is held
    back for a person (``None`` or ``0``: none is).
    """
    report = services.replay_failed_events(
        backend=backend, limit=limit, max_attempts=max_attempts or None
    )
    return {
        "replayed": report.replayed,
        "failed": report.failed,
        **_counts(report.lines, "outcome"),
    }


def _counts(lines: Any, attribute: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for line in lines:
        key = str(getattr(getattr(line, attribute), "value", getattr(line, attribute)))
        counts[key] = counts.get(key, 0) + 1
    return counts
