"""Request and response shapes of the API.

Amounts are whole numbers of the currency's minor unit (₩11,000 is ``11000``);
floats, numeric strings and booleans are refused. Text is a JSON string: ``0``
is no phone number. The fields and what the schema says about them are in
:mod:`.fields`.
"""

from __future__ import annotations

from typing import Any, cast

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..backends.types import TerminalType
from ..conf import backend_configs, default_backend_alias, get_backend
from ..models import Payment, Preapproval, Refund
from ..redirects import redirect_problem
from .fields import BackendField, CurrencyField, MinorUnitsField, OptionalEmailField, TextField

OS_TYPES = ("ios", "android")


def validate_redirect_url(value: str) -> None:
    """A path on this site, or an absolute http(s) URL on an allowed host."""
    problem = redirect_problem(value)
    if problem is not None:
        raise serializers.ValidationError(problem)


class ItemSerializer(serializers.Serializer):  # type: ignore[type-arg]
    name = TextField(max_length=200)
    quantity = MinorUnitsField(default=1, help_text=gettext_lazy("A positive whole number."))
    unit_price = MinorUnitsField(help_text=gettext_lazy("In the currency's minor unit."))
    reference = TextField(max_length=100, required=False, allow_blank=True, default="")


class CustomerSerializer(serializers.Serializer):  # type: ignore[type-arg]
    name = TextField(max_length=200, required=False, allow_blank=True, default="")
    email = OptionalEmailField()
    phone = TextField(max_length=40, required=False, allow_blank=True, default="")


class RedirectUrlsMixin(serializers.Serializer):  # type: ignore[type-arg]
    success_url = TextField(
        max_length=2000,
        required=False,
        allow_blank=True,
        default="",
        validators=[validate_redirect_url],
        help_text=gettext_lazy("Where the customer goes after paying: a path or an allowed host."),
    )
    failure_url = TextField(
        max_length=2000,
        required=False,
        allow_blank=True,
        default="",
        validators=[validate_redirect_url],
        help_text=gettext_lazy("Where the customer goes after a failure or cancellation."),
    )
    backend = BackendField(
        help_text=gettext_lazy("A backend alias from KAKAOPAY['BACKENDS']; empty: the default.")
    )


