from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from ..backends.types import Customer, LineItem, PaymentRef, TerminalType
from ..status import PAID_STATUSES, PaymentStatus
from .fields import (
    CustomerFields,
    MoneyDisplayMixin,
    ProviderTrackedFields,
    new_idempotency_key,
    new_return_token,
)


class Payment(MoneyDisplayMixin, CustomerFields, ProviderTrackedFields):
    """One attempt to take money from a customer with KakaoPay."""

    Status = PaymentStatus

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    reference = models.CharField(
        _("reference"),
        max_length=100,
        unique=True,
        help_text=_("The merchant's unique reference, e.g. the order number."),
    )
    backend = models.CharField(_("backend"), max_length=64)
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=PaymentStatus.choices,
        default=PaymentStatus.CREATED,
    )
    amount = models.PositiveBigIntegerField(
        _("amount"), help_text=_("In the currency's minor unit: 11000 KRW is ₩11,000.")
    )
    currency = models.CharField(_("currency"), max_length=3)
    refunded_amount = models.PositiveBigIntegerField(_("refunded amount"), default=0)
    tax_free_amount = models.PositiveBigIntegerField(
        _("tax-free amount"),
        default=0,
        help_text=_("The part of the amount exempt from VAT (Korea: 면세 금액)."),
    )
    vat_amount = models.PositiveBigIntegerField(
        _("VAT amount"),
        null=True,
        blank=True,
        help_text=_("The VAT included in the amount, when the shop states it."),
    )
    description = models.CharField(_("description"), max_length=255, blank=True)
    items = models.JSONField(
        _("order items"),
        default=list,
        blank=True,
        help_text=_("A list of {name, quantity, unit_price, reference}."),
    )
    success_url = models.CharField(_("success URL"), max_length=2000, blank=True)
    failure_url = models.CharField(_("failure URL"), max_length=2000, blank=True)
    terminal_type = models.CharField(
        _("terminal type"),
        max_length=8,
        choices=[
            (TerminalType.WEB.value, _("PC browser")),
            (TerminalType.WAP.value, _("Mobile browser")),
            (TerminalType.APP.value, _("App")),
        ],
        blank=True,
        default="",
        help_text=_("Empty: chosen from the customer's browser when the payment starts."),
    )
    return_token = models.CharField(
        _("return token"), max_length=64, unique=True, default=new_return_token, editable=False
    )
    idempotency_key = models.CharField(
        _("idempotency key"),
        max_length=64,
        unique=True,
        default=new_idempotency_key,
        editable=False,
    )
    provider_payment_id = models.CharField(_("provider payment id"), max_length=128, blank=True)
    provider_session_id = models.CharField(
        _("provider session id"),
        max_length=128,
        blank=True,
        help_text=_("The provider's id of the checkout session or payment setup, if any."),
    )
    redirect_url = models.CharField(_("redirect URL"), max_length=2000, blank=True)
    start_claimed_until = models.DateTimeField(
        _("start claimed until"),
        null=True,
        blank=True,
        editable=False,
        help_text=_(
            "While set and in the future, one request is asking the provider to create "
            "this payment and no other request calls it."
        ),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="kakaopay_payments",
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("The staff member who requested this charge, if one did."),
    )
    preapproval = models.ForeignKey(
        "django_kakaopay.Preapproval",
        verbose_name=_("preapproval"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="charges",
    )
    billing_period = models.CharField(
        _("billing period"),
        max_length=64,
        blank=True,
        help_text=_("For charges on a preapproval: one charge per period, e.g. 2026-11."),
    )
    metadata = models.JSONField(_("metadata"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["-created_at"]
        # Plain B-tree indexes (no PostgreSQL ``_like`` twins), led by the
        # backend as every look-up is: each index is written by every
        # status change, so there are only as many as the look-ups need.
        indexes = [
            models.Index(fields=["status"], name="kakaopay_payment_status"),
            models.Index(
                fields=["backend", "provider_payment_id"], name="kakaopay_payment_provider"
            ),
            models.Index(
                fields=["backend", "provider_session_id"], name="kakaopay_payment_session"
            ),
        ]
        permissions = [
            ("refund_payment", _("Can refund payments")),
            ("charge_preapproval", _("Can charge preapprovals")),
            ("cancel_preapproval", _("Can cancel preapprovals")),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0), name="kakaopay_payment_amount_positive"
            ),
            models.CheckConstraint(
                condition=Q(refunded_amount__lte=F("amount")),
                name="kakaopay_payment_refunded_lte_amount",
            ),
            models.CheckConstraint(
                condition=Q(status__in=PaymentStatus.values),
                name="kakaopay_payment_status_valid",
            ),
            models.UniqueConstraint(
                fields=["preapproval", "billing_period"],
                condition=Q(preapproval__isnull=False) & ~Q(billing_period=""),
                name="kakaopay_one_charge_per_period",
            ),
            models.UniqueConstraint(
                fields=["backend", "provider_payment_id"],
                condition=~Q(provider_payment_id=""),
                name="kakaopay_payment_provider_id_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} ({self.amount_display}, {self.get_status_display()})"

    @property
    def is_paid(self) -> bool:
        return self.status in PAID_STATUSES

    @property
    def refundable_amount(self) -> int:
        return self.amount - self.refunded_amount if self.is_paid else 0

    def remaining_refundable(self, pending_refunds: int) -> int:
        """What a new refund may still take once ``pending_refunds`` are promised back.

        The one rule the refund service (under a row lock) and the admin's
        form (for an early, friendly error) both apply.
        """
        return max(self.refundable_amount - pending_refunds, 0)

    def line_items(self) -> tuple[LineItem, ...]:
        return tuple(
            LineItem(
                name=str(item.get("name", "")),
                quantity=int(item.get("quantity", 1)),
                unit_price=int(item.get("unit_price", 0)),
                reference=str(item.get("reference", "")),
            )
            for item in self.items or []
            if isinstance(item, dict)
        )

    def customer(self) -> Customer:
        return Customer(
            name=self.customer_name, email=self.customer_email, phone=self.customer_phone
        )

    def as_ref(self) -> PaymentRef:
        return PaymentRef(
            reference=self.reference,
            amount=self.amount,
            currency=self.currency,
            provider_payment_id=self.provider_payment_id,
            provider_session_id=self.provider_session_id,
            idempotency_key=self.idempotency_key,
            preapproval_reference=self.preapproval.reference if self.preapproval else "",
        )

    def get_checkout_url(self) -> str:
        """Where to send the customer to pay: starts the payment, then redirects."""
        return reverse("kakaopay:checkout", args=[self.return_token])

    def items_for_display(self) -> list[dict[str, Any]]:
        from ..money import format_money

        return [
            {
                "name": item.name,
                "quantity": item.quantity,
                "unit_price": format_money(item.unit_price, self.currency),
                "total": format_money(item.total, self.currency),
            }
            for item in self.line_items()
        ]
