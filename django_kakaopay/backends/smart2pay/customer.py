"""Our customer as Smart2Pay takes one: first and last name, e-mail, billing country."""

from __future__ import annotations

import re

from ..types import Customer

# KakaoPay is a Korean wallet: the billing country when the customer has none.
DEFAULT_COUNTRY = "KR"

# Scripts whose names are written family name first.
_FAMILY_FIRST_RE = re.compile(
    r"[\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u4e00-\u9fff\uac00-\ud7a3]"
)
_COUNTRY_RE = re.compile(r"^[A-Z]{2}$")


def split_name(name: str) -> tuple[str, str]:
    """(FirstName, LastName) for Smart2Pay from one full name.

    "John Doe" gives ("John", "Doe"); a Korean, Chinese or Japanese name
    written with a space ("김 민수") puts the first word in LastName, as
    these names start with the family name. A name without a space cannot be
    split safely ("김민수": family names have one or two syllables), so it
    is sent whole as FirstName.
    """
    words = name.split()
    if not words:
        return "", ""
    if len(words) == 1:
        return words[0], ""
    if _FAMILY_FIRST_RE.search(name):
        return " ".join(words[1:]), words[0]
    return " ".join(words[:-1]), words[-1]


def customer_object(customer: Customer, *, email_only: bool = False) -> dict[str, str]:
    """Smart2Pay's ``Customer`` object; empty when we know nothing of the customer.

    ``email_only`` leaves the name out, as recurring charges do.
    """
    result: dict[str, str] = {}
    if not email_only:
        first, last = split_name(customer.name)
        if first:
            result["FirstName"] = first[:100]
        if last:
            result["LastName"] = last[:100]
    if customer.email:
        result["Email"] = customer.email
    return result


def billing_country(customer: Customer) -> str:
    """The ``BillingAddress.Country``: the customer's two-letter code, else Korea."""
    country = customer.country.strip().upper()
    return country if _COUNTRY_RE.match(country) else DEFAULT_COUNTRY
