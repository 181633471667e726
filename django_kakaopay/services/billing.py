"""Scheduled recurring billing: the due-charge run over the preapprovals' plans.

A plan (:mod:`.billing_plan`) is an amount, an interval with a count, an
anchor (the first due date) and ``next_charge_on``.
:func:`charge_due_preapprovals` is run by cron or a task queue, on any number
of machines at once, and charges each plan at most once per period:

1. The due preapprovals' keys are listed first, then each row is claimed with
   ``select_for_update(skip_locked=True)``; a row another runner holds is
   skipped.
2. Under that lock the billing period key of the due date is computed,
   ``next_charge_on`` is moved to the next due date, and the charge row is
   created; the transaction commits before the provider is called.
3. :func:`.preapprovals.charge_preapproval` then makes the provider call with
   the row's idempotency key. The database's unique (preapproval, billing
   period) constraint makes a second run for the same period a no-op.

Merchants with their own schedule can keep calling ``charge_preapproval``
directly with their own period keys.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime, timedelta
from functools import partial

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from ..conf import get_setting
from ..exceptions import KakaoPayError
from ..models import ChangeSource, Payment, Preapproval
from ..status import PAID_STATUSES, PaymentStatus, PreapprovalStatus
from .billing_report import ChargeLine, ChargeOutcome, ChargeReport
from .charges import charge_preapproval, charge_row
from .schedule import latest_due_date, local_today, next_due_date, period_key

logger = logging.getLogger("django_kakaopay")


def due_preapproval_ids(
    today: date, *, backend: str | None = None, limit: int | None = None
) -> list[str]:
    """Keys of active preapprovals whose plan is due on or before ``today``."""
    query = Preapproval.objects.filter(
        status=PreapprovalStatus.ACTIVE,
        billing_amount__isnull=False,
        next_charge_on__lte=today,
        cancel_requested_at__isnull=True,
    )
    if backend:
        query = query.filter(backend=backend)
    keys = query.order_by("next_charge_on", "created_at").values_list("pk", flat=True)
    return [str(key) for key in (keys[:limit] if limit is not None else keys)]


def stranded_charge_ids(
    now: datetime, *, backend: str | None = None, limit: int | None = None
) -> list[str]:
    """Charge rows committed but apparently never sent (the job died in between).

    Older than ``RECONCILE_AFTER`` seconds, still ``created``, with no
    provider id and no unknown outcome recorded. Sending them again is safe:
    the provider call reuses the row's idempotency key.
    """
    query = Payment.objects.filter(_stranded(now))
    if backend:
        query = query.filter(backend=backend)
    keys = query.order_by("created_at").values_list("pk", flat=True)
    return [str(key) for key in (keys[:limit] if limit is not None else keys)]


def _stranded(now: datetime) -> Q:
    """A charge row never sent, and not resumed by any run within ``RECONCILE_AFTER``."""
    cutoff = now - timedelta(seconds=int(get_setting("RECONCILE_AFTER")))
    return (
        Q(
            preapproval__isnull=False,
            preapproval__status=PreapprovalStatus.ACTIVE,
            preapproval__cancel_requested_at__isnull=True,
            status=PaymentStatus.CREATED,
            needs_reconciliation=False,
            provider_payment_id="",
            provider_session_id="",
            created_at__lte=cutoff,
        )
        & ~Q(billing_period="")
        & (Q(reconciled_at__isnull=True) | Q(reconciled_at__lte=cutoff))
    )


def _is_due(preapproval: Preapproval, today: date) -> bool:
    return (
        preapproval.status == PreapprovalStatus.ACTIVE
        and preapproval.billing_amount is not None
        and preapproval.billing_anchor is not None
        and preapproval.next_charge_on is not None
        and preapproval.next_charge_on <= today
        and preapproval.cancel_requested_at is None
    )


def _plan_period(preapproval: Preapproval, today: date) -> tuple[str, date]:
    """The period key to charge now and the next due date after ``today``."""
    next_on = preapproval.next_charge_on or today
    anchor = preapproval.billing_anchor or next_on
    interval = preapproval.billing_interval
    count = preapproval.billing_interval_count
    due = max(latest_due_date(anchor, interval, count, today) or next_on, next_on)
    return period_key(interval, due), next_due_date(anchor, interval, count, today)


def _line(
    preapproval: Preapproval,
    period: str,
    outcome: ChargeOutcome,
    *,
    amount: int | None = None,
    payment: Payment | None = None,
    detail: str = "",
) -> ChargeLine:
    return ChargeLine(
        preapproval=str(preapproval.pk),
        reference=preapproval.reference,
        billing_period=period,
        amount=amount if amount is not None else preapproval.billing_amount,
        currency=preapproval.currency,
        outcome=outcome,
        payment=str(payment.pk) if payment is not None else "",
        detail=detail,
    )


def charge_due_preapprovals(
    *,
    today: date | None = None,
    backend: str | None = None,
    limit: int | None = None,
    dry_run: bool = False,
    now: datetime | None = None,
    progress: Callable[[int, int, ChargeLine | None], None] | None = None,
) -> ChargeReport:
    """Charge every active preapproval whose plan is due on or before ``today``.

    Each plan is charged at most once per period, even if the job runs twice
    or on several machines at once (see the module's docstring).

    Missed periods are not back-charged: when the job did not run for a while
    (cron was down), a plan due several times over is charged once, for the
    latest period due on or before ``today``, and ``next_charge_on`` moves to
    the first due date after ``today``. Charging a customer several times in
    one run for periods that passed unnoticed surprises them and is better
    left to the merchant, who can call ``charge_preapproval`` with the missed
    period keys.

    ``dry_run`` lists what would be charged and changes nothing. ``limit``
    bounds the number of preapprovals handled in one run. ``progress``, when
    given (and not in a dry run), is called with ``(0, total, None)`` before
    the first charge and ``(done, total, line)`` after each, so that a caller
    can report a long run as it goes.
    """
    today = today or local_today()
    now = now or timezone.now()
    report = ChargeReport(today=today)
    stranded = stranded_charge_ids(now, backend=backend, limit=limit)
    remaining = None if limit is None else max(0, limit - len(stranded))
    due = due_preapproval_ids(today, backend=backend, limit=remaining)
    if dry_run:
        for payment in Payment.objects.filter(pk__in=stranded).select_related("preapproval"):
            assert payment.preapproval is not None
            report.lines.append(
                _line(
                    payment.preapproval,
                    payment.billing_period,
                    ChargeOutcome.PLANNED,
                    amount=payment.amount,
                    payment=payment,
                    detail=_("resume a charge that was never sent"),
                )
            )
        for preapproval in Preapproval.objects.filter(pk__in=due).order_by(
            "next_charge_on", "created_at"
        ):
            period, _next = _plan_period(preapproval, today)
            report.lines.append(_line(preapproval, period, ChargeOutcome.PLANNED))
        return report
    work = [(key, partial(_resume_stranded, key, now)) for key in stranded]
    work += [(key, partial(_charge_one, key, today)) for key in due]
    if progress is not None:
        progress(0, len(work), None)
    for key, charge in work:
        line = _guarded(key, charge)
        report.lines.append(line)
        if progress is not None:
            progress(len(report.lines), len(work), line)
    return report


def _guarded(key: str, charge: Callable[[], ChargeLine]) -> ChargeLine:
    """One plan's failure (a bug, a database error) must not stop the others' charges."""
    try:
        return charge()
    except Exception as exc:
        logger.exception("Charging preapproval or charge %s failed", key)
        return ChargeLine(
            key, "", "", None, "", ChargeOutcome.FAILED, detail=f"{type(exc).__name__}: {exc}"
        )


class _NotCharged(Exception):
    """Rolls the claim back when the charge row cannot be created."""

    def __init__(self, line: ChargeLine) -> None:
        super().__init__(line.detail)
        self.line = line


def _charge_one(key: str, today: date) -> ChargeLine:
    try:
        with transaction.atomic():
            locked = Preapproval.objects.select_for_update(skip_locked=True).filter(pk=key).first()
            if locked is None:
                return ChargeLine(
                    key, "", "", None, "", ChargeOutcome.SKIPPED, detail=_("held by another run")
                )
            if not _is_due(locked, today):
                return _line(locked, "", ChargeOutcome.SKIPPED, detail=_("no longer due"))
            period, next_on = _plan_period(locked, today)
            amount = locked.billing_amount
            assert amount is not None
            locked.next_charge_on = next_on
            locked.save(update_fields=["next_charge_on", "updated_at"])
            existing = Payment.objects.filter(preapproval=locked, billing_period=period).first()
            if existing is not None and existing.status != PaymentStatus.CREATED:
                return _line(
                    locked,
                    period,
                    ChargeOutcome.SKIPPED,
                    amount=existing.amount,
                    payment=existing,
                    detail=_("already charged for this period (%(status)s)")
                    % {"status": existing.get_status_display()},
                )
            try:
                payment = charge_row(locked, amount=amount, billing_period=period)
            except KakaoPayError as exc:
                # Keep the plan due: the problem is reported on every run until fixed.
                raise _NotCharged(
                    _line(locked, period, ChargeOutcome.FAILED, detail=str(exc))
                ) from exc
    except _NotCharged as exc:
        return exc.line
    return _send_charge(locked, payment)


def _resume_stranded(key: str, now: datetime) -> ChargeLine:
    """Claim a stranded charge (lock, re-check, stamp, commit), then send it.

    The stamp keeps a second runner from sending it too; the idempotency key
    would stop a second charge anyway, but not a second call.
    """
    with transaction.atomic():
        payment = (
            # Only the payment row is locked; PostgreSQL refuses FOR UPDATE on
            # the nullable side of the join select_related makes.
            Payment.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("preapproval")
            .filter(_stranded(now), pk=key)
            .first()
        )
        if payment is None or payment.preapproval is None:
            return ChargeLine(
                "",
                "",
                "",
                None,
                "",
                ChargeOutcome.SKIPPED,
                detail=_("held, sent or settled by another run meanwhile"),
            )
        Payment.objects.filter(pk=payment.pk).update(reconciled_at=now)
    return _send_charge(payment.preapproval, payment)


def _send_charge(preapproval: Preapproval, payment: Payment) -> ChargeLine:
    """Make the provider call for a committed charge row (outside any transaction)."""
    period = payment.billing_period
    try:
        payment = charge_preapproval(
            preapproval,
            amount=payment.amount,
            billing_period=period,
            source=ChangeSource.COMMAND,
        )
    except Exception as exc:
        if isinstance(exc, KakaoPayError):
            detail = str(exc)
        else:
            logger.exception("Charging preapproval %s for %s failed", preapproval.pk, period)
            detail = f"{type(exc).__name__}: {exc}"
        return _line(
            preapproval,
            period,
            ChargeOutcome.FAILED,
            amount=payment.amount,
            payment=payment,
            detail=detail,
        )
    return _line(
        preapproval,
        period,
        _charge_outcome(payment),
        amount=payment.amount,
        payment=payment,
        detail=payment.last_error,
    )


def _charge_outcome(payment: Payment) -> ChargeOutcome:
    if payment.status in PAID_STATUSES:
        return ChargeOutcome.CHARGED
    if payment.needs_reconciliation or payment.status == PaymentStatus.CREATED:
        return ChargeOutcome.UNKNOWN
    if payment.status == PaymentStatus.PENDING:
        return ChargeOutcome.PENDING
    return ChargeOutcome.FAILED
