"""The pieces of the views' ``@extend_schema``: parameters, error answers, examples.

:mod:`..schema` builds the whole document from the views; this module only
holds what several of their operations describe the same way. Every status
an operation can answer is listed with its body, so that a generated client
knows each of them: :func:`errors` builds the ``responses`` entries.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
)
from rest_framework import serializers

from ..idempotency import HEADER, KEY_PATTERN, MAX_KEY_LENGTH, REPLAYED_HEADER
from ..serializers import PaymentSerializer, PreapprovalSerializer


class ErrorSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """DRF's answer to a refusal that concerns no single field."""

    detail = serializers.CharField(help_text="What went wrong, for a person to read.")


class ValidationErrorSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """DRF's validation errors: one list of messages per field (schema below)."""


class ValidationErrorSchema(OpenApiSerializerExtension):  # type: ignore[no-untyped-call]
    target_class = ValidationErrorSerializer

    def map_serializer(self, auto_schema: AutoSchema, direction: Any) -> dict[str, Any]:
        return {
            "type": "object",
            "description": (
                "One list of messages per field that was refused; `non_field_errors` for the "
                "request as a whole. A nested object (`customer`) has an object of its fields' "
                "lists, a list of objects (`items`) a list with one such object per item."
            ),
            "additionalProperties": {
                "oneOf": [
                    {"type": "array", "items": {"oneOf": [{"type": "string"}, {"type": "object"}]}},
                    {"type": "object"},
                ]
            },
        }


class PaymentProviderErrorSerializer(serializers.Serializer):  # type: ignore[type-arg]
    detail = serializers.CharField(help_text="What went wrong, for a person to read.")
    payment = PaymentSerializer(help_text="The stored payment; settled later by a pull.")


class PreapprovalProviderErrorSerializer(serializers.Serializer):  # type: ignore[type-arg]
    detail = serializers.CharField(help_text="What went wrong, for a person to read.")
    preapproval = PreapprovalSerializer(help_text="The stored agreement.")


BAD_REQUEST = PolymorphicProxySerializer(
    component_name="BadRequest",
    serializers=[ValidationErrorSerializer, ErrorSerializer],
    resource_type_field_name=None,
)

#: What each status means, whatever the operation; :func:`errors` may say more.
DESCRIPTIONS: dict[int, str] = {
    400: (
        "The request is invalid: one list of messages per field, or `detail` when the body "
        "is not JSON."
    ),
    401: (
        "No credentials, or wrong ones, when the project's first authentication class asks "
        "for them with `WWW-Authenticate` (basic authentication does; session "
        "authentication answers 403 instead)."
    ),
    403: (
        "Not allowed: no credentials (with session authentication first), a failed CSRF "
        "check, or a permission the caller lacks."
    ),
    404: "No such object, or not the caller's.",
    406: "The `Accept` header allows no type the API answers with (`application/json`).",
    409: "A request with the same Idempotency-Key is still being processed: retry later.",
    415: "The body is not `application/json`.",
    422: "The Idempotency-Key was already used with a different request.",
    429: (
        'Too many creates for this caller (`KAKAOPAY["API_CREATE_RATE"]`): retry after '
        "`Retry-After` seconds."
    ),
}
BODIES: dict[int, Any] = {400: BAD_REQUEST}

#: The statuses every operation may answer, and those of every POST.
EVERY_OPERATION = (401, 403, 406)
EVERY_POST = (*EVERY_OPERATION, 400, 409, 415, 422)


def errors(
    *codes: int,
    descriptions: dict[int, str] | None = None,
    bodies: dict[int, Any] | None = None,
) -> dict[int, OpenApiResponse]:
    """The ``responses`` entries of error statuses, with the usual body and description
    unless ``bodies`` or ``descriptions`` say otherwise for a status."""
    descriptions = descriptions or {}
    bodies = {**BODIES, **(bodies or {})}
    return {
        code: OpenApiResponse(
            bodies.get(code, ErrorSerializer),
            description=descriptions.get(code, DESCRIPTIONS[code]),
        )
        for code in sorted(set(codes))
    }


def provider_error(serializer: type[serializers.Serializer]) -> dict[int, OpenApiResponse]:  # type: ignore[type-arg]
    return {
        502: OpenApiResponse(
            serializer,
            description=(
                "The provider failed in an unexpected way; the object is stored and settled later."
            ),
        )
    }


IDEMPOTENCY_PARAMETER = OpenApiParameter(
    HEADER,
    {"type": "string", "maxLength": MAX_KEY_LENGTH, "pattern": KEY_PATTERN},
    OpenApiParameter.HEADER,
    required=False,
    description=(
        f"Any unique string (e.g. a UUID) of at most {MAX_KEY_LENGTH} printable ASCII "
        "characters. Repeating the request with the same key and body returns the first "
        "response without doing the work again; the same key with another body is refused "
        "with 422. Empty: no key."
    ),
)


def replayed_header(*codes: int) -> OpenApiParameter:
    """The response header of an answer repeated for an Idempotency-Key."""
    return OpenApiParameter(
        REPLAYED_HEADER,
        {"type": "string", "enum": ["true"]},
        OpenApiParameter.HEADER,
        description="Present when this is the stored answer to an earlier request with the key.",
        response=list(codes),
    )


RETRY_AFTER_HEADER = OpenApiParameter(
    "Retry-After",
    {"type": "integer", "minimum": 0},
    OpenApiParameter.HEADER,
    description="Seconds to wait before creating again.",
    response=[429],
)
AUTHENTICATE_HEADER = OpenApiParameter(
    "WWW-Authenticate",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="How to authenticate, from the project's first authentication class.",
    response=[401],
)
SYNC_PARAMETER = OpenApiParameter(
    "sync",
    OpenApiTypes.STR,
    OpenApiParameter.QUERY,
    required=False,
    description=(
        "`1` (or `true`, `yes`, in any case): ask the provider for the current state before "
        "answering. Any other value, or none: answer with the stored state."
    ),
    examples=[OpenApiExample("Pull first", value="1")],
)

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
        "tax_free_amount": 0,
        "vat_amount": None,
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
        "failure_message": "",
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
