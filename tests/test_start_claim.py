"""One provider call per checkout, however many requests race to start it.

The claim (``start_claimed_until``) is stamped by one conditional UPDATE
before the provider is called; requests that lose wait for the winner and
send their customer where it did. The races run on PostgreSQL with a slow
mocked provider; the claim's rules (expiry, release on every outcome, the
"processing" page for a loser whose wait ran out) are tested on any database.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any, ClassVar

import pytest
import responses
from django.test import Client, override_settings
from django.utils import timezone

from django_kakaopay import services
from django_kakaopay.backends.base import PreapprovalRedirect, PreapprovalRequest
from django_kakaopay.backends.sandbox import SandboxBackend
from django_kakaopay.models import Payment, Preapproval, SandboxTransaction, StatusTransition
from django_kakaopay.services.start_claim import claim_start
from django_kakaopay.status import PaymentStatus, PreapprovalStatus

from .helpers import HEADPHONES, sandbox_settings
from .test_checkout_backend import (
    CHECKOUT_SETTINGS,
    SANDBOX_BASE,
    SEED_CONFIRM_RESPONSE,
    SEED_SETUP_RESPONSE,
    SETUP_ID,
)
from .test_concurrency import run_at_once

PROVIDER_SECONDS = 0.4
JSON_HEADERS = {"Content-Type": "application/json"}


class SlowAgreements(SandboxBackend):
    """The sandbox, but creating an agreement takes as long as a slow provider."""

    calls: ClassVar[list[str]] = []
    calls_lock: ClassVar[threading.Lock] = threading.Lock()

    def create_preapproval(self, request: PreapprovalRequest) -> PreapprovalRedirect:
        with self.calls_lock:
            self.calls.append(request.idempotency_key)
        time.sleep(PROVIDER_SECONDS)
        return super().create_preapproval(request)


SLOW_PATH = f"{__name__}.SlowAgreements"


class SlowProvider:
    """Checkout.com's setup and confirm answers, each after ``PROVIDER_SECONDS``."""

    def __init__(self, mock: responses.RequestsMock) -> None:
        self.paths: list[str] = []
        self._lock = threading.Lock()
        mock.add_callback(
            responses.POST, f"{SANDBOX_BASE}/payments/setups", self._answer(SEED_SETUP_RESPONSE)
        )
        mock.add_callback(
            responses.POST,
            f"{SANDBOX_BASE}/payments/setups/{SETUP_ID}/confirm/kakaopay",
            self._answer(SEED_CONFIRM_RESPONSE, status=202),
        )

    def _answer(
        self, body: bytes, status: int = 200
    ) -> Callable[[Any], tuple[int, dict[str, str], bytes]]:
        def answer(request: Any) -> tuple[int, dict[str, str], bytes]:
            with self._lock:
                self.paths.append(request.path_url)
            time.sleep(PROVIDER_SECONDS)
            return status, JSON_HEADERS, body

        return answer


@pytest.fixture
def slow_checkout() -> Iterator[SlowProvider]:
    with (
        override_settings(KAKAOPAY=CHECKOUT_SETTINGS),
        responses.RequestsMock(assert_all_requests_are_fired=False) as mock,
    ):
        yield SlowProvider(mock)


def checkout_payment() -> Payment:
    return services.create_payment(
        amount=11000,
        reference="ORD-5023-4E89",
        items=HEADPHONES,
        customer={"name": "Jia Tsang"},
        backend="checkout",
        terminal_type="app",
    )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("clicks", [2, 8])
def test_a_double_click_on_checkout_calls_the_provider_once(
    slow_checkout: SlowProvider, clicks: int
) -> None:
    payment = checkout_payment()
    url = payment.get_checkout_url()

    def click() -> tuple[int, str]:
        response = Client().post(url)
        return response.status_code, str(response.get("Location", ""))

    results = run_at_once([click] * clicks)

    assert [r for r in results if isinstance(r, Exception)] == []
    assert sorted(slow_checkout.paths) == sorted(
        ["/payments/setups", f"/payments/setups/{SETUP_ID}/confirm/kakaopay"]
    ), "one setup call and one confirm call, whoever clicked"
    assert {status for status, _ in results} == {302}
    assert len({location for _, location in results}) == 1, "every click goes to one page"
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING
    assert payment.start_claimed_until is None
    assert list(payment.transitions.values_list("from_status", "to_status")) == [
        ("created", "pending")
    ]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_racing_agreement_checkouts_create_the_agreement_once() -> None:
    SlowAgreements.calls.clear()
    with override_settings(KAKAOPAY=sandbox_settings(extra={"slow": SLOW_PATH})):
        preapproval = services.create_preapproval(backend="slow", max_amount=9900)
        url = preapproval.get_checkout_url()

        def click() -> str:
            return str(Client().post(url)["Location"])

        results = run_at_once([click] * 6)

    assert [r for r in results if isinstance(r, Exception)] == []
    assert SlowAgreements.calls == [preapproval.idempotency_key]
    assert len(set(results)) == 1
    preapproval.refresh_from_db()
    assert preapproval.status == PreapprovalStatus.PENDING
    assert preapproval.start_claimed_until is None
    assert StatusTransition.objects.filter(preapproval=preapproval).count() == 1


