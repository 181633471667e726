from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from ..backends.base import Customer, PreapprovalRef
from ..money import format_money
from ..status import PreapprovalStatus
from .fields import CustomerFields, ProviderTrackedFields, new_idempotency_key, new_return_token


class Preapproval(CustomerFields, ProviderTrackedFields):
    """A customer's KakaoPay auto-debit agreement, against which the merchant charges."""

    Status = PreapprovalStatus

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    reference = models.CharField(_("reference"), max_length=100, unique=True)
    backend = models.CharField(_("backend"), max_length=64, db_index=True)
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=PreapprovalStatus.choices,
        default=PreapprovalStatus.CREATED,
        db_index=True,
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
        _("provider preapproval id"), max_length=128, blank=True, db_index=True
    )
    redirect_url = models.CharField(_("redirect URL"), max_length=2000, blank=True)
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

    class Meta:
        verbose_name = _("preapproval")
        verbose_name_plural = _("preapprovals")
        ordering = ["-created_at"]
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

    def as_ref(self) -> PreapprovalRef:
        return PreapprovalRef(
            reference=self.reference,
            provider_preapproval_id=self.provider_preapproval_id,
            idempotency_key=self.idempotency_key,
        )
