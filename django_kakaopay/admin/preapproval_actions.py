"""Actions on auto-debit agreements: cancel (with a confirmation) and charge (with a form)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db import models
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext_lazy

from .. import services
from ..exceptions import InvalidPaymentRequest, KakaoPayError, PreapprovalNotActive
from ..models import ChangeSource, Payment, Preapproval
from ..status import PaymentStatus, PreapprovalStatus
from .actions import ModelAdmin, Tally, action_page, applying, logger, require, selection
from .audit import acting_user, outcome
from .forms import ChargeForm

CHARGE_PERMISSION = "django_kakaopay.charge_preapproval"
# Ending a customer's agreement is as consequential as refunding, so it has a
# permission of its own rather than riding on "change" (which edits notes).
CANCEL_PERMISSION = "django_kakaopay.cancel_preapproval"

HEADERS = (
    gettext_lazy("reference"),
    gettext_lazy("status"),
    gettext_lazy("customer"),
    gettext_lazy("maximum amount per charge"),
    gettext_lazy("backend"),
)


def _row(preapproval: Preapproval) -> list[object]:
    who = preapproval.customer_name or preapproval.customer_email or "-"
    return [
        preapproval.reference,
        preapproval.get_status_display(),
        who,
        preapproval.max_amount_display or "-",
        preapproval.backend,
    ]


# -- cancel -------------------------------------------------------------------


@admin.action(description=gettext_lazy("Cancel selected agreements…"), permissions=["cancel"])
def cancel_preapprovals(
    modeladmin: ModelAdmin, request: HttpRequest, queryset: models.QuerySet[Preapproval]
) -> TemplateResponse | None:
    require(request, request.user.has_perm(CANCEL_PERMISSION))
    preapprovals = selection(modeladmin, request, queryset)
    if preapprovals is None:
        return None
    if not applying(request):
        return action_page(
            modeladmin,
            request,
            template="admin/django_kakaopay/preapproval/cancel.html",
            action="cancel_preapprovals",
            title=ngettext_lazy(
                "Cancel %(count)d agreement", "Cancel %(count)d agreements", "count"
            ),
            objects=preapprovals,
            headers=HEADERS,
            row=_row,
            submit_label=_("Yes, cancel them"),
        )
    tally = Tally()
    actor = acting_user(request)
    for preapproval in preapprovals:
        label = preapproval.reference
        if preapproval.status not in (PreapprovalStatus.ACTIVE, PreapprovalStatus.PENDING):
            tally.fail(
                label,
                _("it is %(status)s; only active or pending agreements can be canceled")
                % {"status": preapproval.get_status_display()},
            )
            continue
        try:
            services.cancel_preapproval(preapproval, source=ChangeSource.ADMIN, actor=actor)
        except KakaoPayError as exc:
            logger.warning("Admin cancel of preapproval %s failed: %s", preapproval.pk, exc)
            tally.fail(label, exc)
            modeladmin.log_change(
                request, preapproval, _("Cancellation failed: %(error)s") % {"error": exc}
            )
            continue
        preapproval.refresh_from_db()
        modeladmin.log_change(
            request,
            preapproval,
            _("Cancellation requested: %(outcome)s") % {"outcome": outcome(preapproval)},
        )
        if preapproval.status == PreapprovalStatus.CANCELED:
            tally.done.append(label)
        elif preapproval.needs_reconciliation:
            tally.waiting.append(label)
        else:
            tally.fail(label, preapproval.last_error or _("the provider did not confirm it"))
    tally.report(
        modeladmin,
        request,
        done=ngettext_lazy(
            "%(count)d agreement was canceled: %(items)s",
            "%(count)d agreements were canceled: %(items)s",
            "count",
        ),
        waiting=ngettext_lazy(
            "%(count)d cancellation has an unknown outcome and will be checked "
            "against the provider: %(items)s",
            "%(count)d cancellations have an unknown outcome and will be checked "
            "against the provider: %(items)s",
            "count",
        ),
        failed=ngettext_lazy(
            "%(count)d agreement was not canceled: %(items)s",
            "%(count)d agreements were not canceled: %(items)s",
            "count",
        ),
    )
    return None


# -- charge -------------------------------------------------------------------


@admin.action(description=gettext_lazy("Charge selected agreements…"), permissions=["charge"])
def charge_preapprovals(
    modeladmin: ModelAdmin, request: HttpRequest, queryset: models.QuerySet[Preapproval]
) -> TemplateResponse | None:
    require(request, request.user.has_perm(CHARGE_PERMISSION))
    preapprovals = selection(modeladmin, request, queryset)
    if preapprovals is None:
        return None
    currencies = {preapproval.currency for preapproval in preapprovals}
    if len(currencies) > 1:
        modeladmin.message_user(
            request,
            _(
                "The selected agreements are in different currencies (%(currencies)s); "
                "charge one currency at a time."
            )
            % {"currencies": ", ".join(sorted(currencies))},
            messages.ERROR,
        )
        return None
    limits = [p.max_amount for p in preapprovals if p.max_amount is not None]
    form = ChargeForm(
        request.POST if applying(request) else None,
        currency=currencies.pop(),
        # The smallest agreed maximum, so that one amount suits every selected agreement.
        max_amount=min(limits) if limits else None,
    )
    if form.is_bound and form.is_valid():
        _charge(modeladmin, request, preapprovals, **form.cleaned_data)
        return None
    return action_page(
        modeladmin,
        request,
        template="admin/django_kakaopay/preapproval/charge.html",
        action="charge_preapprovals",
        title=ngettext_lazy("Charge %(count)d agreement", "Charge %(count)d agreements", "count"),
        objects=preapprovals,
        headers=HEADERS,
        row=_row,
        submit_label=_("Charge"),
        form=form,
    )


# An earlier charge in one of these took no money: "already charged" would
# mislead, and the period key is spent all the same (one charge per period).
UNSUCCESSFUL = (PaymentStatus.FAILED, PaymentStatus.CANCELED, PaymentStatus.EXPIRED)


def _already_charged(period: str, earlier: Payment) -> str:
    """Why nothing was charged: the period already has a charge, and what became of it."""
    values = {
        "period": period,
        "reference": earlier.reference,
        "status": earlier.get_status_display(),
    }
    if earlier.status == PaymentStatus.FAILED:
        return (
            _(
                "period %(period)s already has a charge (%(reference)s), which failed; "
                "choose another period to try again"
            )
            % values
        )
    if earlier.status in UNSUCCESSFUL:
        return (
            _(
                "period %(period)s already has a charge (%(reference)s), which is "
                "%(status)s; choose another period to try again"
            )
            % values
        )
    return (
        _(
            "period %(period)s already has a charge (%(reference)s, %(status)s); "
            "nothing was charged again"
        )
        % values
    )


def _charge(
    modeladmin: ModelAdmin,
    request: HttpRequest,
    preapprovals: list[Preapproval],
    *,
    amount: int,
    billing_period: str,
    description: str,
) -> None:
    tally = Tally()
    actor = acting_user(request)
    for preapproval in preapprovals:
        label = preapproval.reference
        # The service would hand back an earlier charge of this period without
        # charging; say so instead of counting it as a new charge.
        earlier = Payment.objects.filter(
            preapproval=preapproval, billing_period=billing_period
        ).first()
        if earlier is not None and earlier.status != PaymentStatus.CREATED:
            tally.fail(label, _already_charged(billing_period, earlier))
            continue
        try:
            payment = services.charge_preapproval(
                preapproval,
                amount=amount,
                billing_period=billing_period,
                description=description,
                source=ChangeSource.ADMIN,
                actor=actor,
            )
        except (PreapprovalNotActive, InvalidPaymentRequest) as exc:
            tally.fail(label, exc)
            continue
        except KakaoPayError as exc:
            logger.warning("Admin charge of preapproval %s failed: %s", preapproval.pk, exc)
            tally.fail(label, exc)
            continue
        item = f"{label} ({payment.reference}, {payment.amount_display})"
        text = _("Charge %(reference)s of %(amount)s for period %(period)s: %(outcome)s") % {
            "reference": payment.reference,
            "amount": payment.amount_display,
            "period": billing_period,
            "outcome": outcome(payment),
        }
        modeladmin.log_change(request, preapproval, text)
        if earlier is None:
            # Created by this action; an earlier row left unsent was only sent again.
            modeladmin.log_addition(request, payment, text)
        if payment.status == PaymentStatus.FAILED:
            tally.fail(item, payment.last_error or _("the provider refused it"))
        elif payment.is_paid:
            tally.done.append(item)
        else:
            tally.waiting.append(item)
    tally.report(
        modeladmin,
        request,
        done=ngettext_lazy(
            "%(count)d agreement was charged: %(items)s",
            "%(count)d agreements were charged: %(items)s",
            "count",
        ),
        waiting=ngettext_lazy(
            "%(count)d charge was sent and waits for the provider: %(items)s",
            "%(count)d charges were sent and wait for the provider: %(items)s",
            "count",
        ),
        failed=ngettext_lazy(
            "%(count)d agreement was not charged: %(items)s",
            "%(count)d agreements were not charged: %(items)s",
            "count",
        ),
    )