# -- the claim's rules, on any database -------------------------------------------


def claim_elsewhere(obj: Payment | Preapproval, seconds: float) -> None:
    """Another request's claim, as if it were mid-call right now."""
    until = timezone.now() + timedelta(seconds=seconds)
    type(obj)._default_manager.filter(pk=obj.pk).update(start_claimed_until=until)


@pytest.mark.django_db
def test_a_request_that_loses_the_claim_does_not_call_the_provider(
    slow_checkout: SlowProvider,
) -> None:
    payment = checkout_payment()
    claim_elsewhere(payment, 60)
    with override_settings(KAKAOPAY={**CHECKOUT_SETTINGS, "CHECKOUT_WAIT_SECONDS": 0.1}):
        response = Client().post(payment.get_checkout_url())
    assert slow_checkout.paths == []
    assert response.status_code == 202, "still being started: the processing page"
    assert response["Refresh"]
    assert "Payment processing" in response.content.decode()
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.CREATED


@pytest.mark.django_db
def test_a_loser_follows_the_winner_to_the_same_page(monkeypatch: pytest.MonkeyPatch) -> None:
    payment = services.create_payment(amount=11000, items=HEADPHONES)
    claim_elsewhere(payment, 60)
    waits: list[float] = []

    def winner_finishes_while_we_wait(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 3:  # the winner's provider call returns
            Payment.objects.filter(pk=payment.pk).update(
                status="pending",
                redirect_url="https://kakaopay.example/pay/1",
                start_claimed_until=None,
            )

    monkeypatch.setattr(
        "django_kakaopay.services.start_claim.time.sleep", winner_finishes_while_we_wait
    )
    response = Client().get(payment.get_checkout_url())
    assert response.status_code == 302
    assert response["Location"] == "https://kakaopay.example/pay/1"
    assert len(waits) == 3, "it stopped waiting as soon as the winner was done"
    assert waits == sorted(waits), "polling backs off"
    assert not SandboxTransaction.objects.exists(), "the loser never called the provider"


@pytest.mark.django_db
def test_an_expired_claim_is_taken_over_with_the_same_idempotency_key(
    slow_checkout: SlowProvider,
) -> None:
    payment = checkout_payment()
    claim_elsewhere(payment, -1)  # the request holding it died mid-call
    response = Client().post(payment.get_checkout_url())
    assert response.status_code == 302
    assert len(slow_checkout.paths) == 2
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING
    assert payment.start_claimed_until is None


@pytest.mark.django_db
@pytest.mark.parametrize("backend", ["flaky", "refusing"])
def test_the_claim_ends_whatever_the_provider_answers(backend: str) -> None:
    with override_settings(KAKAOPAY=sandbox_settings()):
        payment = services.create_payment(amount=11000, backend=backend)
        services.start_payment(payment)
        assert payment.start_claimed_until is None
        payment.refresh_from_db()
        assert payment.start_claimed_until is None
        if backend == "flaky":
            # The outcome is unknown: a later retry claims again and calls again.
            assert payment.status == PaymentStatus.CREATED
            assert payment.needs_reconciliation
            assert claim_start(payment) is not None
        else:
            assert payment.status == PaymentStatus.FAILED


@pytest.mark.django_db
def test_a_claimed_agreement_is_not_created_twice() -> None:
    SlowAgreements.calls.clear()
    with override_settings(
        KAKAOPAY={**sandbox_settings(extra={"slow": SLOW_PATH}), "CHECKOUT_WAIT_SECONDS": 0}
    ):
        preapproval = services.create_preapproval(backend="slow")
        claim_elsewhere(preapproval, 60)
        response = Client().get(preapproval.get_checkout_url())
    assert SlowAgreements.calls == []
    assert response.status_code == 202
    assert Preapproval.objects.get(pk=preapproval.pk).status == PreapprovalStatus.CREATED
