"""What the conformance kit (:mod:`django_kakaopay.testing`) builds its checks from.

``sample_payment_request`` is public, re-exported by the kit: a backend's
own tests use it to build requests the way the kit does.
"""

from __future__ import annotations

from typing import Any

from .backends.types import LineItem, PaymentRef, PaymentRequest, PaymentSnapshot


def sample_payment_request(**overrides: Any) -> PaymentRequest:
    """The Checkout.com seed's order, as a provider-neutral request."""
    values: dict[str, Any] = {
        "reference": "ORD-5023-4E89",
        "amount": 11000,
        "currency": "KRW",
        "idempotency_key": "conformance-0001",
        "return_url": "https://shop.example/kakaopay/return/conformance-token/",
        "notification_url": "https://shop.example/kakaopay/webhooks/conformance/",
        "checkout_url": "https://shop.example/kakaopay/checkout/conformance-token/",
        "description": "KakaoPay payment",
        "items": (LineItem(name="Wireless headphones", quantity=1, unit_price=11000),),
    }
    values.update(overrides)
    return PaymentRequest(**values)


def _ref(request: PaymentRequest, created: PaymentSnapshot) -> PaymentRef:
    return PaymentRef(
        reference=request.reference,
        amount=request.amount,
        currency=request.currency,
        provider_payment_id=created.provider_payment_id,
        provider_session_id=created.provider_session_id,
        idempotency_key=request.idempotency_key,
    )


class _raises:
    """A tiny ``pytest.raises`` so this module does not import pytest."""

    def __init__(self, expected: type[BaseException]) -> None:
        self.expected = expected

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: type[BaseException] | None, exc: object, tb: object) -> bool:
        if exc_type is None:
            raise AssertionError(f"{self.expected.__name__} was not raised")
        return issubclass(exc_type, self.expected)
