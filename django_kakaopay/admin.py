"""Admin registrations: browse and search; provider-owned fields are read-only.

Statuses and amounts are never edited by hand: they change only through the
services layer (admin actions arrive with the operations work).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from .models import Payment, Preapproval, Refund, SandboxTransaction, StatusTransition, WebhookEvent


class ReadOnlyInline(admin.TabularInline):  # type: ignore[type-arg]
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class TransitionInline(ReadOnlyInline):
    model = StatusTransition
    fields = ("created_at", "from_status", "to_status", "source", "evidence")
    readonly_fields = fields
    show_change_link = False


class RefundInline(ReadOnlyInline):
    model = Refund
    fields = ("reference", "amount", "status", "origin", "created_at")
    readonly_fields = fields


PROVIDER_FIELDS = (
    "provider_status",
    "provider_payload",
    "provider_updated_at",
    "needs_reconciliation",
    "last_error",
)


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = (
        "reference",
        "amount_column",
        "status",
        "backend",
        "customer_email",
        "needs_reconciliation",
        "created_at",
    )
    list_filter = ("status", "backend", "currency", "needs_reconciliation", "created_at")
    search_fields = (
        "reference",
        "provider_payment_id",
        "provider_session_id",
        "customer_email",
        "customer_name",
    )
    date_hierarchy = "created_at"
    list_select_related = ("user",)
    inlines = (RefundInline, TransitionInline)
    readonly_fields = (
        "id",
        "reference",
        "backend",
        "status",
        "amount",
        "currency",
        "refunded_amount",
        "items",
        "terminal_type",
        "provider_payment_id",
        "provider_session_id",
        "redirect_url",
        "idempotency_key",
        "preapproval",
        "billing_period",
        "paid_at",
        "created_at",
        "updated_at",
        *PROVIDER_FIELDS,
    )
    exclude = ("return_token",)

    @admin.display(description=_("amount"), ordering="amount")
    def amount_column(self, obj: Payment) -> str:
        return obj.amount_display

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Refund)
class RefundAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("reference", "payment", "amount_column", "status", "origin", "created_at")
    list_filter = ("status", "origin", "created_at")
    search_fields = ("reference", "provider_refund_id", "payment__reference")
    list_select_related = ("payment",)
    readonly_fields = (
        "id",
        "payment",
        "reference",
        "amount",
        "status",
        "origin",
        "idempotency_key",
        "provider_refund_id",
        "succeeded_at",
        "created_at",
        "updated_at",
        *PROVIDER_FIELDS,
    )
    inlines = (TransitionInline,)

    @admin.display(description=_("amount"), ordering="amount")
    def amount_column(self, obj: Refund) -> str:
        return obj.amount_display

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ChargeInline(ReadOnlyInline):
    model = Payment
    fk_name = "preapproval"
    fields = ("reference", "billing_period", "amount", "status", "created_at")
    readonly_fields = fields


@admin.register(Preapproval)
class PreapprovalAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("reference", "status", "backend", "customer_email", "created_at")
    list_filter = ("status", "backend", "created_at")
    search_fields = ("reference", "provider_preapproval_id", "customer_email", "customer_name")
    date_hierarchy = "created_at"
    inlines = (ChargeInline, TransitionInline)
    readonly_fields = (
        "id",
        "reference",
        "backend",
        "status",
        "currency",
        "max_amount",
        "provider_preapproval_id",
        "redirect_url",
        "idempotency_key",
        "activated_at",
        "canceled_at",
        "created_at",
        "updated_at",
        *PROVIDER_FIELDS,
    )
    exclude = ("return_token",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(WebhookEvent)
class WebhookEventAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("received_at", "backend", "event_type", "event_key", "status", "attempts")
    list_filter = ("status", "backend", "event_type")
    search_fields = ("event_key", "event_type")
    date_hierarchy = "received_at"
    fields = (
        "backend",
        "event_key",
        "event_type",
        "status",
        "attempts",
        "last_error",
        "remote_addr",
        "headers",
        "body_text",
        "received_at",
        "processed_at",
    )
    readonly_fields = fields

    @admin.display(description=_("raw body"))
    def body_text(self, obj: WebhookEvent) -> str:
        return obj.body_text

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(StatusTransition)
class StatusTransitionAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = (
        "created_at",
        "payment",
        "refund",
        "preapproval",
        "from_status",
        "to_status",
        "source",
    )
    list_filter = ("source", "to_status")
    list_select_related = ("payment", "refund", "preapproval")
    search_fields = ("payment__reference", "preapproval__reference", "refund__reference")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(SandboxTransaction)
class SandboxTransactionAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("id", "backend", "kind", "status", "reference", "amount", "created_at")
    list_filter = ("backend", "kind", "status")
    search_fields = ("id", "reference")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
