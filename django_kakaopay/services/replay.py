"""Replaying inbox rows (``manage.py kakaopay_replay_webhooks``, the admin action).

Failed rows passed authentication and are applied again from their stored
body, and so are ``queued`` rows (authenticated, stored for a task) still
waiting after ``WEBHOOK_STALE_AFTER``: their task was lost. A row still
``received`` after ``WEBHOOK_STALE_AFTER`` is stranded: its
request ended without a verdict (a worker killed mid-way, or a row written
by an earlier version before authentication). Its credentials were never
stored, so its body is not trusted: the objects it names are pulled from the
provider instead, and the provider's answer is applied.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from ..backends.types import PaymentSnapshot, PreapprovalSnapshot, RefundSnapshot
from ..conf import get_backend, get_setting
from ..models import ChangeSource, WebhookEvent, WebhookEventStatus
from .apply import find_payment, find_preapproval, find_refund
from .payments import sync_payment
from .preapprovals import sync_preapproval
from .webhooks import REPLAYABLE, process_event, read_notification, replay_event

logger = logging.getLogger("django_kakaopay.webhooks")


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


def stale_before() -> datetime:
    return timezone.now() - timedelta(seconds=int(get_setting("WEBHOOK_STALE_AFTER")))


def replay_failed_events(
    ids: Iterable[int | str] | None = None,
    *,
    backend: str | None = None,
    limit: int | None = None,
    max_attempts: int | None = None,
    progress: Callable[[int, int, ReplayLine | None], None] | None = None,
) -> ReplayReport:
    """Process unfinished inbox rows again.

    Without ``ids``: every ``failed`` row and every stranded ``received`` one,
    oldest first. With ``ids``: those rows; ``malformed`` ones too (after a
    configuration fix), while one that is finished is skipped and reported
    with its status (an unknown id or a ``rejected`` row counts as a failure).
    Each row is claimed with ``select_for_update(skip_locked=True)``, so a row
    another runner is replaying is skipped rather than processed twice.

    Without ``ids``, a row already processed ``max_attempts`` times (the
    provider's deliveries included) is held back rather than retried on every
    run: its cause needs a person, and retrying it would keep the scheduled
    job failing and hide new failures. It is listed, and is replayed by id
    once its cause is fixed.

    ``progress``, when given, is called with ``(done, total, None)`` before the
    first replay and ``(done, total, line)`` for every line of the report (the
    held-back ones first), so that a caller can report a long run as it goes.
    """
    report = ReplayReport()
    if ids is None:
        query = WebhookEvent.objects.filter(
            models.Q(status=WebhookEventStatus.FAILED)
            | models.Q(
                status__in=(WebhookEventStatus.RECEIVED, WebhookEventStatus.QUEUED),
                updated_at__lt=stale_before(),
            )
        )
        if backend:
            query = query.filter(backend=backend)
        if max_attempts is not None:
            held = query.filter(status=WebhookEventStatus.FAILED, attempts__gte=max_attempts)
            for event in held.order_by("received_at", "pk"):
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
            query = query.exclude(pk__in=held.values("pk"))
        keys: list[int | str] = list(
            query.order_by("received_at", "pk").values_list("pk", flat=True)
        )
    else:
        keys = list(ids)
    if limit is not None:
        keys = keys[:limit]
    total = len(report.lines) + len(keys)
    if progress is not None:
        progress(0, total, None)
        for done, held_line in enumerate(report.lines, start=1):
            progress(done, total, held_line)
    for key in keys:
        try:
            line = _replay_one(key, backend)
        except Exception as exc:
            logger.exception("Replaying notification %s failed", key)
            line = ReplayLine(key, ReplayOutcome.FAILED, detail=f"{type(exc).__name__}: {exc}")
        report.lines.append(line)
        if progress is not None:
            progress(len(report.lines), total, line)
    return report


def _replay_one(key: int | str, backend: str | None) -> ReplayLine:
    with transaction.atomic():
        event = WebhookEvent.objects.select_for_update(skip_locked=True).filter(pk=key).first()
        if event is None:
            if WebhookEvent.objects.filter(pk=key).exists():
                return ReplayLine(key, ReplayOutcome.SKIPPED, detail=_("held by another run"))
            return ReplayLine(key, ReplayOutcome.NOT_FOUND, detail=_("no such notification"))
        line = partial(ReplayLine, event.pk, backend=event.backend)
        if backend and event.backend != backend:
            return line(
                ReplayOutcome.SKIPPED, status=event.status, detail=_("belongs to another backend")
            )
        if event.status == WebhookEventStatus.REJECTED:
            return line(
                ReplayOutcome.REJECTED,
                status=event.status,
                detail=_("it failed authentication and is never replayed"),
            )
        if event.status == WebhookEventStatus.RECEIVED:
            if event.updated_at >= stale_before():
                return line(
                    ReplayOutcome.SKIPPED, status=event.status, detail=_("still being received")
                )
            # Stamped and committed before the provider is called, so that a
            # second runner sees it fresh and skips it.
            event.updated_at = timezone.now()
            event.save(update_fields=["updated_at"])
            stranded = True
        elif event.status == WebhookEventStatus.QUEUED:
            if event.updated_at >= stale_before():
                return line(ReplayOutcome.SKIPPED, status=event.status, detail=_("still queued"))
            # Authenticated before it was stored: applied from its body, as the
            # task that was lost would have.
            stranded = False
            replayed = process_event(event, source=ChangeSource.COMMAND).event or event
        elif event.status in REPLAYABLE:
            stranded = False
            replayed = replay_event(event, source=ChangeSource.COMMAND).event or event
        else:
            return line(
                ReplayOutcome.SKIPPED,
                status=event.status,
                detail=_("only failed or malformed notifications are replayed"),
            )
    if stranded:
        replayed = settle_stranded(event, source=ChangeSource.COMMAND)
    outcome = (
        ReplayOutcome.FAILED
        if replayed.status in (*REPLAYABLE, WebhookEventStatus.RECEIVED, WebhookEventStatus.QUEUED)
        else ReplayOutcome.REPLAYED
    )
    return line(outcome, status=replayed.status, detail=replayed.last_error)


def settle_stranded(
    event: WebhookEvent, *, source: ChangeSource | str = ChangeSource.COMMAND
) -> WebhookEvent:
    """Settle a stranded ``received`` row by pulling what it names from the provider.

    Its body only says which objects to ask about; nothing in it is applied.
    Called outside any transaction: the provider calls hold no lock.
    """
    backend = get_backend(event.backend)
    reading = read_notification(backend, bytes(event.body), event.headers or {})
    parsed, problem = reading.parsed, reading.problem
    if parsed is None:
        status, note = WebhookEventStatus.MALFORMED, problem
    else:
        pulled = 0
        for update in parsed.updates:
            pulled += _pull(event.backend, update, source)
        status = WebhookEventStatus.PROCESSED if pulled else WebhookEventStatus.IGNORED
        note = _(
            "Stranded before it was verified: %(count)d object(s) it names were "
            "pulled from the provider instead of trusting its body."
        ) % {"count": pulled}
    now = timezone.now()
    WebhookEvent.objects.filter(pk=event.pk, status=WebhookEventStatus.RECEIVED).update(
        status=status,
        last_error=note,
        event_type=parsed.event_type[:100] if parsed else event.event_type,
        updated_at=now,
        processed_at=now if status != WebhookEventStatus.MALFORMED else None,
    )
    event.refresh_from_db()
    return event


def _pull(
    alias: str, update: PaymentSnapshot | RefundSnapshot | PreapprovalSnapshot, source: str
) -> int:
    if isinstance(update, PreapprovalSnapshot):
        preapproval = find_preapproval(alias, update)
        if preapproval is None:
            return 0
        sync_preapproval(preapproval, source=source)
        return 1
    if isinstance(update, RefundSnapshot):
        payment, _refund = find_refund(alias, update)
    else:
        payment = find_payment(alias, update)
    if payment is None:
        return 0
    sync_payment(payment, source=source)
    return 1
