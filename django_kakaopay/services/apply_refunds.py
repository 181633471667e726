"""Settling refunds from the provider's word, and the refund ledger behind a payment.

The payment row is always locked before a refund row, the order every
refund path uses; money is counted once, however the answers interleave.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from ..backends.types import RefundSnapshot
from ..models import ChangeSource, Payment, Refund
from ..money import format_money
from ..status import PaymentStatus, RefundStatus
from .apply_rules import (
    ApplyResult,
    Outcome,
    copy_state,
    fill_blank,
    record_problem,
)
from .transitions import transition


def record_provider_refunds(
    payment: Payment, provider_total: int, source: str, evidence: dict[str, Any]
) -> bool:
    """Bring the refund ledger up to the total the provider says it refunded.

    Pending refunds, oldest first, are settled while the provider's total
    covers them; only money still unaccounted for becomes a new
    provider-initiated refund. So a pull that races a refund request cannot
    count the same money twice. A refund whose request timed out
    (``needs_reconciliation``) may never have reached the provider, so it is
    not credited with money another refund may have moved: reconciliation
    sends it again and settles it from that answer.
    """
    provider_total = min(provider_total, payment.amount)
    settled = payment.refunded_amount
    moved = False
    pending = payment.refunds.filter(
        status=RefundStatus.PENDING, needs_reconciliation=False
    ).order_by("created_at")
    for refund in pending.select_for_update():
        if settled + refund.amount > provider_total:
            break
        moved |= settle_refund_locked(payment, refund, RefundStatus.SUCCEEDED, source, evidence)
        settled = payment.refunded_amount
    still_pending = (
        payment.refunds.filter(status=RefundStatus.PENDING).aggregate(total=Sum("amount"))["total"]
        or 0
    )
    missing = provider_total - settled - still_pending
    if missing <= 0:
        return moved
    refund = Refund.objects.create(
        payment=payment,
        amount=missing,
        origin=Refund.Origin.PROVIDER,
        reason=_("reported by the provider"),
    )
    return settle_refund_locked(payment, refund, RefundStatus.SUCCEEDED, source, evidence) or moved


def apply_refund_snapshot(
    payment: Payment,
    refund: Refund | None,
    snapshot: RefundSnapshot,
    *,
    source: ChangeSource | str,
    evidence: dict[str, Any] | None = None,
) -> ApplyResult:
    """Settle ``refund`` (or record a provider-initiated one when ``None``).

    Locks the payment before the refund, the order every refund path uses.
    """
    evidence = evidence or {}
    with transaction.atomic(savepoint=False):
        locked_payment = Payment.objects.select_for_update().get(pk=payment.pk)
        if refund is None:
            if snapshot.status != RefundStatus.SUCCEEDED or not snapshot.amount:
                return ApplyResult(Outcome.NOT_FOUND, locked_payment)
            if snapshot.amount > locked_payment.amount - locked_payment.refunded_amount:
                message = _(
                    "The provider reported a refund of %(amount)s that exceeds "
                    "what remains refundable."
                ) % {"amount": format_money(snapshot.amount, locked_payment.currency)}
                record_problem(locked_payment, message)
                return ApplyResult(Outcome.MISMATCH, locked_payment, message)
            refund = Refund.objects.create(
                payment=locked_payment,
                amount=snapshot.amount,
                origin=Refund.Origin.PROVIDER,
                provider_refund_id=snapshot.provider_refund_id,
                reason=_("reported by the provider"),
            )
        locked_refund = Refund.objects.select_for_update().get(pk=refund.pk)
        if snapshot.amount is not None and snapshot.amount != locked_refund.amount:
            message = _(
                "Refund amount mismatch: the provider reported %(theirs)s, expected %(ours)s."
            ) % {
                "theirs": format_money(snapshot.amount, locked_payment.currency),
                "ours": format_money(locked_refund.amount, locked_payment.currency),
            }
            record_problem(locked_refund, message)
            return ApplyResult(Outcome.MISMATCH, locked_refund, message)
        fields = fill_blank(locked_refund, "provider_refund_id", snapshot.provider_refund_id)
        if snapshot.raw:
            locked_refund.provider_payload = dict(snapshot.raw)
            fields.append("provider_payload")
        if snapshot.status is not None and locked_refund.needs_reconciliation:
            locked_refund.needs_reconciliation = False
            fields.append("needs_reconciliation")
        if snapshot.message and snapshot.status == RefundStatus.FAILED:
            locked_refund.last_error = snapshot.message
            fields.append("last_error")
        if fields:
            locked_refund.save(update_fields=[*fields, "updated_at"])
        if snapshot.status is None or snapshot.status == locked_refund.status:
            outcome = Outcome.UPDATED if fields else Outcome.UNCHANGED
            return ApplyResult(outcome, locked_refund)
        moved = settle_refund_locked(
            locked_payment, locked_refund, snapshot.status, str(source), evidence
        )
    if refund is not None:
        copy_state(locked_refund, refund)
    copy_state(locked_payment, payment)
    return ApplyResult(Outcome.APPLIED if moved else Outcome.NOT_ALLOWED, locked_refund)


def settle_refund_locked(
    payment: Payment, refund: Refund, target: str, source: str, evidence: dict[str, Any]
) -> bool:
    """Move a refund (payment row already locked) and, on success, the payment."""
    extra: dict[str, Any] = {"needs_reconciliation": False}
    if target == RefundStatus.SUCCEEDED:
        extra["succeeded_at"] = timezone.now()
    if not transition(refund, target, source=source, evidence=evidence, **extra):
        return False
    if target != RefundStatus.SUCCEEDED:
        return True
    new_total = payment.refunded_amount + refund.amount
    if new_total > payment.amount:
        # The database constraint would refuse it anyway; say why instead.
        raise ValueError(f"Refunds of payment {payment.pk} would exceed its amount.")
    Payment.objects.filter(pk=payment.pk).update(refunded_amount=new_total)
    payment.refunded_amount = new_total
    payment_target = (
        PaymentStatus.REFUNDED if new_total == payment.amount else PaymentStatus.PARTIALLY_REFUNDED
    )
    if payment_target != payment.status:
        transition(
            payment,
            payment_target,
            source=source,
            evidence={**evidence, "refund": str(refund.pk)},
        )
    return True
