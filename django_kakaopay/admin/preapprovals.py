"""Auto-debit agreements (preapprovals) and the charges made against them."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core.exceptions import FieldDoesNotExist
from django.db.models import Count, Q
from django.http import HttpRequest
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from ..models import Payment, Preapproval, StatusTransition
from ..services import billing_plan
from . import display
from .actions import RefreshPermission, refresh_preapprovals
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
from .preapproval_actions import (
    CANCEL_PERMISSION,
    CHARGE_PERMISSION,
    cancel_preapprovals,
    charge_preapprovals,
)

# The billing plan as the service saves it, and the pending cancellation that stops it.
PLAN_FIELDS = (*billing_plan.PLAN_FIELDS, "cancel_requested_at", "cancel_requested_by")


def _has_field(name: str) -> bool:
    try:
        Preapproval._meta.get_field(name)
    except FieldDoesNotExist:
        return False
    return True


class ChargeInline(AmountColumn, ReadOnlyInline):
    model = Payment
    fk_name = "preapproval"
    fields = ("reference", "billing_period", "amount_column", "status_badge", "created_at")
    readonly_fields = fields
    verbose_name = _("charge")
    verbose_name_plural = _("charges")


@admin.register(Preapproval)
class PreapprovalAdmin(CustomerColumn, RefreshPermission, ProviderRecordAdmin):
    # Local notes only: neither changes the agreement at the provider.
    editable_fields = ("description", "metadata")
    list_display = (
        "reference",
        "status_badge",
        "max_amount_column",
        "charge_count",
        "backend",
        "customer_column",
        "created_at",
        "activated_at",
    )
    list_filter = ("status", "backend", "currency", "needs_reconciliation", "created_at")
    search_fields = ("reference", "provider_preapproval_id", "customer_email", "customer_name")
    date_hierarchy = "created_at"
    list_select_related = ()
    inlines = (ChargeInline, TransitionInline)
    actions = (refresh_preapprovals, charge_preapprovals, cancel_preapprovals)
    readonly_fields = (
        "status_badge",
        "max_amount_column",
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
                    "status_badge",
                    "currency",
                    "max_amount_column",
                    "backend",
                    "description",
                    "metadata",
                )
            },
        ),
        CUSTOMER_FIELDSET,
        (
            _("Provider"),
            {
                "fields": (
                    "provider_preapproval_id",
                    "dashboard",
                    *PROVIDER_FIELDS,
                    "webhook_events",
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
        (_("Dates"), {"fields": ("created_at", "activated_at", "canceled_at", "updated_at")}),
    )

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        fieldsets = list(super().get_fieldsets(request, obj))
        # Shown only when the model has them: the billing plan is optional and
        # newer than this page's other fields.
        plan = tuple(name for name in PLAN_FIELDS if _has_field(name))
        if plan:
            fieldsets.insert(-1, (_("Billing plan"), {"fields": plan}))
        return fieldsets

    def get_queryset(self, request: HttpRequest) -> Any:
        # Counted in the list query itself, not once per row.
        return super().get_queryset(request).annotate(charge_total=Count("charges"))

    def has_charge_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(CHARGE_PERMISSION)

    def has_cancel_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(CANCEL_PERMISSION)

    @admin.display(description=_("maximum amount per charge"), ordering="max_amount")
    def max_amount_column(self, obj: Preapproval) -> str:
        return obj.max_amount_display or "-"

    @admin.display(description=_("charges"), ordering="charge_total")
    def charge_count(self, obj: Preapproval) -> int:
        return int(getattr(obj, "charge_total", 0))

    @admin.display(description=_("provider's dashboard"))
    def dashboard(self, obj: Preapproval) -> SafeString | str:
        return display.dashboard_link(obj.backend, "preapproval", obj.provider_preapproval_id)

    @admin.display(description=_("notifications that changed it"))
    def webhook_events(self, obj: Preapproval) -> SafeString | str:
        # A charge's notifications are shown on the charge's own page.
        return webhook_event_links(StatusTransition.objects.filter(Q(preapproval=obj)))
