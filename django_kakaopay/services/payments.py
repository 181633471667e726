"""Starting, pulling and refunding one-time payments."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.db.models import Sum
from django.http import HttpRequest
from django.utils.translation import gettext as _

from ..backends.types import (
    Capability,
    Customer,
    LineItem,
    PaymentRequest,
    RefundRequest,
    TerminalType,
)
from ..conf import default_backend_alias, get_backend
from ..exceptions import (
    InvalidPaymentRequest,
    OutcomeUnknown,
    ProviderError,
    ProviderRejected,
    RefundNotAllowed,
)
from ..models import ChangeSource, Payment, Refund
from ..money import CurrencyError, normalize_currency, validate_amount
from ..redirects import redirect_problem
from ..status import PaymentStatus, RefundStatus
from ..terminal import os_type_for_request, terminal_type_for_request
from .apply import ApplyResult, apply_payment_snapshot, apply_refund_snapshot
from .start_claim import await_start, claim_start, release_start
from .transitions import actor_evidence, transition
from .urls import notification_url, return_url

logger = logging.getLogger("django_kakaopay")

ItemInput = LineItem | Mapping[str, Any]


def new_reference(prefix: str = "KP") -> str:
    return f"{prefix}-{secrets.token_hex(8).upper()}"


def _items(items: Iterable[ItemInput]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for item in items:
        if isinstance(item, LineItem):
            item = {
                "name": item.name,
                "quantity": item.quantity,
                "unit_price": item.unit_price,
                "reference": item.reference,
            }
        try:
            name = str(item["name"])
            quantity = validate_amount(item.get("quantity", 1))
            unit_price = validate_amount(item["unit_price"])
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidPaymentRequest(
                _("Invalid order item %(item)r: %(error)s") % {"item": item, "error": exc}
            ) from exc
        rows.append(
            {
                "name": name,
                "quantity": quantity,
                "unit_price": unit_price,
                "reference": str(item.get("reference", "")),
            }
        )
    return rows


def signed_in(user: AbstractBaseUser | AnonymousUser | None) -> Any:
    """The user to link, or ``None`` for anonymous checkouts."""
    return user if user is not None and user.is_authenticated else None


def _customer(customer: Customer | Mapping[str, str] | None) -> Customer:
    if customer is None:
        return Customer()
    if isinstance(customer, Customer):
        return customer
    known = {"name", "email", "phone", "country"}
    unknown = set(customer) - known
    if unknown:
        raise InvalidPaymentRequest(
            _("Unknown customer fields: %(unknown)s; use %(known)s.")
            % {"unknown": ", ".join(sorted(unknown)), "known": ", ".join(sorted(known))}
        )
    return Customer(**{key: str(value) for key, value in customer.items()})


def check_redirects(success_url: str, failure_url: str) -> None:
    """Refuse an open redirect: see :mod:`django_kakaopay.redirects`."""
    for name, value in (("success_url", success_url), ("failure_url", failure_url)):
        problem = redirect_problem(value)
        if problem is not None:
            raise InvalidPaymentRequest(
                _("%(field)s %(url)r: %(problem)s")
                % {"field": name, "url": value[:200], "problem": problem}
            )


def _check_currency(alias: str, currency: str) -> None:
    if not get_backend(alias).supports_currency(currency):
        raise InvalidPaymentRequest(
            _("The backend %(alias)r does not take KakaoPay payments in %(currency)s.")
            % {"alias": alias, "currency": currency}
        )


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
) -> Payment:
    """Record a payment in status ``created``; nothing is sent to the provider yet.

    Send the customer to ``payment.get_checkout_url()`` (or call
    :func:`start_payment`) to redirect them to KakaoPay.
    """
    try:
        amount = validate_amount(amount)
        currency = normalize_currency(currency)
    except (ValueError, CurrencyError) as exc:
        raise InvalidPaymentRequest(str(exc)) from exc
    rows = _items(items)
    if rows and sum(row["quantity"] * row["unit_price"] for row in rows) != amount:
        raise InvalidPaymentRequest(_("The order items do not add up to the payment amount."))
    if terminal_type and terminal_type not in TerminalType.__members__.values():
        raise InvalidPaymentRequest(
            _("Unknown terminal type %(value)r.") % {"value": terminal_type}
        )
    check_redirects(success_url, failure_url)
    alias = backend or default_backend_alias()
    _check_currency(alias, currency)  # also fails now, not at checkout, on a wrong alias
    person = _customer(customer)
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
    # With no explicit choice and no recognisable phone, leave it empty so
    # that the backend's own default (an option) applies.
    # A phone's browser is recognised (wap); anything else defers to the backend.
    terminal = payment.terminal_type or (
        terminal_type_for_request(request, default="") if request is not None else ""
    )
    # An explicit ``os_type`` (the API's, for apps) wins over the browser's.
    os_type = os_type or (os_type_for_request(request) if request is not None else "")
    provider_request = PaymentRequest(
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
    )
    try:
        instruction = backend.create_payment(provider_request)
    except ProviderRejected as exc:
        _fail_start(payment, exc, source)
        return
    except OutcomeUnknown as exc:
        _mark_unknown(payment, exc)
        return
    except ProviderError as exc:
        _record_error(payment, exc)
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


def _error_evidence(exc: ProviderError) -> dict[str, Any]:
    return {
        "error": str(exc),
        "status_code": exc.status_code,
        "request_id": exc.request_id,
        "codes": list(exc.codes),
    }


def _fail_start(
    payment: Payment,
    exc: ProviderError,
    source: ChangeSource | str,
    *,
    evidence: Mapping[str, Any] | None = None,
) -> None:
    """Fail ``payment`` on the provider's refusal; ``evidence`` adds to the error's."""
    with transaction.atomic():
        locked = Payment.objects.select_for_update().get(pk=payment.pk)
        locked.last_error = str(exc)
        locked.save(update_fields=["last_error", "updated_at"])
        transition(
            locked,
            PaymentStatus.FAILED,
            source=source,
            evidence={**_error_evidence(exc), **(evidence or {})},
        )
    payment.refresh_from_db()


def _mark_unknown(obj: Payment | Refund, exc: ProviderError) -> None:
    logger.warning("Outcome unknown for %s %s: %s", type(obj).__name__, obj.pk, exc)
    type(obj)._default_manager.filter(pk=obj.pk).update(
        needs_reconciliation=True, last_error=str(exc)
    )
    obj.needs_reconciliation = True
    obj.last_error = str(exc)


def _record_error(obj: Payment | Refund, exc: ProviderError) -> None:
    type(obj)._default_manager.filter(pk=obj.pk).update(last_error=str(exc))
    obj.last_error = str(exc)


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
    started = payment.provider_payment_id or payment.provider_session_id
    if payment.status == PaymentStatus.CREATED and not (started or payment.needs_reconciliation):
        return None
    backend = get_backend(payment.backend)
    try:
        snapshot = backend.fetch_payment(payment.as_ref())
    except ProviderError as exc:
        logger.info("Could not pull payment %s: %s", payment.pk, exc)
        _record_error(payment, exc)
        return None
    return apply_payment_snapshot(
        payment, snapshot, source=source, evidence={"step": "pull", **actor_evidence(actor)}
    )


def request_refund(
    payment: Payment,
    amount: int | None = None,
    *,
    reason: str = "",
    source: ChangeSource | str = ChangeSource.ADMIN,
    expected_refund_total: int | None = None,
    actor: AbstractBaseUser | None = None,
) -> Refund:
    """Refund ``amount`` (everything still refundable when ``None``).

    The refund row, with its idempotency key, is committed before the
    provider is called; the answer (or a later notification) settles it.
    ``actor`` is the staff member asking: kept as the refund's
    ``requested_by`` and named in the evidence of what the answer changes.

    ``expected_refund_total`` is what the caller saw as refunded plus still
    pending when it prepared this refund. When given, the refund is refused
    unless the payment still shows that total, so a form submitted twice
    (double click, Back and resubmit, two tabs) refunds once.
    """
    backend = get_backend(payment.backend)
    if not backend.supports(Capability.REFUNDS):
        raise RefundNotAllowed(_("This payment's backend does not support refunds."))
    with transaction.atomic():
        locked = Payment.objects.select_for_update().get(pk=payment.pk)
        if not locked.is_paid:
            raise RefundNotAllowed(_("Only a paid payment can be refunded."))
        pending = (
            locked.refunds.filter(status=RefundStatus.PENDING).aggregate(total=Sum("amount"))[
                "total"
            ]
            or 0
        )
        # Checked under the row lock, where ``pending`` is exact: two racing
        # submissions of one form serialise here and the second sees the first.
        # The total survives the provider's confirmation (pending becomes
        # refunded) and changes with any new, failed or outside refund.
        if (
            expected_refund_total is not None
            and locked.refunded_amount + pending != expected_refund_total
        ):
            raise RefundNotAllowed(
                _(
                    "The payment's refunds changed since this refund was prepared; "
                    "check them and try again."
                )
            )
        available = locked.remaining_refundable(pending)
        if amount is None:
            amount = available
        if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
            raise RefundNotAllowed(_("A refund amount must be a positive whole number."))
        if amount > available:
            raise RefundNotAllowed(_("The refund exceeds what remains refundable."))
        if amount < locked.amount and not backend.supports(Capability.PARTIAL_REFUNDS):
            raise RefundNotAllowed(_("This payment's backend does not support partial refunds."))
        refund = Refund.objects.create(
            payment=locked, amount=amount, reason=reason[:255], requested_by=signed_in(actor)
        )
    send_refund(payment, refund, source=source, actor=actor)
    return refund


def send_refund(
    payment: Payment,
    refund: Refund,
    *,
    source: ChangeSource | str,
    step: str = "refund",
    actor: AbstractBaseUser | None = None,
) -> Refund:
    """Ask the provider for ``refund`` (already committed, status pending).

    Sending the same refund again is safe: the request carries the refund's
    stored reference and idempotency key, which providers deduplicate. So it
    is used both for the first request and to retry one that timed out. A
    refusal fails the refund; an unknown outcome leaves it pending with
    ``needs_reconciliation`` set.
    """
    backend = get_backend(payment.backend)
    # The stored row, not the caller's copy: provider ids may have arrived since.
    current = Payment.objects.get(pk=payment.pk)
    provider_request = RefundRequest(
        payment=current.as_ref(),
        reference=refund.reference,
        amount=refund.amount,
        idempotency_key=refund.idempotency_key,
        reason=refund.reason,
    )
    who = actor_evidence(actor)
    with backend.hold_notifications():
        try:
            snapshot = backend.refund_payment(provider_request)
        except ProviderRejected as exc:
            with transaction.atomic():
                Payment.objects.select_for_update().get(pk=payment.pk)
                locked_refund = Refund.objects.select_for_update().get(pk=refund.pk)
                Refund.objects.filter(pk=refund.pk).update(last_error=str(exc))
                transition(
                    locked_refund,
                    RefundStatus.FAILED,
                    source=source,
                    evidence={**_error_evidence(exc), **who},
                    needs_reconciliation=False,
                )
            refund.refresh_from_db()
            return refund
        except ProviderError as exc:
            _mark_unknown(refund, exc)
            return refund
        apply_refund_snapshot(
            payment, refund, snapshot, source=source, evidence={"step": step, **who}
        )
    # Read after the block: a notification delivered at its end may have moved them.
    refund.refresh_from_db()
    payment.refresh_from_db()
    return refund
