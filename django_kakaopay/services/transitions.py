"""The one place where a status changes.

``transition`` is called with the row locked (``select_for_update`` inside
``transaction.atomic``), or with a ``guard`` of every value the caller's
decision read. It checks the rule in :mod:`..status`, writes with
compare-and-set so that only one writer can win even without row locks,
appends to the transition log and queues the signals for after commit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.db.models import Model
from django.dispatch import Signal
from django.utils import timezone

from .. import signals
from ..models import ChangeSource, Payment, Preapproval, Refund, StatusTransition
from ..status import (
    UNSUCCESSFUL_STATUSES,
    ObjectKind,
    PaymentStatus,
    PreapprovalStatus,
    RefundStatus,
    can_transition,
)
from .statements import update_where

Tracked = Payment | Refund | Preapproval

logger = logging.getLogger("django_kakaopay")


def kind_of(obj: Model) -> ObjectKind:
    if isinstance(obj, Payment):
        return "payment"
    if isinstance(obj, Refund):
        return "refund"
    if isinstance(obj, Preapproval):
        return "preapproval"
    raise TypeError(f"{type(obj).__name__} has no status rules")


def actor_evidence(actor: AbstractBaseUser | None) -> dict[str, Any]:
    """What the log keeps of the staff member whose action caused a change.

    ``{"actor": {"id": ..., "username": ...}}``, or nothing without one. The
    username is copied, not only the id, so the log still names the person
    after their account is renamed or deleted.
    """
    if actor is None:
        return {}
    pk = actor.pk if isinstance(actor.pk, int) else str(actor.pk)
    return {"actor": {"id": pk, "username": actor.get_username()}}


def transition(
    obj: Tracked,
    target: str,
    *,
    source: ChangeSource | str,
    evidence: dict[str, Any] | None = None,
    guard: Mapping[str, Any] | None = None,
    **fields: Any,
) -> bool:
    """Move ``obj`` to ``target`` if the rules allow it. Returns whether it moved.

    ``fields`` are written in the same UPDATE (timestamps such as ``paid_at``,
    provider ids and payloads). ``guard`` adds columns that must still hold
    the values the caller read, for a caller that decided without a lock.
    """
    kind = kind_of(obj)
    old = obj.status
    if not can_transition(kind, old, target):
        return False
    now = timezone.now()
    log = {
        kind: obj,
        "from_status": old,
        "to_status": target,
        "source": str(source),
        "evidence": evidence or {},
    }
    changed = update_where(
        type(obj),
        {"status": target, "updated_at": now, **fields},
        {obj._meta.pk.name: obj.pk, "status": old, **(guard or {})},
        then_insert=(StatusTransition, log),
    )
    if changed != 1:
        return False
    obj.status = target
    obj.updated_at = now
    for name, value in fields.items():
        setattr(obj, name, value)
    transaction.on_commit(_signal_sender(obj, old, target, str(source)))
    return True


def _send(signal: Signal, sender: type, **kwargs: Any) -> None:
    """Send to every receiver even if one raises.

    The transition is already committed, so a failing receiver must neither
    stop the others nor turn the provider's delivery into an error (its retry
    would then be a duplicate and never reach the receiver again). Failures
    are logged with the object so they can be acted on.
    """
    for receiver, result in signal.send_robust(sender=sender, **kwargs):
        if isinstance(result, Exception):
            logger.error(
                "A receiver of a django-kakaopay signal failed: %r for %s %s",
                receiver,
                sender.__name__,
                getattr(kwargs.get("instance"), "pk", ""),
                exc_info=result,
            )


def _signal_sender(obj: Tracked, old: str, new: str, source: str) -> Callable[[], None]:
    def send() -> None:
        sender = type(obj)
        common = {"instance": obj, "old_status": old, "new_status": new, "source": source}
        _send(signals.status_changed, sender, **common)
        if isinstance(obj, Payment):
            if new == PaymentStatus.PAID:
                _send(signals.payment_paid, sender, **common)
            elif new in UNSUCCESSFUL_STATUSES:
                _send(signals.payment_failed, sender, **common)
        elif isinstance(obj, Refund):
            if new == RefundStatus.SUCCEEDED:
                _send(
                    signals.payment_refunded,
                    sender=Payment,
                    instance=obj.payment,
                    refund=obj,
                    amount=obj.amount,
                    old_status=old,
                    new_status=new,
                    source=source,
                )
        elif isinstance(obj, Preapproval):
            if new == PreapprovalStatus.ACTIVE:
                _send(signals.preapproval_activated, sender, **common)
            elif new == PreapprovalStatus.CANCELED:
                _send(signals.preapproval_canceled, sender, **common)

    return send
