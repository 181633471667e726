"""The shipped conformance checks, run against the sandbox backend."""

from __future__ import annotations

import json

import pytest

from django_kakaopay.backends.base import BaseBackend
from django_kakaopay.backends.sandbox import SandboxBackend
from django_kakaopay.sandbox.signing import SIGNATURE_HEADER, sign, signing_secret
from django_kakaopay.testing import BackendConformance


@pytest.mark.django_db
class TestSandboxConformance(BackendConformance):
    def make_backend(self) -> BaseBackend:
        return SandboxBackend(alias="sandbox", options={"MERCHANT_NAME": "Test shop"})

    def signed_notification(self, backend: BaseBackend) -> tuple[bytes, dict[str, str]]:
        body = json.dumps(
            {
                "id": "evt_1",
                "type": "payment.updated",
                "created_at": "2026-11-23T10:00:00+09:00",
                "data": {
                    "id": "sbx_pay_1",
                    "object": "payment",
                    "status": "SUCCESS_PAYMENT",
                    "reference": "ORD-5023-4E89",
                    "amount": 11000,
                    "currency": "KRW",
                    "refunded_amount": 0,
                },
            }
        ).encode()
        return body, self.sign_body(backend, body)

    def sign_body(self, backend: BaseBackend, body: bytes) -> dict[str, str]:
        signature = sign(signing_secret(backend.alias, backend.options), body)
        return {"Content-Type": "application/json", SIGNATURE_HEADER: signature}
