"""Integer money in a currency's minor unit.

An amount is always an ``int`` counted in the currency's smallest unit as
defined by ISO 4217: 11000 KRW is eleven thousand won (exponent 0), 1234 USD
is twelve dollars and thirty-four cents (exponent 2). Nothing here ever
touches a float.
"""

from __future__ import annotations

import re
from decimal import Decimal

from django.utils.translation import gettext as _

# ISO 4217 minor-unit exponents. Currencies not listed use 2, the ISO default
# for the great majority of codes; the list covers every 0- and 3-decimal code.
CURRENCY_EXPONENTS: dict[str, int] = {
    # zero-decimal
    "BIF": 0,
    "CLP": 0,
    "DJF": 0,
    "GNF": 0,
    "ISK": 0,
    "JPY": 0,
    "KMF": 0,
    "KRW": 0,
    "PYG": 0,
    "RWF": 0,
    "UGX": 0,
    "UYI": 0,
    "VND": 0,
    "VUV": 0,
    "XAF": 0,
    "XOF": 0,
    "XPF": 0,
    # three-decimal
    "BHD": 3,
    "IQD": 3,
    "JOD": 3,
    "KWD": 3,
    "LYD": 3,
    "OMR": 3,
    "TND": 3,
    # four-decimal
    "CLF": 4,
    "UYW": 4,
}

# Codes this package accepts. KakaoPay settles in KRW; the providers quote
# cross-border KakaoPay in a handful of others.
KNOWN_CURRENCIES: frozenset[str] = frozenset(
    {
        *CURRENCY_EXPONENTS,
        "AUD",
        "CAD",
        "CHF",
        "CNY",
        "DKK",
        "EUR",
        "GBP",
        "HKD",
        "MYR",
        "NOK",
        "NZD",
        "PHP",
        "SEK",
        "SGD",
        "THB",
        "TWD",
        "USD",
    }
)

CURRENCY_SYMBOLS: dict[str, str] = {
    "KRW": "₩",
    "USD": "$",
    "EUR": "€",
    "GBP": "£",
    "JPY": "¥",
    "CNY": "CN¥",
    "HKD": "HK$",
    "SGD": "S$",
    "AUD": "A$",
    "CAD": "CA$",
    "TWD": "NT$",
}


class CurrencyError(ValueError):
    """An unknown or malformed currency code."""


def normalize_currency(code: str) -> str:
    """Upper-case and validate an ISO 4217 alphabetic code."""
    normalized = (code or "").strip().upper()
    if normalized not in KNOWN_CURRENCIES:
        raise CurrencyError(_("Unknown currency code: %(code)r") % {"code": code})
    return normalized


def exponent(currency: str) -> int:
    """Number of decimal places of ``currency``'s minor unit (KRW: 0, USD: 2)."""
    return CURRENCY_EXPONENTS.get(normalize_currency(currency), 2)


def validate_amount(amount: object) -> int:
    """Return ``amount`` if it is a positive whole number of minor units."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise ValueError(
            _("Amounts are whole numbers of the currency's minor unit, got %(value)r")
            % {"value": amount}
        )
    if amount <= 0:
        raise ValueError(_("Amounts must be positive, got %(value)d") % {"value": amount})
    return amount


def major_units(amount: int, currency: str) -> str:
    """The amount as a plain decimal string in major units: 1234 USD -> "12.34"."""
    places = exponent(currency)
    sign = "-" if amount < 0 else ""
    whole, fraction = divmod(abs(amount), 10**places)
    if places == 0:
        return f"{sign}{whole}"
    return f"{sign}{whole}.{fraction:0{places}d}"


def format_money(amount: int | None, currency: str) -> str:
    """Human-readable money for templates and the admin: ``₩11,000``, ``$12.34``.

    Codes without a well-known symbol are shown as ``12.34 CHF``.
    """
    if amount is None:
        return ""
    code = (currency or "").upper()
    try:
        places = exponent(code)
    except CurrencyError:
        return f"{amount:,} {code}".strip()
    sign = "-" if amount < 0 else ""
    whole, fraction = divmod(abs(amount), 10**places)
    number = f"{whole:,}" if places == 0 else f"{whole:,}.{fraction:0{places}d}"
    symbol = CURRENCY_SYMBOLS.get(code)
    if symbol:
        return f"{sign}{symbol}{number}"
    return f"{sign}{number} {code}"


# Digits, commas only as thousands separators in groups of three, an optional
# decimal part: "12,34" (a decimal comma to many people) and "1e3" are refused.
TYPED_AMOUNT = re.compile(r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?")


def parse_major_units(text: str, currency: str) -> int:
    """``"11,000"`` KRW -> 11000, ``"12.34"`` USD -> 1234: what a person types, in minor units.

    People type amounts as the customer sees them; KRW has no decimals, so
    ``11000`` means ₩11,000, and a point in a KRW amount is refused, not
    guessed at. Decimal arithmetic only, never a float. Raises
    ``ValueError`` with a message fit to show.
    """
    cleaned = text.strip()
    symbol = CURRENCY_SYMBOLS.get(currency.upper(), "")
    for noise in (symbol, currency.upper(), currency.lower(), "_", " "):
        if noise:
            cleaned = cleaned.replace(noise, "")
    places = exponent(currency)
    if places == 0 and "." in cleaned:
        # With no minor unit a point is ambiguous: "11.000" is eleven
        # thousand to many people (a thousands separator) and eleven to the
        # decimal parser, a thousandfold difference. Refuse rather than guess.
        raise ValueError(
            _("%(currency)s has no decimal places; type %(plain)s or %(grouped)s.")
            % {
                "currency": currency.upper(),
                "plain": major_units(11000, currency),
                "grouped": f"{11000:,}",
            }
        )
    if not TYPED_AMOUNT.fullmatch(cleaned):
        raise ValueError(
            _("Enter an amount such as %(example)s.") % {"example": major_units(11000, currency)}
        )
    minor = Decimal(cleaned.replace(",", "")).scaleb(places)
    if minor != minor.to_integral_value():
        raise ValueError(
            _("%(currency)s amounts have at most %(places)d decimal places.")
            % {"currency": currency, "places": places}
        )
    return validate_amount(int(minor))
