"""Request and response shapes of the API.

Amounts are whole numbers of the currency's minor unit (₩11,000 is ``11000``);
floats, numeric strings and booleans are refused.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..backends.types import TerminalType
from ..conf import backend_configs, default_backend_alias, get_backend
from ..models import Payment, Preapproval, Refund
from ..money import CurrencyError, normalize_currency
from ..redirects import redirect_problem

#: Larger amounts are refused (no KakaoPay payment is near it; the column is 64-bit).
MAX_AMOUNT = 10**12
OS_TYPES = ("ios", "android")


@extend_schema_field(OpenApiTypes.INT)
class MinorUnitsField(serializers.Field):  # type: ignore[type-arg]
    """A positive JSON integer; ``1.0``, ``"100"`` and ``true`` are refused."""

    default_error_messages = {
        "invalid": gettext_lazy(
            "Enter a whole number of the currency's minor unit (a JSON integer, e.g. 11000)."
        ),
        "min_value": gettext_lazy("The amount must be positive."),
        "max_value": gettext_lazy("The amount must be at most %(max)d."),
    }

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        if data <= 0:
            self.fail("min_value")
        if data > MAX_AMOUNT:
            raise serializers.ValidationError(
                self.error_messages["max_value"] % {"max": MAX_AMOUNT}, code="max_value"
            )
        return data

    def to_representation(self, value: Any) -> int:
        return int(value)


class TextField(serializers.CharField):
    """A ``CharField`` that also refuses text the database cannot store."""

    def to_internal_value(self, data: Any) -> str:
        value = str(super().to_internal_value(data))
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise serializers.ValidationError(_("The text is not valid Unicode.")) from exc
        return value


def validate_redirect_url(value: str) -> None:
    """A path on this site, or an absolute http(s) URL on an allowed host."""
    problem = redirect_problem(value)
    if problem is not None:
        raise serializers.ValidationError(problem)


def validate_backend(value: str) -> None:
    if value and value not in backend_configs():
        raise serializers.ValidationError(
            _("No KakaoPay backend is configured under the alias %(alias)r.") % {"alias": value}
        )


class CurrencyField(TextField):
    """An ISO 4217 code this package knows, upper-cased: ``"krw"`` becomes ``"KRW"``."""

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        try:
            return normalize_currency(value)
        except CurrencyError as exc:
            raise serializers.ValidationError(str(exc)) from exc


class ItemSerializer(serializers.Serializer):  # type: ignore[type-arg]
    name = TextField(max_length=200)
    quantity = MinorUnitsField(default=1, help_text=gettext_lazy("A positive whole number."))
    unit_price = MinorUnitsField(help_text=gettext_lazy("In the currency's minor unit."))
    reference = TextField(max_length=100, required=False, allow_blank=True, default="")


EMAIL_MAX_LENGTH = 254


# drf-spectacular describes a blank-allowed EmailField as ``oneOf`` an e-mail
# and an empty string, but puts the field's ``default: ''`` inside the e-mail
# branch, where an independent validator rejects it ("'' is not a 'email'").
# The default belongs beside the ``oneOf``, where '' matches the empty branch.
@extend_schema_field(
    {
        "oneOf": [
            {"type": "string", "format": "email", "maxLength": EMAIL_MAX_LENGTH},
            {"type": "string", "maxLength": 0},
        ]
    }
)
class OptionalEmailField(serializers.EmailField):
    """An e-mail address or ``""``."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", EMAIL_MAX_LENGTH)
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_blank", True)
        kwargs.setdefault("default", "")
        super().__init__(**kwargs)


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
    backend = TextField(
        max_length=64,
        required=False,
        allow_blank=True,
        default="",
        validators=[validate_backend],
        help_text=gettext_lazy("A backend alias from KAKAOPAY['BACKENDS']; empty: the default."),
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
    tax_free_amount = serializers.IntegerField(
        min_value=0,
        max_value=MAX_AMOUNT,
        required=False,
        default=0,
        help_text=gettext_lazy("The part of the amount exempt from VAT; at most the amount."),
    )
    vat_amount = serializers.IntegerField(
        min_value=0,
        max_value=MAX_AMOUNT,
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
    tax_free_amount = serializers.IntegerField(read_only=True)
    vat_amount = serializers.IntegerField(read_only=True, allow_null=True)
    amount_display = serializers.CharField(read_only=True)
    items = ItemSerializer(many=True, read_only=True)
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
