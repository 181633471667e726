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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial

from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from ..backends.base import BaseBackend, WebhookOutcome
from ..conf import get_backend
from ..exceptions import MalformedWebhook, WebhookAuthenticationError, WebhookNotReplayable
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


def replay_event(
    event: WebhookEvent, *, source: ChangeSource | str = ChangeSource.WEBHOOK
) -> WebhookResponse:
    """Process a ``failed`` notification again.

    ``source`` records who asked for the replay (``admin``, ``command``) in
    the transition log; the evidence still names the notification.

    Only failed rows qualify: they passed authentication before processing
    failed. A ``received`` row may never have been authenticated, and its
    credentials were not stored, so it waits for the provider's retry; a
    ``rejected`` one failed authentication.
    """
    if event.status != WebhookEventStatus.FAILED:
        raise WebhookNotReplayable(
            _("Only failed notifications can be replayed; this one is %(status)s.")
            % {"status": event.get_status_display()}
        )
    return process_event(event, source=source)


class ReplayOutcome(models.TextChoices):
    # The label is what the commands print, translated; the value is stable.
    # processed (or ignored) this time
    REPLAYED = "replayed", pgettext_lazy("outcome", "replayed")
    # processing failed again; the row stays failed
    FAILED = "failed", pgettext_lazy("outcome", "failed")
    # not failed, or held by another runner
    SKIPPED = "skipped", pgettext_lazy("outcome", "skipped")
    # failed authentication: never replayed
    REJECTED = "rejected", pgettext_lazy("outcome", "rejected")
    # no such inbox row
    NOT_FOUND = "not_found", pgettext_lazy("outcome", "not found")
    # failed too often to retry on its own; replay it by id
    HELD_BACK = "held_back", pgettext_lazy("outcome", "held back")


@dataclass(frozen=True)
class ReplayLine:
    event: int | str
    outcome: ReplayOutcome
    backend: str = ""
    status: str = ""
    detail: str = ""

    def __str__(self) -> str:
        text = f"{self.outcome.label}: {self.backend or '?'} #{self.event} [{self.status}]"
        return f"{text} {self.detail}" if self.detail else text


@dataclass
class ReplayReport:
    lines: list[ReplayLine] = field(default_factory=list)

    def count(self, *outcomes: ReplayOutcome) -> int:
        return sum(1 for line in self.lines if line.outcome in outcomes)

    @property
    def replayed(self) -> int:
        return self.count(ReplayOutcome.REPLAYED)

    @property
    def failed(self) -> int:
        """Replays that failed, plus ids asked for that cannot be replayed."""
        return self.count(ReplayOutcome.FAILED, ReplayOutcome.REJECTED, ReplayOutcome.NOT_FOUND)

    @property
    def skipped(self) -> int:
        return self.count(ReplayOutcome.SKIPPED)

    @property
    def held_back(self) -> int:
        return self.count(ReplayOutcome.HELD_BACK)

    @property
    def ok(self) -> bool:
        return not self.failed


def replay_failed_events(
    ids: Iterable[int | str] | None = None,
    *,
    backend: str | None = None,
    limit: int | None = None,
    max_attempts: int | None = None,
) -> ReplayReport:
    """Process ``failed`` inbox rows again (``manage.py kakaopay_replay_webhooks``).

    Without ``ids``, every failed row, oldest first; with ``ids``, those rows:
    one that is not failed is skipped and reported with its status (an
    unknown id or a ``rejected`` row counts as a failure). Each row is claimed
    with ``select_for_update(skip_locked=True)``, so a row another runner is
    replaying is skipped rather than processed twice.

    Without ``ids``, a row already processed ``max_attempts`` times (the
    provider's deliveries included) is held back rather than retried on every
    run: its cause needs a person, and retrying it would keep the scheduled
    job failing and hide new failures. It is listed, and is replayed by id
    once its cause is fixed.
    """
    report = ReplayReport()
    if ids is None:
        query = WebhookEvent.objects.filter(status=WebhookEventStatus.FAILED)
        if backend:
            query = query.filter(backend=backend)
        if max_attempts is not None:
            for event in query.filter(attempts__gte=max_attempts).order_by("received_at", "pk"):
                report.lines.append(
                    ReplayLine(
                        event.pk,
                        ReplayOutcome.HELD_BACK,
                        backend=event.backend,
                        status=event.status,
                        detail=_(
                            "failed %(attempts)d times; replay it by id once the cause is fixed"
                        )
                        % {"attempts": event.attempts},
                    )
                )
            query = query.filter(attempts__lt=max_attempts)
        keys: list[int | str] = list(
            query.order_by("received_at", "pk").values_list("pk", flat=True)
        )
    else:
        keys = list(ids)
    if limit is not None:
        keys = keys[:limit]
    for key in keys:
        report.lines.append(_replay_one(key, backend))
    return report


def _replay_one(key: int | str, backend: str | None) -> ReplayLine:
    try:
        with transaction.atomic():
            event = WebhookEvent.objects.select_for_update(skip_locked=True).filter(pk=key).first()
            if event is None:
                if WebhookEvent.objects.filter(pk=key).exists():
                    return ReplayLine(key, ReplayOutcome.SKIPPED, detail=_("held by another run"))
                return ReplayLine(key, ReplayOutcome.NOT_FOUND, detail=_("no such notification"))
            line = partial(ReplayLine, event.pk, backend=event.backend)
            if backend and event.backend != backend:
                return line(
                    ReplayOutcome.SKIPPED,
                    status=event.status,
                    detail=_("belongs to another backend"),
                )
            if event.status == WebhookEventStatus.REJECTED:
                return line(
                    ReplayOutcome.REJECTED,
                    status=event.status,
                    detail=_("it failed authentication and is never replayed"),
                )
            if event.status != WebhookEventStatus.FAILED:
                return line(
                    ReplayOutcome.SKIPPED,
                    status=event.status,
                    detail=_("only failed notifications are replayed"),
                )
            response = replay_event(event, source=ChangeSource.COMMAND)
            replayed = response.event or event
            if replayed.status == WebhookEventStatus.FAILED:
                return line(
                    ReplayOutcome.FAILED, status=replayed.status, detail=replayed.last_error
                )
            return line(ReplayOutcome.REPLAYED, status=replayed.status, detail=replayed.last_error)
    except Exception as exc:
        logger.exception("Replaying notification %s failed", key)
        return ReplayLine(key, ReplayOutcome.FAILED, detail=f"{type(exc).__name__}: {exc}")
