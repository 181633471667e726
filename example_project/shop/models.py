from __future__ import annotations

import secrets

from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from django_kakaopay.money import format_money

CURRENCY = "KRW"


def new_order_reference() -> str:
    return f"ORD-{secrets.token_hex(6).upper()}"


def new_subscription_reference() -> str:
    return f"SUB-{secrets.token_hex(6).upper()}"


class Product(models.Model):
    name = models.CharField(_("name"), max_length=120, unique=True)
    price = models.PositiveIntegerField(_("price"), help_text=_("In Korean won: 11000 is ₩11,000."))
    is_subscription = models.BooleanField(
        _("monthly subscription"),
        default=False,
        help_text=_("Charged every month through a KakaoPay auto-debit agreement."),
    )
    description = models.TextField(_("description"), blank=True)

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["is_subscription", "price", "name"]

    def __str__(self) -> str:
        return self.name

    @property
    def price_display(self) -> str:
        return format_money(self.price, CURRENCY)

    @property
    def tint(self) -> int:
        """One of five background colours for the product's placeholder picture."""
        return (self.pk or 0) % 5


class Order(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Awaiting payment")
        PAID = "paid", _("Paid")
        FAILED = "failed", _("Payment failed")
        # The customer stopped at KakaoPay: nothing failed, so the badge must not say so.
        CANCELED = "canceled", pgettext_lazy("order status", "Canceled")
        REFUNDED = "refunded", _("Refunded")

    reference = models.CharField(
        _("reference"), max_length=40, unique=True, default=new_order_reference, editable=False
    )
    product = models.ForeignKey(
        Product, verbose_name=_("product"), on_delete=models.PROTECT, related_name="orders"
    )
    amount = models.PositiveIntegerField(_("amount"), help_text=_("In Korean won."))
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.PENDING
    )
    payment = models.OneToOneField(
        "django_kakaopay.Payment",
        verbose_name=_("payment"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="shop_order",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.reference

    def get_absolute_url(self) -> str:
        return reverse("shop:order-detail", args=[self.reference])

    @property
    def amount_display(self) -> str:
        return format_money(self.amount, CURRENCY)


class Subscription(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Awaiting agreement")
        ACTIVE = "active", _("Active")
        CANCELED = "canceled", _("Canceled")
        FAILED = "failed", _("Not completed")

    reference = models.CharField(
        _("reference"),
        max_length=40,
        unique=True,
        default=new_subscription_reference,
        editable=False,
    )
    product = models.ForeignKey(
        Product,
        verbose_name=_("product"),
        on_delete=models.PROTECT,
        related_name="subscriptions",
    )
    preapproval = models.ForeignKey(
        "django_kakaopay.Preapproval",
        verbose_name=_("auto-debit agreement"),
        on_delete=models.PROTECT,
        related_name="shop_subscriptions",
    )
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.PENDING
    )
    last_charged_period = models.CharField(
        _("last charged period"),
        max_length=7,
        blank=True,
        help_text=_("The newest month paid, as YYYY-MM."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.reference

    def get_absolute_url(self) -> str:
        return reverse("shop:subscription-detail", args=[self.reference])
