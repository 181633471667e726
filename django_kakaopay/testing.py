"""Conformance checks every backend must pass, ours and third parties'.

Subclass :class:`BackendConformance` in a pytest module (name the subclass
``Test...``), implement :meth:`make_backend` and :meth:`signed_notification`,
and arrange your mocked HTTP in the ``arrange_*`` hooks::

    @pytest.mark.django_db
    class TestMyBackend(BackendConformance):
        def make_backend(self):
            return MyBackend(alias="mine", options={...})

        def signed_notification(self, backend):
            body = b'{"id": "evt_1", ...}'
            return body, {"X-Signature": sign(body)}

The checks use only the public contract in :mod:`django_kakaopay.backends.base`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from .backends.base import BaseBackend
from .backends.types import (
    Capability,
    LineItem,
    ParsedWebhook,
    PaymentRef,
    PaymentRequest,
    PaymentSnapshot,
    PreapprovalSnapshot,
    RedirectInstruction,
    RefundSnapshot,
    WebhookAck,
    WebhookOutcome,
)
from .exceptions import MalformedWebhook, WebhookAuthenticationError
from .status import PaymentStatus, PreapprovalStatus, RefundStatus

SECRET_HEADERS = ("Authorization", "Cookie", "Proxy-Authorization")


def sample_payment_request(**overrides: Any) -> PaymentRequest:
    """The Checkout.com seed's order, as a provider-neutral request."""
    values: dict[str, Any] = {
        "reference": "ORD-5023-4E89",
        "amount": 11000,
        "currency": "KRW",
        "idempotency_key": "conformance-0001",
        "return_url": "https://shop.example/kakaopay/return/conformance-token/",
        "notification_url": "https://shop.example/kakaopay/webhooks/conformance/",
        "description": "KakaoPay payment",
        "items": (LineItem(name="Wireless headphones", quantity=1, unit_price=11000),),
    }
    values.update(overrides)
    return PaymentRequest(**values)


