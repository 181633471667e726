"""Starting, pulling and refunding a KakaoPay payment at Checkout.com.

A payment starts as a payment setup (``POST /payments/setups``), confirmed
with the ``kakaopay`` method (``POST /payments/setups/{id}/confirm/kakaopay``);
the confirmation carries the link to KakaoPay. Its state is pulled with
``GET /payments/{id}``, and refunds, full and partial, go to
``POST /payments/{id}/refunds``.

What is only inferred from Checkout.com's SDKs rather than documented for
KakaoPay (the confirm response's shape, finding a payment by setup id or by
reference) is parsed defensively: every known shape is accepted and the raw
payload is kept.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlencode

from django.utils.translation import gettext as _

from ...exceptions import OutcomeUnknown, ProviderRejected
from ...status import PAID_STATUSES, UNSUCCESSFUL_STATUSES, PaymentStatus, RefundStatus
from ..http import HttpResponse
from ..payloads import scrub
from ..readers import integer, mapping, text
from ..types import (
    PaymentRef,
    PaymentRequest,
    PaymentSnapshot,
    RedirectInstruction,
    RefundRequest,
    RefundSnapshot,
)
from .client import CheckoutApi, json_object, request_id
from .maps import map_payment_status
from .payment_request import PAYMENT_METHOD

# Keys never stored in a provider payload: the return URL is a capability.
SCRUBBED_KEYS = frozenset({"success_url", "failure_url"})


def scrub_payload(value: Any) -> Any:
    return scrub(value, SCRUBBED_KEYS)


def _href(obj: Mapping[str, Any], rel: str) -> str:
    return text(mapping(mapping(obj.get("_links")).get(rel)).get("href"))


class CheckoutPayments:
    """One-time payments and their refunds, through one backend's API client."""

    def __init__(self, api: CheckoutApi) -> None:
        self.api = api

    def create(self, request: PaymentRequest, body: Mapping[str, Any]) -> RedirectInstruction:
        """Create and confirm the payment setup ``body`` (see ``payment_request``) for ``request``."""
        operation = _("creating the payment setup")
        setup_response = self.api.call(
            "POST",
            "/payments/setups",
            operation,
            body=body,
            idempotency_key=request.idempotency_key,
        )
        setup = json_object(setup_response, operation)
        setup_id = text(setup.get("id"))
        if not setup_id:
            raise OutcomeUnknown(
                _("Checkout.com created a payment setup but sent no id; the outcome is unknown."),
                status_code=setup_response.status_code,
                request_id=request_id(setup_response),
            )
        _ensure_ready(setup, setup_response)

        operation = _("confirming the payment setup")
        confirm_response = self.api.call(
            "POST",
            f"/payments/setups/{quote(setup_id, safe='')}/confirm/{PAYMENT_METHOD}",
            operation,
            idempotency_key=f"{request.idempotency_key}:confirm",
        )
        confirmed = json_object(confirm_response, operation)
        raw: dict[str, Any] = {"setup": setup, "confirm": confirmed}

        # Newer API versions answer with the setup and its ``latest_payment``;
        # older ones (and the KakaoPay guide) with the payment itself.
        latest = confirmed.get("latest_payment")
        payment = latest if isinstance(latest, Mapping) else confirmed
        payment_id = text(payment.get("id"))
        if payment is confirmed and payment_id == setup_id:
            payment_id = ""
        provider_status = text(payment.get("status"))
        _reject_if_unsuccessful(payment, confirm_response)

        url = _href(payment, "redirect") or _href(confirmed, "redirect")
        if not url and payment_id:
            fetched = self.api.get_payment(payment_id)
            raw["payment"] = fetched
            provider_status = text(fetched.get("status")) or provider_status
            _reject_if_unsuccessful(fetched, confirm_response)
            url = _href(fetched, "redirect")
        if not url:
            raise OutcomeUnknown(
                _(
                    "Checkout.com confirmed payment setup %(setup)s but sent no link to "
                    "KakaoPay; the payment will be reconciled."
                )
                % {"setup": setup_id},
                status_code=confirm_response.status_code,
                request_id=request_id(confirm_response),
            )
        currency = text(setup.get("currency"))
        return RedirectInstruction(
            url,
            PaymentSnapshot(
                status=PaymentStatus.PENDING,
                provider_status=provider_status,
                provider_payment_id=payment_id,
                provider_session_id=setup_id,
                reference=request.reference,
                amount=integer(setup.get("amount")),
                currency=currency or None,
                raw=scrub_payload(raw),
            ),
        )

    def fetch(self, ref: PaymentRef) -> PaymentSnapshot:
        payment_id = ref.provider_payment_id
        session_id = ref.provider_session_id
        if payment_id.startswith("set_") and not session_id:
            payment_id, session_id = "", payment_id
        data = self.api.get_payment(payment_id) if payment_id else self.find(ref)
        return payment_snapshot(data, session_id)

    def find(self, ref: PaymentRef) -> Mapping[str, Any]:
        """Find a payment whose creation timed out (no ``pay_`` id stored).

        Both look-ups are inferred from Checkout.com's SDKs and API reference,
        not documented for KakaoPay: the setup's ``latest_payment``, then the
        payment list filtered by reference.
        """
        if ref.provider_session_id:
            operation = _("getting payment setup %(id)s") % {"id": ref.provider_session_id}
            try:
                response = self.api.call(
                    "GET", f"/payments/setups/{quote(ref.provider_session_id, safe='')}", operation
                )
            except ProviderRejected as exc:
                if exc.status_code != 404:
                    raise
            else:
                setup = json_object(response, operation)
                latest_id = text(mapping(setup.get("latest_payment")).get("id"))
                if latest_id:
                    return self.api.get_payment(latest_id)
        if ref.reference:
            operation = _("searching payments by reference %(reference)s") % {
                "reference": ref.reference
            }
            query = urlencode({"reference": ref.reference})
            response = self.api.call("GET", f"/payments?{query}", operation)
            try:
                listing = response.json()
            except ValueError:
                listing = None
            rows = listing.get("data") if isinstance(listing, Mapping) else listing
            candidates = [
                row
                for row in (rows if isinstance(rows, list) else [])
                if isinstance(row, Mapping)
                and text(row.get("reference")) == ref.reference
                and text(row.get("id"))
            ]
            if candidates:
                return self.api.get_payment(text(_best_match(candidates, ref).get("id")))
        raise ProviderRejected(
            _("Checkout.com has no payment for reference %(reference)s.")
            % {"reference": ref.reference},
            status_code=404,
        )

    def refund(self, request: RefundRequest) -> RefundSnapshot:
        payment_id = request.payment.provider_payment_id
        if not payment_id or payment_id.startswith("set_"):
            payment_id = text(self.find(request.payment).get("id"))
        operation = _("refunding payment %(id)s") % {"id": payment_id}
        response = self.api.call(
            "POST",
            f"/payments/{quote(payment_id, safe='')}/refunds",
            operation,
            body={"amount": request.amount, "reference": request.reference},
            idempotency_key=request.idempotency_key,
        )
        try:
            data = mapping(response.json())
        except ValueError:
            data = {}  # 202 Accepted is enough: the refund is pending either way
        return RefundSnapshot(
            status=RefundStatus.PENDING,
            provider_refund_id=text(data.get("action_id")),
            reference=request.reference,
            provider_payment_id=payment_id,
            payment_reference=request.payment.reference,
            raw=scrub_payload(data),
        )


