"""Status rules and money: pure functions, no database."""

from __future__ import annotations

import itertools

import pytest

from django_kakaopay.money import (
    CurrencyError,
    exponent,
    format_money,
    major_units,
    normalize_currency,
    validate_amount,
)
from django_kakaopay.status import (
    PAYMENT_TRANSITIONS,
    TRANSITIONS,
    PaymentStatus,
    PreapprovalStatus,
    RefundStatus,
    can_transition,
    is_final,
    sources_of,
)

P, A, R = PaymentStatus, PreapprovalStatus, RefundStatus


# -- status rules ----------------------------------------------------------------

ALLOWED_PAYMENT = {
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
    (P.FAILED, P.PAID),
}


@pytest.mark.parametrize(
    ("current", "target"), list(itertools.product(PaymentStatus.values, repeat=2))
)
def test_payment_transition_table_is_exactly_the_documented_one(current: str, target: str) -> None:
    assert can_transition("payment", current, target) is ((current, target) in ALLOWED_PAYMENT)


@pytest.mark.parametrize(
    "paid_like", [P.PAID, P.PARTIALLY_REFUNDED, P.REFUNDED], ids=lambda s: str(s)
)
@pytest.mark.parametrize("earlier", [P.CREATED, P.PENDING, P.FAILED, P.CANCELED, P.EXPIRED])
def test_money_taken_never_goes_back(paid_like: str, earlier: str) -> None:
    assert not can_transition("payment", paid_like, earlier)


def test_refunds_only_move_forward() -> None:
    assert not can_transition("payment", P.REFUNDED, P.PARTIALLY_REFUNDED)
    assert not can_transition("payment", P.PARTIALLY_REFUNDED, P.PAID)


def test_preapproval_rules() -> None:
    assert can_transition("preapproval", A.PENDING, A.ACTIVE)
    assert can_transition("preapproval", A.ACTIVE, A.CANCELED)
    assert not can_transition("preapproval", A.ACTIVE, A.PENDING)
    assert not can_transition("preapproval", A.CANCELED, A.ACTIVE)
    assert not can_transition("preapproval", A.FAILED, A.ACTIVE)


def test_refund_rules() -> None:
    assert can_transition("refund", R.PENDING, R.SUCCEEDED)
    assert can_transition("refund", R.PENDING, R.FAILED)
    assert not can_transition("refund", R.SUCCEEDED, R.FAILED)
    assert not can_transition("refund", R.FAILED, R.SUCCEEDED)


@pytest.mark.parametrize("kind", ["payment", "refund", "preapproval"])
def test_staying_put_and_unknown_values_are_not_transitions(kind: str) -> None:
    for status in TRANSITIONS[kind]:  # type: ignore[index]
        assert not can_transition(kind, status, status)  # type: ignore[arg-type]
        assert not can_transition(kind, status, "Captured")  # type: ignore[arg-type]
        assert not can_transition(kind, "Captured", status)  # type: ignore[arg-type]


def test_every_status_has_a_row_and_targets_are_known_statuses() -> None:
    for kind, choices in (("payment", P), ("refund", R), ("preapproval", A)):
        table = TRANSITIONS[kind]  # type: ignore[index]
        assert set(table) == set(choices.values)
        for targets in table.values():
            assert targets <= set(choices.values)


def test_finals_and_sources() -> None:
    assert {s for s in P.values if is_final("payment", s)} == {P.REFUNDED, P.CANCELED, P.EXPIRED}
    assert not is_final("payment", P.FAILED), "a later success may still arrive"
    assert is_final("refund", R.SUCCEEDED)
    assert sources_of("payment", P.PAID) == {P.CREATED, P.PENDING, P.FAILED}
    assert sources_of("payment", P.CREATED) == frozenset()
    assert PAYMENT_TRANSITIONS[P.EXPIRED] == frozenset()


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


# -- money ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("currency", "places"),
    [("KRW", 0), ("krw", 0), ("JPY", 0), ("USD", 2), ("EUR", 2), ("KWD", 3), ("BHD", 3)],
)
def test_exponents_follow_iso_4217(currency: str, places: int) -> None:
    assert exponent(currency) == places


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        (11000, "KRW", "₩11,000"),
        (0, "KRW", "₩0"),
        (1234, "USD", "$12.34"),
        (5, "USD", "$0.05"),
        (1234567, "EUR", "€12,345.67"),
        (1000, "JPY", "¥1,000"),
        (1234, "KWD", "1.234 KWD"),
        (1234, "CHF", "12.34 CHF"),
        (-11000, "KRW", "-₩11,000"),
        (None, "KRW", ""),
        (500, "XYZ", "500 XYZ"),
    ],
)
def test_format_money(amount: int | None, currency: str, shown: str) -> None:
    assert format_money(amount, currency) == shown


def test_krw_is_never_multiplied_by_100() -> None:
    assert major_units(11000, "KRW") == "11000"
    assert major_units(1234, "USD") == "12.34"
    assert major_units(1234, "KWD") == "1.234"
    assert major_units(-5, "USD") == "-0.05"


@pytest.mark.parametrize("bad", [110.0, 11000.5, "11000", True, 0, -1, None])
def test_validate_amount_refuses_anything_but_positive_ints(bad: object) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 (the message is localised)
        validate_amount(bad)


def test_validate_amount_accepts_ints() -> None:
    assert validate_amount(11000) == 11000


def test_normalize_currency() -> None:
    assert normalize_currency(" krw ") == "KRW"
    with pytest.raises(CurrencyError):
        normalize_currency("WON")
    with pytest.raises(CurrencyError):
        normalize_currency("")