class BackendConformance:
    """Mix into a pytest test class; every ``test_`` method is one check."""

    # -- hooks for the backend's own test module ------------------------------

    def make_backend(self) -> BaseBackend:
        raise NotImplementedError

    def signed_notification(self, backend: BaseBackend) -> tuple[bytes, dict[str, str]]:
        """A genuine notification body and the headers that authenticate it."""
        raise NotImplementedError

    def arrange_create_payment(self, backend: BaseBackend, request: PaymentRequest) -> None:
        """Set up mocked provider answers for ``create_payment`` (e.g. with ``responses``)."""

    def arrange_fetch_payment(self, backend: BaseBackend, ref: PaymentRef) -> None:
        """Set up mocked provider answers for ``fetch_payment``."""

    # -- the checks ---------------------------------------------------------

    def test_is_a_backend(self) -> None:
        backend = self.make_backend()
        assert isinstance(backend, BaseBackend)
        assert isinstance(backend.capabilities, frozenset)
        assert all(isinstance(c, Capability) for c in backend.capabilities)
        if Capability.PARTIAL_REFUNDS in backend.capabilities:
            assert Capability.REFUNDS in backend.capabilities

    def test_configured_options_pass_checks(self) -> None:
        backend = self.make_backend()
        assert type(backend).check_options(backend.options) == []

    def test_missing_required_options_are_reported(self) -> None:
        backend = self.make_backend()
        problems = type(backend).check_options({})
        for name in type(backend).required_options:
            assert any(name in problem for problem in problems), name

    def test_live_backend_authenticates_webhooks(self) -> None:
        backend = self.make_backend()
        if backend.is_live:
            assert backend.has_webhook_credentials()

    def test_secret_headers_are_never_stored(self) -> None:
        backend = self.make_backend()
        _body, headers = self.signed_notification(backend)
        noisy = {**headers, **{name: "secret-value" for name in SECRET_HEADERS}}
        stored = backend.redact_headers(noisy)
        lowered = {name.lower() for name in stored}
        for name in SECRET_HEADERS:
            assert name.lower() not in lowered
        assert "secret-value" not in repr(stored)
        for name, value in headers.items():
            if "signature" in name.lower():
                assert value not in stored.values()

    def test_genuine_notification_verifies_and_parses(self) -> None:
        backend = self.make_backend()
        body, headers = self.signed_notification(backend)
        backend.verify_webhook(body, headers, "127.0.0.1")
        parsed = backend.parse_webhook(body, headers)
        assert isinstance(parsed, ParsedWebhook)
        assert parsed.event_id
        for update in parsed.updates:
            self.assert_valid_snapshot(update)

    def test_event_key_is_stable(self) -> None:
        backend = self.make_backend()
        body, _headers = self.signed_notification(backend)
        key = backend.parse_webhook(body, _headers).event_id
        assert key
        assert backend.parse_webhook(body, _headers).event_id == key

    def test_unsigned_notification_is_rejected(self) -> None:
        backend = self.make_backend()
        body, _headers = self.signed_notification(backend)
        with _raises(WebhookAuthenticationError):
            backend.verify_webhook(body, {"Content-Type": "application/json"}, "127.0.0.1")

    def test_tampered_notification_is_rejected(self) -> None:
        backend = self.make_backend()
        body, headers = self.signed_notification(backend)
        tampered = body.replace(b"1", b"2", 1) if b"1" in body else body + b" "
        with _raises(WebhookAuthenticationError):
            backend.verify_webhook(tampered, headers, "127.0.0.1")

    def test_garbage_notification_is_malformed(self) -> None:
        backend = self.make_backend()
        with _raises(MalformedWebhook):
            backend.parse_webhook(b"\x00not json", {})

    def test_acknowledgements_are_success_codes(self) -> None:
        backend = self.make_backend()
        for outcome in WebhookOutcome:
            ack = backend.acknowledge(outcome)
            assert isinstance(ack, WebhookAck)
            assert 200 <= ack.status_code < 300

    def test_create_payment_returns_a_redirect(self) -> None:
        backend = self.make_backend()
        request = sample_payment_request()
        self.arrange_create_payment(backend, request)
        instruction = backend.create_payment(request)
        assert isinstance(instruction, RedirectInstruction)
        assert instruction.url.startswith(("https://", "http://"))
        self.assert_valid_snapshot(instruction.snapshot)
        snapshot = instruction.snapshot
        assert snapshot.provider_payment_id or snapshot.provider_session_id
        assert snapshot.status not in (PaymentStatus.PAID, PaymentStatus.REFUNDED)

    def test_fetch_payment_returns_a_snapshot(self) -> None:
        backend = self.make_backend()
        request = sample_payment_request(idempotency_key="conformance-0002")
        self.arrange_create_payment(backend, request)
        created = backend.create_payment(request).snapshot
        ref = PaymentRef(
            reference=request.reference,
            amount=request.amount,
            currency=request.currency,
            provider_payment_id=created.provider_payment_id,
            provider_session_id=created.provider_session_id,
            idempotency_key=request.idempotency_key,
        )
        self.arrange_fetch_payment(backend, ref)
        snapshot = backend.fetch_payment(ref)
        self.assert_valid_snapshot(snapshot)
        if snapshot.amount is not None:
            assert snapshot.amount == request.amount
        if snapshot.currency is not None:
            assert snapshot.currency.upper() == request.currency

    # -- helpers ------------------------------------------------------------

    @staticmethod
    def assert_valid_snapshot(snapshot: object) -> None:
        assert dataclasses.is_dataclass(snapshot)
        allowed: tuple[str, ...]
        if isinstance(snapshot, PaymentSnapshot):
            allowed = tuple(PaymentStatus.values)
            if snapshot.amount is not None:
                assert isinstance(snapshot.amount, int)
                assert not isinstance(snapshot.amount, bool)
        elif isinstance(snapshot, RefundSnapshot):
            allowed = tuple(RefundStatus.values)
        elif isinstance(snapshot, PreapprovalSnapshot):
            allowed = tuple(PreapprovalStatus.values)
        else:
            raise AssertionError(f"{type(snapshot).__name__} is not a snapshot type")
        status = snapshot.status
        assert status is None or status in allowed, status
        assert isinstance(snapshot.raw, Mapping)


class _raises:
    """A tiny ``pytest.raises`` so this module does not import pytest."""

    def __init__(self, expected: type[BaseException]) -> None:
        self.expected = expected

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: type[BaseException] | None, exc: object, tb: object) -> bool:
        if exc_type is None:
            raise AssertionError(f"{self.expected.__name__} was not raised")
        return issubclass(exc_type, self.expected)
