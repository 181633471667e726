"""Turning unknown outcomes into definite ones (``manage.py kakaopay_reconcile``).

A provider call that timed out or failed on the provider's side leaves an
object with ``needs_reconciliation`` set; a payment or agreement may also stay
``pending`` because the customer walked away. Reconciliation asks the
provider (by id, or by reference and idempotency key when no id was stored)
and applies the answer through :mod:`.apply`, so every status change still
goes through :func:`.transitions.transition`:

- a payment or preapproval the provider definitely does not have (a 404-style
  refusal of the look-up) was never created: it becomes ``failed``;
- one the provider still reports pending past ``EXPIRE_AFTER`` seconds
  becomes ``expired`` here (a later report of success still wins:
  ``expired → paid`` is allowed);
- a pending refund is settled by the payment's refunded total, and one whose
  request timed out is sent again with the same reference and idempotency
  key (providers deduplicate it);
- a cancellation that timed out is sent again.

It is safe to run on several machines at once: every row is claimed with
``select_for_update(skip_locked=True)`` in its own transaction, eligibility is
checked again on the locked row, and the work for that row happens inside
that transaction, so a second runner skips it. The provider calls made there
only read, or repeat a request whose row is already committed.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ..backends.types import PaymentSnapshot, PreapprovalSnapshot
from ..conf import get_backend, get_setting
from ..exceptions import ProviderError, ProviderRejected
from ..models import ChangeSource, Payment, Preapproval, Refund
from ..status import (
    OPEN_PAYMENT_STATUSES,
    OPEN_PREAPPROVAL_STATUSES,
    ObjectKind,
    PaymentStatus,
    PreapprovalStatus,
    RefundStatus,
)
from .apply import Outcome, apply_payment_snapshot, apply_preapproval_snapshot
from .first_charge import record_first_charge
from .preapprovals import send_cancel
from .provider_errors import error_evidence
from .reconcile_report import ReconcileOutcome, ReconcileResult, result_of
from .refunds import send_refund
from .transitions import Tracked, transition

logger = logging.getLogger("django_kakaopay")

CANCELABLE = (PreapprovalStatus.ACTIVE, PreapprovalStatus.PENDING)
# A request is sent again only this long before the provider forgets its key.
RESEND_MARGIN = timedelta(hours=1)


def seconds_setting(value: int | float | None, setting: str) -> float:
    """``value`` when given, else the named KAKAOPAY setting, in seconds."""
    return float(get_setting(setting) if value is None else value)


def _is_not_found(exc: ProviderError) -> bool:
    return isinstance(exc, ProviderRejected) and exc.status_code == 404


def _note_error(obj: Tracked, exc: ProviderError) -> None:
    logger.info("Could not reconcile %s %s: %s", type(obj).__name__, obj.pk, exc)
    type(obj)._default_manager.filter(pk=obj.pk).update(last_error=str(exc))
    obj.last_error = str(exc)


def _close(
    obj: Payment | Preapproval,
    target: str,
    *,
    source: ChangeSource | str,
    evidence: dict[str, Any],
    **fields: Any,
) -> bool:
    """Move an open payment or agreement to a final status decided here."""
    model = type(obj)
    with transaction.atomic():
        locked = model._default_manager.select_for_update().get(pk=obj.pk)
        moved = transition(
            locked, target, source=source, evidence=evidence, needs_reconciliation=False, **fields
        )
    obj.refresh_from_db()
    return moved


def _expired_evidence(provider_status: str, expire_after: float) -> dict[str, Any]:
    return {
        "step": "reconcile",
        "reason": "still pending at the provider after the expiry window",
        "provider_status": provider_status,
        "expire_after_seconds": expire_after,
    }


def _not_found_evidence(exc: ProviderError) -> dict[str, Any]:
    return {
        "step": "reconcile",
        "reason": "the provider has no such object, so it was never created",
        **error_evidence(exc),
    }


def _not_found(
    obj: Payment | Preapproval,
    kind: ObjectKind,
    exc: ProviderError,
    now: datetime,
    expire_after: float,
    source: ChangeSource | str,
    old_status: str,
) -> ReconcileResult:
    """The provider's look-up did not find an open object.

    Look-ups by reference are partly inferred and a provider may index a new
    object late, so "not found" is trusted only once the object is older than
    the expiry window; until then it waits, without failing the run.
    """
    if obj.created_at > now - timedelta(seconds=expire_after):
        _note_error(obj, exc)
        detail = _(
            "Not found at the provider yet; it is marked failed if still missing "
            "after the expiry window."
        )
        return ReconcileResult(
            kind,
            str(obj.pk),
            obj.reference,
            ReconcileOutcome.UNCHANGED,
            old_status,
            obj.status,
            detail,
        )
    failed = PaymentStatus.FAILED if kind == "payment" else PreapprovalStatus.FAILED
    _close(obj, failed, source=source, evidence=_not_found_evidence(exc), last_error=str(exc))
    return result_of(obj, kind, old_status, obj.needs_reconciliation, str(exc))


# -- one object ---------------------------------------------------------------------


def reconcile_payment(
    payment: Payment,
    *,
    now: datetime | None = None,
    expire_after: float | None = None,
    source: ChangeSource | str = ChangeSource.COMMAND,
) -> ReconcileResult:
    """Pull ``payment`` (or a charge) from its provider and make its outcome definite.

    Found by id, or by reference and idempotency key when its creation timed
    out. Not found at all: ``failed``. Still pending more than
    ``expire_after`` seconds after it was created: ``expired``. The default
    is the backend's ``expiry_window`` when it declares one (KakaoPay's own
    API), else ``EXPIRE_AFTER``. An unreachable provider changes nothing.
    """
    now = now or timezone.now()
    old_status, was_unknown = payment.status, payment.needs_reconciliation
    backend = get_backend(payment.backend)
    window = backend.expiry_window
    if expire_after is None and window is not None:
        expire_after = window.total_seconds()
    expire_after = seconds_setting(expire_after, "EXPIRE_AFTER")
    try:
        snapshot = backend.fetch_payment(payment.as_ref())
    except ProviderError as exc:
        if _is_not_found(exc) and payment.status in OPEN_PAYMENT_STATUSES:
            return _not_found(payment, "payment", exc, now, expire_after, source, old_status)
        _note_error(payment, exc)
        return result_of(payment, "payment", old_status, was_unknown, str(exc), unknown=True)
    applied = apply_payment_snapshot(
        payment, snapshot, source=source, evidence={"step": "reconcile"}
    )
    if applied.outcome == Outcome.MISMATCH:
        return result_of(payment, "payment", old_status, was_unknown, applied.detail, unknown=True)
    return _after_pull(
        payment, "payment", snapshot, now, expire_after, source, old_status, was_unknown
    )


def _after_pull(
    obj: Payment | Preapproval,
    kind: ObjectKind,
    snapshot: PaymentSnapshot | PreapprovalSnapshot,
    now: datetime,
    expire_after: float,
    source: ChangeSource | str,
    old_status: str,
    was_unknown: bool,
) -> ReconcileResult:
    """The result of a pull already applied: unknown if unreadable, else expire if abandoned."""
    if snapshot.status is None:
        detail = _("The provider reported a status that is not understood: %(status)s.") % {
            "status": snapshot.provider_status or "?"
        }
        return result_of(obj, kind, old_status, was_unknown, detail, unknown=True)
    _expire_if_abandoned(obj, snapshot, now, expire_after, source)
    return result_of(obj, kind, old_status, was_unknown)


def _expire_if_abandoned(
    obj: Payment | Preapproval,
    snapshot: PaymentSnapshot | PreapprovalSnapshot,
    now: datetime,
    expire_after: float,
    source: ChangeSource | str,
) -> None:
    """Expire here what the provider still reports open past the expiry window."""
    if _still_pending(obj.status, snapshot, obj.created_at, now, expire_after):
        _close(
            obj,
            PaymentStatus.EXPIRED if isinstance(obj, Payment) else PreapprovalStatus.EXPIRED,
            source=source,
            evidence=_expired_evidence(snapshot.provider_status, expire_after),
        )


def _still_pending(
    status: str,
    snapshot: PaymentSnapshot | PreapprovalSnapshot,
    created_at: datetime,
    now: datetime,
    expire_after: float,
) -> bool:
    """Open here and still open at the provider, past the expiry window."""
    open_statuses = (
        OPEN_PAYMENT_STATUSES
        if isinstance(snapshot, PaymentSnapshot)
        else OPEN_PREAPPROVAL_STATUSES
    )
    return (
        status in open_statuses
        and snapshot.status in open_statuses
        and created_at <= now - timedelta(seconds=expire_after)
    )


def reconcile_refund(
    refund: Refund,
    *,
    now: datetime | None = None,
    source: ChangeSource | str = ChangeSource.COMMAND,
) -> ReconcileResult:
    """Settle a pending (or flagged) refund.

    A refund whose request timed out may never have reached the provider, so
    it is sent again first, with the same reference and idempotency key (the
    provider answers with the refund it already made, or makes it now); a
    refusal fails it. Settling it from the payment's refunded total instead
    could credit it with money another refund moved. A pending refund the
    provider acknowledged is settled by pulling its payment.

    Past the backend's ``idempotency_window`` the provider may have forgotten
    the key, so sending it again could refund twice: such a refund is left
    for a person, and reported as unknown until then.
    """
    now = now or timezone.now()
    old_status, was_unknown = refund.status, refund.needs_reconciliation
    payment = Payment.objects.get(pk=refund.payment_id)
    if refund.status == RefundStatus.PENDING and refund.needs_reconciliation:
        window = get_backend(payment.backend).idempotency_window
        if window is not None and refund.created_at <= now - window + RESEND_MARGIN:
            detail = _(
                "The refund request timed out too long ago to be sent again safely: the "
                "provider no longer remembers its idempotency key. Compare it with the "
                "provider's dashboard."
            )
            return result_of(refund, "refund", old_status, was_unknown, detail, unknown=True)
        send_refund(payment, refund, source=source, step="reconcile")
        refund.refresh_from_db()
        if refund.status != RefundStatus.FAILED:
            return result_of(refund, "refund", old_status, was_unknown)
        # Refused: record whatever the provider did refund (a dashboard refund,
        # say), so the books still match its total.
    backend = get_backend(payment.backend)
    detail = ""
    try:
        snapshot = backend.fetch_payment(payment.as_ref())
    except ProviderError as exc:
        _note_error(refund, exc)
        return result_of(refund, "refund", old_status, was_unknown, str(exc), unknown=True)
    applied = apply_payment_snapshot(
        payment, snapshot, source=source, evidence={"step": "reconcile", "refund": str(refund.pk)}
    )
    if applied.outcome == Outcome.MISMATCH:
        detail = applied.detail
    refund.refresh_from_db()
    return result_of(refund, "refund", old_status, was_unknown, detail)


def reconcile_preapproval(
    preapproval: Preapproval,
    *,
    now: datetime | None = None,
    expire_after: float | None = None,
    source: ChangeSource | str = ChangeSource.COMMAND,
) -> ReconcileResult:
    """Make an agreement's outcome definite, or finish a cancellation that timed out.

    Not found at the provider: ``failed``; still pending more than
    ``expire_after`` seconds after it was created: ``expired``. An agreement
    with ``cancel_requested_at`` set that is still active has its
    cancellation sent again.
    """
    now = now or timezone.now()
    expire_after = seconds_setting(expire_after, "EXPIRE_AFTER")
    old_status, was_unknown = preapproval.status, preapproval.needs_reconciliation
    backend = get_backend(preapproval.backend)
    if preapproval.status in CANCELABLE and preapproval.cancel_requested_at is not None:
        return _retry_cancel(
            preapproval, old_status, was_unknown, source, now=now, expire_after=expire_after
        )
    try:
        snapshot = backend.fetch_preapproval(preapproval.as_ref())
    except ProviderError as exc:
        if _is_not_found(exc) and preapproval.status in OPEN_PREAPPROVAL_STATUSES:
            return _not_found(
                preapproval, "preapproval", exc, now, expire_after, source, old_status
            )
        _note_error(preapproval, exc)
        return result_of(
            preapproval, "preapproval", old_status, was_unknown, str(exc), unknown=True
        )
    apply_preapproval_snapshot(preapproval, snapshot, source=source, evidence={"step": "reconcile"})
    record_first_charge(preapproval, snapshot.first_charge, source=source)
    return _after_pull(
        preapproval, "preapproval", snapshot, now, expire_after, source, old_status, was_unknown
    )


ENDED = (PreapprovalStatus.CANCELED, PreapprovalStatus.FAILED, PreapprovalStatus.EXPIRED)


def _retry_cancel(
    preapproval: Preapproval,
    old_status: str,
    was_unknown: bool,
    source: ChangeSource | str,
    *,
    now: datetime,
    expire_after: float,
) -> ReconcileResult:
    """Send a cancellation that timed out again, until the agreement has ended.

    A refusal is checked against the provider: an agreement it reports ended
    (or one still pending past the expiry window, which is expired here) can
    no longer be charged, which is all the cancellation was for. One that is
    still active and cannot be canceled needs a person, and is reported so.
    """
    try:
        send_cancel(preapproval, source=source, step="reconcile")
    except ProviderError as exc:
        _note_error(preapproval, exc)
        try:
            snapshot = get_backend(preapproval.backend).fetch_preapproval(preapproval.as_ref())
        except ProviderError:
            pass
        else:
            apply_preapproval_snapshot(
                preapproval, snapshot, source=source, evidence={"step": "reconcile"}
            )
            _expire_if_abandoned(preapproval, snapshot, now, expire_after, source)
        if preapproval.status not in ENDED:
            detail = _("The provider refused the cancellation: %(error)s") % {"error": exc}
            return result_of(
                preapproval, "preapproval", old_status, was_unknown, detail, unknown=True
            )
    if preapproval.status not in ENDED:
        detail = preapproval.last_error or _("The cancellation is still not confirmed.")
        return result_of(preapproval, "preapproval", old_status, was_unknown, detail, unknown=True)
    return result_of(preapproval, "preapproval", old_status, was_unknown)
