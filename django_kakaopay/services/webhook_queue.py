"""The queued notification mode: store, acknowledge, and process in a task.

A delivery is authenticated and size-checked in the request as always, then
stored under its event id as ``queued`` and answered with the provider's
success code once that row is committed; its processing is enqueued after
the commit (``django_kakaopay.tasks.process_notification``). Nothing is
acknowledged that is not stored. A delivery whose event is already finished
is a duplicate, as inline; one whose row is still unfinished (queued, or
failed) takes it over and enqueues it again, and the row lock in
``process_event`` makes any number of tasks for one row apply it once.

If the queue cannot be reached, or a worker dies holding the task (a
database queue never runs a killed worker's task again), the row stays
``queued``: ``kakaopay_replay_webhooks`` (or its task) processes it from its
stored body once it is older than ``WEBHOOK_STALE_AFTER``. It was
authenticated before it was stored, so its body is applied as a delivery's.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from django.db import transaction

from ..backends.base import BaseBackend
from ..backends.types import WebhookOutcome
from ..models import WebhookEvent, WebhookEventStatus
from . import inbox

logger = logging.getLogger("django_kakaopay")


def receive_queued(
    backend: BaseBackend, body: bytes, headers: Mapping[str, str], remote_addr: str | None
) -> tuple[int, WebhookOutcome, WebhookEvent | None]:
    """Store an authenticated delivery for a task; what to answer and the row.

    Returns ``(event_pk, outcome, event)``: ``event_pk`` is 0 for a duplicate.
    """
    event_id, event_type = backend.notification_identity(body, headers)
    delivery = inbox.Delivery(
        backend=backend.alias,
        key=inbox.event_key(event_id if isinstance(event_id, str) else "", body),
        body=body,
        headers=inbox.clean_headers(backend.redact_headers(headers)),
        remote_addr=inbox.clean_address(remote_addr),
        event_type=inbox.clean_text(event_type if isinstance(event_type, str) else "", 100),
    )
    with transaction.atomic():
        event = inbox.claim(delivery, WebhookEventStatus.QUEUED)
        if event is None:
            return 0, WebhookOutcome.DUPLICATE, None
        pk = int(event.pk)
        transaction.on_commit(lambda: enqueue_processing(pk))
    return pk, WebhookOutcome.PROCESSED, event


def enqueue_processing(event_pk: int) -> None:
    """Hand the stored row to the task queue; a queue that is down loses nothing."""
    try:
        from ..tasks import process_notification

        process_notification.enqueue(event_pk)
    except Exception:
        logger.exception(
            "Could not enqueue notification %s; it stays received until "
            "kakaopay_replay_webhooks settles it",
            event_pk,
        )
