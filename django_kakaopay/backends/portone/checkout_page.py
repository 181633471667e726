"""The browser SDK's call for a payment (``requestPayment``) or an agreement
(``requestIssueBillingKey``) on PortOne's KakaoPay channel.

Only public values go in: the store id, the channel key, our reference and
the amounts. KakaoPay on PortOne opens in an iframe on PCs and by
redirection on phones, and speaks Korean only (``KO_KR``).
"""

from __future__ import annotations

from typing import Any

from ..types import BrowserCheckout, Customer, PaymentRequest, PreapprovalRequest
from .options import PortOneSettings

SDK_GLOBAL = "PortOne"
WINDOW_TYPE = {"pc": "IFRAME", "mobile": "REDIRECTION"}
LOCALE = "KO_KR"
MAX_NAME = 100


def customer_arguments(customer: Customer, customer_id: str = "") -> dict[str, Any]:
    """The customer as the SDK names it; empty values are left out."""
    values = {
        "customerId": customer_id,
        "fullName": customer.name,
        "email": customer.email,
        "phoneNumber": customer.phone,
    }
    return {name: value for name, value in values.items() if value}


def order_name(request: PaymentRequest) -> str:
    names = [item.name for item in request.items if item.name]
    name = request.description or (names[0] if names else "") or request.reference
    if not request.description and len(names) > 1:
        name = f"{names[0]} +{len(names) - 1}"
    return name[:MAX_NAME]


def payment_page(request: PaymentRequest, settings: PortOneSettings) -> BrowserCheckout:
    arguments: dict[str, Any] = {
        "storeId": settings.store_id,
        "channelKey": settings.channel_key,
        # Our reference: PortOne lets one attempt per paymentId succeed.
        "paymentId": request.reference,
        "orderName": order_name(request),
        "totalAmount": request.amount,
        "currency": f"CURRENCY_{request.currency}",
        "payMethod": "EASY_PAY",
        "easyPay": {"easyPayProvider": "KAKAOPAY"},
        "redirectUrl": request.return_url,
        "windowType": WINDOW_TYPE,
        "locale": LOCALE,
    }
    if request.tax_free_amount:
        arguments["taxFreeAmount"] = request.tax_free_amount
    if request.vat_amount is not None:
        arguments["vatAmount"] = request.vat_amount
    customer = customer_arguments(request.customer)
    if customer:
        arguments["customer"] = customer
    return BrowserCheckout(settings.sdk_url, SDK_GLOBAL, "requestPayment", arguments)


def billing_key_page(request: PreapprovalRequest, settings: PortOneSettings) -> BrowserCheckout:
    arguments: dict[str, Any] = {
        "storeId": settings.store_id,
        "channelKey": settings.billing_channel_key,
        "billingKeyMethod": "EASY_PAY",
        "issueId": request.reference,
        "issueName": (request.description or request.reference)[:MAX_NAME],
        # The key is issued for our agreement's reference: a billing key the
        # browser brings back is accepted only when PortOne says so.
        "customer": customer_arguments(request.customer, request.reference),
        "redirectUrl": request.return_url,
        "windowType": WINDOW_TYPE,
        "locale": LOCALE,
    }
    return BrowserCheckout(settings.sdk_url, SDK_GLOBAL, "requestIssueBillingKey", arguments)
