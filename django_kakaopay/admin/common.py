"""What every admin page for a provider-owned record shares."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.db import models, transaction
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from ..models import StatusTransition, WebhookEvent
from . import display

if TYPE_CHECKING:
    from django.contrib.admin.options import _FieldOpts
    from django.utils.functional import _StrPromise

# Fields of the provider-tracking mixin, shown together on every change page.
PROVIDER_FIELDS = (
    "provider_status",
    "provider_updated_at",
    "needs_reconciliation",
    "last_error",
    "failure_message",
    "payload_display",
)

# The customer's details (``CustomerFields``) and the site's user, where a row has them.
CUSTOMER_FIELDSET: tuple[_StrPromise, _FieldOpts] = (
    _("Customer"),
    {"fields": ("customer_name", "customer_email", "customer_phone", "user")},
)


class AmountColumn:
    """The amount in the row's currency (models with ``MoneyDisplayMixin``)."""

    @admin.display(description=_("amount"), ordering="amount")
    def amount_column(self, obj: Any) -> str:
        return str(obj.amount_display)


class CustomerColumn:
    """The customer's name and email (models with ``CustomerFields``)."""

    @admin.display(description=_("customer"), ordering="customer_email")
    def customer_column(self, obj: Any) -> SafeString | str:
        return display.customer(obj.customer_name, obj.customer_email)


class ProviderRecordAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Rows the provider owns: never added or deleted by hand.

    Only the names in ``editable_fields`` can be changed in the form; status,
    money and provider fields move only through the services layer.
    """

    editable_fields: tuple[str, ...] = ()

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # Derived from the model so a field added later is read-only by default.
        names = [
            field.name
            for field in self.model._meta.get_fields()
            if isinstance(field, models.Field) and field.name not in self.editable_fields
        ]
        return [*names, *super().get_readonly_fields(request, obj)]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(
        self, request: HttpRequest, obj: Any, form: ModelForm[Any], change: bool
    ) -> None:
        # A full save() would write back the status and amounts read when the
        # form was loaded, undoing a notification that arrived meanwhile. Only
        # the fields the form may change are written.
        changed = [name for name in form.changed_data if name in self.editable_fields]
        if not changed:
            return
        if any(field.name == "updated_at" for field in self.model._meta.concrete_fields):
            obj.updated_at = timezone.now()
            changed.append("updated_at")
        obj.save(update_fields=changed)

    # The services commit each record (a refund row, its idempotency key)
    # before they call the provider, and lock rows only briefly. A transaction
    # around the whole request (ATOMIC_REQUESTS) would hold those locks during
    # provider calls and could roll back the record of money the provider has
    # already moved, so admin actions run outside it.
    @transaction.non_atomic_requests
    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        return super().changelist_view(request, extra_context)

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, obj: models.Model) -> SafeString:
        return display.status_badge(obj)

    @admin.display(description=_("last provider payload"))
    def payload_display(self, obj: Any) -> SafeString | str:
        return display.pretty_json(obj.provider_payload)


class ReadOnlyInline(admin.TabularInline):  # type: ignore[type-arg]
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("status"))
    def status_badge(self, obj: models.Model) -> SafeString:
        return display.status_badge(obj)


class EvidenceDisplay:
    """A status transition's evidence, indented."""

    @admin.display(description=_("evidence"))
    def evidence_display(self, obj: StatusTransition) -> SafeString | str:
        return display.pretty_json(obj.evidence)


class TransitionStatuses:
    """The log's from/to statuses as translated badges, like the records' own status."""

    @admin.display(description=_("from"))
    def from_status_display(self, obj: StatusTransition) -> SafeString:
        return display.badge(obj.from_status, obj.get_from_status_display())

    @admin.display(description=_("to"))
    def to_status_display(self, obj: StatusTransition) -> SafeString:
        return display.badge(obj.to_status, obj.get_to_status_display())


class TransitionInline(TransitionStatuses, EvidenceDisplay, ReadOnlyInline):
    model = StatusTransition
    fields = (
        "created_at",
        "from_status_display",
        "to_status_display",
        "source",
        "evidence_display",
    )
    readonly_fields = fields
    show_change_link = False
    verbose_name_plural = _("status history")


def webhook_event_id(evidence: Any) -> int | None:
    """The inbox row a transition's evidence names, if a notification caused it.

    There is no foreign key from a transition to its notification; the
    webhook service records ``{"webhook_event": <pk>}`` in the evidence.
    """
    value = evidence.get("webhook_event") if isinstance(evidence, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def webhook_event_ids(transitions: models.QuerySet[StatusTransition]) -> list[int]:
    """Inbox rows named in the evidence of ``transitions`` (webhook-caused changes)."""
    ids: list[int] = []
    for evidence in transitions.values_list("evidence", flat=True):
        value = webhook_event_id(evidence)
        if value is not None and value not in ids:
            ids.append(value)
    return ids


def webhook_event_links(transitions: models.QuerySet[StatusTransition]) -> SafeString | str:
    ids = webhook_event_ids(transitions)
    events = WebhookEvent.objects.filter(pk__in=ids).order_by("received_at")
    return display.link_list(events.only("pk", "backend", "event_key", "event_type", "status"))
