"""One reconciliation run: which rows are due, and claiming each one once.

Every row is claimed with ``select_for_update(skip_locked=True)`` in its own
transaction and its eligibility is checked again on the locked row, so runs on
several machines share the work instead of repeating it. The per-object work
is in :mod:`.reconcile`.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from ..models import ChangeSource, Payment, Preapproval, Refund
from ..status import ObjectKind, PaymentStatus, PreapprovalStatus, RefundStatus
from .reconcile import (
    CANCELABLE,
    ReconcileOutcome,
    ReconcileReport,
    ReconcileResult,
    reconcile_payment,
    reconcile_preapproval,
    reconcile_refund,
    seconds_setting,
)
from .transitions import Tracked

logger = logging.getLogger("django_kakaopay")


# -- eligibility ---------------------------------------------------------------------


def _not_checked_since(cutoff: datetime) -> Q:
    # A row checked less than the age ago waits, so a pending payment is not
    # pulled on every run and a concurrent runner does not pull it again.
    return Q(reconciled_at__isnull=True) | Q(reconciled_at__lte=cutoff)


def _payment_query(cutoff: datetime) -> Q:
    return (
        Q(created_at__lte=cutoff)
        & (Q(status=PaymentStatus.PENDING) | Q(needs_reconciliation=True))
        & _not_checked_since(cutoff)
    )


def _refund_query(cutoff: datetime) -> Q:
    return (
        Q(created_at__lte=cutoff)
        & (Q(status=RefundStatus.PENDING) | Q(needs_reconciliation=True))
        & _not_checked_since(cutoff)
    )


def _preapproval_query(cutoff: datetime) -> Q:
    return (
        (
            Q(created_at__lte=cutoff)
            & (Q(status=PreapprovalStatus.PENDING) | Q(needs_reconciliation=True))
        )
        | Q(status__in=CANCELABLE, cancel_requested_at__lte=cutoff)
    ) & _not_checked_since(cutoff)


def _checked_recently(obj: Tracked, cutoff: datetime) -> bool:
    return obj.reconciled_at is not None and obj.reconciled_at > cutoff


def _payment_eligible(payment: Payment, cutoff: datetime) -> bool:
    if _checked_recently(payment, cutoff):
        return False
    return payment.created_at <= cutoff and (
        payment.status == PaymentStatus.PENDING or payment.needs_reconciliation
    )


def _refund_eligible(refund: Refund, cutoff: datetime) -> bool:
    if _checked_recently(refund, cutoff):
        return False
    return refund.created_at <= cutoff and (
        refund.status == RefundStatus.PENDING or refund.needs_reconciliation
    )


def _preapproval_eligible(preapproval: Preapproval, cutoff: datetime) -> bool:
    if _checked_recently(preapproval, cutoff):
        return False
    requested = preapproval.cancel_requested_at
    if preapproval.status in CANCELABLE and requested is not None and requested <= cutoff:
        return True
    return preapproval.created_at <= cutoff and (
        preapproval.status == PreapprovalStatus.PENDING or preapproval.needs_reconciliation
    )


def _stamp(obj: Tracked, now: datetime) -> None:
    type(obj)._default_manager.filter(pk=obj.pk).update(reconciled_at=now)
    obj.reconciled_at = now


def find_candidates(
    cutoff: datetime, *, backend: str | None = None, limit: int | None = None
) -> list[tuple[ObjectKind, str]]:
    """What needs checking: payments, then refunds, then preapprovals, oldest first."""
    found: list[tuple[ObjectKind, str]] = []
    payments = Payment.objects.filter(_payment_query(cutoff))
    refunds = Refund.objects.filter(_refund_query(cutoff))
    preapprovals = Preapproval.objects.filter(_preapproval_query(cutoff))
    if backend:
        payments = payments.filter(backend=backend)
        refunds = refunds.filter(payment__backend=backend)
        preapprovals = preapprovals.filter(backend=backend)
    kind: ObjectKind
    for kind, query in (("payment", payments), ("refund", refunds), ("preapproval", preapprovals)):
        if limit is not None and len(found) >= limit:
            break
        keys = query.order_by("created_at").values_list("pk", flat=True)
        if limit is not None:
            keys = keys[: limit - len(found)]
        found.extend((kind, str(key)) for key in keys)
    return found


# -- the run ---------------------------------------------------------------------------


def reconcile(
    *,
    older_than: float | None = None,
    expire_after: float | None = None,
    backend: str | None = None,
    limit: int | None = None,
    now: datetime | None = None,
    dry_run: bool = False,
    source: ChangeSource | str = ChangeSource.COMMAND,
) -> ReconcileReport:
    """Reconcile everything older than ``older_than`` seconds (default ``RECONCILE_AFTER``).

    ``dry_run`` lists the candidates and calls nothing. Each row is handled in
    its own transaction under a skip-locked row lock, so concurrent runs
    share the work instead of repeating it.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=seconds_setting(older_than, "RECONCILE_AFTER"))
    window = seconds_setting(expire_after, "EXPIRE_AFTER")
    report = ReconcileReport()
    candidates = find_candidates(cutoff, backend=backend, limit=limit)
    for kind, key in candidates:
        if dry_run:
            report.results.append(_planned(kind, key))
            continue
        report.results.append(_claim_and_reconcile(kind, key, cutoff, now, window, source))
    return report


