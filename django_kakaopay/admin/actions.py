"""Admin actions that ask the provider: refresh and replay, and what every action shares.

Actions only call the services layer, which locks the rows and decides; they
count what happened and tell the staff member, and never turn a provider
error into a server error.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias, TypeVar

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, ngettext_lazy

from .. import services
from ..exceptions import KakaoPayError
from ..models import ChangeSource, Payment, Preapproval, Refund, WebhookEvent
from ..services import ApplyResult, Outcome
from ..services.webhooks import REPLAYABLE
from .audit import acting_user, outcome

logger = logging.getLogger("django_kakaopay.admin")

ModelAdmin: TypeAlias = "admin.ModelAdmin[Any]"
M = TypeVar("M", bound=models.Model)

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

    def report(
        self,
        modeladmin: ModelAdmin,
        request: HttpRequest,
        *,
        done: Promise,
        failed: Promise,
        waiting: Promise | None = None,
    ) -> None:
        """One message per list that has rows: done, then waiting, then failed.

        Each message is ``ngettext_lazy(singular, plural, "count")``, so the plural
        is chosen for the length of its own list.
        """
        for items, message, level in (
            (self.done, done, messages.SUCCESS),
            (self.waiting, waiting, messages.WARNING),
            (self.failed, failed, messages.ERROR),
        ):
            if items and message is not None:
                values = {"count": len(items), "items": summary(items)}
                modeladmin.message_user(request, message % values, level)


def summary(items: Sequence[str]) -> str:
    named = "; ".join(items[:MAX_NAMED])
    rest = len(items) - MAX_NAMED
    if rest > 0:
        named += " " + ngettext("(and %(count)d more)", "(and %(count)d more)", rest) % {
            "count": rest
        }
    return named


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


def selection(
    modeladmin: ModelAdmin, request: HttpRequest, queryset: models.QuerySet[M]
) -> list[M] | None:
    """The selected rows, oldest first; ``None`` (the user is told) when there are too many."""
    objects = list(queryset.order_by("created_at")[: MAX_SELECTION + 1])
    if too_many(modeladmin, request, len(objects)):
        return None
    return objects


def action_page(
    modeladmin: ModelAdmin,
    request: HttpRequest,
    *,
    template: str,
    action: str,
    title: Promise,
    objects: Sequence[M],
    headers: Sequence[object],
    row: Callable[[M], Sequence[object]],
    submit_label: str,
    form: Any = None,
    **extra: Any,
) -> TemplateResponse:
    """An intermediate page that posts the same action back with ``apply``.

    ``title`` is ``ngettext_lazy(singular, plural, "count")``, counted over ``objects``;
    ``row`` gives the table's cells for one object.
    """
    opts = modeladmin.model._meta
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title % {"count": len(objects)},
        "opts": opts,
        "app_label": opts.app_label,
        "action": action,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "selected_ids": [str(obj.pk) for obj in objects],
        "headers": headers,
        "rows": [row(obj) for obj in objects],
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


class RefreshPermission:
    """``has_refresh_permission`` for the admins that offer a refresh action."""

    model: Any

    def has_refresh_permission(self, request: HttpRequest) -> bool:
        return may_refresh(request, self.model)


def applying(request: HttpRequest) -> bool:
    """Whether this POST comes from the intermediate page rather than the action list."""
    return request.method == "POST" and "apply" in request.POST


# -- refresh ------------------------------------------------------------------


def _refresh(
    modeladmin: ModelAdmin,
    request: HttpRequest,
    queryset: models.QuerySet[Any],
    *,
    kind: str,
    provider_id: Callable[[Any], str],
    sync: Callable[..., ApplyResult | None],
) -> None:
    """Pull each selected payment or agreement (``kind``) with ``sync``."""
    require(request, may_refresh(request, modeladmin.model))
    if too_many(modeladmin, request, queryset.count()):
        return
    tally = Tally()
    actor = acting_user(request)
    for obj in queryset:
        label = obj.reference
        if obj.status == obj.Status.CREATED and not (provider_id(obj) or obj.needs_reconciliation):
            tally.fail(label, _("not sent to the provider yet"))
            continue
        before = obj.get_status_display()
        try:
            result = sync(obj, source=ChangeSource.ADMIN, actor=actor)
        except KakaoPayError as exc:
            logger.warning("Admin refresh of %s %s failed: %s", kind, obj.pk, exc)
            tally.fail(label, exc)
            _log_refresh_failure(modeladmin, request, obj, exc)
            continue
        if result is None:
            obj.refresh_from_db(fields=["last_error"])
            reason = obj.last_error or _("the provider did not answer")
            tally.fail(label, reason)
            _log_refresh_failure(modeladmin, request, obj, reason)
        elif result.outcome in (Outcome.MISMATCH, Outcome.NOT_FOUND):
            reason = result.detail or result.outcome.value
            tally.fail(label, reason)
            _log_refresh_failure(modeladmin, request, obj, reason)
        else:
            after = obj.get_status_display()
            tally.done.append(f"{label}: {after}")
            if after != before:
                text = _("Refreshed from the provider: %(old)s → %(new)s") % {
                    "old": before,
                    "new": after,
                }
            else:
                text = _("Refreshed from the provider: %(status)s, unchanged") % {"status": after}
            modeladmin.log_change(request, obj, text)
    tally.report(
        modeladmin,
        request,
        done=ngettext_lazy(
            "%(count)d record was refreshed from the provider: %(items)s",
            "%(count)d records were refreshed from the provider: %(items)s",
            "count",
        ),
        failed=ngettext_lazy(
            "%(count)d record could not be refreshed: %(items)s",
            "%(count)d records could not be refreshed: %(items)s",
            "count",
        ),
    )


def _log_refresh_failure(
    modeladmin: ModelAdmin, request: HttpRequest, obj: models.Model, reason: object
) -> None:
    text = _("Refresh from the provider failed: %(error)s") % {"error": reason}
    modeladmin.log_change(request, obj, text)


@admin.action(description=gettext_lazy("Refresh from the provider"), permissions=["refresh"])
def refresh_payments(
    modeladmin: ModelAdmin, request: HttpRequest, queryset: models.QuerySet[Payment]
) -> None:
    _refresh(
        modeladmin,
        request,
        queryset,
        kind="payment",
        provider_id=lambda payment: payment.provider_payment_id or payment.provider_session_id,
        sync=services.sync_payment,
    )


@admin.action(description=gettext_lazy("Refresh from the provider"), permissions=["refresh"])
def refresh_preapprovals(
    modeladmin: ModelAdmin, request: HttpRequest, queryset: models.QuerySet[Preapproval]
) -> None:
    _refresh(
        modeladmin,
        request,
        queryset,
        kind="preapproval",
        provider_id=lambda preapproval: preapproval.provider_preapproval_id,
        sync=services.sync_preapproval,
    )


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


# -- replay -------------------------------------------------------------------


@admin.action(description=gettext_lazy("Replay failed notifications"), permissions=["replay"])
def replay_events(
    modeladmin: ModelAdmin, request: HttpRequest, queryset: models.QuerySet[WebhookEvent]
) -> None:
    require(request, request.user.has_perm("django_kakaopay.change_webhookevent"))
    if too_many(modeladmin, request, queryset.count()):
        return
    tally = Tally()
    actor = acting_user(request)
    for event in queryset:
        label = event.event_key
        if event.status not in REPLAYABLE:
            # Rejected rows failed authentication and received ones were never
            # verified: replaying either would trust an unverified body.
            tally.fail(
                label,
                _("it is %(status)s; only failed or malformed notifications are replayed")
                % {"status": event.get_status_display()},
            )
            continue
        try:
            response = services.replay_event(event, source=ChangeSource.ADMIN, actor=actor)
        except KakaoPayError as exc:
            logger.warning("Admin replay of notification %s failed: %s", event.pk, exc)
            tally.fail(label, exc)
            modeladmin.log_change(request, event, _("Replay failed: %(error)s") % {"error": exc})
            continue
        event.refresh_from_db()
        modeladmin.log_change(
            request, event, _("Replayed: %(outcome)s") % {"outcome": outcome(event)}
        )
        finished = (WebhookEvent.Status.PROCESSED, WebhookEvent.Status.IGNORED)
        if response.status_code < 300 and event.status in finished:
            tally.done.append(f"{label}: {event.get_status_display()}")
        else:
            tally.fail(label, event.last_error or f"HTTP {response.status_code}")
    tally.report(
        modeladmin,
        request,
        done=ngettext_lazy(
            "%(count)d notification was replayed: %(items)s",
            "%(count)d notifications were replayed: %(items)s",
            "count",
        ),
        failed=ngettext_lazy(
            "%(count)d notification was not replayed: %(items)s",
            "%(count)d notifications were not replayed: %(items)s",
            "count",
        ),
    )
