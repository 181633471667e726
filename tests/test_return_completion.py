"""The return view hands a backend only the return parameters it declares.

A backend such as KakaoPay's own completes a payment with a token the browser
brings back (``pg_token``). That token may be used to ask the provider; it is
never proof, and nothing else of the query string reaches the backend.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import pytest
from django.test import Client, override_settings

from django_kakaopay import services
from django_kakaopay.backends.sandbox import SandboxBackend
from django_kakaopay.backends.types import PaymentRef, PaymentSnapshot
from django_kakaopay.models import Payment
from django_kakaopay.services.payments import RETURN_PARAMETER_LIMIT

from .helpers import HEADPHONES, sandbox_settings

pytestmark = pytest.mark.django_db


class TokenBackend(SandboxBackend):
    """The sandbox, completing payments with a token from the return URL."""

    return_parameters: ClassVar[tuple[str, ...]] = ("pg_token",)
    seen: ClassVar[list[dict[str, str]]] = []

    def complete_return(self, ref: PaymentRef, params: Mapping[str, str]) -> PaymentSnapshot:
        self.seen.append(dict(params))
        return self.fetch_payment(ref)  # the provider's word, whatever the token says


SETTINGS = sandbox_settings(extra={"token": f"{__name__}.TokenBackend"})


@pytest.fixture(autouse=True)
def _token_backend() -> None:
    TokenBackend.seen.clear()


def started(backend: str) -> Payment:
    payment = services.create_payment(amount=11000, items=HEADPHONES, backend=backend)
    services.start_payment(payment)
    return payment


@override_settings(KAKAOPAY=SETTINGS)
def test_only_the_declared_parameter_reaches_the_backend() -> None:
    payment = started("token")
    long_token = "t" * (RETURN_PARAMETER_LIMIT + 100)
    response = Client().get(
        f"/kakaopay/return/{payment.return_token}/",
        {"pg_token": long_token, "status": "paid", "amount": "1"},
    )
    assert response.status_code == 202, "still pending at the provider: processing"
    assert TokenBackend.seen == [{"pg_token": "t" * RETURN_PARAMETER_LIMIT}]
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PENDING, "a token is not proof of payment"


@override_settings(KAKAOPAY=SETTINGS)
def test_without_the_parameter_the_payment_is_pulled() -> None:
    payment = started("token")
    Client().get(f"/kakaopay/return/{payment.return_token}/", {"status": "paid"})
    assert TokenBackend.seen == []


@override_settings(KAKAOPAY=SETTINGS)
def test_a_backend_that_declares_none_gets_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    payment = started("sandbox")
    calls: list[object] = []
    monkeypatch.setattr(
        SandboxBackend, "complete_return", lambda self, ref, params: calls.append(params)
    )
    Client().get(f"/kakaopay/return/{payment.return_token}/", {"pg_token": "x", "status": "paid"})
    assert calls == []
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PENDING


QUIET = sandbox_settings(extra={"token": f"{__name__}.TokenBackend"})
QUIET["BACKENDS"]["token"]["OPTIONS"] = {"NOTIFICATIONS": "none", "ALLOW_WITHOUT_DEBUG": True}


@override_settings(KAKAOPAY=QUIET)
def test_the_completion_is_applied_and_logged_without_the_token() -> None:
    payment = started("token")
    client = Client()
    back = client.post(payment.redirect_url, {"action": "approve"})  # no notification comes
    response = client.get(back["Location"] + "?pg_token=secret-token")
    assert response.status_code == 200
    assert TokenBackend.seen == [{"pg_token": "secret-token"}]
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PAID, "the provider said so when asked"
    paid = payment.transitions.get(to_status="paid")
    assert paid.source == "return"
    assert paid.evidence["step"] == "return"
    assert paid.evidence["parameters"] == ["pg_token"]
    assert "secret-token" not in str(paid.evidence)


def test_a_never_started_payment_of_a_removed_backend_is_not_pulled() -> None:
    """Nothing to ask, so the backend is not even looked up (as before the split)."""
    payment = services.create_payment(amount=11000, items=HEADPHONES)
    Payment.objects.filter(pk=payment.pk).update(backend="removed")
    payment.refresh_from_db()
    assert services.sync_payment(payment) is None
