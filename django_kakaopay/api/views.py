"""The API's views. Like the checkout views, they only call :mod:`django_kakaopay.services`.

The views run outside any request transaction (``ATOMIC_REQUESTS`` does not
wrap them): the services hold no transaction while a provider is called, and
an ``Idempotency-Key`` record must be visible to a concurrent request at once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.db import connections, transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
)
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import JSONParser
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle

from .. import services
from ..conf import get_setting
from ..exceptions import (
    InvalidPaymentRequest,
    PreapprovalNotActive,
    ProviderError,
    RefundNotAllowed,
)
from ..models import Payment, Preapproval
from ..status import PaymentStatus
from . import serializers as s
from .idempotency import HEADER, idempotent
from .permissions import STAFF_ACTION_PERMISSIONS, api_permissions, staff_permission

CREATE_SCOPE = "kakaopay-create"


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


class ProviderUnavailable(APIException):
    status_code = status.HTTP_502_BAD_GATEWAY
    default_code = "provider_error"


class CreateRateThrottle(SimpleRateThrottle):
    """Per-caller rate of the create endpoints: ``KAKAOPAY["API_CREATE_RATE"]``."""

    scope = CREATE_SCOPE

    def __init__(self) -> None:  # the rate is read per request, not at import
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)

    def get_rate(self) -> str | None:
        rate = get_setting("API_CREATE_RATE")
        return str(rate) if rate else None

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if request.user is not None and request.user.is_authenticated:
            ident = str(request.user.pk)
        else:
            ident = self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}


class ApiPagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 100

    def get_page_size(self, request: Request) -> int | None:
        self.page_size = int(get_setting("API_PAGE_SIZE"))
        return super().get_page_size(request)


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


def _spectacular(func: Callable[..., Any]) -> Callable[..., Any]:
    """Base a view method's schema on drf-spectacular's ``AutoSchema`` whatever the
    project's ``DEFAULT_SCHEMA_CLASS`` is (``@extend_schema`` falls back to it)."""
    kwargs = getattr(func, "kwargs", None)
    if kwargs is None:
        kwargs = {}
        func.kwargs = kwargs  # type: ignore[attr-defined]
    kwargs.setdefault("schema", AutoSchema)
    return func


def _non_atomic(view: Callable[..., Any]) -> Callable[..., Any]:
    return transaction.non_atomic_requests(view)


def _wants_sync(request: Request) -> bool:
    return str(request.query_params.get("sync", "")).lower() in ("1", "true", "yes")


def _invalid(exc: InvalidPaymentRequest) -> ValidationError:
    return ValidationError({"non_field_errors": [str(exc)]})