def payment_snapshot(data: Mapping[str, Any], session_id: str = "") -> PaymentSnapshot:
    """A pulled Checkout.com payment as a snapshot."""
    # A pull is the provider's present state: it carries no event time.
    raw_status = text(data.get("status"))
    status = map_payment_status(raw_status)
    refunded = integer(mapping(data.get("balances")).get("total_refunded"))
    if status == PaymentStatus.PARTIALLY_REFUNDED and refunded is None:
        # The refunded total is unknown: only record that the money was taken.
        status = PaymentStatus.PAID
    currency = text(data.get("currency"))
    return PaymentSnapshot(
        status=status,
        provider_status=raw_status,
        provider_payment_id=text(data.get("id")),
        provider_session_id=session_id,
        reference=text(data.get("reference")),
        amount=integer(data.get("amount")),
        currency=currency or None,
        refunded_amount=refunded,
        message=text(data.get("response_summary")),
        raw=scrub_payload(data),
    )


def _best_match(candidates: list[Mapping[str, Any]], ref: PaymentRef) -> Mapping[str, Any]:
    """Of several payments with one reference, the one that took money, else the newest."""

    def rank(row: Mapping[str, Any]) -> tuple[int, int, str]:
        status = map_payment_status(text(row.get("status")))
        same_money = integer(row.get("amount")) in (None, ref.amount) and text(
            row.get("currency")
        ).upper() in ("", ref.currency.upper())
        return (
            int(same_money),
            2 if status in PAID_STATUSES else int(status is not None),
            text(row.get("requested_on")),
        )

    return max(candidates, key=rank)


def _ensure_ready(setup: Mapping[str, Any], response: HttpResponse) -> None:
    """Refuse a setup on which the kakaopay method is missing or not ready."""
    method = mapping(setup.get("payment_methods")).get(PAYMENT_METHOD)
    if not isinstance(method, Mapping):
        available = setup.get("available_payment_methods")
        names = ", ".join(str(n) for n in available) if isinstance(available, list) else ""
        raise ProviderRejected(
            _(
                "KakaoPay is not available on this Checkout.com processing channel "
                "(available methods: %(methods)s). Ask your Checkout.com account manager "
                "to enable KakaoPay."
            )
            % {"methods": names or _("none")},
            status_code=response.status_code,
            request_id=request_id(response),
        )
    status = text(method.get("status"))
    if status.lower() == "ready":
        return
    raw_flags = method.get("flags")
    flags = tuple(
        flag if isinstance(flag, str) else json.dumps(flag, sort_keys=True)
        for flag in (raw_flags if isinstance(raw_flags, list) else [])
    )
    raise ProviderRejected(
        _(
            "Checkout.com cannot take this KakaoPay payment: the kakaopay payment method "
            "is %(status)s, not ready (flags: %(flags)s)."
        )
        % {"status": status or _("missing"), "flags": ", ".join(flags) or _("none")},
        status_code=response.status_code,
        request_id=request_id(response),
        codes=flags,
    )


def _reject_if_unsuccessful(payment: Mapping[str, Any], response: HttpResponse) -> None:
    raw_status = text(payment.get("status"))
    if map_payment_status(raw_status) not in UNSUCCESSFUL_STATUSES:
        return
    code = text(payment.get("response_code"))
    summary = text(payment.get("response_summary"))
    raise ProviderRejected(
        _("Checkout.com did not start the KakaoPay payment: it is %(status)s%(summary)s.")
        % {"status": raw_status, "summary": f" ({summary})" if summary else ""},
        status_code=response.status_code,
        request_id=request_id(response),
        codes=(code,) if code else (),
    )
