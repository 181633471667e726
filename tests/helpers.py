"""Small builders shared by the core tests."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from django.db import connection
from django.test import Client

from django_kakaopay import services
from django_kakaopay.backends.base import (
    ChargeRequest,
    PaymentRef,
    PaymentRequest,
    PaymentSnapshot,
    PreapprovalRedirect,
    PreapprovalRef,
    PreapprovalRequest,
    PreapprovalSnapshot,
    RedirectInstruction,
    RefundRequest,
    RefundSnapshot,
)
from django_kakaopay.backends.sandbox import SandboxBackend
from django_kakaopay.exceptions import OutcomeUnknown, ProviderRejected
from django_kakaopay.models import Payment, Preapproval, SandboxTransaction
from django_kakaopay.sandbox import provider
from django_kakaopay.sandbox.signing import SIGNATURE_HEADER, sign, signing_secret

_T = TypeVar("_T")

HEADPHONES = [{"name": "Wireless headphones", "quantity": 1, "unit_price": 11000}]


def started_payment(**kwargs: Any) -> Payment:
    """A payment sent to the sandbox provider, waiting for the customer."""
    values: dict[str, Any] = {"amount": 11000, "currency": "KRW", "items": HEADPHONES}
    values.update(kwargs)
    payment = services.create_payment(**values)
    services.start_payment(payment)
    assert payment.status == Payment.Status.PENDING
    return payment


def provider_side(payment: Payment) -> SandboxTransaction:
    return SandboxTransaction.objects.get(pk=payment.provider_payment_id)


def event_body(
    payment: Payment,
    status: str = provider.SUCCESS_PAYMENT,
    *,
    event_id: str = "evt_test_1",
    created_at: str = "2026-11-23T10:00:00+09:00",
    **data: Any,
) -> bytes:
    """A sandbox notification about ``payment``, as the simulated provider sends it."""
    payload = {
        "id": payment.provider_payment_id,
        "object": "payment",
        "status": status,
        "reference": payment.reference,
        "amount": payment.amount,
        "currency": payment.currency,
        "refunded_amount": 0,
    }
    payload.update(data)
    event = {"id": event_id, "type": "payment.updated", "created_at": created_at, "data": payload}
    return json.dumps(event).encode()


def deliver(
    client: Client, body: bytes, *, signature: str | None = None, alias: str = "sandbox"
) -> Any:
    if signature is None:
        signature = sign(signing_secret(alias, {}), body)
    headers = {SIGNATURE_HEADER: signature} if signature else {}
    return client.post(
        f"/kakaopay/webhooks/{alias}/", body, content_type="application/json", headers=headers
    )


def paid_payment(**kwargs: Any) -> Payment:
    """A payment the customer approved at the sandbox, settled by a pull."""
    payment = started_payment(**kwargs)
    provider.decide_payment(provider_side(payment), "approve")
    services.sync_payment(payment)
    assert payment.status == Payment.Status.PAID
    return payment


def active_preapproval(**kwargs: Any) -> Preapproval:
    """An auto-debit agreement the customer confirmed at the sandbox, settled by a pull."""
    preapproval = services.create_preapproval(**kwargs)
    services.start_preapproval(preapproval)
    agreement = SandboxTransaction.objects.get(pk=preapproval.provider_preapproval_id)
    provider.decide_preapproval(agreement, "approve")
    services.sync_preapproval(preapproval)
    assert preapproval.status == Preapproval.Status.ACTIVE
    return preapproval


# -- providers that misbehave, registered with ``sandbox_settings()`` ------------------


class FlakyBackend(SandboxBackend):
    """Creating and pulling a payment time out: the provider may or may not have acted."""

    def create_payment(self, request: PaymentRequest) -> RedirectInstruction:
        raise OutcomeUnknown("POST /payments timed out; the outcome is unknown.")

    def fetch_payment(self, ref: PaymentRef) -> PaymentSnapshot:
        raise OutcomeUnknown("GET /payments timed out; the outcome is unknown.")


class RefusingBackend(SandboxBackend):
    """The provider refuses to create the payment (a validation error)."""

    def create_payment(self, request: PaymentRequest) -> RedirectInstruction:
        raise ProviderRejected("currency_not_supported", status_code=422, codes=("currency",))


def sandbox_settings(*, extra: dict[str, str] | None = None, **options: Any) -> dict[str, Any]:
    """``KAKAOPAY`` with the sandbox (given ``OPTIONS``) and the misbehaving providers.

    ``extra`` maps more aliases to backend dotted paths.
    """
    value: dict[str, Any] = {
        "DEFAULT_BACKEND": "sandbox",
        "BACKENDS": {
            "sandbox": {
                "BACKEND": "django_kakaopay.backends.sandbox.SandboxBackend",
                # Tests run with DEBUG off, as production does; this sandbox opts in.
                "OPTIONS": {"ALLOW_WITHOUT_DEBUG": True, **options},
            },
            "flaky": {"BACKEND": "tests.helpers.FlakyBackend", "OPTIONS": {}},
            "refusing": {"BACKEND": "tests.helpers.RefusingBackend", "OPTIONS": {}},
        },
        "SITE_URL": "http://testserver",
    }
    for alias, path in (extra or {}).items():
        value["BACKENDS"][alias] = {"BACKEND": path, "OPTIONS": {}}
    return value


class LossyBackend(SandboxBackend):
    """The sandbox, with chosen calls timing out.

    ``faults`` maps a method name to ``"lost"`` (the request never reached the
    provider) or ``"late"`` (the provider acted, but the answer was lost). It
    is class state: tests set it and the ``lossy`` fixture clears it.
    """

    faults: ClassVar[dict[str, str]] = {}
    calls: ClassVar[list[str]] = []
    # Whether each call was made inside a database transaction (a held row lock).
    in_transaction: ClassVar[list[bool]] = []

    def _call(self, name: str, call: Callable[[], _T]) -> _T:
        LossyBackend.calls.append(name)
        LossyBackend.in_transaction.append(connection.in_atomic_block)
        mode = self.faults.get(name)
        if mode == "lost":
            raise OutcomeUnknown(f"{name} timed out before reaching the provider.")
        result = call()
        if mode == "late":
            raise OutcomeUnknown(f"{name} timed out after the provider acted.")
        return result

    def create_payment(self, request: PaymentRequest) -> RedirectInstruction:
        return self._call("create_payment", lambda: SandboxBackend.create_payment(self, request))

    def fetch_payment(self, ref: PaymentRef) -> PaymentSnapshot:
        return self._call("fetch_payment", lambda: SandboxBackend.fetch_payment(self, ref))

    def refund_payment(self, request: RefundRequest) -> RefundSnapshot:
        return self._call("refund_payment", lambda: SandboxBackend.refund_payment(self, request))

    def create_preapproval(self, request: PreapprovalRequest) -> PreapprovalRedirect:
        return self._call(
            "create_preapproval", lambda: SandboxBackend.create_preapproval(self, request)
        )

    def fetch_preapproval(self, ref: PreapprovalRef) -> PreapprovalSnapshot:
        return self._call("fetch_preapproval", lambda: SandboxBackend.fetch_preapproval(self, ref))

    def charge_preapproval(self, request: ChargeRequest) -> PaymentSnapshot:
        return self._call(
            "charge_preapproval", lambda: SandboxBackend.charge_preapproval(self, request)
        )

    def cancel_preapproval(self, ref: PreapprovalRef) -> PreapprovalSnapshot:
        return self._call(
            "cancel_preapproval", lambda: SandboxBackend.cancel_preapproval(self, ref)
        )


def lossy_settings() -> dict[str, Any]:
    """``sandbox_settings()`` plus the ``lossy`` alias, which sends no notifications."""
    value = sandbox_settings()
    value["BACKENDS"]["lossy"] = {
        "BACKEND": "tests.helpers.LossyBackend",
        "OPTIONS": {"NOTIFICATIONS": "none"},
    }
    return value
