"""The pieces of the views' ``@extend_schema``: parameters, error answers, examples.

:mod:`..schema` builds the whole document from the views; this module only
holds what several of their operations describe the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse

from ..idempotency import HEADER

IDEMPOTENCY_PARAMETER = OpenApiParameter(
    HEADER,
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description=(
        "Any unique string (e.g. a UUID) up to 255 characters. Repeating the request with "
        "the same key and body returns the first response without doing the work again; "
        "the same key with another body is refused with 422."
    ),
)
SYNC_PARAMETER = OpenApiParameter(
    "sync",
    OpenApiTypes.BOOL,
    OpenApiParameter.QUERY,
    required=False,
    description="1: ask the provider for the current state before answering.",
)
ERROR_RESPONSES: dict[int, OpenApiResponse] = {
    400: OpenApiResponse(OpenApiTypes.OBJECT, description="Validation errors, per field."),
    404: OpenApiResponse(OpenApiTypes.OBJECT, description="Not found (or not yours)."),
}
POST_ERRORS: dict[int, OpenApiResponse] = {
    **ERROR_RESPONSES,
    409: OpenApiResponse(
        OpenApiTypes.OBJECT,
        description="Not possible in the current state, or the same Idempotency-Key is in use.",
    ),
    422: OpenApiResponse(
        OpenApiTypes.OBJECT, description="The Idempotency-Key was used with another body."
    ),
}

PAYMENT_REQUEST_EXAMPLE = OpenApiExample(
    "Wireless headphones",
    request_only=True,
    value={
        "amount": 11000,
        "currency": "KRW",
        "reference": "ORD-5023-4E89",
        "description": "Wireless headphones",
        "items": [{"name": "Wireless headphones", "quantity": 1, "unit_price": 11000}],
        "customer": {"name": "Kim Minji", "email": "minji@example.com"},
        "success_url": "/shop/orders/ORD-5023-4E89/",
        "failure_url": "/shop/orders/ORD-5023-4E89/failed/",
        "terminal_type": "wap",
    },
)
PAYMENT_RESPONSE_EXAMPLE = OpenApiExample(
    "Pending payment",
    response_only=True,
    status_codes=["201", "200"],
    value={
        "id": "6f1c2a34-9b1e-4c53-8f0a-2d6e4b7c9a10",
        "reference": "ORD-5023-4E89",
        "status": "pending",
        "amount": 11000,
        "currency": "KRW",
        "amount_display": "₩11,000",
        "refunded_amount": 0,
        "description": "Wireless headphones",
        "items": [
            {
                "name": "Wireless headphones",
                "quantity": 1,
                "unit_price": 11000,
                "reference": "",
            }
        ],
        "customer": {"name": "Kim Minji", "email": "minji@example.com", "phone": ""},
        "success_url": "/shop/orders/ORD-5023-4E89/",
        "failure_url": "/shop/orders/ORD-5023-4E89/failed/",
        "terminal_type": "wap",
        "backend": "sandbox",
        "redirect_url": "https://shop.example.com/kakaopay/sandbox/sandbox/pay/T1234/",
        "preapproval": None,
        "billing_period": "",
        "needs_reconciliation": False,
        "created_at": "2026-11-23T10:00:00+09:00",
        "updated_at": "2026-11-23T10:00:01+09:00",
        "paid_at": None,
    },
)


def based_on_autoschema(func: Callable[..., Any]) -> Callable[..., Any]:
    """Base a view method's schema on drf-spectacular's ``AutoSchema`` whatever the
    project's ``DEFAULT_SCHEMA_CLASS`` is (``@extend_schema`` falls back to it)."""
    kwargs = getattr(func, "kwargs", None)
    if kwargs is None:
        kwargs = {}
        func.kwargs = kwargs  # type: ignore[attr-defined]
    kwargs.setdefault("schema", AutoSchema)
    return func
