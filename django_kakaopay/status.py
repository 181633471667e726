"""Which status changes are allowed, as plain data and one pure function.

The tables are the single source of truth: ``services`` refuses any change
they do not list, so an old or repeated provider update can never move an
object backwards (``paid`` never becomes ``pending`` again).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, Literal

from django.db import models
from django.utils.translation import pgettext_lazy

ObjectKind = Literal["payment", "refund", "preapproval"]


class PaymentStatus(models.TextChoices):
    CREATED = "created", pgettext_lazy("payment status", "Created")
    PENDING = "pending", pgettext_lazy("payment status", "Pending")
    PAID = "paid", pgettext_lazy("payment status", "Paid")
    PARTIALLY_REFUNDED = "partially_refunded", pgettext_lazy("payment status", "Partially refunded")
    REFUNDED = "refunded", pgettext_lazy("payment status", "Refunded")
    FAILED = "failed", pgettext_lazy("payment status", "Failed")
    CANCELED = "canceled", pgettext_lazy("payment status", "Canceled")
    EXPIRED = "expired", pgettext_lazy("payment status", "Expired")


class PreapprovalStatus(models.TextChoices):
    CREATED = "created", pgettext_lazy("preapproval status", "Created")
    PENDING = "pending", pgettext_lazy("preapproval status", "Pending")
    ACTIVE = "active", pgettext_lazy("preapproval status", "Active")
    CANCELED = "canceled", pgettext_lazy("preapproval status", "Canceled")
    FAILED = "failed", pgettext_lazy("preapproval status", "Failed")
    EXPIRED = "expired", pgettext_lazy("preapproval status", "Expired")


class RefundStatus(models.TextChoices):
    PENDING = "pending", pgettext_lazy("refund status", "Pending")
    SUCCEEDED = "succeeded", pgettext_lazy("refund status", "Succeeded")
    FAILED = "failed", pgettext_lazy("refund status", "Failed")


P = PaymentStatus
A = PreapprovalStatus
R = RefundStatus

PAYMENT_TRANSITIONS: Final[Mapping[str, frozenset[str]]] = {
    P.CREATED: frozenset({P.PENDING, P.PAID, P.FAILED, P.CANCELED, P.EXPIRED}),
    P.PENDING: frozenset({P.PAID, P.FAILED, P.CANCELED, P.EXPIRED}),
    P.PAID: frozenset({P.PARTIALLY_REFUNDED, P.REFUNDED}),
    P.PARTIALLY_REFUNDED: frozenset({P.REFUNDED}),
    # Smart2Pay documents that a later success overrides an earlier failure:
    # the customer may retry inside the provider's page after a decline.
    P.FAILED: frozenset({P.PAID}),
    P.REFUNDED: frozenset(),
    P.CANCELED: frozenset(),
    # ``expired`` is also set locally by reconciliation when a payment stays
    # pending at the provider too long; that is our decision, not the
    # provider's, so a later report that the money was taken still wins.
    P.EXPIRED: frozenset({P.PAID}),
}

PREAPPROVAL_TRANSITIONS: Final[Mapping[str, frozenset[str]]] = {
    A.CREATED: frozenset({A.PENDING, A.ACTIVE, A.FAILED, A.CANCELED, A.EXPIRED}),
    A.PENDING: frozenset({A.ACTIVE, A.FAILED, A.CANCELED, A.EXPIRED}),
    A.ACTIVE: frozenset({A.CANCELED, A.EXPIRED}),
    A.CANCELED: frozenset(),
    A.FAILED: frozenset(),
    # Reconciliation expires an agreement still pending after EXPIRE_AFTER; if
    # the customer approved it after all, the provider's report wins.
    A.EXPIRED: frozenset({A.ACTIVE}),
}

REFUND_TRANSITIONS: Final[Mapping[str, frozenset[str]]] = {
    R.PENDING: frozenset({R.SUCCEEDED, R.FAILED}),
    R.SUCCEEDED: frozenset(),
    R.FAILED: frozenset(),
}

TRANSITIONS: Final[Mapping[ObjectKind, Mapping[str, frozenset[str]]]] = {
    "payment": PAYMENT_TRANSITIONS,
    "preapproval": PREAPPROVAL_TRANSITIONS,
    "refund": REFUND_TRANSITIONS,
}

# Statuses in which the customer's money has been taken.
PAID_STATUSES: Final = frozenset({P.PAID, P.PARTIALLY_REFUNDED, P.REFUNDED})
# Statuses in which the payment did not and will not take money.
UNSUCCESSFUL_STATUSES: Final = frozenset({P.FAILED, P.CANCELED, P.EXPIRED})
# Statuses whose outcome is still open, so a pull from the provider may change them.
OPEN_PAYMENT_STATUSES: Final = frozenset({P.CREATED, P.PENDING})
OPEN_PREAPPROVAL_STATUSES: Final = frozenset({A.CREATED, A.PENDING})


def can_transition(kind: ObjectKind, current: str, target: str) -> bool:
    """Whether an object of ``kind`` may move from ``current`` to ``target``.

    Staying in the same status is not a transition and answers ``False``.
    Unknown statuses answer ``False`` rather than raising: a provider value
    we do not understand must never move money state.
    """
    allowed = TRANSITIONS[kind].get(current)
    return allowed is not None and target in allowed


def is_final(kind: ObjectKind, status: str) -> bool:
    """A status nothing can leave."""
    return not TRANSITIONS[kind].get(status, frozenset())


def sources_of(kind: ObjectKind, target: str) -> frozenset[str]:
    """The statuses from which ``target`` can be reached (for compare-and-set)."""
    return frozenset(src for src, targets in TRANSITIONS[kind].items() if target in targets)
