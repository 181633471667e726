"""The simulated provider's API: what a real provider would do behind HTTP.

Every creating call is idempotent on the caller's idempotency key, as real
providers are, so a retried request returns the first transaction.
"""

from __future__ import annotations

import secrets
from dataclasses import asdict
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ..backends.types import ChargeRequest, PaymentRequest, PreapprovalRequest, RefundRequest
from .models import SandboxTransaction

# KakaoPay's status names, as its order lookup reports them.
READY = "READY"
SUCCESS_PAYMENT = "SUCCESS_PAYMENT"
PART_CANCEL_PAYMENT = "PART_CANCEL_PAYMENT"
CANCEL_PAYMENT = "CANCEL_PAYMENT"
FAIL_PAYMENT = "FAIL_PAYMENT"
QUIT_PAYMENT = "QUIT_PAYMENT"
ISSUED_SID = "ISSUED_SID"
INACTIVE_SID = "INACTIVE_SID"
FAIL_SID = "FAIL_SID"
REFUND_SUCCEEDED = "CANCEL_SUCCEEDED"

FINAL_PAYMENT_STATUSES = frozenset(
    {SUCCESS_PAYMENT, PART_CANCEL_PAYMENT, CANCEL_PAYMENT, FAIL_PAYMENT, QUIT_PAYMENT}
)


class SandboxProviderError(Exception):
    """The simulated provider refuses the request (like a 4xx)."""


def _new_id(prefix: str) -> str:
    return f"sbx_{prefix}_{secrets.token_hex(10)}"


def _create_once(backend: str, idempotency_key: str, **fields: Any) -> SandboxTransaction:
    existing = SandboxTransaction.objects.filter(
        backend=backend, idempotency_key=idempotency_key
    ).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return SandboxTransaction.objects.create(
                backend=backend, idempotency_key=idempotency_key, **fields
            )
    except IntegrityError:
        return SandboxTransaction.objects.get(backend=backend, idempotency_key=idempotency_key)


def create_payment(backend: str, request: PaymentRequest) -> SandboxTransaction:
    return _create_once(
        backend,
        request.idempotency_key,
        id=_new_id("pay"),
        kind=SandboxTransaction.Kind.PAYMENT,
        status=READY,
        reference=request.reference,
        amount=request.amount,
        currency=request.currency,
        description=request.description,
        items=[asdict(item) for item in request.items],
        customer=asdict(request.customer),
        terminal_type=request.terminal_type,
        return_url=request.return_url,
        notification_url=request.notification_url,
    )


def create_preapproval(backend: str, request: PreapprovalRequest) -> SandboxTransaction:
    return _create_once(
        backend,
        request.idempotency_key,
        id=_new_id("sid"),
        kind=SandboxTransaction.Kind.PREAPPROVAL,
        status=READY,
        reference=request.reference,
        currency=request.currency,
        max_amount=request.max_amount,
        description=request.description,
        customer=asdict(request.customer),
        terminal_type=request.terminal_type,
        return_url=request.return_url,
        notification_url=request.notification_url,
    )


def get(backend: str, transaction_id: str) -> SandboxTransaction:
    try:
        return SandboxTransaction.objects.get(backend=backend, pk=transaction_id)
    except SandboxTransaction.DoesNotExist as exc:
        raise SandboxProviderError(
            _("No sandbox transaction %(id)r.") % {"id": transaction_id}
        ) from exc


def find(backend: str, kind: str, reference: str) -> SandboxTransaction | None:
    return (
        SandboxTransaction.objects.filter(backend=backend, kind=kind, reference=reference)
        .order_by("-created_at")
        .first()
    )


def decide_payment(tx: SandboxTransaction, action: str) -> bool:
    """The customer's choice on the approval page. False if already decided."""
    target = {"approve": SUCCESS_PAYMENT, "decline": FAIL_PAYMENT, "cancel": QUIT_PAYMENT}[action]
    updated = SandboxTransaction.objects.filter(pk=tx.pk, status=READY).update(
        status=target, updated_at=timezone.now()
    )
    tx.refresh_from_db()
    return updated == 1


