"""Status rules: plain data and pure functions, checked without a database."""

from __future__ import annotations

import itertools

import pytest

from django_kakaopay.status import (
    OPEN_PAYMENT_STATUSES,
    OPEN_PREAPPROVAL_STATUSES,
    PAID_STATUSES,
    PAYMENT_TRANSITIONS,
    TRANSITIONS,
    UNSUCCESSFUL_STATUSES,
    ObjectKind,
    PaymentStatus,
    PreapprovalStatus,
    RefundStatus,
    can_transition,
    is_final,
    sources_of,
)

P, A, R = PaymentStatus, PreapprovalStatus, RefundStatus
KINDS: list[ObjectKind] = ["payment", "refund", "preapproval"]

# The documented tables, written out pair by pair so that any change to
# status.py has to be made here too, on purpose.
ALLOWED: dict[ObjectKind, set[tuple[str, str]]] = {
    "payment": {
        (P.CREATED, P.PENDING),
        (P.CREATED, P.PAID),
        (P.CREATED, P.FAILED),
        (P.CREATED, P.CANCELED),
        (P.CREATED, P.EXPIRED),
        (P.PENDING, P.PAID),
        (P.PENDING, P.FAILED),
        (P.PENDING, P.CANCELED),
        (P.PENDING, P.EXPIRED),
        (P.PAID, P.PARTIALLY_REFUNDED),
        (P.PAID, P.REFUNDED),
        (P.PARTIALLY_REFUNDED, P.REFUNDED),
        # A later success overrides an earlier decline (retry inside the provider's page).
        (P.FAILED, P.PAID),
        # A payment expired locally by reconciliation that the provider reports
        # paid after all: the money was taken, so it is never lost.
        (P.EXPIRED, P.PAID),
    },
    "preapproval": {
        (A.CREATED, A.PENDING),
        (A.CREATED, A.ACTIVE),
        (A.CREATED, A.FAILED),
        (A.CREATED, A.CANCELED),
        (A.CREATED, A.EXPIRED),
        (A.PENDING, A.ACTIVE),
        (A.PENDING, A.FAILED),
        (A.PENDING, A.CANCELED),
        (A.PENDING, A.EXPIRED),
        (A.ACTIVE, A.CANCELED),
        (A.ACTIVE, A.EXPIRED),
        # An agreement expired locally by reconciliation that the customer
        # approved after all: the provider's report wins.
        (A.EXPIRED, A.ACTIVE),
    },
    "refund": {
        (R.PENDING, R.SUCCEEDED),
        (R.PENDING, R.FAILED),
    },
}
VALUES: dict[ObjectKind, list[str]] = {
    "payment": P.values,
    "preapproval": A.values,
    "refund": R.values,
}


def every_pair(kind: ObjectKind) -> list[tuple[ObjectKind, str, str]]:
    return [(kind, a, b) for a, b in itertools.product(VALUES[kind], repeat=2)]


@pytest.mark.parametrize(
    ("kind", "current", "target"),
    every_pair("payment") + every_pair("preapproval") + every_pair("refund"),
)
def test_every_pair_is_allowed_exactly_when_documented(
    kind: ObjectKind, current: str, target: str
) -> None:
    assert can_transition(kind, current, target) is ((current, target) in ALLOWED[kind])


@pytest.mark.parametrize("paid_like", sorted(PAID_STATUSES))
@pytest.mark.parametrize("earlier", [P.CREATED, P.PENDING, P.FAILED, P.CANCELED, P.EXPIRED])
def test_money_taken_never_goes_back(paid_like: str, earlier: str) -> None:
    assert not can_transition("payment", paid_like, earlier)


def test_paid_to_pending_is_never_allowed() -> None:
    assert can_transition("payment", P.PAID, P.PENDING) is False
    assert P.PENDING not in PAYMENT_TRANSITIONS[P.PAID]
    assert P.PAID not in sources_of("payment", P.PENDING)


def test_refunds_only_move_forward() -> None:
    assert not can_transition("payment", P.REFUNDED, P.PARTIALLY_REFUNDED)
    assert not can_transition("payment", P.PARTIALLY_REFUNDED, P.PAID)
    assert not can_transition("refund", R.SUCCEEDED, R.PENDING)
    assert not can_transition("refund", R.FAILED, R.SUCCEEDED)


