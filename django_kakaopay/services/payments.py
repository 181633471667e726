"""Creating, starting and pulling one-time payments (refunds: :mod:`.refunds`)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest
from django.utils.translation import gettext as _

from ..backends.base import BaseBackend
from ..backends.types import Customer, PaymentRequest, PaymentSnapshot, TerminalType
from ..conf import default_backend_alias, get_backend
from ..exceptions import (
    InvalidPaymentRequest,
    OutcomeUnknown,
    ProviderError,
    ProviderRejected,
)
from ..models import ChangeSource, Payment
from ..money import CurrencyError, normalize_currency, validate_amount
from ..status import OPEN_PAYMENT_STATUSES, PaymentStatus
from ..terminal import os_type_for_request, terminal_type_for_request
from .apply import ApplyResult, apply_payment_snapshot
from .provider_errors import fail_start, mark_unknown, record_error
from .start_claim import (
    await_start,
    claim_start,
    completion_lease,
    release_start,
)
from .transitions import actor_evidence
from .urls import checkout_url, notification_url, return_url
from .validation import (
    ItemInput,
    check_currency,
    check_redirects,
    check_tax,
    customer_from,
    item_rows,
    new_reference,
    signed_in,
)

logger = logging.getLogger("django_kakaopay")


def create_payment(
    *,
    amount: int,
    currency: str = "KRW",
    reference: str | None = None,
    description: str = "",
    items: Iterable[ItemInput] = (),
    customer: Customer | Mapping[str, str] | None = None,
    success_url: str = "",
    failure_url: str = "",
    backend: str | None = None,
    user: AbstractBaseUser | AnonymousUser | None = None,
    terminal_type: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    tax_free_amount: int = 0,
    vat_amount: int | None = None,
) -> Payment:
    """Record a payment in status ``created``; nothing is sent to the provider yet.

    ``tax_free_amount`` is the part of ``amount`` exempt from VAT (``0 <=
    tax_free_amount <= amount``); ``vat_amount``, when given, the VAT in it.

    Send the customer to ``payment.get_checkout_url()`` (or call
    :func:`start_payment`) to redirect them to KakaoPay.
    """
    try:
        amount = validate_amount(amount)
        currency = normalize_currency(currency)
    except (ValueError, CurrencyError) as exc:
        raise InvalidPaymentRequest(str(exc)) from exc
    tax_free_amount, vat_amount = check_tax(amount, tax_free_amount, vat_amount)
    rows = item_rows(items)
    if rows and sum(row["quantity"] * row["unit_price"] for row in rows) != amount:
        raise InvalidPaymentRequest(_("The order items do not add up to the payment amount."))
    if terminal_type and terminal_type not in TerminalType.__members__.values():
        raise InvalidPaymentRequest(
            _("Unknown terminal type %(value)r.") % {"value": terminal_type}
        )
    check_redirects(success_url, failure_url)
    alias = backend or default_backend_alias()
    check_currency(alias, currency)  # also fails now, not at checkout, on a wrong alias
    person = customer_from(customer)
    reference = reference or new_reference()
    if Payment.objects.filter(reference=reference).exists():
        raise InvalidPaymentRequest(
            _("A payment with reference %(reference)r already exists.") % {"reference": reference}
        )
    return Payment.objects.create(
        reference=reference,
        amount=amount,
        currency=currency,
        description=description[:255],
        items=rows,
        customer_name=person.name,
        customer_email=person.email,
        customer_phone=person.phone,
        success_url=success_url,
        failure_url=failure_url,
        backend=alias,
        user=signed_in(user),
        terminal_type=terminal_type or "",
        metadata=dict(metadata or {}),
        tax_free_amount=tax_free_amount,
        vat_amount=vat_amount,
    )


def start_payment(
    payment: Payment,
    *,
    request: HttpRequest | None = None,
    source: ChangeSource | str = ChangeSource.CHECKOUT,
    os_type: str = "",
) -> Payment:
    """Ask the provider to create the payment and store where to send the customer.

    Safe to call again: a payment already started is returned unchanged, and
    a retry after an unknown outcome reuses the stored idempotency key, so the
    provider never creates it twice. Requests racing to start the same payment
    (a double click) call the provider once: the first claims the row, the
    others wait for its outcome and return the payment as it left it. No
    database transaction is held while the provider is called.
    """
    if payment.status != PaymentStatus.CREATED:
        return payment
    claim = claim_start(payment)
    if claim is None:
        await_start(payment)
        return payment
    try:
        _call_create(payment, request, source, os_type)
    finally:
        release_start(payment, claim)
    return payment


def _call_create(
    payment: Payment,
    request: HttpRequest | None,
    source: ChangeSource | str,
    os_type: str,
) -> None:
    backend = get_backend(payment.backend)
    provider_request = payment_request_for(payment, request, os_type)
    terminal = provider_request.terminal_type
    try:
        instruction = backend.create_payment(provider_request)
    except ProviderRejected as exc:
        fail_start(payment, exc, source)
        return
    except OutcomeUnknown as exc:
        mark_unknown(payment, exc)
        return
    except ProviderError as exc:
        record_error(payment, exc)
        raise
    snapshot = instruction.snapshot
    if snapshot.status is None:
        snapshot = replace(snapshot, status=PaymentStatus.PENDING)
    # Where to send the customer is written with the provider's ids and the
    # status, in one UPDATE, which also ends the claim.
    apply_payment_snapshot(
        payment,
        snapshot,
        source=source,
        evidence={"step": "create"},
        also={
            "redirect_url": instruction.url,
            "terminal_type": terminal,
            "start_claimed_until": None,
        },
    )


def sync_payment(
    payment: Payment,
    *,
    source: ChangeSource | str = ChangeSource.SYNC,
    actor: AbstractBaseUser | None = None,
) -> ApplyResult | None:
    """Pull the provider's true state of ``payment`` and apply it.

    Returns ``None`` when there was nothing to ask or the provider could not
    answer; the payment is then unchanged and the error is kept in
    ``last_error``. ``actor``, the staff member who asked for the pull, is
    named in the evidence of what it changes.
    """
    # The backend is looked up only once there is something to ask (in _pull):
    # a never-started payment of an alias no longer configured is no error.
    return _pull(
        payment,
        lambda: get_backend(payment.backend).fetch_payment(payment.as_ref()),
        source=source,
        evidence={"step": "pull", **actor_evidence(actor)},
    )


# Longer values are no token any provider sends; cut, they cannot bloat a request.
RETURN_PARAMETER_LIMIT = 512


def payment_request_for(
    payment: Payment, request: HttpRequest | None, os_type: str = ""
) -> PaymentRequest:
    """What the backend is told about ``payment``, for the customer's ``request``."""
    # With no explicit choice and no recognisable phone, leave it empty so
    # that the backend's own default (an option) applies.
    # A phone's browser is recognised (wap); anything else defers to the backend.
    terminal = payment.terminal_type or (
        terminal_type_for_request(request, default="") if request is not None else ""
    )
    # An explicit ``os_type`` (the API's, for apps) wins over the browser's.
    os_type = os_type or (os_type_for_request(request) if request is not None else "")
    return PaymentRequest(
        reference=payment.reference,
        amount=payment.amount,
        currency=payment.currency,
        idempotency_key=payment.idempotency_key,
        return_url=return_url(payment.return_token, request),
        notification_url=notification_url(payment.backend, request),
        description=payment.description,
        items=payment.line_items(),
        customer=payment.customer(),
        terminal_type=terminal,
        os_type=os_type,
        tax_free_amount=payment.tax_free_amount,
        vat_amount=payment.vat_amount,
        checkout_url=checkout_url(payment.return_token, request),
    )


