"""Auto-debit agreements (preapprovals): creating, starting, pulling and ending them.

The charges made against an agreement are in :mod:`.charges`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from ..backends.types import (
    Capability,
    Customer,
    PreapprovalRequest,
    TerminalType,
)
from ..conf import default_backend_alias, get_backend
from ..exceptions import (
    InvalidPaymentRequest,
    OutcomeUnknown,
    ProviderError,
    ProviderRejected,
)
from ..models import ChangeSource, Preapproval
from ..money import CurrencyError, normalize_currency, validate_amount
from ..status import OPEN_PREAPPROVAL_STATUSES, PreapprovalStatus
from ..terminal import os_type_for_request, terminal_type_for_request
from .apply import ApplyResult, apply_preapproval_snapshot
from .first_charge import first_charge_terms, record_first_charge
from .payments import declared_return_parameters
from .provider_errors import error_evidence, mark_unknown
from .start_claim import (
    await_start,
    claim_start,
    completion_lease,
    release_start,
)
from .transitions import actor_evidence, transition
from .urls import checkout_url, notification_url, return_url
from .validation import check_currency, check_redirects, customer_from, new_reference, signed_in

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
    check_currency(alias, currency)
    if not get_backend(alias).supports(Capability.PREAPPROVALS):
        raise InvalidPaymentRequest(
            _("The backend %(alias)r does not support preapprovals.") % {"alias": alias}
        )
    person = customer_from(customer)
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


def preapproval_request_for(
    preapproval: Preapproval, request: HttpRequest | None
) -> PreapprovalRequest:
    """What the backend is told about ``preapproval``, for the customer's ``request``."""
    first_amount, first_reference = first_charge_terms(preapproval)
    return PreapprovalRequest(
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
        os_type=os_type_for_request(request) if request is not None else "",
        first_amount=first_amount,
        first_reference=first_reference,
        checkout_url=checkout_url(preapproval.return_token, request, preapproval=True),
    )


def _call_create(
    preapproval: Preapproval, request: HttpRequest | None, source: ChangeSource | str
) -> None:
    backend = get_backend(preapproval.backend)
    provider_request = preapproval_request_for(preapproval, request)
    try:
        instruction = backend.create_preapproval(provider_request)
    except ProviderRejected as exc:
        with transaction.atomic():
            locked = Preapproval.objects.select_for_update().get(pk=preapproval.pk)
            Preapproval.objects.filter(pk=locked.pk).update(
                last_error=str(exc), failure_message=exc.customer_message
            )
            transition(
                locked, PreapprovalStatus.FAILED, source=source, evidence=error_evidence(exc)
            )
        preapproval.refresh_from_db()
        return
    except OutcomeUnknown as exc:
        mark_unknown(preapproval, exc)
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
    result = apply_preapproval_snapshot(
        preapproval, snapshot, source=source, evidence={"step": "pull", **actor_evidence(actor)}
    )
    record_first_charge(preapproval, snapshot.first_charge, source=source)
    return result


def complete_preapproval_return(
    preapproval: Preapproval,
    params: Mapping[str, str],
    *,
    source: ChangeSource | str = ChangeSource.RETURN,
) -> ApplyResult | None:
    """The customer is back on the agreement's return URL: settle it with the provider.

    As :func:`~django_kakaopay.services.payments.complete_return`: only the
    backend's declared ``return_parameters`` reach it, cut to a bounded
    length, and what is applied is the provider's answer. An agreement that
    is no longer open asks the provider nothing (a reload approves nothing
    twice); without parameters the agreement is pulled.
    """
    backend = get_backend(preapproval.backend)
    given = declared_return_parameters(backend, params)
    if not given:
        return sync_preapproval(preapproval, source=source)
    preapproval.refresh_from_db(fields=["status"])
    if preapproval.status not in OPEN_PREAPPROVAL_STATUSES:
        return None
    if preapproval.status == PreapprovalStatus.CREATED and not (
        preapproval.provider_preapproval_id or preapproval.needs_reconciliation
    ):
        return None
    with completion_lease(preapproval) as held:
        if not held:  # another request completed it: ask nothing
            return None
        try:
            snapshot = backend.complete_preapproval_return(preapproval.as_ref(), given)
        except OutcomeUnknown as exc:
            # The provider may have made the agreement (and taken a first payment).
            mark_unknown(preapproval, exc)
            preapproval.refresh_from_db()
            return None
        except ProviderError as exc:
            logger.info("Could not complete preapproval %s: %s", preapproval.pk, exc)
            Preapproval.objects.filter(pk=preapproval.pk).update(last_error=str(exc))
            return None
        result = apply_preapproval_snapshot(
            preapproval,
            snapshot,
            source=source,
            evidence={"step": "return", "parameters": sorted(given)},
        )
        record_first_charge(preapproval, snapshot.first_charge, source=source)
        return result


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
            mark_unknown(preapproval, exc)
            preapproval.refresh_from_db()
            return preapproval
        if snapshot.status is None:
            snapshot = replace(snapshot, status=PreapprovalStatus.CANCELED)
        evidence = {"step": step, **actor_evidence(actor)}
        apply_preapproval_snapshot(preapproval, snapshot, source=source, evidence=evidence)
    return preapproval
