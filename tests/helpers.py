"""Small builders shared by the core tests."""

from __future__ import annotations

import json
from typing import Any

from django.test import Client

from django_kakaopay import services
from django_kakaopay.models import Payment, SandboxTransaction
from django_kakaopay.sandbox import provider
from django_kakaopay.sandbox.signing import SIGNATURE_HEADER, sign, signing_secret

HEADPHONES = [{"name": "Wireless headphones", "quantity": 1, "unit_price": 11000}]


def started_payment(**kwargs: Any) -> Payment:
    """A payment sent to the sandbox provider, waiting for the customer."""
    values: dict[str, Any] = {"amount": 11000, "currency": "KRW", "items": HEADPHONES}
    values.update(kwargs)
    payment = services.create_payment(**values)
    services.start_payment(payment)
    assert payment.status == Payment.Status.PENDING
    return payment


def provider_side(payment: Payment) -> SandboxTransaction:
    return SandboxTransaction.objects.get(pk=payment.provider_payment_id)


def event_body(
    payment: Payment,
    status: str = provider.SUCCESS_PAYMENT,
    *,
    event_id: str = "evt_test_1",
    created_at: str = "2026-11-23T10:00:00+09:00",
    **data: Any,
) -> bytes:
    """A sandbox notification about ``payment``, as the simulated provider sends it."""
    payload = {
        "id": payment.provider_payment_id,
        "object": "payment",
        "status": status,
        "reference": payment.reference,
        "amount": payment.amount,
        "currency": payment.currency,
        "refunded_amount": 0,
    }
    payload.update(data)
    event = {"id": event_id, "type": "payment.updated", "created_at": created_at, "data": payload}
    return json.dumps(event).encode()


def deliver(
    client: Client, body: bytes, *, signature: str | None = None, alias: str = "sandbox"
) -> Any:
    if signature is None:
        signature = sign(signing_secret(alias, {}), body)
    headers = {SIGNATURE_HEADER: signature} if signature else {}
    return client.post(
        f"/kakaopay/webhooks/{alias}/", body, content_type="application/json", headers=headers
    )
