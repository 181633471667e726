"""Admin actions that ask the provider: refresh and replay, and what every action shares.

Actions only call the services layer, which locks the rows and decides; they
count what happened and tell the staff member, and never turn a provider
error into a server error.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from .. import services
from ..exceptions import KakaoPayError
from ..models import ChangeSource, Payment, Preapproval, Refund, WebhookEvent
from ..services import ApplyResult, Outcome
from ..status import PaymentStatus, PreapprovalStatus

logger = logging.getLogger("django_kakaopay.admin")

ModelAdmin: TypeAlias = "admin.ModelAdmin[Any]"

# Each selected row may mean a provider call; a larger selection is more
# likely a slip of "select all" than a plan.
MAX_SELECTION = 100
# How many references a message names before it only counts the rest.
MAX_NAMED = 10


@dataclass
class Tally:
    """What happened to each selected row, as short "reference: detail" lines."""

    done: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def fail(self, label: object, reason: object) -> None:
        self.failed.append(f"{label}: {reason}" if reason else str(label))


def summary(items: Sequence[str]) -> str:
    named = "; ".join(items[:MAX_NAMED])
    rest = len(items) - MAX_NAMED
    if rest > 0:
        named += " " + ngettext("(and %(count)d more)", "(and %(count)d more)", rest) % {
            "count": rest
        }
    return named


def tell(
    modeladmin: ModelAdmin, request: HttpRequest, items: Sequence[str], message: str, level: int
) -> None:
    """Send ``message`` (already chosen by ngettext for ``len(items)``) if ``items``."""
    if items:
        modeladmin.message_user(
            request, message % {"count": len(items), "items": summary(items)}, level
        )


def require(request: HttpRequest, allowed: bool) -> None:
    # The action list already hides actions the user may not run; this repeats
    # the check for a hand-made POST of an intermediate page.
    if not allowed:
        raise PermissionDenied


def too_many(modeladmin: ModelAdmin, request: HttpRequest, count: int) -> bool:
    if count <= MAX_SELECTION:
        return False
    modeladmin.message_user(
        request,
        _("Select at most %(max)d rows for this action; nothing was done.")
        % {"max": MAX_SELECTION},
        messages.ERROR,
    )
    return True


def action_page(
    modeladmin: ModelAdmin,
    request: HttpRequest,
    *,
    template: str,
    action: str,
    title: str,
    objects: Sequence[models.Model],
    headers: Sequence[object],
    rows: Sequence[Sequence[object]],
    submit_label: str,
    form: Any = None,
    **extra: Any,
) -> TemplateResponse:
    """An intermediate page that posts the same action back with ``apply``."""
    opts = modeladmin.model._meta
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "opts": opts,
        "app_label": opts.app_label,
        "action": action,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "selected_ids": [str(obj.pk) for obj in objects],
        "headers": headers,
        "rows": rows,
        "form": form,
        "submit_label": submit_label,
        **extra,
    }
    request.current_app = modeladmin.admin_site.name
    return TemplateResponse(request, template, context)


# A refresh makes a provider call per selected row (up to MAX_SELECTION a
# click) and can move statuses, so it needs the permission to change the
# records it refreshes, not just to view them. Refunds are read-only in the
# admin and are refreshed through their payments: the payment's permission.
REFRESH_PERMISSIONS: dict[type[models.Model], str] = {
    Payment: "django_kakaopay.change_payment",
    Refund: "django_kakaopay.change_payment",
    Preapproval: "django_kakaopay.change_preapproval",
}


def may_refresh(request: HttpRequest, model: type[models.Model]) -> bool:
    permission = REFRESH_PERMISSIONS.get(model)
    return permission is not None and request.user.has_perm(permission)


def applying(request: HttpRequest) -> bool:
    """Whether this POST comes from the intermediate page rather than the action list."""
    return request.method == "POST" and "apply" in request.POST


# -- refresh ------------------------------------------------------------------


def _count_sync(tally: Tally, label: object, obj: Any, result: ApplyResult | None) -> None:
    if result is None:
        obj.refresh_from_db(fields=["last_error"])
        tally.fail(label, obj.last_error or _("the provider did not answer"))
    elif result.outcome in (Outcome.MISMATCH, Outcome.NOT_FOUND):
        tally.fail(label, result.detail or result.outcome.value)
    else:
        tally.done.append(f"{label}: {obj.get_status_display()}")


@admin.action(description=gettext_lazy("Refresh from the provider"), permissions=["refresh"])
def refresh_payments(
    modeladmin: ModelAdmin, request: HttpRequest, queryset: models.QuerySet[Payment]
) -> None:
    require(request, may_refresh(request, modeladmin.model))
    if too_many(modeladmin, request, queryset.count()):
        return
    tally = Tally()
    for payment in queryset:
        started = payment.provider_payment_id or payment.provider_session_id
        if payment.status == PaymentStatus.CREATED and not (
            started or payment.needs_reconciliation
        ):
            tally.fail(payment.reference, _("not sent to the provider yet"))
            continue
        try:
            result = services.sync_payment(payment, source=ChangeSource.ADMIN)
        except KakaoPayError as exc:
            logger.warning("Admin refresh of payment %s failed: %s", payment.pk, exc)
            tally.fail(payment.reference, exc)
            continue
        _count_sync(tally, payment.reference, payment, result)
    report_refresh(modeladmin, request, tally)


@admin.action(description=gettext_lazy("Refresh from the provider"), permissions=["refresh"])
def refresh_preapprovals(
    modeladmin: ModelAdmin, request: HttpRequest, queryset: models.QuerySet[Preapproval]
) -> None:
    require(request, may_refresh(request, modeladmin.model))
    if too_many(modeladmin, request, queryset.count()):
        return
    tally = Tally()
    for preapproval in queryset:
        if preapproval.status == PreapprovalStatus.CREATED and not (
            preapproval.provider_preapproval_id or preapproval.needs_reconciliation
        ):
            tally.fail(preapproval.reference, _("not sent to the provider yet"))
            continue
        try:
            result = services.sync_preapproval(preapproval, source=ChangeSource.ADMIN)
        except KakaoPayError as exc:
            logger.warning("Admin refresh of preapproval %s failed: %s", preapproval.pk, exc)
            tally.fail(preapproval.reference, exc)
            continue
        _count_sync(tally, preapproval.reference, preapproval, result)
    report_refresh(modeladmin, request, tally)


@admin.action(
    description=gettext_lazy("Refresh from the provider (the refunded payments)"),
    permissions=["refresh"],
)
def refresh_refunds(
    modeladmin: ModelAdmin, request: HttpRequest, queryset: models.QuerySet[Refund]
) -> None:
    # There is no pull for one refund: the payment's state at the provider
    # carries its refunds, so each payment is pulled once.
    require(request, may_refresh(request, modeladmin.model))
    payments: dict[Any, Payment] = {}
    for refund in queryset.select_related("payment"):
        payments.setdefault(refund.payment_id, refund.payment)
    if too_many(modeladmin, request, len(payments)):
        return
    refresh_payments(modeladmin, request, Payment.objects.filter(pk__in=list(payments)))


def report_refresh(modeladmin: ModelAdmin, request: HttpRequest, tally: Tally) -> None:
    tell(
        modeladmin,
        request,
        tally.done,
        ngettext(
            "%(count)d record was refreshed from the provider: %(items)s",
            "%(count)d records were refreshed from the provider: %(items)s",
            len(tally.done),
        ),
        messages.SUCCESS,
    )
    tell(
        modeladmin,
        request,
        tally.failed,
        ngettext(
            "%(count)d record could not be refreshed: %(items)s",
            "%(count)d records could not be refreshed: %(items)s",
            len(tally.failed),
        ),
        messages.ERROR,
    )


# -- replay -------------------------------------------------------------------


@admin.action(description=gettext_lazy("Replay failed notifications"), permissions=["replay"])
def replay_events(
    modeladmin: ModelAdmin, request: HttpRequest, queryset: models.QuerySet[WebhookEvent]
) -> None:
    require(request, request.user.has_perm("django_kakaopay.change_webhookevent"))
    if too_many(modeladmin, request, queryset.count()):
        return
    tally = Tally()
    for event in queryset:
        label = event.event_key
        if event.status != WebhookEvent.Status.FAILED:
            # Received rows wait for the provider's retry and rejected ones
            # failed authentication: replaying either would trust an unverified body.
            tally.fail(
                label,
                _("it is %(status)s; only failed notifications are replayed")
                % {"status": event.get_status_display()},
            )
            continue
        try:
            response = services.replay_event(event, source=ChangeSource.ADMIN)
        except KakaoPayError as exc:
            logger.warning("Admin replay of notification %s failed: %s", event.pk, exc)
            tally.fail(label, exc)
            continue
        event.refresh_from_db()
        finished = (WebhookEvent.Status.PROCESSED, WebhookEvent.Status.IGNORED)
        if response.status_code < 300 and event.status in finished:
            tally.done.append(f"{label}: {event.get_status_display()}")
        else:
            tally.fail(label, event.last_error or f"HTTP {response.status_code}")
    tell(
        modeladmin,
        request,
        tally.done,
        ngettext(
            "%(count)d notification was replayed: %(items)s",
            "%(count)d notifications were replayed: %(items)s",
            len(tally.done),
        ),
        messages.SUCCESS,
    )
    tell(
        modeladmin,
        request,
        tally.failed,
        ngettext(
            "%(count)d notification was not replayed: %(items)s",
            "%(count)d notifications were not replayed: %(items)s",
            len(tally.failed),
        ),
        messages.ERROR,
    )
