"""Apply what a provider says (a pull or a notification) to our rows.

Every function here locks the row, compares the provider's view with ours
and hands any status change to :func:`.transitions.transition`. An update
older than the newest one applied, a repeated one, or one that would move a
status backwards changes nothing.
"""

from __future__ import annotations

import copy
import enum
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from django.db import transaction
from django.db.models import Model, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from ..backends.types import PaymentSnapshot, PreapprovalSnapshot, RefundSnapshot, Snapshot
from ..models import ChangeSource, Payment, Preapproval, Refund
from ..money import format_money
from ..status import PaymentStatus, PreapprovalStatus, RefundStatus, can_transition
from .statements import fetch_one
from .transitions import Tracked, transition

logger = logging.getLogger("django_kakaopay")


class Outcome(enum.StrEnum):
    APPLIED = "applied"  # the status changed
    UPDATED = "updated"  # provider data refreshed, status unchanged
    UNCHANGED = "unchanged"  # nothing new (a duplicate)
    STALE = "stale"  # older than what we already applied
    NOT_ALLOWED = "not_allowed"  # would move the status backwards
    MISMATCH = "mismatch"  # amount or currency differ from ours: recorded, not applied
    NOT_FOUND = "not_found"  # we have no such object


@dataclass(frozen=True)
class ApplyResult:
    outcome: Outcome
    obj: Payment | Refund | Preapproval | None = None
    detail: str = ""


def _is_stale(occurred_at: datetime | None, last: datetime | None) -> bool:
    return occurred_at is not None and last is not None and occurred_at < last


def _record_problem(obj: Payment | Refund | Preapproval, message: str) -> None:
    logger.warning("%s %s: %s", type(obj).__name__, obj.pk, message)
    obj.last_error = message
    obj.needs_reconciliation = True
    obj.save(update_fields=["last_error", "needs_reconciliation", "updated_at"])


# payments -------------------------------------------------------------------