MODELS: dict[ObjectKind, type[Payment] | type[Refund] | type[Preapproval]] = {
    "payment": Payment,
    "refund": Refund,
    "preapproval": Preapproval,
}


def _planned(kind: ObjectKind, key: str) -> ReconcileResult:
    obj = MODELS[kind]._default_manager.filter(pk=key).first()
    if obj is None:
        return ReconcileResult(kind, key, "", ReconcileOutcome.SKIPPED)
    return ReconcileResult(
        kind, key, obj.reference, ReconcileOutcome.PLANNED, obj.status, obj.status
    )


def _skipped(
    kind: ObjectKind, key: str, detail: str, obj: Tracked | None = None
) -> ReconcileResult:
    return ReconcileResult(
        kind,
        key,
        obj.reference if obj is not None else "",
        ReconcileOutcome.SKIPPED,
        obj.status if obj is not None else "",
        obj.status if obj is not None else "",
        detail,
    )


def _claim_and_reconcile(
    kind: ObjectKind,
    key: str,
    cutoff: datetime,
    now: datetime,
    expire_after: float,
    source: ChangeSource | str,
) -> ReconcileResult:
    held = _("held by another run")
    settled = _("settled or checked by another run in the meantime")
    try:
        with transaction.atomic():
            if kind == "payment":
                payment = Payment.objects.select_for_update(skip_locked=True).filter(pk=key).first()
                if payment is None:
                    return _skipped(kind, key, held)
                if not _payment_eligible(payment, cutoff):
                    return _skipped(kind, key, settled, payment)
                _stamp(payment, now)
                return reconcile_payment(payment, now=now, expire_after=expire_after, source=source)
            if kind == "refund":
                # The payment is locked before its refund, as on every refund path.
                owner = Refund.objects.filter(pk=key).values_list("payment_id", flat=True).first()
                if owner is None:
                    return _skipped(kind, key, settled)
                locked_owner = (
                    Payment.objects.select_for_update(skip_locked=True).filter(pk=owner).first()
                )
                refund = Refund.objects.select_for_update(skip_locked=True).filter(pk=key).first()
                if locked_owner is None or refund is None:
                    return _skipped(kind, key, held)
                if not _refund_eligible(refund, cutoff):
                    return _skipped(kind, key, settled, refund)
                _stamp(refund, now)
                return reconcile_refund(refund, source=source)
            preapproval = (
                Preapproval.objects.select_for_update(skip_locked=True).filter(pk=key).first()
            )
            if preapproval is None:
                return _skipped(kind, key, held)
            if not _preapproval_eligible(preapproval, cutoff):
                return _skipped(kind, key, settled, preapproval)
            _stamp(preapproval, now)
            return reconcile_preapproval(
                preapproval, now=now, expire_after=expire_after, source=source
            )
    except Exception as exc:
        logger.exception("Reconciling %s %s failed", kind, key)
        return ReconcileResult(
            kind, key, "", ReconcileOutcome.ERROR, detail=f"{type(exc).__name__}: {exc}"
        )
