"""The payment setup sent to Checkout.com for one of our payments (``POST /payments/setups``).

Amounts are our minor units unchanged. The customer's phone number is sent
only when it can be split into Checkout.com's phone object safely; the
terminal type (PC browser, mobile browser or app) decides which KakaoPay page
the customer sees.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from django.utils.translation import gettext as _

from ...exceptions import ProviderConfigurationError
from ..types import Customer, PaymentRequest, TerminalType
from .options import OS_TYPES, TERMINAL_TYPES, CheckoutSettings

logger = logging.getLogger("django_kakaopay.checkout")

PAYMENT_METHOD = "kakaopay"


def setup_body(
    request: PaymentRequest, terminal_type: str, os_type: str, *, processing_channel_id: str
) -> dict[str, Any]:
    """The ``POST /payments/setups`` body for ``request``."""
    body: dict[str, Any] = {
        "amount": request.amount,  # minor units: KRW has none, 11000 is ₩11,000
        "currency": request.currency,
        "reference": request.reference,
    }
    if request.description:
        body["description"] = request.description[:100]
    body["processing_channel_id"] = processing_channel_id
    customer = customer_object(request.customer)
    if customer:
        body["customer"] = customer
    if request.customer.country:
        body["billing"] = {"address": {"country": request.customer.country.upper()}}
    items = [
        {
            "name": item.name,
            "quantity": item.quantity,
            "unit_price": item.unit_price,
            **({"reference": item.reference} if item.reference else {}),
        }
        for item in request.items
    ]
    if not items:
        # KakaoPay shows the order to the customer; describe it as one line.
        items = [
            {
                "name": request.description or request.reference,
                "quantity": 1,
                "unit_price": request.amount,
            }
        ]
    body["order"] = {"items": items}
    method: dict[str, str] = {"terminal_type": terminal_type}
    if os_type:
        method["os_type"] = os_type
    body["payment_methods"] = {PAYMENT_METHOD: method}
    # Both lead to the return view, which pulls the true state.
    body["settings"] = {"success_url": request.return_url, "failure_url": request.return_url}
    return body


def customer_object(customer: Customer) -> dict[str, Any]:
    """Checkout.com's ``customer`` object; empty when we know nothing of the customer."""
    result: dict[str, Any] = {}
    if customer.name:
        result["name"] = customer.name[:100]
    if customer.email:
        result["email"] = {"address": customer.email}
    phone = phone_object(customer.phone) if customer.phone else None
    if phone:
        result["phone"] = phone
    return result


def phone_object(phone: str) -> dict[str, str] | None:
    """Checkout.com's phone object, when the number can be split safely (inferred shape)."""
    stripped = phone.strip()
    digits = re.sub(r"\D", "", stripped)
    if stripped.startswith("+"):
        if not digits.startswith("82"):
            return None  # the country code's length is unknown: leave it out
        number = digits[2:]
        result = {"country_code": "+82", "number": number}
    else:
        number = digits
        result = {"number": number}
    return result if 6 <= len(number) <= 25 else None


def choose_terminal(
    request: PaymentRequest, settings: CheckoutSettings, alias: str
) -> tuple[str, str]:
    """The terminal type and OS type to send for ``request``.

    The payment's own terminal type wins (the services layer sets ``wap``
    for phone browsers); ``TERMINAL_TYPE`` is the default. ``wap`` and
    ``app`` need an OS: the request's, else ``OS_TYPE``. A mobile-browser
    payment whose OS is unknown falls back to ``web`` (KakaoPay's QR code
    or KakaoTalk message page), which works on any device.
    """
    requested = (request.terminal_type or "").strip().lower()
    terminal = requested if requested in TERMINAL_TYPES else settings.default_terminal_type
    if terminal == TerminalType.WEB:
        return terminal, ""
    requested_os = (request.os_type or "").strip().lower()
    os_type = requested_os if requested_os in OS_TYPES else settings.default_os_type
    if os_type:
        return terminal, os_type
    if terminal == TerminalType.WAP:
        logger.info(
            "Payment %s: no OS type for a mobile-browser payment and no OS_TYPE option; "
            "using terminal type 'web'.",
            request.reference,
        )
        return TerminalType.WEB, ""
    raise ProviderConfigurationError(
        _(
            "A KakaoPay payment in an app (terminal type 'app') needs the customer's "
            "operating system: set OS_TYPE ('ios' or 'android') in the options of the "
            "Checkout.com backend %(alias)s."
        )
        % {"alias": alias}
    )
