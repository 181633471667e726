"""One reconciliation run: which rows are due, and claiming each one once.

Every row is claimed with ``select_for_update(skip_locked=True)`` in its own
transaction and its eligibility is checked again on the locked row, so runs on
several machines share the work instead of repeating it. The per-object work
is in :mod:`.reconcile`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from ..models import ChangeSource, Payment, Preapproval, Refund
from ..status import ObjectKind, PaymentStatus, PreapprovalStatus, RefundStatus
from .reconcile import (
    CANCELABLE,
    reconcile_payment,
    reconcile_preapproval,
    reconcile_refund,
    seconds_setting,
)
from .reconcile_report import ReconcileOutcome, ReconcileReport, ReconcileResult
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


MODELS: dict[ObjectKind, type[Payment] | type[Refund] | type[Preapproval]] = {
    "payment": Payment,
    "refund": Refund,
    "preapproval": Preapproval,
}
# What is due, per kind: used to list the candidates and again on each locked row.
QUERIES: dict[ObjectKind, Callable[[datetime], Q]] = {
    "payment": _payment_query,
    "refund": _refund_query,
    "preapproval": _preapproval_query,
}
BACKEND_FIELD: dict[ObjectKind, str] = {
    "payment": "backend",
    "refund": "payment__backend",
    "preapproval": "backend",
}


def _stamp(obj: Tracked, now: datetime) -> None:
    type(obj)._default_manager.filter(pk=obj.pk).update(reconciled_at=now)
    obj.reconciled_at = now


def find_candidates(
    cutoff: datetime, *, backend: str | None = None, limit: int | None = None
) -> list[tuple[ObjectKind, str]]:
    """What needs checking: payments, then refunds, then preapprovals, oldest first."""
    found: list[tuple[ObjectKind, str]] = []
    for kind, due in QUERIES.items():
        if limit is not None and len(found) >= limit:
            break
        query = MODELS[kind]._default_manager.filter(due(cutoff))
        if backend:
            query = query.filter(**{BACKEND_FIELD[kind]: backend})
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
    progress: Callable[[int, int, ReconcileResult | None], None] | None = None,
) -> ReconcileReport:
    """Reconcile everything older than ``older_than`` seconds (default ``RECONCILE_AFTER``).

    ``dry_run`` lists the candidates and calls nothing. Each row is handled in
    its own transaction under a skip-locked row lock, so concurrent runs
    share the work instead of repeating it.

    ``progress``, when given (and not in a dry run), is called with
    ``(0, total, None)`` before the first row and ``(done, total, result)``
    after each, so that a caller can report a long run as it goes.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=seconds_setting(older_than, "RECONCILE_AFTER"))
    # Left unset, each payment's backend may bring its own window (KakaoPay's).
    window = None if expire_after is None else seconds_setting(expire_after, "EXPIRE_AFTER")
    report = ReconcileReport()
    candidates = find_candidates(cutoff, backend=backend, limit=limit)
    if dry_run:
        report.results.extend(_planned(kind, key) for kind, key in candidates)
        return report
    if progress is not None:
        progress(0, len(candidates), None)
    for kind, key in candidates:
        result = _claim_and_reconcile(kind, key, cutoff, now, window, source)
        report.results.append(result)
        if progress is not None:
            progress(len(report.results), len(candidates), result)
    return report


def _planned(kind: ObjectKind, key: str) -> ReconcileResult:
    obj = MODELS[kind]._default_manager.filter(pk=key).first()
    if obj is None:
        return ReconcileResult(kind, key, "", ReconcileOutcome.SKIPPED)
    return ReconcileResult(
        kind, key, obj.reference, ReconcileOutcome.PLANNED, obj.status, obj.status
    )


def _skipped(kind: ObjectKind, key: str, detail: str) -> ReconcileResult:
    return ReconcileResult(kind, key, "", ReconcileOutcome.SKIPPED, detail=detail)


def _claim(kind: ObjectKind, key: str, cutoff: datetime, now: datetime) -> Tracked | None:
    """Lock the row if it is free and still due, stamp it, and commit.

    The same query that listed the candidates decides again on the locked
    row, so a row settled, or checked by another runner, since the listing is
    left alone. Once stamped it is no longer due for anyone, so the provider
    calls that follow run outside any transaction: no lock is held while a
    provider answers, and nothing the provider did can be rolled back here.
    """
    with transaction.atomic():
        obj = (
            MODELS[kind]
            ._default_manager.select_for_update(skip_locked=True)
            .filter(QUERIES[kind](cutoff), pk=key)
            .first()
        )
        if obj is not None:
            _stamp(obj, now)
    return obj


def _claim_and_reconcile(
    kind: ObjectKind,
    key: str,
    cutoff: datetime,
    now: datetime,
    expire_after: float | None,
    source: ChangeSource | str,
) -> ReconcileResult:
    try:
        obj = _claim(kind, key, cutoff, now)
        if obj is None:
            return _skipped(kind, key, _("held, settled or checked by another run meanwhile"))
        if isinstance(obj, Payment):
            return reconcile_payment(obj, now=now, expire_after=expire_after, source=source)
        if isinstance(obj, Refund):
            return reconcile_refund(obj, now=now, source=source)
        return reconcile_preapproval(obj, now=now, expire_after=expire_after, source=source)
    except Exception as exc:
        logger.exception("Reconciling %s %s failed", kind, key)
        return ReconcileResult(
            kind, key, "", ReconcileOutcome.ERROR, detail=f"{type(exc).__name__}: {exc}"
        )
