"""A preapproval's optional billing plan: set it (checked), clear it.

A plan is an amount, an interval (day, week, month or year) with a count
("every 3 months"), an anchor (the first due date) and ``next_charge_on``.
:func:`.billing.charge_due_preapprovals` charges the plans that are due.
"""

from __future__ import annotations

from datetime import date, datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ..exceptions import InvalidPaymentRequest
from ..models import Preapproval
from ..models.preapproval import BillingInterval
from ..money import format_money, normalize_currency, validate_amount
from ..status import PreapprovalStatus
from .schedule import MAX_INTERVAL_COUNT

# An agreement that is, or may still become, active. (``expired`` is not final,
# since a local expiry yields to a later approval, but it gets no plan.)
PLANNABLE = frozenset(
    {PreapprovalStatus.CREATED, PreapprovalStatus.PENDING, PreapprovalStatus.ACTIVE}
)


def set_billing_plan(
    preapproval: Preapproval,
    *,
    amount: int,
    interval: str,
    interval_count: int = 1,
    next_charge_on: date,
    currency: str | None = None,
) -> Preapproval:
    """Give ``preapproval`` a billing plan, replacing any previous one.

    ``next_charge_on`` is the first due date and the plan's anchor. The
    amount is in the agreement's currency (``currency``, when given, must be
    that one) and may not exceed ``max_amount``. Raises
    :class:`~django_kakaopay.exceptions.InvalidPaymentRequest`.
    """
    try:
        amount = validate_amount(amount)
    except ValueError as exc:
        raise InvalidPaymentRequest(str(exc)) from exc
    if interval not in BillingInterval.values:
        raise InvalidPaymentRequest(
            _("Unknown billing interval %(value)r; use one of %(known)s.")
            % {"value": interval, "known": ", ".join(BillingInterval.values)}
        )
    if (
        isinstance(interval_count, bool)
        or not isinstance(interval_count, int)
        or not 1 <= interval_count <= MAX_INTERVAL_COUNT
    ):
        raise InvalidPaymentRequest(_("The interval count must be a whole number from 1."))
    if isinstance(next_charge_on, datetime) or not isinstance(next_charge_on, date):
        raise InvalidPaymentRequest(_("The next charge date must be a date."))
    with transaction.atomic():
        locked = Preapproval.objects.select_for_update().get(pk=preapproval.pk)
        if currency is not None:
            try:
                same = normalize_currency(currency) == locked.currency
            except ValueError:
                same = False
            if not same:
                raise InvalidPaymentRequest(
                    _("The plan must be in the agreement's currency, %(currency)s.")
                    % {"currency": locked.currency}
                )
        if locked.cancel_requested_at is not None:
            raise InvalidPaymentRequest(
                _("Preapproval %(reference)s is being canceled; it cannot get a billing plan.")
                % {"reference": locked.reference}
            )
        if locked.status not in PLANNABLE:
            raise InvalidPaymentRequest(
                _("Preapproval %(reference)s is %(status)s; it cannot get a billing plan.")
                % {"reference": locked.reference, "status": locked.get_status_display()}
            )
        if locked.max_amount is not None and amount > locked.max_amount:
            raise InvalidPaymentRequest(
                _("The plan's amount exceeds the agreed maximum of %(maximum)s.")
                % {"maximum": format_money(locked.max_amount, locked.currency)}
            )
        locked.billing_amount = amount
        locked.billing_interval = interval
        locked.billing_interval_count = interval_count
        locked.billing_anchor = next_charge_on
        locked.next_charge_on = next_charge_on
        locked.save(update_fields=[*PLAN_FIELDS, "updated_at"])
    _copy_plan(locked, preapproval)
    return preapproval


PLAN_FIELDS = (
    "billing_amount",
    "billing_interval",
    "billing_interval_count",
    "billing_anchor",
    "next_charge_on",
)


def clear_billing_plan(preapproval: Preapproval) -> Preapproval:
    """Remove the billing plan; charges already made are not touched."""
    Preapproval.objects.filter(pk=preapproval.pk).update(
        billing_amount=None,
        billing_interval="",
        billing_interval_count=1,
        billing_anchor=None,
        next_charge_on=None,
        updated_at=timezone.now(),
    )
    preapproval.refresh_from_db(fields=list(PLAN_FIELDS))
    return preapproval


def _copy_plan(source: Preapproval, target: Preapproval) -> None:
    for name in PLAN_FIELDS:
        setattr(target, name, getattr(source, name))
