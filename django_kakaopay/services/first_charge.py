"""The payment that makes an agreement, recorded as the charge of its plan's first period.

Some providers (KakaoPay) take real money when the customer agrees: the
first payment and the agreement are one approval. That payment is recorded
as an ordinary charge (a ``Payment`` with ``preapproval`` and the
``billing_period`` of the plan's anchor, as :mod:`.billing` names periods),
so that the due-charge run finds the period charged and never charges it again.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils.translation import gettext as _

from ..backends.types import PaymentSnapshot
from ..exceptions import KakaoPayError
from ..models import ChangeSource, Payment, Preapproval
from ..status import PreapprovalStatus
from .apply import apply_payment_snapshot
from .apply_rules import record_problem
from .charges import charge_reference, charge_row
from .schedule import period_key

logger = logging.getLogger("django_kakaopay")


def first_period(preapproval: Preapproval) -> str:
    """The billing period key of the plan's first due date ("" without a plan)."""
    if preapproval.billing_amount is None or preapproval.billing_anchor is None:
        return ""
    return period_key(preapproval.billing_interval, preapproval.billing_anchor)


def first_charge_terms(preapproval: Preapproval) -> tuple[int | None, str]:
    """The first payment's amount and reference, from the plan; ``(None, "")`` without one."""
    period = first_period(preapproval)
    if not period:
        return None, ""
    return preapproval.billing_amount, charge_reference(preapproval.reference, period)


def record_first_charge(
    preapproval: Preapproval,
    snapshot: PaymentSnapshot | None,
    *,
    source: ChangeSource | str,
) -> Payment | None:
    """Record ``snapshot``, the agreement's first payment, as its first period's charge.

    Only an active agreement with a plan gets one; a period charged already
    keeps its row, which the snapshot then updates. Anything that prevents
    the record is kept on the agreement for a person (``needs_reconciliation``).
    """
    if snapshot is None:
        return None
    with transaction.atomic():
        locked = Preapproval.objects.select_for_update().get(pk=preapproval.pk)
        period = first_period(locked)
        payment = None
        if period:
            payment = Payment.objects.filter(preapproval=locked, billing_period=period).first()
        if payment is None and locked.status == PreapprovalStatus.ACTIVE and period:
            try:
                payment = charge_row(
                    locked,
                    amount=locked.billing_amount or 0,
                    billing_period=period,
                    reference=snapshot.reference or None,
                )
            except KakaoPayError as exc:
                logger.warning("First charge of %s not recorded: %s", locked.pk, exc)
                payment = None
    if payment is None:
        record_problem(
            locked,
            _(
                "The provider took a first payment of %(amount)s for the agreement "
                "%(reference)s, but it could not be recorded as a charge; check it by hand."
            )
            % {"amount": snapshot.amount, "reference": locked.reference},
        )
        preapproval.refresh_from_db()
        return None
    apply_payment_snapshot(payment, snapshot, source=source, evidence={"step": "first charge"})
    return payment
