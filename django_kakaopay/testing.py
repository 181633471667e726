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

What is checked follows the backend's declarations: ``webhook_auth`` says
whether a notification's body is signed (any change to the bytes must be
refused), its sender carries a credential (a forged or missing one must be
refused) or the provider sends none (``NONE``: every delivery is refused); ``return_parameters`` says whether the return URL's
parameters reach the backend (they may help it ask the provider, never prove a
payment). Some checks run a notification through the real pipeline
(``services.receive_webhook``) with the backend configured under its alias:
mark the class ``@pytest.mark.django_db``. A backend whose notifications
carry a body signature implements :meth:`~BackendConformance.sign_body` so
that arbitrary bytes can be signed.

The checks use only the public contract in :mod:`django_kakaopay.backends.base`.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator, Mapping
from typing import Any

from django.test import override_settings

from .backends.base import BaseBackend
from .backends.types import (
    BrowserCheckout,
    Capability,
    ParsedWebhook,
    PaymentRef,
    PaymentRequest,
    PaymentSnapshot,
    PreapprovalSnapshot,
    RedirectInstruction,
    RefundSnapshot,
    WebhookAck,
    WebhookAuth,
    WebhookOutcome,
)
from .exceptions import MalformedWebhook, ProviderError, WebhookAuthenticationError
from .status import PaymentStatus, PreapprovalStatus, RefundStatus
from .testing_helpers import _raises, _ref, sample_payment_request

__all__ = ["BackendConformance", "sample_payment_request"]

