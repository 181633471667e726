"""Receiving provider notifications through the inbox.

The order of work for one delivery:

1. A body over ``WEBHOOK_MAX_BODY_BYTES`` is refused (413) and not stored.
2. The backend authenticates the raw bytes and headers before anything parses
   them. A forgery changes nothing, answers 401/403 and leaves at most a
   bounded diagnostic row (:func:`.inbox.keep_rejected`).
3. The body is parsed defensively and every update checked; an authenticated
   but unusable notification is stored as ``malformed`` and answered 400, so
   the provider does not retry it forever.
4. One transaction writes the inbox row, applies the updates and records the
   outcome. If it does not commit, nothing was acknowledged and the provider
   retries; the failure is then kept as a ``failed`` row (replayable) in a
   transaction of its own, and answered 5xx.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from ..backends.base import BaseBackend
from ..backends.payloads import MAX_AMOUNT, storable
from ..backends.types import (
    ParsedWebhook,
    PaymentSnapshot,
    PreapprovalSnapshot,
    RefundSnapshot,
    Snapshot,
    WebhookOutcome,
)
from ..conf import get_backend, get_setting, notification_mode
from ..exceptions import (
    MalformedWebhook,
    WebhookAuthenticationError,
    WebhookNotReplayable,
    WebhookUnconfirmed,
)
from ..models import ChangeSource, WebhookEvent, WebhookEventStatus
from ..status import PaymentStatus, PreapprovalStatus, RefundStatus
from . import inbox
from .apply import Outcome, apply_update
from .transitions import actor_evidence

logger = logging.getLogger("django_kakaopay.webhooks")

FINISHED = (WebhookEventStatus.PROCESSED, WebhookEventStatus.IGNORED)
# Statuses a replay may take on when asked for by id.
REPLAYABLE = (WebhookEventStatus.FAILED, WebhookEventStatus.MALFORMED)


@dataclass(frozen=True)
class WebhookResponse:
    status_code: int
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"
    event: WebhookEvent | None = None


def webhook_body_limit() -> int:
    return int(get_setting("WEBHOOK_MAX_BODY_BYTES"))


def webhook_too_large() -> WebhookResponse:
    return WebhookResponse(413, b"notification too large")


def receive_webhook(
    alias: str, body: bytes, headers: Mapping[str, str], remote_addr: str | None = None
) -> WebhookResponse:
    """Authenticate, store and apply one inbound notification for backend ``alias``."""
    backend = get_backend(alias)
    if len(body) > webhook_body_limit():
        return webhook_too_large()
    try:
        backend.verify_webhook(body, headers, remote_addr)
    except WebhookAuthenticationError as exc:
        logger.warning("Rejected a notification for %s: %s", alias, exc)
        inbox.keep_rejected(alias, body, backend.redact_headers(headers), remote_addr, str(exc))
        return WebhookResponse(exc.status_code, b"authentication failed")
    except Exception as exc:
        # Whatever stopped the check, the sender is not authenticated.
        logger.exception("Verifying a notification for %s failed", alias)
        inbox.keep_rejected(
            alias,
            body,
            backend.redact_headers(headers),
            remote_addr,
            f"{type(exc).__name__}: {exc}",
        )
        return WebhookResponse(401, b"authentication failed")
    if notification_mode(alias) == "queued":
        return _receive_queued(backend, body, headers, remote_addr)
    reading = read_notification(backend, body, headers)
    parsed = reading.parsed
    delivery = inbox.Delivery(
        backend=alias,
        key=inbox.event_key(reading.event_id, body),
        body=body,
        headers=inbox.clean_headers(backend.redact_headers(headers)),
        remote_addr=inbox.clean_address(remote_addr),
        event_type=inbox.clean_text(parsed.event_type, 100) if parsed else "",
    )
    try:
        with transaction.atomic():
            event = inbox.claim(delivery, _first_status(reading), reading.problem)
            if event is None:
                return _ack(backend, WebhookOutcome.DUPLICATE)
            if reading.unconfirmed:
                return _retry_later(event)
            return _apply(backend, parsed, event, ChangeSource.WEBHOOK)
    except Exception as exc:
        return _failed(exc, lambda error: _claim_failed(delivery, error))


def _receive_queued(
    backend: BaseBackend, body: bytes, headers: Mapping[str, str], remote_addr: str | None
) -> WebhookResponse:
    from .webhook_queue import receive_queued

    try:
        _pk, outcome, event = receive_queued(backend, body, headers, remote_addr)
    except Exception as exc:
        # Not stored, so not acknowledged: the provider delivers it again.
        return _failed(exc, lambda error: None)
    return _ack(backend, outcome, event)


@dataclass(frozen=True)
class Reading:
    """The backend's reading of an authenticated body."""

    parsed: ParsedWebhook | None
    problem: str = ""
    event_id: str = ""
    # The body is fine but the provider did not answer the look-up it asks
    # for: kept as failed, to be delivered or replayed again.
    unconfirmed: bool = False


