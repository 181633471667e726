"""Charging an active auto-debit agreement: once per billing period, whatever happens."""

from __future__ import annotations

import hashlib
from dataclasses import replace

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from ..backends.types import (
    ChargeRequest,
)
from ..conf import get_backend
from ..exceptions import (
    InvalidPaymentRequest,
    PreapprovalNotActive,
    ProviderError,
    ProviderRejected,
)
from ..models import ChangeSource, Payment, Preapproval
from ..money import validate_amount
from ..status import PaymentStatus, PreapprovalStatus
from .apply import apply_payment_snapshot
from .provider_errors import fail_start, mark_unknown
from .transitions import actor_evidence
from .urls import notification_url
from .validation import signed_in


def _being_canceled(preapproval: Preapproval) -> str:
    return _("Preapproval %(reference)s is being canceled; it is not charged.") % {
        "reference": preapproval.reference
    }


def charge_reference(preapproval_reference: str, billing_period: str) -> str:
    """``<agreement>-<period>``, shortened with a digest when it would not fit.

    References are limited to 100 characters (the column, and what providers
    accept); the digest keeps a shortened one unique per agreement and period.
    """
    reference = f"{preapproval_reference}-{billing_period}"
    limit = Payment._meta.get_field("reference").max_length or 100
    if len(reference) <= limit:
        return reference
    digest = hashlib.sha256(reference.encode()).hexdigest()[:16]
    return f"{reference[: limit - len(digest) - 1]}-{digest}"


def charge_row(
    locked: Preapproval,
    *,
    amount: int,
    billing_period: str,
    description: str = "",
    reference: str | None = None,
    requested_by: AbstractBaseUser | None = None,
) -> Payment:
    """The charge of ``locked`` for ``billing_period``, created (status ``created``) if new.

    The caller holds ``locked`` under ``select_for_update`` in a transaction;
    the row, with its idempotency key, is committed with that transaction,
    before any provider call. Nothing is sent to the provider here.
    ``requested_by`` (a staff member) is recorded on a new charge only: an
    existing one stays the request of whoever made it.
    """
    existing = Payment.objects.filter(preapproval=locked, billing_period=billing_period).first()
    if existing is not None:
        return existing
    if locked.status != PreapprovalStatus.ACTIVE:
        raise PreapprovalNotActive(
            _("Preapproval %(reference)s is %(status)s, not active.")
            % {"reference": locked.reference, "status": locked.get_status_display()}
        )
    if locked.cancel_requested_at is not None:
        raise PreapprovalNotActive(_being_canceled(locked))
    if locked.max_amount is not None and amount > locked.max_amount:
        raise InvalidPaymentRequest(_("The charge exceeds the agreed maximum amount."))
    reference = reference or charge_reference(locked.reference, billing_period)
    try:
        with transaction.atomic():
            return Payment.objects.create(
                reference=reference,
                amount=amount,
                currency=locked.currency,
                description=(description or locked.description)[:255],
                customer_name=locked.customer_name,
                customer_email=locked.customer_email,
                customer_phone=locked.customer_phone,
                backend=locked.backend,
                user=locked.user,
                preapproval=locked,
                billing_period=billing_period,
                requested_by=signed_in(requested_by),
            )
    except IntegrityError as exc:
        raise InvalidPaymentRequest(
            _("A payment with reference %(reference)r already exists.") % {"reference": reference}
        ) from exc


def charge_preapproval(
    preapproval: Preapproval,
    *,
    amount: int,
    billing_period: str,
    description: str = "",
    reference: str | None = None,
    source: ChangeSource | str = ChangeSource.COMMAND,
    actor: AbstractBaseUser | None = None,
) -> Payment:
    """Charge an active agreement once for ``billing_period`` (e.g. ``"2026-11"``).

    Calling it again for the same period returns the same payment and never
    charges twice: the (preapproval, period) pair is unique in the database
    and the provider call reuses the payment's idempotency key. ``actor`` is
    the staff member asking: kept as the new charge's ``requested_by`` and
    named in the evidence of what the answer changes.
    """
    if not billing_period:
        raise InvalidPaymentRequest(_("A billing period key is required, e.g. '2026-11'."))
    try:
        amount = validate_amount(amount)
    except ValueError as exc:
        raise InvalidPaymentRequest(str(exc)) from exc
    with transaction.atomic():
        locked = Preapproval.objects.select_for_update().get(pk=preapproval.pk)
        payment = charge_row(
            locked,
            amount=amount,
            billing_period=billing_period,
            description=description,
            reference=reference,
            requested_by=actor,
        )
        if payment.status == PaymentStatus.CREATED and locked.cancel_requested_at is not None:
            raise PreapprovalNotActive(_being_canceled(locked))
    if payment.status != PaymentStatus.CREATED:
        return payment
    if payment.amount != amount:
        raise InvalidPaymentRequest(
            _("Period %(period)s was already charged with a different amount.")
            % {"period": billing_period}
        )
    backend = get_backend(payment.backend)
    charge = ChargeRequest(
        preapproval=locked.as_ref(),
        reference=payment.reference,
        amount=payment.amount,
        currency=payment.currency,
        idempotency_key=payment.idempotency_key,
        notification_url=notification_url(payment.backend, None) if _site_url_configured() else "",
        description=payment.description,
        customer=payment.customer(),
    )
    who = actor_evidence(actor)
    with backend.hold_notifications():
        try:
            snapshot = backend.charge_preapproval(charge)
        except ProviderRejected as exc:
            fail_start(payment, exc, source, evidence=who)
            return payment
        except ProviderError as exc:
            mark_unknown(payment, exc)
            payment.refresh_from_db()
            return payment
        if snapshot.status is None:
            snapshot = replace(snapshot, status=PaymentStatus.PENDING)
        apply_payment_snapshot(payment, snapshot, source=source, evidence={"step": "charge", **who})
    return payment


def _site_url_configured() -> bool:
    from ..conf import get_setting

    return bool(get_setting("SITE_URL"))
