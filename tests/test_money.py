"""Money is an integer in the currency's minor unit (ISO 4217); no floats, no x100."""

from __future__ import annotations

import pytest

from django_kakaopay.money import (
    CURRENCY_EXPONENTS,
    KNOWN_CURRENCIES,
    CurrencyError,
    exponent,
    format_money,
    major_units,
    normalize_currency,
    parse_major_units,
    validate_amount,
)


@pytest.mark.parametrize(
    ("currency", "places"),
    [
        ("KRW", 0),
        ("krw", 0),
        ("JPY", 0),
        ("VND", 0),
        ("USD", 2),
        ("EUR", 2),
        ("CHF", 2),  # not in the table: the ISO default of 2
        ("KWD", 3),
        ("BHD", 3),
        ("CLF", 4),
    ],
)
def test_exponents_follow_iso_4217(currency: str, places: int) -> None:
    assert exponent(currency) == places


def test_exponent_of_an_unknown_code_is_an_error_not_a_guess() -> None:
    with pytest.raises(CurrencyError):
        exponent("XYZ")


def test_every_code_with_an_exponent_is_accepted() -> None:
    assert set(CURRENCY_EXPONENTS) <= KNOWN_CURRENCIES
    assert CURRENCY_EXPONENTS["KRW"] == 0


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        (11000, "KRW", "₩11,000"),
        (11000, "krw", "₩11,000"),
        (0, "KRW", "₩0"),
        (1234, "USD", "$12.34"),
        (5, "USD", "$0.05"),
        (1234567, "EUR", "€12,345.67"),
        (1000, "JPY", "¥1,000"),
        (1234, "KWD", "1.234 KWD"),
        (1234, "CHF", "12.34 CHF"),
        (100000, "NOK", "1,000.00 NOK"),
        (-11000, "KRW", "-₩11,000"),
        (-1234, "USD", "-$12.34"),
        (-1234, "CHF", "-12.34 CHF"),
        (None, "KRW", ""),
        (500, "XYZ", "500 XYZ"),
        (1500, "", "1,500"),
    ],
)
def test_format_money(amount: int | None, currency: str, shown: str) -> None:
    assert format_money(amount, currency) == shown


@pytest.mark.parametrize(
    ("amount", "currency", "major"),
    [
        (11000, "KRW", "11000"),
        (1234, "USD", "12.34"),
        (1200, "USD", "12.00"),
        (1, "USD", "0.01"),
        (1234, "KWD", "1.234"),
        (5, "KWD", "0.005"),
        (-5, "USD", "-0.05"),
        (-11000, "KRW", "-11000"),
    ],
)
def test_major_units(amount: int, currency: str, major: str) -> None:
    assert major_units(amount, currency) == major


def test_krw_is_never_multiplied_by_100() -> None:
    """11000 KRW is eleven thousand won, not one hundred and ten."""
    assert major_units(11000, "KRW") == "11000"
    assert format_money(11000, "KRW") == "₩11,000"
    assert "110.00" not in format_money(11000, "KRW")


@pytest.mark.parametrize(
    "bad",
    [110.0, 11000.5, float("nan"), "11000", True, False, 0, -1, -11000, None, [11000]],
    ids=repr,
)
def test_validate_amount_refuses_anything_but_positive_ints(bad: object) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 (the message is localised)
        validate_amount(bad)


@pytest.mark.parametrize("good", [1, 11000, 10**15])
def test_validate_amount_accepts_positive_ints(good: int) -> None:
    assert validate_amount(good) == good
    assert type(validate_amount(good)) is int


def test_normalize_currency() -> None:
    assert normalize_currency(" krw ") == "KRW"
    assert normalize_currency("usd") == "USD"
    assert normalize_currency("KWD") == "KWD"


@pytest.mark.parametrize("bad", ["WON", "", "KR", "KRWW", "₩", "XYZ"])
def test_normalize_currency_refuses_unknown_codes(bad: str) -> None:
    with pytest.raises(CurrencyError):
        normalize_currency(bad)


def test_currency_error_is_a_value_error() -> None:
    assert issubclass(CurrencyError, ValueError)


@pytest.mark.parametrize(
    ("typed", "currency", "minor"),
    [
        ("11000", "KRW", 11000),
        ("₩11,000", "KRW", 11000),
        (" 11 000 KRW ", "KRW", 11000),
        ("12.34", "USD", 1234),
        ("$1,000.5", "USD", 100050),
    ],
)
def test_parse_major_units_reads_what_people_type(typed: str, currency: str, minor: int) -> None:
    assert parse_major_units(typed, currency) == minor


@pytest.mark.parametrize(
    ("typed", "currency", "message"),
    [
        ("11000.5", "KRW", "KRW has no decimal places"),
        ("12.345", "USD", "at most 2 decimal places"),
        ("eleven", "KRW", "Enter an amount such as"),
        ("Infinity", "KRW", "Enter an amount such as"),
        ("NaN", "KRW", "Enter an amount such as"),
        ("1e3", "KRW", "Enter an amount such as"),
        ("12,34", "USD", "Enter an amount such as"),
        ("1,00,000", "KRW", "Enter an amount such as"),
        ("11,000,", "KRW", "Enter an amount such as"),
        ("0", "KRW", "must be positive"),
        ("-5", "KRW", "Enter an amount such as"),
    ],
)
def test_parse_major_units_refuses_what_is_not_an_amount(
    typed: str, currency: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        parse_major_units(typed, currency)


@pytest.mark.parametrize("typed", ["11.000", "₩11.000", "11.0", "11.", ".5", "1.000.000"])
@pytest.mark.parametrize("currency", ["KRW", "krw", "JPY"])
def test_a_point_in_a_currency_without_decimals_is_refused_not_guessed(
    typed: str, currency: str
) -> None:
    # "11.000" is eleven thousand to many people and eleven to Decimal: a
    # thousandfold ambiguity on real money, so neither reading is taken.
    code = currency.upper()
    with pytest.raises(ValueError, match="no decimal places") as refused:
        parse_major_units(typed, currency)
    assert str(refused.value) == f"{code} has no decimal places; type 11000 or 11,000."


def test_a_point_is_still_a_decimal_point_where_the_currency_has_decimals() -> None:
    assert parse_major_units("11.000", "KWD") == 11000
    assert parse_major_units("11.00", "USD") == 1100
    assert parse_major_units("11000", "KRW") == 11000
