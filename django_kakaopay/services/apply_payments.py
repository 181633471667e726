"""Applying a pull or a notification to a payment.

A plain status move is one compare-and-set UPDATE guarded by what the
decision read; only when that finds the row changed is it locked and decided
again. Refund states are derived from the refund ledger, never set directly.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone

from ..backends.types import PaymentSnapshot
from ..models import ChangeSource, Payment
from ..status import PAID_STATUSES, PaymentStatus, can_transition
from .apply_refunds import record_provider_refunds
from .apply_rules import (
    ApplyResult,
    Outcome,
    copy_state,
    fill_blank,
    is_stale,
    money_mismatch,
    record_problem,
    refresh_tracking,
    save_fields,
)
from .transitions import transition


def apply_payment_snapshot(
    payment: Payment,
    snapshot: PaymentSnapshot,
    *,
    source: ChangeSource | str,
    evidence: dict[str, Any] | None = None,
    also: Mapping[str, Any] | None = None,
) -> ApplyResult:
    """Apply a pull (or a provider's answer) to ``payment``, read moments ago.

    ``also`` holds columns of ours written in the same UPDATE (the redirect
    URL when a payment starts). A plain status move is written by one
    compare-and-set UPDATE guarded by every value the decision read; only
    when that finds the row changed is it locked and decided again.
    """
    also = dict(also or {})
    # No savepoint: callers that nest this roll back as a whole on failure.
    with transaction.atomic(savepoint=False):
        result = _compare_and_set(payment, snapshot, source, evidence or {}, also)
        if result is not None:
            return result
        locked = Payment.objects.select_for_update().get(pk=payment.pk)
        for name, value in also.items():
            setattr(locked, name, value)
        result = apply_payment_locked(locked, snapshot, source, evidence or {}, list(also))
    copy_state(locked, payment)
    return result


# What the decision reads besides the status; a compare-and-set is guarded by all of them.
_DECIDED_ON = ("provider_payment_id", "provider_session_id", "provider_updated_at")


def _compare_and_set(
    payment: Payment,
    snapshot: PaymentSnapshot,
    source: str,
    evidence: dict[str, Any],
    also: dict[str, Any],
) -> ApplyResult | None:
    """The common pull, a plain status move, without a locking read; ``None``
    when it does not apply or the row changed since ``payment`` was read."""
    target = snapshot.status
    if (
        target is None
        or target == payment.status
        or target not in _DIRECT_TARGETS
        or not can_transition("payment", payment.status, target)
        or money_mismatch(payment.amount, payment.currency, snapshot.amount, snapshot.currency)
        or is_stale(snapshot.occurred_at, payment.provider_updated_at)
    ):
        return None
    candidate = copy.copy(payment)
    for name, value in also.items():
        setattr(candidate, name, value)
    changed = [*_refresh_provider_fields(candidate, snapshot), *also]
    fields: dict[str, Any] = {name: getattr(candidate, name) for name in changed}
    if target == PaymentStatus.PAID:
        fields["paid_at"] = timezone.now()
    guard = {name: getattr(payment, name) for name in _DECIDED_ON}
    guard["needs_reconciliation"] = payment.needs_reconciliation
    evidence = {**evidence, "provider_status": snapshot.provider_status}
    if not transition(candidate, target, source=source, evidence=evidence, guard=guard, **fields):
        return None
    copy_state(candidate, payment)
    return ApplyResult(Outcome.APPLIED, payment)


def apply_payment_locked(
    payment: Payment,
    snapshot: PaymentSnapshot,
    source: str,
    evidence: dict[str, Any],
    also: list[str] | None = None,
) -> ApplyResult:
    mismatch = money_mismatch(payment.amount, payment.currency, snapshot.amount, snapshot.currency)
    if mismatch:
        save_fields(payment, also or [])
        record_problem(payment, mismatch)
        return ApplyResult(Outcome.MISMATCH, payment, mismatch)
    if is_stale(snapshot.occurred_at, payment.provider_updated_at):
        save_fields(payment, also or [])
        return ApplyResult(Outcome.STALE, payment)

    changed_fields = [*_refresh_provider_fields(payment, snapshot), *(also or [])]
    target = snapshot.status
    moved = False
    evidence = {**evidence, "provider_status": snapshot.provider_status}
    if target is not None and target != payment.status and target in _DIRECT_TARGETS:
        # The common case: the provider fields and the status in one UPDATE.
        extra: dict[str, Any] = {name: getattr(payment, name) for name in changed_fields}
        if target == PaymentStatus.PAID:
            extra["paid_at"] = timezone.now()
        if transition(payment, target, source=source, evidence=evidence, **extra):
            return ApplyResult(Outcome.APPLIED, payment)
        save_fields(payment, changed_fields)
        return ApplyResult(Outcome.NOT_ALLOWED, payment)
    save_fields(payment, changed_fields)
    if target in (PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED):
        # Refund states are derived from the refund ledger; first make sure the
        # payment counts as paid, then record refunds the provider knows of.
        if payment.status != PaymentStatus.PAID and can_transition(
            "payment", payment.status, PaymentStatus.PAID
        ):
            moved |= transition(
                payment,
                PaymentStatus.PAID,
                source=source,
                evidence=evidence,
                paid_at=timezone.now(),
            )
        provider_total = (
            snapshot.refunded_amount if snapshot.refunded_amount is not None else payment.amount
        )
        moved |= record_provider_refunds(payment, provider_total, source, evidence)
    elif snapshot.refunded_amount and payment.status in PAID_STATUSES:
        # Only money taken can come back: a refunded total beside any other
        # status (an unknown one, say) on a payment never paid is not a refund.
        moved = record_provider_refunds(payment, snapshot.refunded_amount, source, evidence)

    if moved:
        return ApplyResult(Outcome.APPLIED, payment)
    return ApplyResult(Outcome.UPDATED if changed_fields else Outcome.UNCHANGED, payment)


# Statuses set by the provider's word alone; refund states come from the ledger.
_DIRECT_TARGETS = frozenset(PaymentStatus.values) - {
    PaymentStatus.PARTIALLY_REFUNDED,
    PaymentStatus.REFUNDED,
}


def _refresh_provider_fields(payment: Payment, snapshot: PaymentSnapshot) -> list[str]:
    changed = fill_blank(payment, "provider_payment_id", snapshot.provider_payment_id)
    changed += fill_blank(payment, "provider_session_id", snapshot.provider_session_id)
    return changed + refresh_tracking(payment, snapshot)
