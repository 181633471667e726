"""The append-only status log: browse and search, never edit."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from ..models import StatusTransition, WebhookEvent
from . import display
from .common import EvidenceDisplay, ProviderRecordAdmin, TransitionStatuses, webhook_event_id


@admin.register(StatusTransition)
class StatusTransitionAdmin(TransitionStatuses, EvidenceDisplay, ProviderRecordAdmin):
    list_display = (
        "created_at",
        "subject",
        "from_status_display",
        "to_status_display",
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
    fields = (*list_display, "evidence_display")
    readonly_fields = (
        "subject",
        "from_status_display",
        "to_status_display",
        "webhook_event",
        "evidence_display",
    )

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("changed record"))
    def subject(self, obj: StatusTransition) -> SafeString | str:
        return display.admin_link(obj.payment or obj.refund or obj.preapproval)

    @admin.display(description=_("notification"))
    def webhook_event(self, obj: StatusTransition) -> SafeString | str:
        # The evidence names the inbox row; linking by id costs no query.
        event_id = webhook_event_id(obj.evidence)
        if event_id is None:
            return "-"
        url = display.change_url(WebhookEvent, event_id)
        return format_html('<a href="{}">#{}</a>', url, event_id) if url else str(event_id)
