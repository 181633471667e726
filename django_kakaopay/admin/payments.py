"""Payments and their refunds."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import display_for_field
from django.db.models import Q
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from ..conf import backend_configs
from ..models import Payment, Refund, StatusTransition
from ..money import format_money
from . import display
from .actions import RefreshPermission, refresh_payments, refresh_refunds
from .common import (
    CUSTOMER_FIELDSET,
    PROVIDER_FIELDS,
    AmountColumn,
    CustomerColumn,
    ProviderRecordAdmin,
    ReadOnlyInline,
    TransitionInline,
    webhook_event_links,
)
from .refund_action import REFUND_PERMISSION, refund_payments, refundability, with_pending_refunds


class RefundInline(AmountColumn, ReadOnlyInline):
    model = Refund
    fields = (
        "reference",
        "amount_column",
        "status_badge",
        "origin",
        "reason",
        "requested_by",
        "provider_refund_id",
        "created_at",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> Any:
        # The amount's currency lives on the payment, the requester's name on
        # the user: joins, not a query per refund.
        return super().get_queryset(request).select_related("payment", "requested_by")


@admin.register(Payment)
class PaymentAdmin(AmountColumn, CustomerColumn, RefreshPermission, ProviderRecordAdmin):
    # Local notes only: neither is sent to the provider again after checkout.
    editable_fields = ("description", "metadata")
    # Beside the admin's menu and filters a 1280 px screen leaves ~620 px for
    # the list: every column has to earn its place there. The refunded amount
    # and the reconciliation flag ride under the amount and the status; the
    # payment time is on the change page.
    list_display = (
        "reference",
        "amount_and_refunded_column",
        "status_column",
        "backend",
        "customer_column",
        "created_column",
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
    # Every column comes from the payment row itself; no per-row query.
    list_select_related = ()
    inlines = (RefundInline, TransitionInline)
    actions = (refresh_payments, refund_payments)
    readonly_fields = (
        "status_badge",
        "amount_column",
        "tax_column",
        "refunded_column",
        "refundable_column",
        "dashboard",
        "webhook_events",
        "items_display",
        "payload_display",
    )
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "reference",
                    "status_badge",
                    "amount_column",
                    "tax_column",
                    "refunded_column",
                    "refundable_column",
                    "backend",
                    "description",
                )
            },
        ),
        CUSTOMER_FIELDSET,
        (
            _("Provider"),
            {
                "fields": (
                    "provider_payment_id",
                    "provider_session_id",
                    "dashboard",
                    *PROVIDER_FIELDS,
                    "webhook_events",
                )
            },
        ),
        (
            _("Order"),
            {
                "fields": (
                    "items_display",
                    "terminal_type",
                    "preapproval",
                    "billing_period",
                    "requested_by",
                    "metadata",
                )
            },
        ),
        (
            _("Technical details"),
            {
                "classes": ("collapse",),
                "fields": ("id", "idempotency_key", "redirect_url", "success_url", "failure_url"),
            },
        ),
        (_("Dates"), {"fields": ("created_at", "paid_at", "updated_at")}),
    )

    def has_refund_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(REFUND_PERMISSION)

    def get_list_display(self, request: HttpRequest) -> list[Any]:
        columns = list(super().get_list_display(request))
        # With a single backend the column would repeat one alias on every row.
        if len(backend_configs()) <= 1:
            columns.remove("backend")
        return columns

    @admin.display(description=_("amount"), ordering="amount")
    def amount_and_refunded_column(self, obj: Payment) -> SafeString | str:
        if not obj.refunded_amount:
            return str(obj.amount_display)
        return format_html(
            '{}<br><small class="kakaopay-refunded">{}: {}</small>',
            obj.amount_display,
            capfirst(Payment._meta.get_field("refunded_amount").verbose_name),
            format_money(obj.refunded_amount, obj.currency),
        )

    @admin.display(
        description=Payment._meta.get_field("created_at").verbose_name, ordering="created_at"
    )
    def created_column(self, obj: Payment) -> str:
        # As the admin shows the field, minus the "nowrap" it gives date columns,
        # which alone took a sixth of the list's width.
        return str(display_for_field(obj.created_at, Payment._meta.get_field("created_at"), "-"))

    @admin.display(description=_("status"), ordering="status")
    def status_column(self, obj: Payment) -> SafeString:
        if not obj.needs_reconciliation:
            return display.status_badge(obj)
        flag = Payment._meta.get_field("needs_reconciliation").verbose_name
        return format_html(
            '{}<br><small class="kakaopay-needs-reconciliation">&#9888; {}</small>',
            display.status_badge(obj),
            flag,
        )

    @admin.display(description=_("tax-free amount and VAT"))
    def tax_column(self, obj: Payment) -> str:
        vat = (
            format_money(obj.vat_amount, obj.currency)
            if obj.vat_amount is not None
            else _("computed by the provider")
        )
        return _("tax-free %(tax_free)s, VAT %(vat)s") % {
            "tax_free": format_money(obj.tax_free_amount, obj.currency),
            "vat": vat,
        }

    @admin.display(description=_("refunded amount"), ordering="refunded_amount")
    def refunded_column(self, obj: Payment) -> str:
        return format_money(obj.refunded_amount, obj.currency) if obj.refunded_amount else "-"

    @admin.display(description=_("refundable"))
    def refundable_column(self, obj: Payment) -> str:
        # One aggregate query, on the change page only (not a list column).
        annotated = with_pending_refunds(Payment.objects.filter(pk=obj.pk)).first()
        state = refundability(annotated or obj)
        amount = format_money(state.remaining, obj.currency)
        return f"{amount} ({state.problem})" if state.problem else amount

    @admin.display(description=_("provider's dashboard"))
    def dashboard(self, obj: Payment) -> SafeString | str:
        provider_id = obj.provider_payment_id or obj.provider_session_id
        return display.dashboard_link(obj.backend, "payment", provider_id)

    @admin.display(description=_("order items"))
    def items_display(self, obj: Payment) -> SafeString | str:
        return display.pretty_json(obj.items)

    @admin.display(description=_("notifications that changed it"))
    def webhook_events(self, obj: Payment) -> SafeString | str:
        return webhook_event_links(
            StatusTransition.objects.filter(Q(payment=obj) | Q(refund__payment=obj))
        )


@admin.register(Refund)
class RefundAdmin(AmountColumn, RefreshPermission, ProviderRecordAdmin):
    list_display = (
        "reference",
        "payment_link",
        "amount_column",
        "status_badge",
        "origin",
        "customer_column",
        "created_at",
    )
    list_filter = ("status", "origin", "payment__backend", "payment__currency", "created_at")
    search_fields = (
        "reference",
        "provider_refund_id",
        "payment__reference",
        "payment__provider_payment_id",
        "payment__customer_email",
    )
    date_hierarchy = "created_at"
    # The amount's currency and the customer live on the payment.
    list_select_related = ("payment",)
    inlines = (TransitionInline,)
    actions = (refresh_refunds,)
    readonly_fields = (
        "status_badge",
        "amount_column",
        "payment_link",
        "dashboard",
        "webhook_events",
        "payload_display",
    )
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "reference",
                    "payment_link",
                    "status_badge",
                    "amount_column",
                    "origin",
                    "reason",
                    "requested_by",
                )
            },
        ),
        (
            _("Provider"),
            {"fields": ("provider_refund_id", "dashboard", *PROVIDER_FIELDS, "webhook_events")},
        ),
        (_("Technical details"), {"classes": ("collapse",), "fields": ("id", "idempotency_key")}),
        (_("Dates"), {"fields": ("created_at", "succeeded_at", "updated_at")}),
    )

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).select_related("payment")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Nothing on a refund is a local note: it is all the provider's record.
        return False

    @admin.display(description=_("payment"), ordering="payment__reference")
    def payment_link(self, obj: Refund) -> SafeString | str:
        return display.admin_link(obj.payment, obj.payment.reference)

    @admin.display(description=_("customer"), ordering="payment__customer_email")
    def customer_column(self, obj: Refund) -> SafeString | str:
        return display.customer(obj.payment.customer_name, obj.payment.customer_email)

    @admin.display(description=_("provider's dashboard"))
    def dashboard(self, obj: Refund) -> SafeString | str:
        return display.dashboard_link(obj.payment.backend, "refund", obj.provider_refund_id)

    @admin.display(description=_("notifications that changed it"))
    def webhook_events(self, obj: Refund) -> SafeString | str:
        return webhook_event_links(StatusTransition.objects.filter(refund=obj))