def test_an_active_agreement_never_goes_back_to_pending() -> None:
    assert not can_transition("preapproval", A.ACTIVE, A.PENDING)
    assert not can_transition("preapproval", A.ACTIVE, A.CREATED)
    assert not can_transition("preapproval", A.CANCELED, A.ACTIVE)


@pytest.mark.parametrize("kind", KINDS)
def test_staying_put_is_not_a_transition(kind: ObjectKind) -> None:
    for status in VALUES[kind]:
        assert can_transition(kind, status, status) is False


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("unknown", ["Captured", "PAID", "", "paid ", "SUCCESS_PAYMENT"])
def test_unknown_statuses_answer_false(kind: ObjectKind, unknown: str) -> None:
    for status in VALUES[kind]:
        assert can_transition(kind, status, unknown) is False
        assert can_transition(kind, unknown, status) is False
    assert can_transition(kind, unknown, unknown) is False


def test_every_status_has_a_row_and_targets_are_known_statuses() -> None:
    for kind in KINDS:
        table = TRANSITIONS[kind]
        assert set(table) == set(VALUES[kind])
        for targets in table.values():
            assert targets <= set(VALUES[kind])


@pytest.mark.parametrize(
    ("kind", "finals"),
    [
        ("payment", {P.REFUNDED, P.CANCELED}),
        ("preapproval", {A.CANCELED, A.FAILED}),
        ("refund", {R.SUCCEEDED, R.FAILED}),
    ],
)
def test_finals(kind: ObjectKind, finals: set[str]) -> None:
    assert {status for status in VALUES[kind] if is_final(kind, status)} == finals
    for status in finals:
        assert not any(can_transition(kind, status, target) for target in VALUES[kind])


def test_a_failed_payment_is_not_final() -> None:
    assert not is_final("payment", P.FAILED), "a later success may still arrive"
    assert not is_final("payment", P.PAID)


def test_a_locally_expired_payment_can_still_be_reported_paid() -> None:
    assert not is_final("payment", P.EXPIRED), "our expiry must not lose money taken later"
    assert can_transition("payment", P.EXPIRED, P.PAID)
    assert not can_transition("payment", P.EXPIRED, P.PENDING)
    assert not can_transition("payment", P.EXPIRED, P.FAILED)


def test_a_locally_expired_agreement_can_still_be_reported_active() -> None:
    assert can_transition("preapproval", A.EXPIRED, A.ACTIVE)
    assert not can_transition("preapproval", A.EXPIRED, A.PENDING)


def test_an_unknown_status_counts_as_final() -> None:
    """Nothing can leave a value we do not know."""
    assert is_final("payment", "Captured")


@pytest.mark.parametrize("kind", KINDS)
def test_sources_of_is_the_inverse_of_the_table(kind: ObjectKind) -> None:
    for target in VALUES[kind]:
        expected = {a for a, b in ALLOWED[kind] if b == target}
        assert sources_of(kind, target) == expected


def test_sources_of_examples() -> None:
    assert sources_of("payment", P.PAID) == {P.CREATED, P.PENDING, P.FAILED, P.EXPIRED}
    assert sources_of("payment", P.REFUNDED) == {P.PAID, P.PARTIALLY_REFUNDED}
    assert sources_of("payment", P.CREATED) == frozenset()
    assert sources_of("preapproval", A.ACTIVE) == {A.CREATED, A.PENDING, A.EXPIRED}
    assert sources_of("refund", R.SUCCEEDED) == {R.PENDING}
    assert sources_of("payment", "Captured") == frozenset()


def test_status_groups_are_disjoint_and_complete() -> None:
    groups = [PAID_STATUSES, UNSUCCESSFUL_STATUSES, OPEN_PAYMENT_STATUSES]
    assert set().union(*groups) == set(P.values)
    assert sum(len(group) for group in groups) == len(P.values)
    assert {A.CREATED, A.PENDING} == OPEN_PREAPPROVAL_STATUSES


def test_status_values_are_the_designed_ones() -> None:
    assert P.values == [
        "created",
        "pending",
        "paid",
        "partially_refunded",
        "refunded",
        "failed",
        "canceled",
        "expired",
    ]
    assert A.values == ["created", "pending", "active", "canceled", "failed", "expired"]
    assert R.values == ["pending", "succeeded", "failed"]