def decide_preapproval(tx: SandboxTransaction, action: str) -> bool:
    """The customer's choice on the agreement page. False if already decided."""
    # A declined registration ends the agreement as KakaoPay reports it: FAIL_SID.
    target = {"approve": ISSUED_SID, "decline": FAIL_SID, "cancel": QUIT_PAYMENT}[action]
    updated = SandboxTransaction.objects.filter(pk=tx.pk, status=READY).update(
        status=target, updated_at=timezone.now()
    )
    tx.refresh_from_db()
    return updated == 1


def refund(backend: str, request: RefundRequest) -> SandboxTransaction:
    with transaction.atomic():
        payment = (
            SandboxTransaction.objects.select_for_update()
            .filter(backend=backend, pk=request.payment.provider_payment_id)
            .first()
        )
        if payment is None:
            raise SandboxProviderError(_("Unknown payment."))
        existing = SandboxTransaction.objects.filter(
            backend=backend, idempotency_key=request.idempotency_key
        ).first()
        if existing is not None:
            return existing
        if payment.status not in (SUCCESS_PAYMENT, PART_CANCEL_PAYMENT):
            raise SandboxProviderError(_("Only a successful payment can be refunded."))
        assert payment.amount is not None
        if request.amount > payment.amount - payment.refunded_amount:
            raise SandboxProviderError(_("The refund exceeds the refundable amount."))
        payment.refunded_amount += request.amount
        payment.status = (
            CANCEL_PAYMENT if payment.refunded_amount == payment.amount else PART_CANCEL_PAYMENT
        )
        payment.save(update_fields=["refunded_amount", "status", "updated_at"])
        return SandboxTransaction.objects.create(
            id=_new_id("rfd"),
            backend=backend,
            kind=SandboxTransaction.Kind.REFUND,
            status=REFUND_SUCCEEDED,
            reference=request.reference,
            amount=request.amount,
            currency=payment.currency,
            idempotency_key=request.idempotency_key,
            parent=payment,
            notification_url=payment.notification_url,
        )


def charge(backend: str, request: ChargeRequest) -> SandboxTransaction:
    agreement = get(backend, request.preapproval.provider_preapproval_id)
    if agreement.status != ISSUED_SID:
        raise SandboxProviderError(_("The auto-debit agreement is not active."))
    over_limit = agreement.max_amount is not None and request.amount > agreement.max_amount
    return _create_once(
        backend,
        request.idempotency_key,
        id=_new_id("pay"),
        kind=SandboxTransaction.Kind.PAYMENT,
        status=FAIL_PAYMENT if over_limit else SUCCESS_PAYMENT,
        reference=request.reference,
        amount=request.amount,
        currency=request.currency,
        description=request.description,
        customer=dict(agreement.customer),
        parent=agreement,
        notification_url=request.notification_url or agreement.notification_url,
    )


def cancel_preapproval(backend: str, transaction_id: str) -> SandboxTransaction:
    agreement = get(backend, transaction_id)
    SandboxTransaction.objects.filter(pk=agreement.pk, status__in=[READY, ISSUED_SID]).update(
        status=INACTIVE_SID, updated_at=timezone.now()
    )
    agreement.refresh_from_db()
    return agreement


def as_json(tx: SandboxTransaction) -> dict[str, Any]:
    """The provider's JSON representation, used in API answers and notifications."""
    return {
        "id": tx.id,
        "object": tx.kind,
        "status": tx.status,
        "reference": tx.reference,
        "amount": tx.amount,
        "currency": tx.currency,
        "refunded_amount": tx.refunded_amount,
        "max_amount": tx.max_amount,
        "parent_id": tx.parent_id,
        "parent_reference": tx.parent.reference if tx.parent_id and tx.parent else "",
        "updated_at": tx.updated_at.isoformat(),
    }
