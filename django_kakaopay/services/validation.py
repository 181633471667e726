"""What every new payment or agreement is checked for before a row is written."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from typing import Any, TypeGuard

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.utils.translation import gettext as _

from ..backends.types import (
    Customer,
    LineItem,
)
from ..conf import get_backend
from ..exceptions import (
    InvalidPaymentRequest,
)
from ..money import validate_amount
from ..redirects import redirect_problem

ItemInput = LineItem | Mapping[str, Any]


def new_reference(prefix: str = "KP") -> str:
    return f"{prefix}-{secrets.token_hex(8).upper()}"


def item_rows(items: Iterable[ItemInput]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for item in items:
        if isinstance(item, LineItem):
            item = {
                "name": item.name,
                "quantity": item.quantity,
                "unit_price": item.unit_price,
                "reference": item.reference,
            }
        try:
            name = str(item["name"])
            quantity = validate_amount(item.get("quantity", 1))
            unit_price = validate_amount(item["unit_price"])
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidPaymentRequest(
                _("Invalid order item %(item)r: %(error)s") % {"item": item, "error": exc}
            ) from exc
        rows.append(
            {
                "name": name,
                "quantity": quantity,
                "unit_price": unit_price,
                "reference": str(item.get("reference", "")),
            }
        )
    return rows


def signed_in(user: AbstractBaseUser | AnonymousUser | None) -> Any:
    """The user to link, or ``None`` for anonymous checkouts."""
    return user if user is not None and user.is_authenticated else None


def customer_from(customer: Customer | Mapping[str, str] | None) -> Customer:
    if customer is None:
        return Customer()
    if isinstance(customer, Customer):
        return customer
    known = {"name", "email", "phone", "country"}
    unknown = set(customer) - known
    if unknown:
        raise InvalidPaymentRequest(
            _("Unknown customer fields: %(unknown)s; use %(known)s.")
            % {"unknown": ", ".join(sorted(unknown)), "known": ", ".join(sorted(known))}
        )
    return Customer(**{key: str(value) for key, value in customer.items()})


def check_tax(amount: int, tax_free_amount: object, vat_amount: object) -> tuple[int, int | None]:
    """The tax-free and VAT amounts of a payment of ``amount``, checked.

    Both are whole amounts in the currency's minor unit: ``0 <= tax_free_amount
    <= amount``, and the VAT, when given, is at most the taxable part.
    """
    if not (_whole(tax_free_amount) and 0 <= tax_free_amount <= amount):
        raise InvalidPaymentRequest(
            _("The tax-free amount must be a whole amount from 0 to the payment amount.")
        )
    if vat_amount is None:
        return tax_free_amount, None
    if not (_whole(vat_amount) and 0 <= vat_amount <= amount - tax_free_amount):
        raise InvalidPaymentRequest(
            _("The VAT amount must be a whole amount from 0 to the taxable part of the payment.")
        )
    return tax_free_amount, vat_amount


def _whole(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def check_redirects(success_url: str, failure_url: str) -> None:
    """Refuse an open redirect: see :mod:`django_kakaopay.redirects`."""
    for name, value in (("success_url", success_url), ("failure_url", failure_url)):
        problem = redirect_problem(value)
        if problem is not None:
            raise InvalidPaymentRequest(
                _("%(field)s %(url)r: %(problem)s")
                % {"field": name, "url": value[:200], "problem": problem}
            )


def check_currency(alias: str, currency: str) -> None:
    if not get_backend(alias).supports_currency(currency):
        raise InvalidPaymentRequest(
            _("The backend %(alias)r does not take KakaoPay payments in %(currency)s.")
            % {"alias": alias, "currency": currency}
        )
