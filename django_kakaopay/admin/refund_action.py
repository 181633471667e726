"""The "Refund" action of the payment list, with its amount form page.

The form checks the amount against what is still refundable and against the
backend's capabilities to give a clear error early; ``services.request_refund``
checks the same under a row lock and stays the authority.

The page carries, signed, each payment's refunded plus pending total as it
showed it, and every refund is requested with that ``expected_refund_total``:
a page submitted twice (double click, Back and resubmit), even by two racing
requests, refunds once and reports the second as a failure.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import admin
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import models
from django.db.models import Q, Sum
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext_lazy

from .. import services
from ..backends.types import Capability
from ..conf import get_backend
from ..exceptions import KakaoPayError, RefundNotAllowed
from ..models import ChangeSource, Payment
from ..money import format_money
from ..status import RefundStatus
from .actions import ModelAdmin, Tally, action_page, applying, logger, require, selection
from .audit import acting_user, outcome
from .forms import RefundForm

REFUND_PERMISSION = "django_kakaopay.refund_payment"


def with_pending_refunds(queryset: models.QuerySet[Payment]) -> models.QuerySet[Payment]:
    """Annotate ``pending_refunds``: money promised back but not yet confirmed."""
    return queryset.annotate(
        pending_refunds=Coalesce(
            Sum("refunds__amount", filter=Q(refunds__status=RefundStatus.PENDING)),
            0,
            output_field=models.PositiveBigIntegerField(),
        )
    )


@dataclass(frozen=True)
class Refundability:
    """What one payment can still take back, and why not when it cannot."""

    remaining: int
    partial_allowed: bool
    problem: str = ""


def refund_total(payment: Payment) -> int:
    """Refunded plus still pending: what ``services.request_refund`` compares."""
    return payment.refunded_amount + int(getattr(payment, "pending_refunds", 0) or 0)


def refundability(payment: Payment) -> Refundability:
    pending = int(getattr(payment, "pending_refunds", 0) or 0)
    remaining = payment.remaining_refundable(pending)
    try:
        backend = get_backend(payment.backend)
    except KakaoPayError:
        return Refundability(0, False, _("its backend is not configured"))
    partial = backend.supports(Capability.PARTIAL_REFUNDS)
    if not backend.supports(Capability.REFUNDS):
        return Refundability(0, False, _("its backend does not support refunds"))
    if not payment.is_paid:
        return Refundability(0, partial, _("it is not paid"))
    if remaining <= 0:
        return Refundability(0, partial, _("nothing remains to be refunded"))
    return Refundability(remaining, partial)


def check_amount(payment: Payment, amount: int | None) -> str:
    """Why ``amount`` (``None``: all that remains) cannot be refunded, or ``""``."""
    state = refundability(payment)
    if state.problem:
        return state.problem
    wanted = state.remaining if amount is None else amount
    if wanted > state.remaining:
        return _(
            "at most %(remaining)s can still be refunded (%(amount)s paid, %(refunded)s "
            "refunded, %(pending)s waiting for the provider)"
        ) % {
            "remaining": format_money(state.remaining, payment.currency),
            "amount": format_money(payment.amount, payment.currency),
            "refunded": format_money(payment.refunded_amount, payment.currency),
            "pending": format_money(getattr(payment, "pending_refunds", 0), payment.currency),
        }
    # The same rule as the service: anything short of the whole payment is partial.
    if wanted < payment.amount and not state.partial_allowed:
        return _("its backend only refunds the whole payment")
    return ""


def _row(payment: Payment) -> list[object]:
    state = refundability(payment)
    note = state.problem or ("" if state.partial_allowed else _("full refunds only"))
    return [
        payment.reference,
        payment.get_status_display(),
        payment.amount_display,
        format_money(payment.refunded_amount, payment.currency),
        format_money(getattr(payment, "pending_refunds", 0), payment.currency),
        format_money(state.remaining, payment.currency),
        payment.backend,
        note or "-",
    ]


HEADERS = (
    gettext_lazy("reference"),
    gettext_lazy("status"),
    gettext_lazy("amount"),
    gettext_lazy("refunded"),
    gettext_lazy("pending refunds"),
    gettext_lazy("refundable"),
    gettext_lazy("backend"),
    gettext_lazy("note"),
)


@admin.action(description=gettext_lazy("Refund selected payments…"), permissions=["refund"])
def refund_payments(
    modeladmin: ModelAdmin, request: HttpRequest, queryset: models.QuerySet[Payment]
) -> TemplateResponse | None:
    require(request, request.user.has_perm(REFUND_PERMISSION))
    payments = selection(modeladmin, request, with_pending_refunds(queryset))
    if payments is None:
        return None
    single = len(payments) == 1
    currency = payments[0].currency
    form = RefundForm(
        request.POST if applying(request) else None,
        currency=currency,
        single=single,
        totals={str(payment.pk): refund_total(payment) for payment in payments},
        initial_amount=refundability(payments[0]).remaining if single else None,
    )
    if form.is_bound and form.is_valid():
        amount: int | None = form.cleaned_data["amount"]
        expected: dict[str, int] = form.cleaned_data["refund_totals"]
        # A payment whose refunds moved since the page was shown goes straight
        # to the service, which refuses it with the reason; the amount check
        # would instead blame the amount of what is most likely a resubmission.
        moved = single and expected[str(payments[0].pk)] != refund_total(payments[0])
        problem = check_amount(payments[0], amount) if single and not moved else ""
        if problem:
            form.add_error("amount" if amount is not None else None, capfirst(problem))
        else:
            _refund(modeladmin, request, payments, amount, form.cleaned_data["reason"], expected)
            return None
    return action_page(
        modeladmin,
        request,
        template="admin/django_kakaopay/payment/refund.html",
        action="refund_payments",
        title=ngettext_lazy("Refund %(count)d payment", "Refund %(count)d payments", "count"),
        objects=payments,
        headers=HEADERS,
        row=_row,
        submit_label=_("Refund"),
        form=form,
        single=single,
    )


def _pull_after_refund(payment: Payment, actor: AbstractBaseUser | None) -> None:
    """Ask the provider for the refunded payment, so its page shows the provider's view.

    A refund's answer is about the refund; the payment's provider status and
    payload would otherwise still say what they said before it (nothing
    refunded) while the payment shows the refunded amount. The pull settles
    only what the ledger does not already hold, so it never counts the refund
    twice. Its failure leaves the refund as it is: it is only logged.
    """
    try:
        if services.sync_payment(payment, source=ChangeSource.ADMIN, actor=actor) is None:
            logger.info("Admin pull after refunding payment %s got no answer", payment.pk)
    except KakaoPayError as exc:
        logger.warning("Admin pull after refunding payment %s failed: %s", payment.pk, exc)


def _refund(
    modeladmin: ModelAdmin,
    request: HttpRequest,
    payments: list[Payment],
    amount: int | None,
    reason: str,
    expected: dict[str, int],
) -> None:
    tally = Tally()
    actor = acting_user(request)
    for payment in payments:
        label = payment.reference
        try:
            refund = services.request_refund(
                payment,
                amount,
                reason=reason,
                source=ChangeSource.ADMIN,
                expected_refund_total=expected[str(payment.pk)],
                actor=actor,
            )
        except RefundNotAllowed as exc:
            tally.fail(label, exc)
            continue
        except KakaoPayError as exc:
            logger.warning("Admin refund of payment %s failed: %s", payment.pk, exc)
            tally.fail(label, exc)
            continue
        if refund.status == RefundStatus.SUCCEEDED:
            _pull_after_refund(payment, actor)
        money = format_money(refund.amount, payment.currency)
        text = _("Refund %(reference)s of %(amount)s requested (%(reason)s): %(outcome)s") % {
            "reference": refund.reference,
            "amount": money,
            "reason": refund.reason,
            "outcome": outcome(refund),
        }
        modeladmin.log_change(request, payment, text)
        modeladmin.log_addition(request, refund, text)
        if refund.status == RefundStatus.FAILED:
            tally.fail(f"{label} ({money})", refund.last_error or _("the provider refused it"))
        elif refund.status == RefundStatus.PENDING:
            tally.waiting.append(f"{label} ({money})")
        else:
            tally.done.append(f"{label} ({money})")
    tally.report(
        modeladmin,
        request,
        done=ngettext_lazy(
            "%(count)d payment was refunded: %(items)s",
            "%(count)d payments were refunded: %(items)s",
            "count",
        ),
        waiting=ngettext_lazy(
            "%(count)d refund was requested and waits for the provider's confirmation: %(items)s",
            "%(count)d refunds were requested and wait for the provider's confirmation: %(items)s",
            "count",
        ),
        failed=ngettext_lazy(
            "%(count)d payment could not be refunded: %(items)s",
            "%(count)d payments could not be refunded: %(items)s",
            "count",
        ),
    )
