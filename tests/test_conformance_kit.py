"""The conformance kit catches what it promises to catch.

Each check is run against a backend that gets one thing wrong, and must fail
there; the shipped backends pass the same checks unchanged in their own modules.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any, ClassVar

import pytest

from django_kakaopay.backends.base import BaseBackend
from django_kakaopay.backends.types import (
    ParsedWebhook,
    PaymentRef,
    PaymentRequest,
    PaymentSnapshot,
    RedirectInstruction,
    WebhookAuth,
)
from django_kakaopay.exceptions import MalformedWebhook, WebhookAuthenticationError
from django_kakaopay.status import PaymentStatus
from django_kakaopay.testing import BackendConformance

KEY = b"kit-test-key"
BODY = json.dumps({"id": "evt_kit_1", "status": "paid", "amount": 11000}).encode()


def signature(body: bytes) -> str:
    return hmac.new(KEY, body, hashlib.sha256).hexdigest()


class SignedBackend(BaseBackend):
    """A small, correct backend: HMAC over the body, JSON notifications."""

    is_sandbox_backend: ClassVar[bool] = True

    def has_webhook_credentials(self) -> bool:
        return True

    def create_payment(self, request: PaymentRequest) -> RedirectInstruction:
        snapshot = PaymentSnapshot(
            status=PaymentStatus.PENDING, provider_payment_id="kit_1", reference=request.reference
        )
        return RedirectInstruction("https://provider.example/pay/kit_1", snapshot)

    def fetch_payment(self, ref: PaymentRef) -> PaymentSnapshot:
        return PaymentSnapshot(
            status=PaymentStatus.PENDING, provider_payment_id="kit_1", reference=ref.reference
        )

    def verify_webhook(
        self, body: bytes, headers: Mapping[str, str], remote_addr: str | None = None
    ) -> None:
        given = {k.lower(): v for k, v in headers.items()}.get("x-kit-signature", "")
        if not hmac.compare_digest(given, signature(body)):
            raise WebhookAuthenticationError("bad signature")

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> ParsedWebhook:
        from django_kakaopay.backends.payloads import read_json

        data = read_json(body, "Kit")
        if not isinstance(data, dict) or not isinstance(data.get("id"), str):
            raise MalformedWebhook("no id")
        return ParsedWebhook(event_id=data["id"], event_type="payment", updates=())


class AcceptsAnyBody(SignedBackend):
    """Claims a body signature but checks only that the header is there."""

    def verify_webhook(
        self, body: bytes, headers: Mapping[str, str], remote_addr: str | None = None
    ) -> None:
        if not any(k.lower() == "x-kit-signature" for k in headers):
            raise WebhookAuthenticationError("unsigned")


class TrustsTheReturnURL(SignedBackend):
    """Reads a return parameter and believes it."""

    return_parameters: ClassVar[tuple[str, ...]] = ("status",)

    def complete_return(self, ref: PaymentRef, params: Mapping[str, str]) -> PaymentSnapshot:
        status = PaymentStatus.PAID if params.get("status") == "paid" else PaymentStatus.PENDING
        return PaymentSnapshot(status=status, provider_payment_id="kit_1", reference=ref.reference)


class HeaderCredentialBackend(SignedBackend):
    """A shared token in a header authenticates the sender, not the body."""

    webhook_auth: ClassVar[WebhookAuth] = WebhookAuth.HEADER_CREDENTIAL

    def verify_webhook(
        self, body: bytes, headers: Mapping[str, str], remote_addr: str | None = None
    ) -> None:
        given = {k.lower(): v for k, v in headers.items()}.get("x-kit-token", "")
        if not hmac.compare_digest(given, "token-1"):
            raise WebhookAuthenticationError("bad token")


class Kit(BackendConformance):
    backend_class: type[BaseBackend] = SignedBackend

    def make_backend(self) -> BaseBackend:
        return self.backend_class(alias="kit", options={})

    def signed_notification(self, backend: BaseBackend) -> tuple[bytes, dict[str, str]]:
        return BODY, self.sign_body(backend, BODY)

    def sign_body(self, backend: BaseBackend, body: bytes) -> dict[str, str]:
        if backend.webhook_auth == WebhookAuth.HEADER_CREDENTIAL:
            return {"Content-Type": "application/json", "X-Kit-Token": "token-1"}
        return {"Content-Type": "application/json", "X-Kit-Signature": signature(body)}


def kit_for(backend_class: type[BaseBackend]) -> Kit:
    kit = Kit()
    kit.backend_class = backend_class
    return kit


CHECKS = [name for name in dir(BackendConformance) if name.startswith("test_")]


@pytest.mark.django_db
@pytest.mark.parametrize("check", CHECKS)
def test_a_correct_backend_passes_every_check(check: str) -> None:
    getattr(kit_for(SignedBackend), check)()


@pytest.mark.django_db
@pytest.mark.parametrize("check", CHECKS)
def test_a_header_credential_backend_passes_every_check(check: str) -> None:
    getattr(kit_for(HeaderCredentialBackend), check)()


@pytest.mark.parametrize(
    ("backend_class", "check"),
    [
        (AcceptsAnyBody, "test_tampered_notification_is_rejected"),
        (AcceptsAnyBody, "test_forged_credentials_are_rejected"),
        (TrustsTheReturnURL, "test_return_parameters_are_not_proof_of_payment"),
    ],
)
@pytest.mark.django_db
def test_a_flawed_backend_fails_the_check_that_covers_it(
    backend_class: type[BaseBackend], check: str
) -> None:
    kit: Any = kit_for(backend_class)
    if backend_class is TrustsTheReturnURL:
        kit.arrange_forged_return = lambda backend, ref, params: None
    with pytest.raises(AssertionError):
        getattr(kit, check)()


def test_the_kit_says_what_a_body_signature_backend_must_provide() -> None:
    class NoSigner(BackendConformance):
        def make_backend(self) -> BaseBackend:
            return SignedBackend(alias="kit", options={})

    with pytest.raises(NotImplementedError, match="sign_body"):
        NoSigner().sign_body(SignedBackend(alias="kit", options={}), b"{}")
