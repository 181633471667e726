"""The ``ready`` body for one of our payments, its return URLs and the customer's redirect.

``partner_order_id`` is our reference; ``partner_user_id`` is a value the
approve call can send again without the customer (KakaoPay asks for the same
one): the payment's reference, or for a subscription the agreement's. No
personal data is sent. The three return URLs are the payment's own return
URL (which carries its unguessable token): bare for approval, where KakaoPay
adds ``pg_token``, and with ``outcome=cancel`` / ``outcome=fail`` for the others.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ..readers import text
from ..types import PaymentRequest, TerminalType

# KakaoPay's limits on the fields we fill (max characters).
MAX_ID = 100
MAX_ITEM_NAME = 100
MAX_URL = 255

REDIRECT_FIELDS: dict[str, str] = {
    TerminalType.WEB: "next_redirect_pc_url",
    TerminalType.WAP: "next_redirect_mobile_url",
    TerminalType.APP: "next_redirect_app_url",
}

# The app schemes KakaoPay sends beside the app URL, by OS.
APP_SCHEME_FIELDS: dict[str, str] = {"android": "android_app_scheme", "ios": "ios_app_scheme"}
# The URL schemes those links use: KakaoTalk's own, and Android's intent
# links that name the app to open.
APP_LINK_SCHEMES = frozenset({"kakaotalk", "intent"})

OUTCOMES = ("cancel", "fail")


def with_outcome(return_url: str, outcome: str) -> str:
    """``return_url`` with ``outcome=<outcome>`` added to its query."""
    parts = urlsplit(return_url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "outcome"]
    query.append(("outcome", outcome))
    return urlunsplit(parts._replace(query=urlencode(query)))


def return_urls(return_url: str) -> dict[str, str]:
    """``approval_url``, ``cancel_url`` and ``fail_url``, one per outcome."""
    return {
        "approval_url": return_url,
        "cancel_url": with_outcome(return_url, "cancel"),
        "fail_url": with_outcome(return_url, "fail"),
    }


def item_name(request: PaymentRequest) -> str:
    names = [item.name for item in request.items if item.name]
    if request.description:
        name = request.description
    elif names:
        name = names[0] if len(names) == 1 else f"{names[0]} +{len(names) - 1}"
    else:
        name = request.reference
    return name[:MAX_ITEM_NAME]


def quantity(request: PaymentRequest) -> int:
    return max(1, sum(item.quantity for item in request.items if item.quantity > 0))


def ready_body(
    request: PaymentRequest,
    cid: str,
    partner_user_id: str,
    *,
    tax_free_amount: int = 0,
    vat_amount: int | None = None,
) -> dict[str, Any]:
    """The ``POST /online/v1/payment/ready`` body for ``request``."""
    body: dict[str, Any] = {
        "cid": cid,
        "partner_order_id": request.reference[:MAX_ID],
        "partner_user_id": partner_user_id[:MAX_ID],
        "item_name": item_name(request),
        "quantity": quantity(request),
        "total_amount": request.amount,
        "tax_free_amount": tax_free_amount,
    }
    if vat_amount is not None:
        body["vat_amount"] = vat_amount
    body.update(return_urls(request.return_url))
    return body


def redirect_url(
    data: Mapping[str, Any], terminal_type: str, os_type: str = "", *, app_scheme: bool = False
) -> str:
    """Where to send the customer: the link for their terminal, else any KakaoPay gave.

    With ``app_scheme``, a customer in an app goes to the scheme for their OS
    when KakaoPay sent one whose scheme we know.
    """
    terminal = (terminal_type or "").strip().lower()
    if app_scheme and terminal == TerminalType.APP:
        scheme_field = APP_SCHEME_FIELDS.get((os_type or "").strip().lower(), "")
        link = text(data.get(scheme_field)) if scheme_field else ""
        if link and urlsplit(link).scheme.lower() in APP_LINK_SCHEMES:
            return link
    wanted = REDIRECT_FIELDS.get(terminal, "next_redirect_pc_url")
    url = text(data.get(wanted))
    if url:
        return url
    for name in REDIRECT_FIELDS.values():
        if text(data.get(name)):
            return text(data.get(name))
    return ""
