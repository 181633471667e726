"""Auto-debit agreements (preapprovals) and the charges made against them."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from ..backends.types import (
    Capability,
    ChargeRequest,
    Customer,
    PreapprovalRequest,
    TerminalType,
)
from ..conf import default_backend_alias, get_backend
from ..exceptions import (
    InvalidPaymentRequest,
    OutcomeUnknown,
    PreapprovalNotActive,
    ProviderError,
    ProviderRejected,
)
from ..models import ChangeSource, Payment, Preapproval
from ..money import CurrencyError, normalize_currency, validate_amount
from ..status import PaymentStatus, PreapprovalStatus
from ..terminal import terminal_type_for_request
from .apply import ApplyResult, apply_payment_snapshot, apply_preapproval_snapshot
from .payments import (
    _check_currency,
    _customer,
    _error_evidence,
    _fail_start,
    check_redirects,
    new_reference,
    signed_in,
)
from .start_claim import await_start, claim_start, release_start
from .transitions import actor_evidence, transition
from .urls import notification_url, return_url

logger = logging.getLogger("django_kakaopay")


def create_preapproval(
    *,
    currency: str = "KRW",
    reference: str | None = None,
    description: str = "",
    customer: Customer | Mapping[str, str] | None = None,
    max_amount: int | None = None,
    success_url: str = "",
    failure_url: str = "",
    backend: str | None = None,
    user: AbstractBaseUser | AnonymousUser | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> Preapproval:
    """Record an auto-debit agreement in status ``created``."""
    try:
        currency = normalize_currency(currency)
        if max_amount is not None:
            max_amount = validate_amount(max_amount)
    except (ValueError, CurrencyError) as exc:
        raise InvalidPaymentRequest(str(exc)) from exc
    check_redirects(success_url, failure_url)
    alias = backend or default_backend_alias()
    _check_currency(alias, currency)
    if not get_backend(alias).supports(Capability.PREAPPROVALS):
        raise InvalidPaymentRequest(
            _("The backend %(alias)r does not support preapprovals.") % {"alias": alias}
        )
    person = _customer(customer)
    reference = reference or new_reference("KPA")
    if Preapproval.objects.filter(reference=reference).exists():
        raise InvalidPaymentRequest(
            _("A preapproval with reference %(reference)r already exists.")
            % {"reference": reference}
        )
    return Preapproval.objects.create(
        reference=reference,
        currency=currency,
        description=description[:255],
        customer_name=person.name,
        customer_email=person.email,
        customer_phone=person.phone,
        max_amount=max_amount,
        success_url=success_url,
        failure_url=failure_url,
        backend=alias,
        user=signed_in(user),
        metadata=dict(metadata or {}),
    )


def start_preapproval(
    preapproval: Preapproval,
    *,
    request: HttpRequest | None = None,
    source: ChangeSource | str = ChangeSource.CHECKOUT,
) -> Preapproval:
    """Create the agreement at the provider; the customer then confirms it there.

    As for payments, requests racing to start the same agreement call the
    provider once; the others wait for that call's outcome.
    """
    if preapproval.status != PreapprovalStatus.CREATED:
        return preapproval
    claim = claim_start(preapproval)
    if claim is None:
        await_start(preapproval)
        return preapproval
    try:
        _call_create(preapproval, request, source)
    finally:
        release_start(preapproval, claim)
    return preapproval


def _call_create(
    preapproval: Preapproval, request: HttpRequest | None, source: ChangeSource | str
) -> None:
    backend = get_backend(preapproval.backend)
    provider_request = PreapprovalRequest(
        reference=preapproval.reference,
        currency=preapproval.currency,
        idempotency_key=preapproval.idempotency_key,
        return_url=return_url(preapproval.return_token, request),
        notification_url=notification_url(preapproval.backend, request),
        description=preapproval.description,
        customer=preapproval.customer(),
        max_amount=preapproval.max_amount,
        terminal_type=(
            terminal_type_for_request(request) if request is not None else TerminalType.WEB
        ),
    )
    try:
        instruction = backend.create_preapproval(provider_request)
    except ProviderRejected as exc:
        with transaction.atomic():
            locked = Preapproval.objects.select_for_update().get(pk=preapproval.pk)
            Preapproval.objects.filter(pk=locked.pk).update(last_error=str(exc))
            transition(
                locked, PreapprovalStatus.FAILED, source=source, evidence=_error_evidence(exc)
            )
        preapproval.refresh_from_db()
        return
    except OutcomeUnknown as exc:
        Preapproval.objects.filter(pk=preapproval.pk).update(
            needs_reconciliation=True, last_error=str(exc)
        )
        preapproval.refresh_from_db()
        return
    except ProviderError as exc:
        Preapproval.objects.filter(pk=preapproval.pk).update(last_error=str(exc))
        raise
    # The redirect is stored, and the claim ended, before the status moves:
    # a waiting request that sees the claim gone finds where to send its customer.
    Preapproval.objects.filter(pk=preapproval.pk).update(
        redirect_url=instruction.url, start_claimed_until=None
    )
    preapproval.redirect_url = instruction.url
    preapproval.start_claimed_until = None
    snapshot = instruction.snapshot
    if snapshot.status is None:
        snapshot = replace(snapshot, status=PreapprovalStatus.PENDING)
    apply_preapproval_snapshot(preapproval, snapshot, source=source, evidence={"step": "create"})


def sync_preapproval(
    preapproval: Preapproval,
    *,
    source: ChangeSource | str = ChangeSource.SYNC,
    actor: AbstractBaseUser | None = None,
) -> ApplyResult | None:
    """Pull the provider's state of the agreement and apply it.

    ``actor``, the staff member who asked for the pull, is named in the
    evidence of what it changes.
    """
    if preapproval.status == PreapprovalStatus.CREATED and not (
        preapproval.provider_preapproval_id or preapproval.needs_reconciliation
    ):
        return None
    backend = get_backend(preapproval.backend)
    try:
        snapshot = backend.fetch_preapproval(preapproval.as_ref())
    except ProviderError as exc:
        logger.info("Could not pull preapproval %s: %s", preapproval.pk, exc)
        Preapproval.objects.filter(pk=preapproval.pk).update(last_error=str(exc))
        return None
    return apply_preapproval_snapshot(
        preapproval, snapshot, source=source, evidence={"step": "pull", **actor_evidence(actor)}
    )


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
            _fail_start(payment, exc, source, evidence=who)
            return payment
        except ProviderError as exc:
            Payment.objects.filter(pk=payment.pk).update(
                needs_reconciliation=True, last_error=str(exc)
            )
            payment.refresh_from_db()
            return payment
        if snapshot.status is None:
            snapshot = replace(snapshot, status=PaymentStatus.PENDING)
        apply_payment_snapshot(payment, snapshot, source=source, evidence={"step": "charge", **who})
    return payment


def _site_url_configured() -> bool:
    from ..conf import get_setting

    return bool(get_setting("SITE_URL"))


def cancel_preapproval(
    preapproval: Preapproval,
    *,
    source: ChangeSource | str = ChangeSource.ADMIN,
    actor: AbstractBaseUser | None = None,
) -> Preapproval:
    """End the agreement at the provider; no further charges are possible.

    ``cancel_requested_at`` is recorded before the provider is called, and
    from then on the agreement is never charged. If the call times out, the
    agreement stays as it was with ``needs_reconciliation`` set and
    ``manage.py kakaopay_reconcile`` retries the cancellation. If the
    provider refuses it, nothing changed: the request this call made is
    forgotten and the error raised. An earlier request whose outcome is still
    unknown is kept, so the agreement stays uncharged until it is settled.

    ``actor`` is the staff member asking: kept as ``cancel_requested_by``
    with this call's own request (an earlier one keeps its requester) and
    named in the evidence of what the answer changes.
    """
    if preapproval.status not in (PreapprovalStatus.ACTIVE, PreapprovalStatus.PENDING):
        return preapproval
    now = timezone.now()
    requested_here = Preapproval.objects.filter(
        pk=preapproval.pk, cancel_requested_at__isnull=True
    ).update(cancel_requested_at=now, cancel_requested_by=signed_in(actor), updated_at=now)
    preapproval.cancel_requested_at, preapproval.cancel_requested_by_id = (
        Preapproval.objects.filter(pk=preapproval.pk)
        .values_list("cancel_requested_at", "cancel_requested_by")
        .get()
    )
    try:
        return send_cancel(preapproval, source=source, actor=actor)
    except ProviderError:
        # Refused (timeouts are handled by send_cancel): nothing changed. Only
        # this call's own request is withdrawn.
        if requested_here:
            Preapproval.objects.filter(pk=preapproval.pk, cancel_requested_at=now).update(
                cancel_requested_at=None, cancel_requested_by=None
            )
        preapproval.refresh_from_db()
        raise


def send_cancel(
    preapproval: Preapproval,
    *,
    source: ChangeSource | str,
    step: str = "cancel",
    actor: AbstractBaseUser | None = None,
) -> Preapproval:
    """Ask the provider to end the agreement and apply its answer.

    Used for the first request and to retry one whose outcome is unknown: a
    cancellation is naturally idempotent. A timeout sets
    ``needs_reconciliation``; a refusal raises the provider's error.
    """
    backend = get_backend(preapproval.backend)
    with backend.hold_notifications():
        try:
            snapshot = backend.cancel_preapproval(preapproval.as_ref())
        except OutcomeUnknown as exc:
            Preapproval.objects.filter(pk=preapproval.pk).update(
                needs_reconciliation=True, last_error=str(exc)
            )
            preapproval.refresh_from_db()
            return preapproval
        if snapshot.status is None:
            snapshot = replace(snapshot, status=PreapprovalStatus.CANCELED)
        evidence = {"step": step, **actor_evidence(actor)}
        apply_preapproval_snapshot(preapproval, snapshot, source=source, evidence=evidence)
    return preapproval
