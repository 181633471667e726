"""Receiving provider notifications through the inbox.

1. The raw notification is stored (or found, for a repeated delivery) before
   anything else, in its own committed write.
2. The backend authenticates it; a forgery changes nothing and gets 401/403.
3. Under a lock on the inbox row it is parsed and applied in one transaction;
   the row is marked processed in that same transaction, so it is processed
   only if its changes committed. A failure leaves it ``failed`` for replay and
   answers 5xx so the provider retries.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ..backends.base import BaseBackend, WebhookOutcome
from ..conf import get_backend
from ..exceptions import MalformedWebhook, WebhookAuthenticationError
from ..models import ChangeSource, WebhookEvent, WebhookEventStatus
from .apply import Outcome, apply_update

logger = logging.getLogger("django_kakaopay.webhooks")

FINISHED = (WebhookEventStatus.PROCESSED, WebhookEventStatus.IGNORED)


@dataclass(frozen=True)
class WebhookResponse:
    status_code: int
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"
    event: WebhookEvent | None = None


def receive_webhook(
    alias: str, body: bytes, headers: Mapping[str, str], remote_addr: str | None = None
) -> WebhookResponse:
    """Store, authenticate and process one inbound notification for backend ``alias``."""
    backend = get_backend(alias)
    event = _store(backend, body, headers, remote_addr)
    try:
        backend.verify_webhook(body, headers, remote_addr)
    except WebhookAuthenticationError as exc:
        logger.warning("Rejected a notification for %s: %s", alias, exc)
        WebhookEvent.objects.filter(pk=event.pk, status=WebhookEventStatus.RECEIVED).update(
            status=WebhookEventStatus.REJECTED, last_error=str(exc), updated_at=timezone.now()
        )
        return WebhookResponse(exc.status_code, b"authentication failed", event=event)
    return process_event(event, backend, body=body, headers=headers)


def _store(
    backend: BaseBackend, body: bytes, headers: Mapping[str, str], remote_addr: str | None
) -> WebhookEvent:
    key = backend.webhook_event_key(body)[:255]
    try:
        with transaction.atomic():
            return WebhookEvent.objects.create(
                backend=backend.alias,
                event_key=key,
                body=body,
                headers=backend.redact_headers(headers),
                remote_addr=remote_addr or None,
            )
    except IntegrityError:
        # A repeated delivery, or a concurrent one that won the insert.
        return WebhookEvent.objects.get(backend=backend.alias, event_key=key)


def process_event(
    event: WebhookEvent,
    backend: BaseBackend | None = None,
    *,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    source: ChangeSource | str = ChangeSource.WEBHOOK,
) -> WebhookResponse:
    """Apply an authenticated inbox row. Also used to replay failed rows.

    ``body`` is the just-received delivery; when given it replaces a stored
    body that never got processed (an earlier, unauthenticated copy).
    """
    backend = backend or get_backend(event.backend)
    with transaction.atomic():
        locked = WebhookEvent.objects.select_for_update().get(pk=event.pk)
        if locked.status in FINISHED:
            return _ack(backend, WebhookOutcome.DUPLICATE, locked)
        if body is not None and bytes(locked.body) != body:
            locked.body = body
            locked.headers = backend.redact_headers(headers or {})
        locked.attempts += 1
        raw = bytes(locked.body)
        try:
            with transaction.atomic():
                parsed = backend.parse_webhook(raw, headers or locked.headers)
                locked.event_type = parsed.event_type[:100]
                problems = []
                applied_any = False
                for update in parsed.updates:
                    result = apply_update(
                        backend.alias,
                        update,
                        source=source,
                        evidence={"webhook_event": locked.pk, "event_type": parsed.event_type},
                    )
                    if result.outcome in (Outcome.NOT_FOUND, Outcome.MISMATCH):
                        problems.append(result.detail or result.outcome.value)
                    else:
                        applied_any = True
        except MalformedWebhook as exc:
            _finish(locked, WebhookEventStatus.FAILED, str(exc))
            return WebhookResponse(400, b"malformed notification", event=locked)
        except Exception as exc:
            # The savepoint rolled back every change; keep the row for replay
            # and make the provider retry.
            logger.exception("Processing notification %s failed", locked.pk)
            _finish(locked, WebhookEventStatus.FAILED, f"{type(exc).__name__}: {exc}")
            return WebhookResponse(500, b"processing failed", event=locked)
        status = WebhookEventStatus.PROCESSED if applied_any else WebhookEventStatus.IGNORED
        _finish(locked, status, "; ".join(problems))
        outcome = WebhookOutcome.PROCESSED if applied_any else WebhookOutcome.IGNORED
        return _ack(backend, outcome, locked)


def _finish(event: WebhookEvent, status: str, error: str) -> None:
    event.status = status
    event.last_error = error
    if status in FINISHED:
        event.processed_at = timezone.now()
    event.save()


def _ack(backend: BaseBackend, outcome: WebhookOutcome, event: WebhookEvent) -> WebhookResponse:
    ack = backend.acknowledge(outcome)
    return WebhookResponse(ack.status_code, ack.body, ack.content_type, event)


def replay_event(event: WebhookEvent) -> WebhookResponse:
    """Process a ``failed`` notification again.

    Only failed rows qualify: they passed authentication before processing
    failed. A ``received`` row may never have been authenticated, and its
    credentials were not stored, so it waits for the provider's retry; a
    ``rejected`` one failed authentication.
    """
    if event.status != WebhookEventStatus.FAILED:
        raise WebhookAuthenticationError(
            _("Only failed notifications can be replayed; this one is %(status)s.")
            % {"status": event.get_status_display()}
        )
    return process_event(event)
