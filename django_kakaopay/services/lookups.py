"""Finding the row a provider update is about: one indexed point look-up per id."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from django.db.models import Model

from ..backends.types import PaymentSnapshot, PreapprovalSnapshot, RefundSnapshot
from ..models import Payment, Preapproval, Refund
from .statements import fetch_one


def find_payment(backend: str, snapshot: PaymentSnapshot, *, lock: bool = False) -> Payment | None:
    """The payment ``snapshot`` is about, by the provider's id first, then ours.

    One indexed point look-up per id the snapshot carries, stopping at the
    first match (usually the first); with ``lock`` the same statement takes
    the row lock, so it must run inside a transaction.
    """
    return first_match(
        Payment,
        backend,
        (
            ("provider_payment_id", snapshot.provider_payment_id),
            ("provider_session_id", snapshot.provider_session_id),
            ("reference", snapshot.reference),
        ),
        lock=lock,
    )


_M = TypeVar("_M", bound=Model)


def first_match(
    model: type[_M], backend: str, candidates: Iterable[tuple[str, str]], *, lock: bool
) -> _M | None:
    for field, value in candidates:
        if value:
            found = fetch_one(model, {"backend": backend, field: value}, lock=lock)
            if found is not None:
                return found
    return None


def find_refund(backend: str, snapshot: RefundSnapshot) -> tuple[Payment | None, Refund | None]:
    """The refund ``snapshot`` is about and its payment, or only the payment.

    Not locked: :func:`apply_refund_snapshot` locks the payment, then the
    refund, the order every refund path uses.
    """
    refund = None
    for field, value in (
        ("provider_refund_id", snapshot.provider_refund_id),
        ("reference", snapshot.reference),
    ):
        if value and refund is None:
            query = Refund.objects.filter(payment__backend=backend, **{field: value})
            refund = query.select_related("payment").order_by().first()
    if refund is not None:
        return refund.payment, refund
    payment = find_payment(
        backend,
        PaymentSnapshot(
            status=None,
            provider_payment_id=snapshot.provider_payment_id,
            reference=snapshot.payment_reference,
        ),
    )
    return payment, None


def find_preapproval(
    backend: str, snapshot: PreapprovalSnapshot, *, lock: bool = False
) -> Preapproval | None:
    return first_match(
        Preapproval,
        backend,
        (
            ("provider_preapproval_id", snapshot.provider_preapproval_id),
            ("reference", snapshot.reference),
        ),
        lock=lock,
    )