def read_notification(backend: BaseBackend, body: bytes, headers: Mapping[str, str]) -> Reading:
    """Parse and check an authenticated body; ``parsed`` is ``None`` when it is unusable."""
    try:
        parsed = backend.parse_webhook(body, headers)
        if not isinstance(parsed.event_id, str) or not isinstance(parsed.event_type, str):
            raise MalformedWebhook(_("The notification has no readable id or type."))
        for update in parsed.updates:
            problem = update_problem(update)
            if problem:
                raise MalformedWebhook(problem, event_id=parsed.event_id)
    except MalformedWebhook as exc:
        event_id = exc.event_id if isinstance(exc.event_id, str) else ""
        unconfirmed = isinstance(exc, WebhookUnconfirmed)
        return Reading(None, str(exc) or _("The notification is malformed."), event_id, unconfirmed)
    except Exception as exc:
        # A backend that trips over a body it authenticated: the body will not
        # read better on the next delivery, so it is kept for a person.
        logger.exception("Parsing a notification for %s failed", backend.alias)
        return Reading(None, f"{type(exc).__name__}: {exc}")
    return Reading(parsed, event_id=parsed.event_id)


_ID_LIMITS = {
    "provider_payment_id": 128,
    "provider_session_id": 128,
    "provider_refund_id": 128,
    "provider_preapproval_id": 128,
    "reference": 100,
    "payment_reference": 100,
}
_STATUSES: dict[type, frozenset[str]] = {
    PaymentSnapshot: frozenset(PaymentStatus.values),
    RefundSnapshot: frozenset(RefundStatus.values),
    PreapprovalSnapshot: frozenset(PreapprovalStatus.values),
}


def update_problem(update: Snapshot) -> str:
    """Why an update cannot be applied as it is, or ``""``.

    Checked before the transaction, so that a value no column can hold is a
    permanent "malformed", not a database error retried forever.
    """
    if type(update) not in _STATUSES:
        return _("The backend returned an update of an unknown kind.")
    if update.status is not None and update.status not in _STATUSES[type(update)]:
        return _("The backend returned an unknown status %(status)r.") % {"status": update.status}
    for item in dataclasses.fields(update):
        value = getattr(update, item.name)
        if isinstance(value, str):
            limit = _ID_LIMITS.get(item.name)
            if not storable(value) or (limit is not None and len(value) > limit):
                return _("The notification's %(field)s cannot be stored.") % {"field": item.name}
        elif item.name in ("amount", "refunded_amount") and value is not None:
            if isinstance(value, bool) or not isinstance(value, int):
                return _("The notification's %(field)s is not a whole number.") % {
                    "field": item.name
                }
            if not 0 <= value <= MAX_AMOUNT:
                return _("The notification's %(field)s is out of range.") % {"field": item.name}
    return ""


def _first_status(reading: Reading) -> str:
    """The status a row is written with; most deliveries need no second write."""
    parsed = reading.parsed
    if reading.unconfirmed:
        return WebhookEventStatus.FAILED
    if parsed is None:
        return WebhookEventStatus.MALFORMED
    return WebhookEventStatus.PROCESSED if parsed.updates else WebhookEventStatus.IGNORED


def _apply(
    backend: BaseBackend,
    parsed: ParsedWebhook | None,
    event: WebhookEvent,
    source: ChangeSource | str,
    actor: AbstractBaseUser | None = None,
) -> WebhookResponse:
    """Apply a claimed row's updates and record the outcome (inside its transaction).

    ``actor`` is the staff member replaying the row, if one is.
    """
    if parsed is None:
        return WebhookResponse(400, b"malformed notification", event=event)
    problems = []
    applied_any = False
    for update in parsed.updates:
        result = apply_update(
            backend.alias,
            update,
            source=source,
            evidence={
                "webhook_event": event.pk,
                "event_type": event.event_type,
                **actor_evidence(actor),
            },
        )
        if result.outcome in (Outcome.NOT_FOUND, Outcome.MISMATCH):
            problems.append(result.detail or result.outcome.value)
        else:
            applied_any = True
    status = WebhookEventStatus.PROCESSED if applied_any else WebhookEventStatus.IGNORED
    error = "; ".join(problems)
    if status != event.status or error:
        inbox.finish(event, status, error)
    outcome = WebhookOutcome.PROCESSED if applied_any else WebhookOutcome.IGNORED
    return _ack(backend, outcome, event)


