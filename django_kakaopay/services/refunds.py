"""Refunding a payment, fully or in part: the row first, then the provider."""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.db.models import Sum
from django.utils.translation import gettext as _

from ..backends.types import (
    Capability,
    RefundRequest,
)
from ..conf import get_backend
from ..exceptions import (
    ProviderError,
    ProviderRejected,
    RefundNotAllowed,
)
from ..models import ChangeSource, Payment, Refund
from ..status import RefundStatus
from .apply import apply_refund_snapshot
from .provider_errors import error_evidence, mark_unknown
from .transitions import actor_evidence, transition
from .validation import signed_in


def request_refund(
    payment: Payment,
    amount: int | None = None,
    *,
    reason: str = "",
    source: ChangeSource | str = ChangeSource.ADMIN,
    expected_refund_total: int | None = None,
    actor: AbstractBaseUser | None = None,
) -> Refund:
    """Refund ``amount`` (everything still refundable when ``None``).

    The refund row, with its idempotency key, is committed before the
    provider is called; the answer (or a later notification) settles it.
    ``actor`` is the staff member asking: kept as the refund's
    ``requested_by`` and named in the evidence of what the answer changes.

    ``expected_refund_total`` is what the caller saw as refunded plus still
    pending when it prepared this refund. When given, the refund is refused
    unless the payment still shows that total, so a form submitted twice
    (double click, Back and resubmit, two tabs) refunds once.
    """
    backend = get_backend(payment.backend)
    if not backend.supports(Capability.REFUNDS):
        raise RefundNotAllowed(_("This payment's backend does not support refunds."))
    with transaction.atomic():
        locked = Payment.objects.select_for_update().get(pk=payment.pk)
        if not locked.is_paid:
            raise RefundNotAllowed(_("Only a paid payment can be refunded."))
        pending = (
            locked.refunds.filter(status=RefundStatus.PENDING).aggregate(total=Sum("amount"))[
                "total"
            ]
            or 0
        )
        # Checked under the row lock, where ``pending`` is exact: two racing
        # submissions of one form serialise here and the second sees the first.
        # The total survives the provider's confirmation (pending becomes
        # refunded) and changes with any new, failed or outside refund.
        if (
            expected_refund_total is not None
            and locked.refunded_amount + pending != expected_refund_total
        ):
            raise RefundNotAllowed(
                _(
                    "The payment's refunds changed since this refund was prepared; "
                    "check them and try again."
                )
            )
        available = locked.remaining_refundable(pending)
        if amount is None:
            amount = available
        if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
            raise RefundNotAllowed(_("A refund amount must be a positive whole number."))
        if amount > available:
            raise RefundNotAllowed(_("The refund exceeds what remains refundable."))
        if amount < locked.amount and not backend.supports(Capability.PARTIAL_REFUNDS):
            raise RefundNotAllowed(_("This payment's backend does not support partial refunds."))
        refund = Refund.objects.create(
            payment=locked, amount=amount, reason=reason[:255], requested_by=signed_in(actor)
        )
    send_refund(payment, refund, source=source, actor=actor)
    return refund


def send_refund(
    payment: Payment,
    refund: Refund,
    *,
    source: ChangeSource | str,
    step: str = "refund",
    actor: AbstractBaseUser | None = None,
) -> Refund:
    """Ask the provider for ``refund`` (already committed, status pending).

    Sending the same refund again is safe: the request carries the refund's
    stored reference and idempotency key, which providers deduplicate. So it
    is used both for the first request and to retry one that timed out. A
    refusal fails the refund; an unknown outcome leaves it pending with
    ``needs_reconciliation`` set.
    """
    backend = get_backend(payment.backend)
    # The stored row, not the caller's copy: provider ids may have arrived since.
    current = Payment.objects.get(pk=payment.pk)
    provider_request = RefundRequest(
        payment=current.as_ref(),
        reference=refund.reference,
        amount=refund.amount,
        idempotency_key=refund.idempotency_key,
        reason=refund.reason,
    )
    who = actor_evidence(actor)
    with backend.hold_notifications():
        try:
            snapshot = backend.refund_payment(provider_request)
        except ProviderRejected as exc:
            with transaction.atomic():
                Payment.objects.select_for_update().get(pk=payment.pk)
                locked_refund = Refund.objects.select_for_update().get(pk=refund.pk)
                Refund.objects.filter(pk=refund.pk).update(last_error=str(exc))
                transition(
                    locked_refund,
                    RefundStatus.FAILED,
                    source=source,
                    evidence={**error_evidence(exc), **who},
                    needs_reconciliation=False,
                )
            refund.refresh_from_db()
            return refund
        except ProviderError as exc:
            mark_unknown(refund, exc)
            return refund
        apply_refund_snapshot(
            payment, refund, snapshot, source=source, evidence={"step": step, **who}
        )
    # Read after the block: a notification delivered at its end may have moved them.
    refund.refresh_from_db()
    payment.refresh_from_db()
    return refund
