"""Field defaults and mixins shared by the provider-tracked models."""

from __future__ import annotations

import secrets
import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from ..money import format_money


def new_return_token() -> str:
    """An unguessable capability for the customer's return URL."""
    return secrets.token_urlsafe(32)


def new_idempotency_key() -> str:
    return uuid.uuid4().hex


class MoneyDisplayMixin:
    amount: int
    currency: str

    @property
    def amount_display(self) -> str:
        return format_money(self.amount, self.currency)


class CustomerFields(models.Model):
    customer_name = models.CharField(_("customer name"), max_length=200, blank=True)
    customer_email = models.EmailField(_("customer email"), blank=True)
    customer_phone = models.CharField(_("customer phone"), max_length=40, blank=True)

    class Meta:
        abstract = True


class ProviderTrackedFields(models.Model):
    """What we last heard from the provider, and whether we need to ask again."""

    provider_status = models.CharField(
        _("provider status"),
        max_length=64,
        blank=True,
        help_text=_("The raw status value the provider last reported."),
    )
    provider_payload = models.JSONField(
        _("last provider payload"), null=True, blank=True, editable=False
    )
    provider_updated_at = models.DateTimeField(
        _("provider updated at"),
        null=True,
        blank=True,
        help_text=_("Time of the newest provider event applied; older events are ignored."),
    )
    needs_reconciliation = models.BooleanField(
        _("needs reconciliation"),
        default=False,
        db_index=True,
        help_text=_(
            "Set when a provider call timed out or failed on the provider's side: "
            "the outcome is unknown until it is checked against the provider."
        ),
    )
    last_error = models.TextField(_("last error"), blank=True)
    failure_message = models.CharField(
        _("failure message"),
        max_length=255,
        blank=True,
        help_text=_(
            "Why the provider refused, in words the customer may read; shown on the result page."
        ),
    )
    reconciled_at = models.DateTimeField(
        _("last reconciled at"),
        null=True,
        blank=True,
        editable=False,
        help_text=_(
            "When reconciliation last checked this against the provider; it waits "
            "RECONCILE_AFTER seconds before checking again."
        ),
    )

    class Meta:
        abstract = True
