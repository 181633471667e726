"""Payments over the API: list, get (optionally synced), create and start, refunds."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from ... import services
from ...exceptions import InvalidPaymentRequest, ProviderError, RefundNotAllowed
from ...models import Payment
from ...status import PaymentStatus
from .. import serializers as s
from ..idempotency import idempotent
from .base import KakaoPayViewSet, wants_sync
from .errors import Conflict, as_validation_error
from .openapi import (
    AUTHENTICATE_HEADER,
    EVERY_OPERATION,
    EVERY_POST,
    IDEMPOTENCY_PARAMETER,
    PAYMENT_REQUEST_EXAMPLE,
    PAYMENT_RESPONSE_EXAMPLE,
    RETRY_AFTER_HEADER,
    SYNC_PARAMETER,
    PaymentProviderErrorSerializer,
    ValidationErrorSerializer,
    based_on_autoschema,
    errors,
    provider_error,
    replayed_header,
)


class PaymentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, KakaoPayViewSet):
    serializer_class = s.PaymentSerializer
    queryset = Payment.objects.all()

    def get_queryset(self) -> QuerySet[Payment]:
        queryset = self.owned(Payment.objects.all(), "django_kakaopay.view_payment")
        if self.action == "list":
            wanted = self.request.query_params.get("status")
            if wanted:
                if wanted not in PaymentStatus.values:
                    raise ValidationError(
                        {"status": [_("Unknown status %(value)r.") % {"value": wanted}]}
                    )
                queryset = queryset.filter(status=wanted)
        return queryset.order_by("-created_at")

    @extend_schema(
        summary="List your payments",
        parameters=[
            OpenApiParameter(
                "status",
                OpenApiTypes.STR,
                OpenApiParameter.QUERY,
                enum=list(PaymentStatus.values),
                description="Only payments in this status.",
            ),
            AUTHENTICATE_HEADER,
        ],
        responses={
            200: s.PaymentSerializer(many=True),
            **errors(
                *EVERY_OPERATION,
                400,
                404,
                descriptions={
                    400: "An unknown `status`, or a `page_size` that is not 1 to 100.",
                    404: "`page` is past the last page or not a whole number from 1.",
                },
                bodies={400: ValidationErrorSerializer},
            ),
        },
    )
    @based_on_autoschema
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(
        summary="Get a payment",
        parameters=[SYNC_PARAMETER, AUTHENTICATE_HEADER],
        responses={200: s.PaymentSerializer, **errors(*EVERY_OPERATION, 404)},
        examples=[PAYMENT_RESPONSE_EXAMPLE],
    )
    @based_on_autoschema
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        payment: Payment = self.get_object()
        if wants_sync(request):
            services.sync_payment(payment)
            payment.refresh_from_db()
        return Response(s.PaymentSerializer(payment).data)

    @extend_schema(
        summary="Create a payment and start it at KakaoPay",
        description=(
            "Creates the payment and asks the provider for the page where the customer "
            "pays. Send the customer to `redirect_url`."
        ),
        request=s.PaymentCreateSerializer,
        responses={
            201: s.PaymentSerializer,
            **provider_error(PaymentProviderErrorSerializer),
            **errors(*EVERY_POST, 429),
        },
        parameters=[
            IDEMPOTENCY_PARAMETER,
            replayed_header(201, 502),
            RETRY_AFTER_HEADER,
            AUTHENTICATE_HEADER,
        ],
        examples=[PAYMENT_REQUEST_EXAMPLE, PAYMENT_RESPONSE_EXAMPLE],
    )
    @based_on_autoschema
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return idempotent(request, lambda: self._create(request))

    def _create(self, request: Request) -> Response:
        data = s.PaymentCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values: dict[str, Any] = dict(data.validated_data)
        os_type = values.pop("os_type", "")
        try:
            payment = services.create_payment(
                amount=values["amount"],
                currency=values["currency"],
                reference=values["reference"] or None,
                description=values["description"],
                items=values["items"],
                customer=values.get("customer") or None,
                success_url=values["success_url"],
                failure_url=values["failure_url"],
                backend=values["backend"] or None,
                user=request.user,
                terminal_type=values["terminal_type"] or None,
                metadata=self.caller_metadata(),
                tax_free_amount=values["tax_free_amount"],
                vat_amount=values["vat_amount"],
            )
        except InvalidPaymentRequest as exc:
            raise as_validation_error(exc) from exc
        django_request: HttpRequest = request._request
        try:
            services.start_payment(payment, request=django_request, source="api", os_type=os_type)
        except ProviderError as exc:
            payment.refresh_from_db()
            return Response(
                {"detail": str(exc), "payment": s.PaymentSerializer(payment).data},
                status=status.HTTP_502_BAD_GATEWAY,
            )
        payment.refresh_from_db()
        return Response(s.PaymentSerializer(payment).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        methods=["GET"],
        summary="List a payment's refunds",
        request=None,
        parameters=[AUTHENTICATE_HEADER],
        responses={200: s.RefundSerializer(many=True), **errors(*EVERY_OPERATION, 404)},
    )
    @extend_schema(
        methods=["POST"],
        summary="Refund a payment, fully or partly",
        request=s.RefundCreateSerializer,
        responses={
            201: s.RefundSerializer,
            **errors(
                *EVERY_POST,
                404,
                descriptions={
                    403: (
                        'Not allowed: refunds also need `KAKAOPAY["API_STAFF_PERMISSION"]`; or '
                        "no credentials, or a failed CSRF check."
                    ),
                    409: (
                        "The payment cannot take this refund (not paid, more than remains, "
                        "a partial refund the backend does not support), or a request with "
                        "the same Idempotency-Key is still being processed."
                    ),
                },
            ),
        },
        parameters=[IDEMPOTENCY_PARAMETER, replayed_header(201), AUTHENTICATE_HEADER],
        examples=[
            OpenApiExample(
                "Partial refund", request_only=True, value={"amount": 5000, "reason": "Returned"}
            )
        ],
    )
    @based_on_autoschema
    @action(detail=True, methods=["get", "post"], pagination_class=None)
    def refunds(self, request: Request, pk: str | None = None) -> Response:
        payment: Payment = self.get_object()
        if request.method != "POST":
            refunds = payment.refunds.order_by("created_at")
            return Response(s.RefundSerializer(refunds, many=True).data)
        return idempotent(request, lambda: self._refund(request, payment))

    def _refund(self, request: Request, payment: Payment) -> Response:
        data = s.RefundCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            refund = services.request_refund(
                payment,
                data.validated_data.get("amount"),
                reason=data.validated_data["reason"],
                source="api",
            )
        except RefundNotAllowed as exc:
            raise Conflict(str(exc)) from exc
        return Response(s.RefundSerializer(refund).data, status=status.HTTP_201_CREATED)
