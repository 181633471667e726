from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from ..money import format_money


class SandboxTransaction(models.Model):
    """A payment, preapproval or refund as the simulated provider records it."""

    class Kind(models.TextChoices):
        PAYMENT = "payment", _("Payment")
        PREAPPROVAL = "preapproval", _("Preapproval")
        REFUND = "refund", _("Refund")

    id = models.CharField(_("id"), primary_key=True, max_length=40)
    backend = models.CharField(_("backend"), max_length=64)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    # KakaoPay's own status vocabulary (READY, SUCCESS_PAYMENT, ISSUED_SID, ...).
    status = models.CharField(_("status"), max_length=32)
    reference = models.CharField(_("reference"), max_length=100)
    amount = models.PositiveBigIntegerField(_("amount"), null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=3)
    refunded_amount = models.PositiveBigIntegerField(_("refunded amount"), default=0)
    max_amount = models.PositiveBigIntegerField(_("maximum amount"), null=True, blank=True)
    description = models.CharField(_("description"), max_length=255, blank=True)
    items = models.JSONField(_("order items"), default=list, blank=True)
    customer = models.JSONField(_("customer"), default=dict, blank=True)
    terminal_type = models.CharField(_("terminal type"), max_length=8, blank=True)
    return_url = models.CharField(_("return URL"), max_length=2000, blank=True)
    notification_url = models.CharField(_("notification URL"), max_length=2000, blank=True)
    idempotency_key = models.CharField(_("idempotency key"), max_length=64)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="children",
    )
    # Notifications held back by the "late" delivery mode.
    outbox = models.JSONField(_("held notifications"), default=list, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("sandbox transaction")
        verbose_name_plural = _("sandbox transactions")
        constraints = [
            models.UniqueConstraint(
                fields=["backend", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="kakaopay_sandbox_idempotency_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.id} {self.status}"

    @property
    def amount_display(self) -> str:
        return format_money(self.amount, self.currency)

    @property
    def max_amount_display(self) -> str:
        return format_money(self.max_amount, self.currency) if self.max_amount else ""

    def items_for_display(self) -> list[dict[str, str]]:
        rows = []
        for item in self.items or []:
            quantity = int(item.get("quantity", 1))
            unit_price = int(item.get("unit_price", 0))
            rows.append(
                {
                    "name": str(item.get("name", "")),
                    "quantity": str(quantity),
                    "total": format_money(quantity * unit_price, self.currency),
                }
            )
        return rows
