"""The notification inbox: what each provider sent, as received, and its replay."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from ..models import StatusTransition, WebhookEvent
from . import display
from .actions import replay_events
from .common import ProviderRecordAdmin


@admin.register(WebhookEvent)
class WebhookEventAdmin(ProviderRecordAdmin):
    list_display = (
        "received_at",
        "backend",
        "event_type",
        "event_key",
        "status_badge",
        "attempts",
        "processed_at",
    )
    list_filter = ("status", "backend", "event_type", "received_at")
    search_fields = ("event_key", "event_type")
    date_hierarchy = "received_at"
    list_select_related = ()
    actions = (replay_events,)
    fields = (
        "backend",
        "event_key",
        "event_type",
        "status_badge",
        "attempts",
        "last_error",
        "changed_records",
        "remote_addr",
        "headers_display",
        "body_text",
        "received_at",
        "processed_at",
        "updated_at",
    )
    readonly_fields = ("status_badge", "changed_records", "headers_display", "body_text")

    def get_queryset(self, request: HttpRequest) -> Any:
        queryset = super().get_queryset(request)
        # Bodies can be large and the list never shows them.
        match = request.resolver_match
        if match is not None and (match.url_name or "").endswith("_changelist"):
            queryset = queryset.defer("body")
        return queryset

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # The stored notification is evidence: nobody edits it, not even a superuser.
        return False

    def has_replay_permission(self, request: HttpRequest) -> bool:
        # has_change_permission is False for the form, so ask for the real permission.
        return request.user.has_perm("django_kakaopay.change_webhookevent")

    @admin.display(description=_("raw body"))
    def body_text(self, obj: WebhookEvent) -> SafeString:
        return display.pretty_body(bytes(obj.body))

    @admin.display(description=_("headers"))
    def headers_display(self, obj: WebhookEvent) -> SafeString | str:
        return display.pretty_json(obj.headers)

    @admin.display(description=_("records it changed"))
    def changed_records(self, obj: WebhookEvent) -> SafeString | str:
        transitions = (
            StatusTransition.objects.filter(evidence__webhook_event=obj.pk)
            .select_related("payment", "refund__payment", "preapproval")
            .order_by("created_at", "id")
        )
        subjects = []
        for transition in transitions:
            subject = transition.payment or transition.refund or transition.preapproval
            if subject is not None and subject not in subjects:
                subjects.append(subject)
        return display.link_list(subjects)