SECRET_HEADERS = ("Authorization", "Cookie", "Proxy-Authorization")


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

    def sign_body(self, backend: BaseBackend, body: bytes) -> dict[str, str]:
        """Headers that authenticate ``body``, whatever its bytes.

        A header credential does not depend on the body, so the default reuses
        the genuine notification's headers; a body signature must be computed:
        implement this for such a backend.
        """
        if backend.webhook_auth in (WebhookAuth.HEADER_CREDENTIAL, WebhookAuth.NONE):
            return self.signed_notification(backend)[1]
        raise NotImplementedError(
            f"{type(self).__name__}.sign_body(): {type(backend).__name__} signs the body, "
            "so the kit needs a way to sign arbitrary bytes."
        )

    def arrange_forged_return(
        self, backend: BaseBackend, ref: PaymentRef, params: Mapping[str, str]
    ) -> None:
        """For a backend with ``return_parameters``: the provider's answers when the
        return parameters are forged (the payment is not approved)."""
        raise NotImplementedError(
            f"{type(self).__name__}.arrange_forged_return(): {type(backend).__name__} reads "
            "return parameters, so mock what its provider answers to forged ones."
        )

    def forged_headers(self, headers: Mapping[str, str]) -> Iterator[dict[str, str]]:
        """The genuine headers with each credential removed, then altered."""
        for name, value in headers.items():
            if name.lower() == "content-type":
                continue
            yield {k: v for k, v in headers.items() if k != name}
            altered = value[:-1] + ("A" if value[-1:] != "A" else "B") if value else "forged"
            yield {**headers, name: altered}

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
        if backend.is_live and backend.webhook_auth != WebhookAuth.NONE:
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
        if backend.webhook_auth == WebhookAuth.NONE:  # nothing is genuine: all refused
            with _raises(WebhookAuthenticationError):
                backend.verify_webhook(body, headers, "127.0.0.1")
            return
        backend.verify_webhook(body, headers, "127.0.0.1")
        parsed = backend.parse_webhook(body, headers)
        assert isinstance(parsed, ParsedWebhook)
        assert parsed.event_id
        for update in parsed.updates:
            self.assert_valid_snapshot(update)

    def test_event_key_is_stable(self) -> None:
        backend = self.make_backend()
        body, _headers = self.signed_notification(backend)
        if backend.webhook_auth == WebhookAuth.NONE:
            return  # no notification is ever keyed
        key = backend.parse_webhook(body, _headers).event_id
        assert key
        assert backend.parse_webhook(body, _headers).event_id == key

    def test_unsigned_notification_is_rejected(self) -> None:
        backend = self.make_backend()
        body, _headers = self.signed_notification(backend)
        with _raises(WebhookAuthenticationError):
            backend.verify_webhook(body, {"Content-Type": "application/json"}, "127.0.0.1")

    def test_forged_credentials_are_rejected(self) -> None:
        """Every header that authenticates the genuine body, removed or altered, fails."""
        backend = self.make_backend()
        body, headers = self.signed_notification(backend)
        for forged in self.forged_headers(headers):
            with _raises(WebhookAuthenticationError):
                backend.verify_webhook(body, forged, "127.0.0.1")

    def test_tampered_notification_is_rejected(self) -> None:
        """A signed body cannot change; a credential never vouches for a changed body
        sent without it."""
        backend = self.make_backend()
        body, headers = self.signed_notification(backend)
        tampered = body.replace(b"1", b"2", 1) if b"1" in body else body + b" "
        if backend.webhook_auth in (WebhookAuth.BODY_SIGNATURE, WebhookAuth.NONE):
            with _raises(WebhookAuthenticationError):
                backend.verify_webhook(tampered, headers, "127.0.0.1")
            return
        # A header credential authenticates the sender, not the bytes; the
        # services check amounts against the database whatever the body says.
        for forged in self.forged_headers(headers):
            with _raises(WebhookAuthenticationError):
                backend.verify_webhook(tampered, forged, "127.0.0.1")

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

    def test_a_browser_checkout_page_holds_no_secret(self) -> None:
        backend = self.make_backend()
        request = sample_payment_request()
        page = backend.browser_checkout(request)
        if not backend.starts_in_browser:
            assert page is None, "only a backend that starts in the browser renders a page"
            return
        assert isinstance(page, BrowserCheckout)
        assert page.sdk_url.startswith(("https://", "/"))
        assert page.sdk_global.isidentifier()
        assert page.method.isidentifier()
        written = json.dumps(page.arguments)
        for name, value in backend.options.items():
            if "SECRET" in name.upper():
                for secret in value if isinstance(value, list | tuple) else [value]:
                    assert str(secret) not in written, f"{name} reaches the browser"

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
        ref = _ref(request, created)
        self.arrange_fetch_payment(backend, ref)
        snapshot = backend.fetch_payment(ref)
        self.assert_valid_snapshot(snapshot)
        if snapshot.amount is not None:
            assert snapshot.amount == request.amount
        if snapshot.currency is not None:
            assert snapshot.currency.upper() == request.currency

    def test_return_parameters_are_not_proof_of_payment(self) -> None:
        backend = self.make_backend()
        request = sample_payment_request(idempotency_key="conformance-0003")
        self.arrange_create_payment(backend, request)
        created = backend.create_payment(request).snapshot
        ref = _ref(request, created)
        self.arrange_fetch_payment(backend, ref)
        pulled = backend.fetch_payment(ref)
        # The backend's own parameters, forged, beside values that merely look
        # like success: neither may turn into a payment.
        forged = {
            **{name: "forged-value" for name in backend.return_parameters},
            "status": "paid",
            "result": "success",
            "code": "0000",
        }
        if backend.return_parameters:
            self.arrange_forged_return(backend, ref, forged)
        else:
            self.arrange_fetch_payment(backend, ref)
        try:
            completed = backend.complete_return(ref, forged)
        except ProviderError:
            return  # refusing forged parameters is right too
        self.assert_valid_snapshot(completed)
        if backend.return_parameters:
            assert completed.status != PaymentStatus.PAID, "forged return parameters paid it"
        else:
            assert (completed.status, completed.amount) == (pulled.status, pulled.amount)

    # -- the pipeline, with the backend configured under its alias ---------------

    def test_oversized_notification_is_refused_and_not_stored(self) -> None:
        from .models import WebhookEvent
        from .services import receive_webhook

        backend = self.make_backend()
        body, headers = self.signed_notification(backend)
        before = set(WebhookEvent.objects.values_list("pk", flat=True))
        with self._configured(backend, WEBHOOK_MAX_BODY_BYTES=len(body) - 1):
            answer = receive_webhook(backend.alias, body, headers, "127.0.0.1")
        assert answer.status_code == 413, answer
        assert (
            not WebhookEvent.objects.filter(backend=backend.alias).exclude(pk__in=before).exists()
        )

    def test_authenticated_bytes_that_are_not_json_are_malformed(self) -> None:
        from .models import WebhookEvent
        from .services import receive_webhook

        backend = self.make_backend()
        before = set(WebhookEvent.objects.values_list("pk", flat=True))
        refused = backend.webhook_auth == WebhookAuth.NONE  # refused before parsing
        for body in (b"\xff\xfe not json", b"[1, 2", b'{"a": "\\u0000"}', b"{" * 40):
            with self._configured(backend):
                answer = receive_webhook(
                    backend.alias, body, self.sign_body(backend, body), "127.0.0.1"
                )
            assert answer.status_code == (401 if refused else 400), (body, answer)
        added = WebhookEvent.objects.exclude(pk__in=before)
        kept = WebhookEvent.Status.REJECTED if refused else WebhookEvent.Status.MALFORMED
        assert set(added.values_list("status", flat=True)) <= {kept}

    def test_forged_deliveries_store_nothing_unbounded(self) -> None:
        from .models import WebhookEvent
        from .services import receive_webhook

        backend = self.make_backend()
        body, headers = self.signed_notification(backend)
        forgeries = [
            *self.forged_headers(headers),
            {"Content-Type": "application/json"},
        ]
        padded = body + b" " * 8192
        before = set(WebhookEvent.objects.values_list("pk", flat=True))
        with self._configured(backend, WEBHOOK_REJECTED_KEEP=2):
            for _round in range(3):
                for forged in forgeries:
                    answer = receive_webhook(backend.alias, padded, forged, "127.0.0.1")
                    assert answer.status_code in (401, 403), answer
        rows = list(WebhookEvent.objects.exclude(pk__in=before))
        assert len(rows) <= 2, "rejected deliveries are kept bounded"
        assert all(row.status == WebhookEvent.Status.REJECTED for row in rows)
        assert all(len(bytes(row.body)) <= 4096 for row in rows)

    def _configured(self, backend: BaseBackend, **settings: Any) -> override_settings:
        path = f"{type(backend).__module__}.{type(backend).__qualname__}"
        return override_settings(
            KAKAOPAY={
                "DEFAULT_BACKEND": backend.alias,
                "BACKENDS": {backend.alias: {"BACKEND": path, "OPTIONS": dict(backend.options)}},
                "SITE_URL": "https://shop.example",
                **settings,
            }
        )

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
