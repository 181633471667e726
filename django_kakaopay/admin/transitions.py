"""The append-only status log: browse and search, never edit."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from ..models import StatusTransition
from . import display
from .common import ProviderRecordAdmin


@admin.register(StatusTransition)
class StatusTransitionAdmin(ProviderRecordAdmin):
    list_display = (
        "created_at",
        "subject",
        "from_status",
        "to_status",
        "source",
        "webhook_event",
    )
    list_filter = ("source", "to_status", "created_at")
    # A refund's label shows its amount, whose currency is on the payment.
    list_select_related = ("payment", "refund__payment", "preapproval")
    search_fields = (
        "payment__reference",
        "payment__provider_payment_id",
        "preapproval__reference",
        "preapproval__provider_preapproval_id",
        "refund__reference",
        "refund__provider_refund_id",
    )
    date_hierarchy = "created_at"
    fields = (
        "created_at",
        "subject",
        "from_status",
        "to_status",
        "source",
        "webhook_event",
        "evidence_display",
    )
    readonly_fields = ("subject", "webhook_event", "evidence_display")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("changed record"))
    def subject(self, obj: StatusTransition) -> SafeString | str:
        return display.admin_link(obj.payment or obj.refund or obj.preapproval)

    @admin.display(description=_("notification"))
    def webhook_event(self, obj: StatusTransition) -> SafeString | str:
        # The evidence names the inbox row; linking by id costs no query.
        event_id = obj.evidence.get("webhook_event") if isinstance(obj.evidence, dict) else None
        if not isinstance(event_id, int) or isinstance(event_id, bool):
            return "-"
        try:
            url = reverse("admin:django_kakaopay_webhookevent_change", args=[event_id])
        except NoReverseMatch:
            return str(event_id)
        return format_html('<a href="{}">#{}</a>', url, event_id)

    @admin.display(description=_("evidence"))
    def evidence_display(self, obj: StatusTransition) -> SafeString | str:
        return display.pretty_json(obj.evidence)