class KakaoPayViewSet(viewsets.GenericViewSet):  # type: ignore[type-arg]
    """Shared settings: JSON only, permissions from ``KAKAOPAY``, no request transaction."""

    parser_classes = [JSONParser]
    pagination_class = ApiPagination
    schema = AutoSchema()

    @classmethod
    def as_view(cls, actions: Any = None, **initkwargs: Any) -> Any:
        return _non_atomic(super().as_view(actions, **initkwargs))

    def get_exception_handler(self) -> Callable[[Exception, dict[str, Any]], Response | None]:
        """The project's handler, minus its rollback of an enclosing transaction.

        These views run outside the request transaction, so an ``atomic`` block
        around them (a test's, a caller's) is not theirs to roll back.
        """
        handler = super().get_exception_handler()

        def handle(exc: Exception, context: dict[str, Any]) -> Response | None:
            saved = {conn.alias: conn.needs_rollback for conn in connections.all()}
            try:
                response: Response | None = handler(exc, context)
            finally:
                for conn in connections.all():
                    if conn.alias in saved and conn.in_atomic_block:
                        conn.needs_rollback = saved[conn.alias]
            return response

        return handle

    def get_permissions(self) -> Sequence[BasePermission]:
        permissions: list[BasePermission] = api_permissions()
        if self.is_staff_action():
            permissions.append(staff_permission())
        return permissions

    def get_throttles(self) -> Sequence[BaseThrottle]:  # type: ignore[override]
        if self.action == "create":
            return [CreateRateThrottle()]
        return []

    def is_staff_action(self) -> bool:
        return (
            self.action in STAFF_ACTION_PERMISSIONS
            and self.request is not None
            and self.request.method == "POST"
        )

    def owned(self, queryset: QuerySet[Any], view_permission: str) -> QuerySet[Any]:
        """All rows for staff (view permission or a staff action), else the caller's own."""
        user = self.request.user
        if user is not None and user.is_authenticated:
            if user.has_perm(view_permission) or self.is_staff_action():
                return queryset
            return queryset.filter(user=user)
        session = self.request._request.session.session_key
        if not session:
            return queryset.none()
        return queryset.filter(user__isnull=True, metadata__api_session=session)

    def caller_metadata(self) -> dict[str, str]:
        """Anonymous callers (if the permissions allow them) own rows through their session."""
        user = self.request.user
        if user is not None and user.is_authenticated:
            return {}
        session = self.request._request.session
        if not session.session_key:
            session.save()
        return {"api_session": str(session.session_key)}


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
            )
        ],
    )
    @_spectacular
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(
        summary="Get a payment",
        parameters=[SYNC_PARAMETER],
        responses={200: s.PaymentSerializer, 404: ERROR_RESPONSES[404]},
        examples=[PAYMENT_RESPONSE_EXAMPLE],
    )
    @_spectacular
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        payment: Payment = self.get_object()
        if _wants_sync(request):
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
            502: OpenApiResponse(OpenApiTypes.OBJECT, description="The provider failed."),
            **POST_ERRORS,
        },
        parameters=[IDEMPOTENCY_PARAMETER],
        examples=[PAYMENT_REQUEST_EXAMPLE, PAYMENT_RESPONSE_EXAMPLE],
    )
    @_spectacular
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
            )
        except InvalidPaymentRequest as exc:
            raise _invalid(exc) from exc
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
        responses={200: s.RefundSerializer(many=True), 404: ERROR_RESPONSES[404]},
    )
    @extend_schema(
        methods=["POST"],
        summary="Refund a payment, fully or partly",
        request=s.RefundCreateSerializer,
        responses={201: s.RefundSerializer, **POST_ERRORS},
        parameters=[IDEMPOTENCY_PARAMETER],
        examples=[
            OpenApiExample(
                "Partial refund", request_only=True, value={"amount": 5000, "reason": "Returned"}
            )
        ],
    )
    @_spectacular
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


class PreapprovalViewSet(mixins.RetrieveModelMixin, KakaoPayViewSet):
    serializer_class = s.PreapprovalSerializer
    queryset = Preapproval.objects.all()

    def get_queryset(self) -> QuerySet[Preapproval]:
        return self.owned(Preapproval.objects.all(), "django_kakaopay.view_preapproval")

    @extend_schema(
        summary="Get a preapproval",
        parameters=[SYNC_PARAMETER],
        responses={200: s.PreapprovalSerializer, 404: ERROR_RESPONSES[404]},
    )
    @_spectacular
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        preapproval: Preapproval = self.get_object()
        if _wants_sync(request):
            services.sync_preapproval(preapproval)
            preapproval.refresh_from_db()
        return Response(s.PreapprovalSerializer(preapproval).data)

    @extend_schema(
        summary="Create an auto-debit agreement and start it at KakaoPay",
        request=s.PreapprovalCreateSerializer,
        responses={
            201: s.PreapprovalSerializer,
            502: OpenApiResponse(OpenApiTypes.OBJECT, description="The provider failed."),
            **POST_ERRORS,
        },
        parameters=[IDEMPOTENCY_PARAMETER],
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
    @_spectacular
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
            raise _invalid(exc) from exc
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
        responses={200: s.PreapprovalSerializer, **POST_ERRORS},
        parameters=[IDEMPOTENCY_PARAMETER],
    )
    @_spectacular
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
            **POST_ERRORS,
        },
        parameters=[IDEMPOTENCY_PARAMETER],
        examples=[
            OpenApiExample(
                "November", request_only=True, value={"amount": 11000, "billing_period": "2026-11"}
            )
        ],
    )
    @_spectacular
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
            raise _invalid(exc) from exc
        payment.refresh_from_db()
        code = status.HTTP_200_OK if existed else status.HTTP_201_CREATED
        return Response(s.PaymentSerializer(payment).data, status=code)
