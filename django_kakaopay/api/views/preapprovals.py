"""Preapprovals (auto-debit agreements) over the API: get, create and start, cancel,
and charge once per billing period."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from ... import services
from ...exceptions import InvalidPaymentRequest, PreapprovalNotActive, ProviderError
from ...models import Payment, Preapproval
from .. import serializers as s
from ..idempotency import idempotent
from .base import KakaoPayViewSet, wants_sync
from .errors import Conflict, ProviderUnavailable, as_validation_error
from .openapi import (
    AUTHENTICATE_HEADER,
    EVERY_OPERATION,
    EVERY_POST,
    IDEMPOTENCY_PARAMETER,
    RETRY_AFTER_HEADER,
    SYNC_PARAMETER,
    ErrorSerializer,
    PreapprovalProviderErrorSerializer,
    based_on_autoschema,
    errors,
    provider_error,
    replayed_header,
)


class PreapprovalViewSet(mixins.RetrieveModelMixin, KakaoPayViewSet):
    serializer_class = s.PreapprovalSerializer
    queryset = Preapproval.objects.all()

    def get_queryset(self) -> QuerySet[Preapproval]:
        return self.owned(Preapproval.objects.all(), "django_kakaopay.view_preapproval")

    @extend_schema(
        summary="Get a preapproval",
        parameters=[SYNC_PARAMETER, AUTHENTICATE_HEADER],
        responses={200: s.PreapprovalSerializer, **errors(*EVERY_OPERATION, 404)},
    )
    @based_on_autoschema
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        preapproval: Preapproval = self.get_object()
        if wants_sync(request):
            services.sync_preapproval(preapproval)
            preapproval.refresh_from_db()
        return Response(s.PreapprovalSerializer(preapproval).data)

    @extend_schema(
        summary="Create an auto-debit agreement and start it at KakaoPay",
        request=s.PreapprovalCreateSerializer,
        responses={
            201: s.PreapprovalSerializer,
            **provider_error(PreapprovalProviderErrorSerializer),
            **errors(*EVERY_POST, 429),
        },
        parameters=[
            IDEMPOTENCY_PARAMETER,
            replayed_header(201, 502),
            RETRY_AFTER_HEADER,
            AUTHENTICATE_HEADER,
        ],
        examples=[
            OpenApiExample(
                "Monthly subscription",
                request_only=True,
                value={
                    "currency": "KRW",
                    "description": "Wireless headphones care plan",
                    "max_amount": 11000,
                    "success_url": "/shop/subscriptions/",
                },
            )
        ],
    )
    @based_on_autoschema
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return idempotent(request, lambda: self._create(request))

    def _create(self, request: Request) -> Response:
        data = s.PreapprovalCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values: dict[str, Any] = dict(data.validated_data)
        try:
            preapproval = services.create_preapproval(
                currency=values["currency"],
                reference=values["reference"] or None,
                description=values["description"],
                customer=values.get("customer") or None,
                max_amount=values.get("max_amount"),
                success_url=values["success_url"],
                failure_url=values["failure_url"],
                backend=values["backend"] or None,
                user=request.user,
                metadata=self.caller_metadata(),
            )
        except InvalidPaymentRequest as exc:
            raise as_validation_error(exc) from exc
        try:
            services.start_preapproval(preapproval, request=request._request, source="api")
        except ProviderError as exc:
            preapproval.refresh_from_db()
            return Response(
                {"detail": str(exc), "preapproval": s.PreapprovalSerializer(preapproval).data},
                status=status.HTTP_502_BAD_GATEWAY,
            )
        preapproval.refresh_from_db()
        return Response(s.PreapprovalSerializer(preapproval).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Cancel a preapproval",
        request=None,
        responses={
            200: s.PreapprovalSerializer,
            502: OpenApiResponse(ErrorSerializer, description="The provider refused or failed."),
            **errors(
                *EVERY_POST,
                404,
                descriptions={
                    400: "The Idempotency-Key is invalid, or the body sent with one is not JSON."
                },
            ),
        },
        parameters=[IDEMPOTENCY_PARAMETER, replayed_header(200), AUTHENTICATE_HEADER],
    )
    @based_on_autoschema
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        preapproval: Preapproval = self.get_object()
        return idempotent(request, lambda: self._cancel(preapproval))

    def _cancel(self, preapproval: Preapproval) -> Response:
        try:
            services.cancel_preapproval(preapproval, source="api")
        except ProviderError as exc:
            raise ProviderUnavailable(str(exc)) from exc
        preapproval.refresh_from_db()
        return Response(s.PreapprovalSerializer(preapproval).data)

    @extend_schema(
        summary="Charge a preapproval once for a billing period",
        request=s.ChargeCreateSerializer,
        responses={
            201: s.PaymentSerializer,
            200: OpenApiResponse(
                s.PaymentSerializer, description="The period was already charged: that payment."
            ),
            **errors(
                *EVERY_POST,
                404,
                descriptions={
                    400: (
                        "The request is invalid: one list of messages per field, "
                        "`non_field_errors` for an amount above `max_amount` or a period "
                        "already charged with another amount, or `detail` when the body is "
                        "not JSON."
                    ),
                    403: (
                        'Not allowed: charges also need `KAKAOPAY["API_STAFF_PERMISSION"]`; or '
                        "no credentials, or a failed CSRF check."
                    ),
                    409: (
                        "The agreement is not active (or is being canceled), or a request with "
                        "the same Idempotency-Key is still being processed."
                    ),
                },
            ),
        },
        parameters=[IDEMPOTENCY_PARAMETER, replayed_header(200, 201), AUTHENTICATE_HEADER],
        examples=[
            OpenApiExample(
                "November", request_only=True, value={"amount": 11000, "billing_period": "2026-11"}
            )
        ],
    )
    @based_on_autoschema
    @action(detail=True, methods=["post"])
    def charges(self, request: Request, pk: str | None = None) -> Response:
        preapproval: Preapproval = self.get_object()
        return idempotent(request, lambda: self._charge(request, preapproval))

    def _charge(self, request: Request, preapproval: Preapproval) -> Response:
        data = s.ChargeCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        period = data.validated_data["billing_period"]
        existed = Payment.objects.filter(preapproval=preapproval, billing_period=period).exists()
        try:
            payment = services.charge_preapproval(
                preapproval,
                amount=data.validated_data["amount"],
                billing_period=period,
                description=data.validated_data["description"],
                source="api",
            )
        except PreapprovalNotActive as exc:
            raise Conflict(str(exc)) from exc
        except InvalidPaymentRequest as exc:
            raise as_validation_error(exc) from exc
        payment.refresh_from_db()
        code = status.HTTP_200_OK if existed else status.HTTP_201_CREATED
        return Response(s.PaymentSerializer(payment).data, status=code)