class PaymentCreateSerializer(RedirectUrlsMixin):
    amount = MinorUnitsField(help_text=gettext_lazy("In the currency's minor unit: 11000 KRW."))
    currency = CurrencyField(max_length=3, default="KRW")
    reference = TextField(max_length=100, required=False, allow_blank=True, default="")
    description = TextField(max_length=255, required=False, allow_blank=True, default="")
    items = ItemSerializer(many=True, required=False, default=list)
    customer = CustomerSerializer(required=False)
    terminal_type = serializers.ChoiceField(
        choices=[(t.value, t.value) for t in TerminalType],
        required=False,
        allow_blank=True,
        default="",
        help_text=gettext_lazy("web (PC), wap (mobile browser) or app; empty: from the browser."),
    )
    os_type = serializers.ChoiceField(
        choices=[(os, os) for os in OS_TYPES],
        required=False,
        allow_blank=True,
        default="",
        help_text=gettext_lazy("ios or android; required when terminal_type is app."),
    )
    tax_free_amount = MinorUnitsField(
        min_value=0,
        required=False,
        default=0,
        help_text=gettext_lazy("The part of the amount exempt from VAT; at most the amount."),
    )
    vat_amount = MinorUnitsField(
        min_value=0,
        required=False,
        allow_null=True,
        default=None,
        help_text=gettext_lazy("The VAT in the amount; empty: the provider computes it."),
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("tax_free_amount", 0) > attrs["amount"]:
            raise serializers.ValidationError(
                {"tax_free_amount": [_("The tax-free amount cannot exceed the amount.")]}
            )
        vat = attrs.get("vat_amount")
        if vat is not None and vat > attrs["amount"] - attrs.get("tax_free_amount", 0):
            raise serializers.ValidationError(
                {"vat_amount": [_("The VAT cannot exceed the taxable part of the amount.")]}
            )
        items = attrs.get("items") or []
        if items:
            total = sum(item["quantity"] * item["unit_price"] for item in items)
            if total != attrs["amount"]:
                raise serializers.ValidationError(
                    {
                        "items": [
                            _("The items add up to %(total)d, not to the amount %(amount)d.")
                            % {"total": total, "amount": attrs["amount"]}
                        ]
                    }
                )
        alias = attrs.get("backend") or default_backend_alias()
        if alias in backend_configs() and not get_backend(alias).supports_currency(
            attrs["currency"]
        ):
            raise serializers.ValidationError(
                {
                    "currency": [
                        _("The backend %(alias)r does not take KakaoPay payments in %(currency)s.")
                        % {"alias": alias, "currency": attrs["currency"]}
                    ]
                }
            )
        if attrs.get("terminal_type") == TerminalType.APP and not attrs.get("os_type"):
            raise serializers.ValidationError(
                {"os_type": [_("ios or android is required when terminal_type is app.")]}
            )
        if attrs.get("reference") and Payment.objects.filter(reference=attrs["reference"]).exists():
            raise serializers.ValidationError(
                {"reference": [_("A payment with this reference already exists.")]}
            )
        return attrs


class CustomerOutMixin(serializers.Serializer):  # type: ignore[type-arg]
    customer = serializers.SerializerMethodField()

    @extend_schema_field(CustomerSerializer)
    def get_customer(self, obj: Payment | Preapproval) -> dict[str, str]:
        return {"name": obj.customer_name, "email": obj.customer_email, "phone": obj.customer_phone}


class PaymentSerializer(CustomerOutMixin, serializers.ModelSerializer):  # type: ignore[type-arg]
    amount = MinorUnitsField(read_only=True)
    refunded_amount = MinorUnitsField(read_only=True)
    tax_free_amount = MinorUnitsField(read_only=True)
    vat_amount = MinorUnitsField(read_only=True, allow_null=True)
    amount_display = serializers.CharField(read_only=True)
    items = ItemSerializer(many=True, read_only=True)
    # Empty until the payment starts, when the customer's browser decides it.
    terminal_type = serializers.ChoiceField(
        choices=cast("list[tuple[str, Any]]", Payment._meta.get_field("terminal_type").choices),
        allow_blank=True,
        read_only=True,
        help_text=gettext_lazy(
            "Empty: chosen from the customer's browser when the payment starts."
        ),
    )
    preapproval = serializers.UUIDField(source="preapproval_id", read_only=True, allow_null=True)

    class Meta:
        model = Payment
        fields = [
            "id",
            "reference",
            "status",
            "amount",
            "currency",
            "amount_display",
            "refunded_amount",
            "tax_free_amount",
            "vat_amount",
            "description",
            "items",
            "customer",
            "success_url",
            "failure_url",
            "terminal_type",
            "backend",
            "redirect_url",
            "preapproval",
            "billing_period",
            "needs_reconciliation",
            "failure_message",
            "created_at",
            "updated_at",
            "paid_at",
        ]
        read_only_fields = fields


class RefundCreateSerializer(serializers.Serializer):  # type: ignore[type-arg]
    amount = MinorUnitsField(
        required=False, help_text=gettext_lazy("Omit to refund everything still refundable.")
    )
    reason = TextField(max_length=255, required=False, allow_blank=True, default="")


class RefundSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    amount = MinorUnitsField(read_only=True)
    payment = serializers.UUIDField(source="payment_id", read_only=True)

    class Meta:
        model = Refund
        fields = [
            "id",
            "payment",
            "reference",
            "amount",
            "status",
            "origin",
            "reason",
            "needs_reconciliation",
            "failure_message",
            "created_at",
            "updated_at",
            "succeeded_at",
        ]
        read_only_fields = fields


class PreapprovalCreateSerializer(RedirectUrlsMixin):
    currency = CurrencyField(max_length=3, default="KRW")
    reference = TextField(max_length=100, required=False, allow_blank=True, default="")
    description = TextField(max_length=255, required=False, allow_blank=True, default="")
    customer = CustomerSerializer(required=False)
    max_amount = MinorUnitsField(
        required=False, help_text=gettext_lazy("The largest charge the customer agrees to.")
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if (
            attrs.get("reference")
            and Preapproval.objects.filter(reference=attrs["reference"]).exists()
        ):
            raise serializers.ValidationError(
                {"reference": [_("A preapproval with this reference already exists.")]}
            )
        return attrs


class PreapprovalSerializer(CustomerOutMixin, serializers.ModelSerializer):  # type: ignore[type-arg]
    max_amount = MinorUnitsField(read_only=True, allow_null=True)

    class Meta:
        model = Preapproval
        fields = [
            "id",
            "reference",
            "status",
            "currency",
            "description",
            "max_amount",
            "customer",
            "success_url",
            "failure_url",
            "backend",
            "redirect_url",
            "needs_reconciliation",
            "failure_message",
            "created_at",
            "updated_at",
            "activated_at",
            "canceled_at",
        ]
        read_only_fields = fields


class ChargeCreateSerializer(serializers.Serializer):  # type: ignore[type-arg]
    amount = MinorUnitsField(help_text=gettext_lazy("In the currency's minor unit."))
    billing_period = TextField(
        max_length=64,
        help_text=gettext_lazy("One charge per period, e.g. 2026-11; repeating it is safe."),
    )
    description = TextField(max_length=255, required=False, allow_blank=True, default="")
