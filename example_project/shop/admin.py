from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from .models import Order, Product, Subscription


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["name", "price_column", "is_subscription"]
    list_filter = ["is_subscription"]
    search_fields = ["name", "description"]

    @admin.display(description=_("price"), ordering="price")
    def price_column(self, obj: Product) -> str:
        return obj.price_display


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["reference", "product", "amount_column", "status", "created_at", "paid_at"]
    list_filter = ["status", "product"]
    search_fields = ["reference", "payment__reference"]
    readonly_fields = [
        "reference",
        "product",
        "amount",
        "status",
        "payment",
        "created_at",
        "paid_at",
    ]
    list_select_related = ["product"]
    date_hierarchy = "created_at"

    @admin.display(description=_("amount"), ordering="amount")
    def amount_column(self, obj: Order) -> str:
        return obj.amount_display

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Orders are created by customers at checkout, with their payment.
        return False


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["reference", "product", "status", "last_charged_period", "created_at"]
    list_filter = ["status", "product"]
    search_fields = ["reference", "preapproval__reference"]
    readonly_fields = [
        "reference",
        "product",
        "preapproval",
        "status",
        "last_charged_period",
        "created_at",
    ]
    list_select_related = ["product"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