def find_payment(backend: str, snapshot: PaymentSnapshot, *, lock: bool = False) -> Payment | None:
    """The payment ``snapshot`` is about, by the provider's id first, then ours.

    One indexed point look-up per id the snapshot carries, stopping at the
    first match (usually the first); with ``lock`` the same statement takes
    the row lock, so it must run inside a transaction.
    """
    return _first_match(
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


def _first_match(
    model: type[_M], backend: str, candidates: Iterable[tuple[str, str]], *, lock: bool
) -> _M | None:
    for field, value in candidates:
        if value:
            found = fetch_one(model, {"backend": backend, field: value}, lock=lock)
            if found is not None:
                return found
    return None


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
        result = _apply_payment_locked(locked, snapshot, source, evidence or {}, list(also))
    _copy_state(locked, payment)
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
        or _money_mismatch(payment.amount, payment.currency, snapshot.amount, snapshot.currency)
        or _is_stale(snapshot.occurred_at, payment.provider_updated_at)
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
    _copy_state(candidate, payment)
    return ApplyResult(Outcome.APPLIED, payment)


def _copy_state(source: Any, target: Any) -> None:
    for field in source._meta.concrete_fields:
        setattr(target, field.attname, getattr(source, field.attname))


def _apply_payment_locked(
    payment: Payment,
    snapshot: PaymentSnapshot,
    source: str,
    evidence: dict[str, Any],
    also: list[str] | None = None,
) -> ApplyResult:
    mismatch = _money_mismatch(payment.amount, payment.currency, snapshot.amount, snapshot.currency)
    if mismatch:
        _save_fields(payment, also or [])
        _record_problem(payment, mismatch)
        return ApplyResult(Outcome.MISMATCH, payment, mismatch)
    if _is_stale(snapshot.occurred_at, payment.provider_updated_at):
        _save_fields(payment, also or [])
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
        _save_fields(payment, changed_fields)
        return ApplyResult(Outcome.NOT_ALLOWED, payment)
    _save_fields(payment, changed_fields)
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
        moved |= _record_provider_refunds(payment, provider_total, source, evidence)
    elif snapshot.refunded_amount:
        moved = _record_provider_refunds(payment, snapshot.refunded_amount, source, evidence)

    if moved:
        return ApplyResult(Outcome.APPLIED, payment)
    return ApplyResult(Outcome.UPDATED if changed_fields else Outcome.UNCHANGED, payment)


# Statuses set by the provider's word alone; refund states come from the ledger.
_DIRECT_TARGETS = frozenset(PaymentStatus.values) - {
    PaymentStatus.PARTIALLY_REFUNDED,
    PaymentStatus.REFUNDED,
}


def _save_fields(obj: Tracked, fields: list[str]) -> None:
    if fields:
        obj.save(update_fields=[*fields, "updated_at"])


def _refresh_provider_fields(payment: Payment, snapshot: PaymentSnapshot) -> list[str]:
    changed = _fill_blank(payment, "provider_payment_id", snapshot.provider_payment_id)
    changed += _fill_blank(payment, "provider_session_id", snapshot.provider_session_id)
    return changed + _refresh_tracking(payment, snapshot)


def _fill_blank(obj: Tracked, field: str, value: str) -> list[str]:
    """Record a provider id we did not know yet; a known id is never replaced."""
    if value and not getattr(obj, field):
        setattr(obj, field, value)
        return [field]
    return []


def _refresh_tracking(obj: Tracked, snapshot: PaymentSnapshot | PreapprovalSnapshot) -> list[str]:
    """Keep what the provider last said (``ProviderTrackedFields``); returns changed fields."""
    changed = []
    if snapshot.provider_status and snapshot.provider_status != obj.provider_status:
        obj.provider_status = snapshot.provider_status[:64]
        changed.append("provider_status")
    if snapshot.raw and snapshot.raw != obj.provider_payload:
        obj.provider_payload = dict(snapshot.raw)
        changed.append("provider_payload")
    if snapshot.occurred_at and (
        obj.provider_updated_at is None or snapshot.occurred_at > obj.provider_updated_at
    ):
        obj.provider_updated_at = snapshot.occurred_at
        changed.append("provider_updated_at")
    if snapshot.status is not None and obj.needs_reconciliation:
        # A definite answer from the provider settles an unknown outcome.
        obj.needs_reconciliation = False
        obj.last_error = ""
        changed += ["needs_reconciliation", "last_error"]
    return changed


def _money_mismatch(
    amount: int, currency: str, their_amount: object, their_currency: object
) -> str:
    """Why the provider's money differs from ours ("" when it does not).

    Typed as ``object`` on purpose: a backend that passes the provider's value
    through unchecked (a string, a float) gets a recorded mismatch, never a
    crash that would roll the record back, and never a match.
    """
    if their_currency and str(their_currency).upper() != currency.upper():
        return _("Currency mismatch: the provider reported %(theirs)s, expected %(ours)s.") % {
            "theirs": their_currency,
            "ours": currency,
        }
    if their_amount is None:
        return ""
    if isinstance(their_amount, bool) or not isinstance(their_amount, int):
        theirs = repr(their_amount)
    elif their_amount != amount:
        theirs = format_money(their_amount, currency)
    else:
        return ""
    return _("Amount mismatch: the provider reported %(theirs)s, expected %(ours)s.") % {
        "theirs": theirs,
        "ours": format_money(amount, currency),
    }


def _record_provider_refunds(
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
        moved |= _settle_refund_locked(payment, refund, RefundStatus.SUCCEEDED, source, evidence)
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
    return _settle_refund_locked(payment, refund, RefundStatus.SUCCEEDED, source, evidence) or moved


# refunds --------------------------------------------------------------------


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
                _record_problem(locked_payment, message)
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
            _record_problem(locked_refund, message)
            return ApplyResult(Outcome.MISMATCH, locked_refund, message)
        fields = _fill_blank(locked_refund, "provider_refund_id", snapshot.provider_refund_id)
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
        moved = _settle_refund_locked(
            locked_payment, locked_refund, snapshot.status, str(source), evidence
        )
    if refund is not None:
        _copy_state(locked_refund, refund)
    _copy_state(locked_payment, payment)
    return ApplyResult(Outcome.APPLIED if moved else Outcome.NOT_ALLOWED, locked_refund)


def _settle_refund_locked(
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


# preapprovals ---------------------------------------------------------------


def find_preapproval(
    backend: str, snapshot: PreapprovalSnapshot, *, lock: bool = False
) -> Preapproval | None:
    return _first_match(
        Preapproval,
        backend,
        (
            ("provider_preapproval_id", snapshot.provider_preapproval_id),
            ("reference", snapshot.reference),
        ),
        lock=lock,
    )


def apply_preapproval_snapshot(
    preapproval: Preapproval,
    snapshot: PreapprovalSnapshot,
    *,
    source: ChangeSource | str,
    evidence: dict[str, Any] | None = None,
) -> ApplyResult:
    with transaction.atomic(savepoint=False):
        locked = Preapproval.objects.select_for_update().get(pk=preapproval.pk)
        return _apply_preapproval_locked(locked, preapproval, snapshot, source, evidence)


def _apply_preapproval_locked(
    locked: Preapproval,
    preapproval: Preapproval | None,
    snapshot: PreapprovalSnapshot,
    source: ChangeSource | str,
    evidence: dict[str, Any] | None,
) -> ApplyResult:
    """Apply to a locked agreement; copies the result onto ``preapproval`` when given."""
    if _is_stale(snapshot.occurred_at, locked.provider_updated_at):
        return ApplyResult(Outcome.STALE, locked)
    fields = _fill_blank(locked, "provider_preapproval_id", snapshot.provider_preapproval_id)
    fields += _refresh_tracking(locked, snapshot)
    target = snapshot.status
    outcome = Outcome.UPDATED if fields else Outcome.UNCHANGED
    if target is not None and target != locked.status:
        extra: dict[str, Any] = {name: getattr(locked, name) for name in fields}
        if target == PreapprovalStatus.ACTIVE:
            extra["activated_at"] = timezone.now()
        elif target == PreapprovalStatus.CANCELED:
            extra["canceled_at"] = timezone.now()
        evidence = {**(evidence or {}), "provider_status": snapshot.provider_status}
        if transition(locked, target, source=source, evidence=evidence, **extra):
            outcome, fields = Outcome.APPLIED, []
        else:
            outcome = Outcome.NOT_ALLOWED
    _save_fields(locked, fields)
    if preapproval is None:
        return ApplyResult(outcome, locked)
    _copy_state(locked, preapproval)
    return ApplyResult(outcome, preapproval)


# dispatch -------------------------------------------------------------------


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
            return _apply_payment_locked(payment, snapshot, source, evidence or {})
        preapproval = find_preapproval(backend, snapshot, lock=True)
        if preapproval is None:
            return ApplyResult(Outcome.NOT_FOUND, detail=_describe(snapshot))
        return _apply_preapproval_locked(preapproval, None, snapshot, source, evidence)


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
