from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from ..status import RefundStatus
from .fields import MoneyDisplayMixin, ProviderTrackedFields, new_idempotency_key


def new_refund_reference() -> str:
    return "rf_" + uuid.uuid4().hex[:24]


class Refund(MoneyDisplayMixin, ProviderTrackedFields):
    """One refund of part or all of a payment. Refunds are never merged."""

    Status = RefundStatus

    class Origin(models.TextChoices):
        MERCHANT = "merchant", _("Requested here")
        PROVIDER = "provider", _("Reported by the provider")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    payment = models.ForeignKey(
        "django_kakaopay.Payment",
        verbose_name=_("payment"),
        on_delete=models.PROTECT,
        related_name="refunds",
    )
    reference = models.CharField(
        _("reference"), max_length=100, unique=True, default=new_refund_reference
    )
    amount = models.PositiveBigIntegerField(_("amount"))
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=RefundStatus.choices,
        default=RefundStatus.PENDING,
    )
    origin = models.CharField(
        _("origin"), max_length=16, choices=Origin.choices, default=Origin.MERCHANT
    )
    reason = models.CharField(_("reason"), max_length=255, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("The staff member who requested this refund, if one did."),
    )
    idempotency_key = models.CharField(
        _("idempotency key"),
        max_length=64,
        unique=True,
        default=new_idempotency_key,
        editable=False,
    )
    provider_refund_id = models.CharField(_("provider refund id"), max_length=128, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    succeeded_at = models.DateTimeField(_("succeeded at"), null=True, blank=True)

    class Meta:
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status"], name="kakaopay_refund_status"),
            models.Index(fields=["provider_refund_id"], name="kakaopay_refund_provider"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0), name="kakaopay_refund_amount_positive"
            ),
            models.CheckConstraint(
                condition=Q(status__in=RefundStatus.values), name="kakaopay_refund_status_valid"
            ),
        ]

    @property
    def currency(self) -> str:  # type: ignore[override]
        return self.payment.currency

    def __str__(self) -> str:
        return f"{self.reference} ({self.amount_display}, {self.get_status_display()})"
