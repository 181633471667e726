"""The API's views. Like the checkout views, they only call :mod:`django_kakaopay.services`.

The views run outside any request transaction (``ATOMIC_REQUESTS`` does not
wrap them): the services hold no transaction while a provider is called, and
an ``Idempotency-Key`` record must be visible to a concurrent request at once.

One module a job: what every viewset shares (:mod:`.base`), the answers for
refusals and unknown paths (:mod:`.errors`), the schema's shared pieces
(:mod:`.openapi`), and one module per resource (:mod:`.payments`,
:mod:`.preapprovals`).
"""

from __future__ import annotations

from .base import CREATE_SCOPE, ApiPagination, CreateRateThrottle, KakaoPayViewSet, api_renderers
from .errors import Conflict, ProviderUnavailable, not_found
from .openapi import (
    IDEMPOTENCY_PARAMETER,
    PAYMENT_REQUEST_EXAMPLE,
    PAYMENT_RESPONSE_EXAMPLE,
    SYNC_PARAMETER,
    errors,
)
from .payments import PaymentViewSet
from .preapprovals import PreapprovalViewSet

__all__ = [
    "CREATE_SCOPE",
    "IDEMPOTENCY_PARAMETER",
    "PAYMENT_REQUEST_EXAMPLE",
    "PAYMENT_RESPONSE_EXAMPLE",
    "SYNC_PARAMETER",
    "ApiPagination",
    "Conflict",
    "CreateRateThrottle",
    "KakaoPayViewSet",
    "PaymentViewSet",
    "PreapprovalViewSet",
    "ProviderUnavailable",
    "api_renderers",
    "errors",
    "not_found",
]