def complete_return(
    payment: Payment,
    params: Mapping[str, str],
    *,
    source: ChangeSource | str = ChangeSource.RETURN,
) -> ApplyResult | None:
    """The customer is back on the return URL: settle the payment with the provider.

    Only the query parameters the backend names in ``return_parameters``
    reach it (KakaoPay's ``pg_token``, say), cut to a bounded length; the
    rest of what the browser brought is ignored. Whatever they say, what is
    applied is the provider's answer. A backend that needs none is pulled.
    """
    backend = get_backend(payment.backend)
    given = declared_return_parameters(backend, params)
    if not given:
        return sync_payment(payment, source=source)
    payment.refresh_from_db(fields=["status"])
    if payment.status not in OPEN_PAYMENT_STATUSES:
        # Settled already (a reload, a replayed link): nothing to complete,
        # so the provider is not asked to approve anything twice.
        return None
    # The return hit many times at once asks the provider once; the others
    # wait for that outcome (no transaction is held during the call).
    with completion_lease(payment) as held:
        if not held:
            return None
        return _pull(
            payment,
            lambda: backend.complete_return(payment.as_ref(), given),
            source=source,
            evidence={"step": "return", "parameters": sorted(given)},
        )


def declared_return_parameters(backend: BaseBackend, params: Mapping[str, str]) -> dict[str, str]:
    """The return URL's parameters ``backend`` declares, each cut to a bounded length."""
    return {
        name: str(params[name])[:RETURN_PARAMETER_LIMIT]
        for name in backend.return_parameters
        if params.get(name)
    }


def _pull(
    payment: Payment,
    ask: Callable[[], PaymentSnapshot],
    *,
    source: ChangeSource | str,
    evidence: dict[str, Any],
) -> ApplyResult | None:
    started = payment.provider_payment_id or payment.provider_session_id
    if payment.status == PaymentStatus.CREATED and not (started or payment.needs_reconciliation):
        return None
    try:
        snapshot = ask()
    except ProviderError as exc:
        logger.info("Could not pull payment %s: %s", payment.pk, exc)
        record_error(payment, exc)
        return None
    return apply_payment_snapshot(payment, snapshot, source=source, evidence=evidence)
