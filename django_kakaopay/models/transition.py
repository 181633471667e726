from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from ..status import PaymentStatus, PreapprovalStatus, RefundStatus


class ChangeSource(models.TextChoices):
    CHECKOUT = "checkout", _("Checkout")
    RETURN = "return", _("Customer return")
    WEBHOOK = "webhook", _("Notification")
    SYNC = "sync", _("Provider pull")
    ADMIN = "admin", _("Admin")
    API = "api", _("API")
    COMMAND = "command", _("Command")


APPEND_ONLY = "Status transitions are append-only."


class StatusTransitionQuerySet(models.QuerySet["StatusTransition"]):
    """Bulk changes bypass ``save``/``delete`` on the model, so refuse them here too."""

    def update(self, **kwargs: Any) -> int:
        raise ValueError(APPEND_ONLY)

    def delete(self) -> tuple[int, dict[str, int]]:
        raise ValueError(APPEND_ONLY)


class StatusTransition(models.Model):
    """Append-only log of every status change, with what caused it."""

    Source = ChangeSource

    payment = models.ForeignKey(
        "django_kakaopay.Payment",
        verbose_name=_("payment"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="transitions",
    )
    refund = models.ForeignKey(
        "django_kakaopay.Refund",
        verbose_name=_("refund"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="transitions",
    )
    preapproval = models.ForeignKey(
        "django_kakaopay.Preapproval",
        verbose_name=_("preapproval"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="transitions",
    )
    from_status = models.CharField(_("from"), max_length=20)
    to_status = models.CharField(_("to"), max_length=20)
    source = models.CharField(_("source"), max_length=16, choices=ChangeSource.choices)
    evidence = models.JSONField(_("evidence"), default=dict, blank=True)
    created_at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)

    objects = StatusTransitionQuerySet.as_manager()

    class Meta:
        verbose_name = _("status transition")
        verbose_name_plural = _("status transitions")
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(payment__isnull=False, refund__isnull=True, preapproval__isnull=True)
                    | Q(payment__isnull=True, refund__isnull=False, preapproval__isnull=True)
                    | Q(payment__isnull=True, refund__isnull=True, preapproval__isnull=False)
                ),
                name="kakaopay_transition_one_subject",
            )
        ]

    def __str__(self) -> str:
        return f"{self.from_status} → {self.to_status} ({self.source})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ValueError(APPEND_ONLY)
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise ValueError(APPEND_ONLY)

    def status_label(self, value: str) -> str:
        """The translated label of ``value`` in the status set of the changed record.

        One log holds payments, refunds and agreements, so the columns carry
        no choices of their own; the record's kind picks the labels.
        """
        if self.refund_id is not None:
            choices: type[models.TextChoices] = RefundStatus
        elif self.preapproval_id is not None:
            choices = PreapprovalStatus
        else:
            choices = PaymentStatus
        return str(dict(choices.choices).get(value, value))

    def get_from_status_display(self) -> str:
        return self.status_label(self.from_status)

    def get_to_status_display(self) -> str:
        return self.status_label(self.to_status)