def _retry_later(event: WebhookEvent) -> WebhookResponse:
    """The provider did not confirm what the notification hints at: ask it to deliver again."""
    return WebhookResponse(
        503, b"could not confirm the notification; deliver it again", event=event
    )


def _failed(exc: Exception, record: Callable[[str], WebhookEvent | None]) -> WebhookResponse:
    """The transaction rolled back: keep the row as failed and make the provider retry."""
    logger.exception("Processing a notification failed")
    error = f"{type(exc).__name__}: {exc}"
    try:
        event = record(error)
    except Exception:
        # The database itself is failing; the provider's retry is the record.
        logger.exception("Could not record the failed notification")
        event = None
    return WebhookResponse(500, b"processing failed", event=event)


def _claim_failed(delivery: inbox.Delivery, error: str) -> WebhookEvent | None:
    with transaction.atomic():
        return inbox.claim(delivery, WebhookEventStatus.FAILED, error)


def _ack(
    backend: BaseBackend, outcome: WebhookOutcome, event: WebhookEvent | None = None
) -> WebhookResponse:
    ack = backend.acknowledge(outcome)
    return WebhookResponse(ack.status_code, ack.body, ack.content_type, event)


def process_event(
    event: WebhookEvent,
    backend: BaseBackend | None = None,
    *,
    source: ChangeSource | str = ChangeSource.WEBHOOK,
    actor: AbstractBaseUser | None = None,
) -> WebhookResponse:
    """Apply a stored, authenticated row again from its body (a replay).

    The row is locked, read again from its stored body and applied in one
    transaction, as a new delivery would be. ``actor``, the staff member
    replaying it, is named in the evidence of what it changes.
    """
    backend = backend or get_backend(event.backend)
    body = bytes(event.body)
    reading = read_notification(backend, body, event.headers or {})
    parsed, problem = reading.parsed, reading.problem
    try:
        with transaction.atomic():
            locked = WebhookEvent.objects.select_for_update().filter(pk=event.pk).first()
            if locked is None or locked.status in FINISHED:
                return _ack(backend, WebhookOutcome.DUPLICATE, locked)
            locked.status = _first_status(reading)
            locked.attempts += 1
            locked.last_error = inbox.clean_text(problem, 2000) if problem else ""
            locked.updated_at = timezone.now()
            locked.processed_at = locked.updated_at if locked.status in FINISHED else None
            locked.save(
                update_fields=["status", "attempts", "last_error", "updated_at", "processed_at"]
            )
            if reading.unconfirmed:
                response = _retry_later(locked)
            else:
                response = _apply(backend, parsed, locked, source, actor)
    except Exception as exc:
        return _failed(exc, lambda error: _mark_failed(event.pk, error))
    _copy_row(response.event or locked, event)
    return dataclasses.replace(response, event=event)


def _mark_failed(pk: int, error: str) -> WebhookEvent | None:
    with transaction.atomic():
        WebhookEvent.objects.filter(pk=pk).update(
            status=WebhookEventStatus.FAILED,
            attempts=F("attempts") + 1,
            last_error=inbox.clean_text(error, 2000),
            updated_at=timezone.now(),
        )
    return WebhookEvent.objects.filter(pk=pk).first()


def _copy_row(source: WebhookEvent, target: WebhookEvent) -> None:
    for name in ("status", "attempts", "last_error", "updated_at", "processed_at"):
        setattr(target, name, getattr(source, name))


def replay_event(
    event: WebhookEvent,
    *,
    source: ChangeSource | str = ChangeSource.WEBHOOK,
    actor: AbstractBaseUser | None = None,
) -> WebhookResponse:
    """Process a ``failed`` or ``malformed`` notification again.

    ``source`` records who asked for the replay (``admin``, ``command``) in
    the transition log, and ``actor`` the staff member; the evidence still
    names the notification.

    Only rows that passed authentication qualify; a ``rejected`` one failed it.
    A ``received`` row is settled by :func:`.replay.settle_stranded` instead.
    """
    if event.status not in REPLAYABLE:
        raise WebhookNotReplayable(
            _("Only failed or malformed notifications can be replayed; this one is %(status)s.")
            % {"status": event.get_status_display()}
        )
    return process_event(event, source=source, actor=actor)
