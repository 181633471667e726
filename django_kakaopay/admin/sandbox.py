"""The simulated provider's own records: the sandbox backend's "dashboard"."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from ..models import SandboxTransaction
from ..money import format_money


@admin.register(SandboxTransaction)
class SandboxTransactionAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = (
        "id",
        "backend",
        "kind",
        "status",
        "reference",
        "amount_column",
        "created_at",
    )
    list_filter = ("backend", "kind", "status")
    search_fields = ("id", "reference")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Only the simulated provider moves its own records, like a real one.
        return False

    @admin.display(description=_("amount"), ordering="amount")
    def amount_column(self, obj: SandboxTransaction) -> str:
        return format_money(obj.amount, obj.currency) or "-"
