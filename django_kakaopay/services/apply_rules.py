"""What every apply path shares: the outcomes, and the rules for reading a snapshot.

An update older than the newest one applied is stale; a provider id we knew
is never replaced; what the provider last said is kept on the row; money
that differs from ours is recorded as a problem, never applied.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils.translation import gettext as _

from ..backends.types import PaymentSnapshot, PreapprovalSnapshot
from ..models import Payment, Preapproval, Refund
from ..money import format_money
from .transitions import Tracked

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


def is_stale(occurred_at: datetime | None, last: datetime | None) -> bool:
    return occurred_at is not None and last is not None and occurred_at < last


def record_problem(obj: Payment | Refund | Preapproval, message: str) -> None:
    logger.warning("%s %s: %s", type(obj).__name__, obj.pk, message)
    obj.last_error = message
    obj.needs_reconciliation = True
    obj.save(update_fields=["last_error", "needs_reconciliation", "updated_at"])


def copy_state(source: Any, target: Any) -> None:
    for field in source._meta.concrete_fields:
        setattr(target, field.attname, getattr(source, field.attname))


def save_fields(obj: Tracked, fields: list[str]) -> None:
    if fields:
        obj.save(update_fields=[*fields, "updated_at"])


def fill_blank(obj: Tracked, field: str, value: str) -> list[str]:
    """Record a provider id we did not know yet; a known id is never replaced."""
    if value and not getattr(obj, field):
        setattr(obj, field, value)
        return [field]
    return []


def refresh_tracking(obj: Tracked, snapshot: PaymentSnapshot | PreapprovalSnapshot) -> list[str]:
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
    message = getattr(snapshot, "customer_message", "")
    if message and message != obj.failure_message:
        obj.failure_message = message
        changed.append("failure_message")
    if snapshot.status is not None and obj.needs_reconciliation:
        # A definite answer from the provider settles an unknown outcome.
        obj.needs_reconciliation = False
        obj.last_error = ""
        changed += ["needs_reconciliation", "last_error"]
    return changed


def money_mismatch(amount: int, currency: str, their_amount: object, their_currency: object) -> str:
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
