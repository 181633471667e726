"""Apply what a provider says (a pull or a notification) to our rows.

Every path locks the row (or compare-and-sets it), compares the provider's
view with ours and hands any status change to :func:`.transitions.transition`.
An update older than the newest one applied, a repeated one, or one that would
move a status backwards changes nothing. The paths live beside this module, one
per kind of object: :mod:`.apply_payments`, :mod:`.apply_refunds`,
:mod:`.apply_preapprovals`, sharing :mod:`.apply_rules` and :mod:`.lookups`;
this module finds the object an update is about and dispatches.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from ..backends.types import PaymentSnapshot, RefundSnapshot, Snapshot
from ..models import ChangeSource
from .apply_payments import apply_payment_locked, apply_payment_snapshot
from .apply_preapprovals import apply_preapproval_locked, apply_preapproval_snapshot
from .apply_refunds import apply_refund_snapshot
from .apply_rules import ApplyResult, Outcome
from .lookups import find_payment, find_preapproval, find_refund


def apply_update(
    backend: str,
    snapshot: Snapshot,
    *,
    source: ChangeSource | str,
    evidence: dict[str, Any] | None = None,
) -> ApplyResult:
    """Find the object a provider update is about and apply it."""
    if isinstance(snapshot, RefundSnapshot):
        owner, refund = find_refund(backend, snapshot)
        if owner is None:
            return ApplyResult(Outcome.NOT_FOUND, detail=_describe(snapshot))
        return apply_refund_snapshot(owner, refund, snapshot, source=source, evidence=evidence)
    # Found and locked by one statement, applied in the same transaction.
    with transaction.atomic(savepoint=False):
        if isinstance(snapshot, PaymentSnapshot):
            payment = find_payment(backend, snapshot, lock=True)
            if payment is None:
                return ApplyResult(Outcome.NOT_FOUND, detail=_describe(snapshot))
            return apply_payment_locked(payment, snapshot, source, evidence or {})
        preapproval = find_preapproval(backend, snapshot, lock=True)
        if preapproval is None:
            return ApplyResult(Outcome.NOT_FOUND, detail=_describe(snapshot))
        return apply_preapproval_locked(preapproval, None, snapshot, source, evidence)


def _describe(snapshot: Snapshot) -> str:
    ids = [
        value
        for value in (
            getattr(snapshot, "reference", ""),
            getattr(snapshot, "provider_payment_id", ""),
            getattr(snapshot, "provider_refund_id", ""),
            getattr(snapshot, "provider_preapproval_id", ""),
        )
        if value
    ]
    if isinstance(snapshot, PaymentSnapshot):
        message = _("No payment matches %(ids)s.")
    elif isinstance(snapshot, RefundSnapshot):
        message = _("No refund matches %(ids)s.")
    else:
        message = _("No preapproval matches %(ids)s.")
    return message % {"ids": ", ".join(ids) or "?"}


__all__ = [
    "ApplyResult",
    "Outcome",
    "apply_payment_snapshot",
    "apply_preapproval_snapshot",
    "apply_refund_snapshot",
    "apply_update",
    "find_payment",
    "find_preapproval",
    "find_refund",
]
