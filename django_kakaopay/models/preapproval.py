from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from ..backends.types import Customer, PreapprovalRef
from ..money import format_money
from ..status import PreapprovalStatus
from .fields import CustomerFields, ProviderTrackedFields, new_idempotency_key, new_return_token


class BillingInterval(models.TextChoices):
    """The unit of a preapproval's billing plan."""

    DAY = "day", _("Day")
    WEEK = "week", _("Week")
    MONTH = "month", _("Month")
    YEAR = "year", _("Year")


class Preapproval(CustomerFields, ProviderTrackedFields):
    """A customer's KakaoPay auto-debit agreement, against which the merchant charges."""

    Status = PreapprovalStatus
    Interval = BillingInterval

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    reference = models.CharField(_("reference"), max_length=100, unique=True)
    backend = models.CharField(_("backend"), max_length=64)
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=PreapprovalStatus.choices,
        default=PreapprovalStatus.CREATED,
    )
    currency = models.CharField(_("currency"), max_length=3)
    description = models.CharField(_("description"), max_length=255, blank=True)
    max_amount = models.PositiveBigIntegerField(
        _("maximum amount per charge"),
        null=True,
        blank=True,
        help_text=_("In the currency's minor unit; empty means no limit was agreed."),
    )
    success_url = models.CharField(_("success URL"), max_length=2000, blank=True)
    failure_url = models.CharField(_("failure URL"), max_length=2000, blank=True)
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
    provider_preapproval_id = models.CharField(
        _("provider preapproval id"), max_length=128, blank=True
    )
    redirect_url = models.CharField(_("redirect URL"), max_length=2000, blank=True)
    start_claimed_until = models.DateTimeField(
        _("start claimed until"),
        null=True,
        blank=True,
        editable=False,
        help_text=_(
            "While set and in the future, one request is asking the provider to create "
            "this agreement and no other request calls it."
        ),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="kakaopay_preapprovals",
    )
    metadata = models.JSONField(_("metadata"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    activated_at = models.DateTimeField(_("activated at"), null=True, blank=True)
    canceled_at = models.DateTimeField(_("canceled at"), null=True, blank=True)
    cancel_requested_at = models.DateTimeField(
        _("cancellation requested at"),
        null=True,
        blank=True,
        help_text=_(
            "Set before the provider is asked to end the agreement; while set, no "
            "charge is made, and reconciliation retries a cancellation that timed out."
        ),
    )
    cancel_requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("cancellation requested by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("The staff member who asked for the cancellation, if one did."),
    )
    # An optional billing plan, charged by ``manage.py kakaopay_charge_due``.
    billing_amount = models.PositiveBigIntegerField(
        _("billing amount"),
        null=True,
        blank=True,
        help_text=_("Charged every billing period, in the currency's minor unit."),
    )
    billing_interval = models.CharField(
        _("billing interval"), max_length=8, choices=BillingInterval.choices, blank=True
    )
    billing_interval_count = models.PositiveSmallIntegerField(
        _("billing interval count"),
        default=1,
        help_text=_("Charge every this many intervals, e.g. 3 months."),
    )
    billing_anchor = models.DateField(
        _("billing anchor"),
        null=True,
        blank=True,
        help_text=_(
            "The first due date of the plan; later due dates keep its day of the month "
            "(the 31st becomes the last day of shorter months)."
        ),
    )
    next_charge_on = models.DateField(_("next charge on"), null=True, blank=True, db_index=True)

    class Meta:
        verbose_name = _("preapproval")
        verbose_name_plural = _("preapprovals")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status"], name="kakaopay_preapproval_status"),
            models.Index(
                fields=["backend", "provider_preapproval_id"], name="kakaopay_preapproval_provider"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=PreapprovalStatus.values),
                name="kakaopay_preapproval_status_valid",
            ),
            models.UniqueConstraint(
                fields=["backend", "provider_preapproval_id"],
                condition=~Q(provider_preapproval_id=""),
                name="kakaopay_preapproval_provider_id_unique",
            ),
            models.CheckConstraint(
                condition=(
                    Q(
                        billing_amount__isnull=True,
                        billing_interval="",
                        billing_anchor__isnull=True,
                        next_charge_on__isnull=True,
                    )
                    | Q(
                        billing_amount__gt=0,
                        billing_interval__in=BillingInterval.values,
                        billing_interval_count__gte=1,
                        billing_anchor__isnull=False,
                        next_charge_on__isnull=False,
                    )
                ),
                name="kakaopay_preapproval_billing_plan_complete",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} ({self.get_status_display()})"

    @property
    def max_amount_display(self) -> str:
        return format_money(self.max_amount, self.currency) if self.max_amount else ""

    def customer(self) -> Customer:
        return Customer(
            name=self.customer_name, email=self.customer_email, phone=self.customer_phone
        )

    def get_checkout_url(self) -> str:
        """Where to send the customer to confirm the agreement with KakaoPay."""
        return reverse("kakaopay:preapproval-checkout", args=[self.return_token])

    @property
    def has_billing_plan(self) -> bool:
        return self.billing_amount is not None

    def as_ref(self) -> PreapprovalRef:
        return PreapprovalRef(
            reference=self.reference,
            provider_preapproval_id=self.provider_preapproval_id,
            idempotency_key=self.idempotency_key,
            provider_payload=dict(self.provider_payload or {}),
        )
