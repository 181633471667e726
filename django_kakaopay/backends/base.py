"""The contract between the services layer and a provider backend.

A backend translates between this package's small typed values and one
provider's HTTP API. It never touches the ORM and never sees a Django request:
the services layer hands it plain requests (built from model rows) and applies
the snapshots it returns. ``django_kakaopay.testing`` holds the conformance
checks that every backend, ours or a third party's, must pass.
"""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext
from datetime import timedelta
from typing import Any, ClassVar
from urllib.parse import quote

from ..exceptions import MalformedWebhook
from .types import (
    JSON,
    BrowserCheckout,
    Capability,
    ChargeRequest,
    Customer,
    LineItem,
    NotSupported,
    ParsedWebhook,
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
    Snapshot,
    TerminalType,
    WebhookAck,
    WebhookAuth,
    WebhookOutcome,
)

# -- the contract -------------------------------------------------------------


class BaseBackend:
    """Subclass this to add a provider.

    Subclasses set ``capabilities``, ``required_options`` and implement the
    methods below. Every outbound HTTP call must use a connect and a read
    timeout and raise :class:`~django_kakaopay.exceptions.OutcomeUnknown` when
    it cannot tell whether the provider acted.
    """

    capabilities: ClassVar[frozenset[Capability]] = frozenset()
    required_options: ClassVar[tuple[str, ...]] = ()
    # Every option name the backend understands; when listed, a misspelt
    # option is reported by ``manage.py check`` instead of silently ignored.
    known_options: ClassVar[tuple[str, ...]] = ()
    # How the provider is named in messages ("Checkout.com").
    display_name: ClassVar[str] = ""
    # Currencies the provider processes KakaoPay in; empty means "not restricted
    # here" (any ISO 4217 code this package knows).
    currencies: ClassVar[frozenset[str]] = frozenset()
    # A sandbox backend moves no real money; checks are lighter for it.
    is_sandbox_backend: ClassVar[bool] = False
    # How long the provider remembers an idempotency key; ``None``: for good
    # (a unique merchant id). A timed-out request is only sent again within it.
    idempotency_window: ClassVar[timedelta | None] = None
    # Names of headers that may be stored with an inbound notification.
    # Everything else (Authorization, cookies, signatures) is dropped.
    stored_webhook_headers: ClassVar[tuple[str, ...]] = (
        "Content-Type",
        "User-Agent",
        "X-Forwarded-For",
    )

    # How notifications are authenticated (what the conformance kit checks).
    webhook_auth: ClassVar[WebhookAuth] = WebhookAuth.BODY_SIGNATURE
    # Query parameters of the return URL that ``complete_return`` needs, if any.
    # Nothing else the browser brings reaches the backend.
    return_parameters: ClassVar[tuple[str, ...]] = ()
    # URL schemes besides http(s) that the provider's customer links may use
    # (an app scheme that opens a wallet app); the checkout view redirects to
    # no other.
    app_link_schemes: ClassVar[frozenset[str]] = frozenset()
    # Whether the customer starts paying in the provider's browser SDK on a
    # page of ours (``browser_checkout``) rather than at a link it gives.
    starts_in_browser: ClassVar[bool] = False

    # Where the provider's merchant dashboard shows one object, with ``{id}``
    # (and optionally ``{kind}``) to fill in. Empty unless the provider
    # documents a stable deep link: a guessed URL would send staff to the wrong
    # page. The ``DASHBOARD_URL`` option overrides it.
    dashboard_url_template: ClassVar[str] = ""

    def __init__(self, alias: str, options: Mapping[str, Any]) -> None:
        self.alias = alias
        self.options = dict(options)

    # configuration ---------------------------------------------------------

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> list[str]:
        """Problems with ``options``, as sentences for a system check error."""
        return [
            f"the option {name!r} is required"
            for name in cls.required_options
            if not options.get(name)
        ]

    @classmethod
    def unknown_option_problems(cls, options: Mapping[str, Any]) -> list[str]:
        """Names in ``options`` the backend does not understand (usually typos).

        Only backends that list ``known_options`` are checked.
        """
        if not cls.known_options:
            return []
        problems = []
        for name in options:
            if name in cls.known_options:
                continue
            close = difflib.get_close_matches(str(name), cls.known_options, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            label = cls.display_name or cls.__name__
            problems.append(f"{name!r} is not an option of the {label} backend{hint}")
        return problems

    @classmethod
    def check_warnings(cls, options: Mapping[str, Any]) -> list[str]:
        """Advice about ``options`` that is not an error, as sentences for a
        system check warning (``kakaopay.W001``). The default has none."""
        return []

    @property
    def is_live(self) -> bool:
        """Whether this backend moves real money (used by system checks)."""
        return not self.is_sandbox_backend

    def has_webhook_credentials(self) -> bool:
        """Whether inbound notifications can be authenticated."""
        return False

    @property
    def expiry_window(self) -> timedelta | None:
        """How long an unfinished payment stays open at the provider, if it says.

        ``kakaopay_reconcile`` expires a payment the provider still reports
        open past it (only after a pull confirmed that); ``None``: the
        ``EXPIRE_AFTER`` setting decides.
        """
        return None

    def supports(self, capability: Capability) -> bool:
        return capability in self.capabilities

    def supports_currency(self, currency: str) -> bool:
        return not self.currencies or currency.upper() in self.currencies

    def dashboard_url(self, kind: str, provider_id: str) -> str:
        """A link to ``provider_id`` in the provider's dashboard, or ``""``.

        ``kind`` is ``"payment"``, ``"refund"`` or ``"preapproval"``. The
        ``DASHBOARD_URL`` option is a template string, or a mapping from kind
        to template when the dashboard shows each kind on its own page.
        """
        configured = self.options.get("DASHBOARD_URL")
        if isinstance(configured, Mapping):
            configured = configured.get(kind)
        template = str(configured or self.dashboard_url_template)
        if not template or not provider_id or "{id}" not in template:
            return ""
        # Plain replacement, not str.format: a template may contain other braces,
        # and the id comes from the provider, so it is quoted as one path segment.
        return template.replace("{kind}", quote(kind, safe="")).replace(
            "{id}", quote(provider_id, safe="")
        )

    def hold_notifications(self) -> AbstractContextManager[None]:
        """The block in which the services call the provider and apply its answer.

        A notification about what the call did is delivered, at the earliest,
        after the block: so the answer is applied first, credited to whoever
        made the call (``admin``, ``api``, ``command``), and the notification
        only confirms it. A real provider's notification travels over HTTP and
        needs nothing here (the default); a backend that delivers its own
        notifications in-process during the call, as the sandbox does, holds
        them until the block ends.
        """
        return nullcontext()

    # one-time payments -----------------------------------------------------

    def create_payment(self, request: PaymentRequest) -> RedirectInstruction:
        raise NotImplementedError

    def fetch_payment(self, ref: PaymentRef) -> PaymentSnapshot:
        raise NotImplementedError

    def browser_checkout(
        self, request: PaymentRequest | PreapprovalRequest
    ) -> BrowserCheckout | None:
        """The page that starts ``request`` in the provider's browser SDK, if it starts there.

        The default, ``None``, is for providers whose payment the server
        creates: the checkout view redirects to the link ``create_payment``
        gave. A provider whose script creates it returns the page here and,
        from ``create_payment``, our own checkout URL (``request.checkout_url``).
        """
        return None

    def complete_return(self, ref: PaymentRef, params: Mapping[str, str]) -> PaymentSnapshot:
        """The payment's state once its customer is back on the return URL.

        ``params`` holds only the query parameters named in
        ``return_parameters``, as the browser brought them: anyone can forge
        them, so they may be used to *ask* the provider (KakaoPay's
        ``pg_token`` completes an approval), never as proof. The default
        ignores them and pulls the payment.
        """
        return self.fetch_payment(ref)

    def refund_payment(self, request: RefundRequest) -> RefundSnapshot:
        raise NotSupported(f"{type(self).__name__} does not support refunds.")

    # preapprovals ----------------------------------------------------------

    def create_preapproval(self, request: PreapprovalRequest) -> PreapprovalRedirect:
        raise NotSupported(f"{type(self).__name__} does not support preapprovals.")

    def fetch_preapproval(self, ref: PreapprovalRef) -> PreapprovalSnapshot:
        raise NotSupported(f"{type(self).__name__} does not support preapprovals.")

    def charge_preapproval(self, request: ChargeRequest) -> PaymentSnapshot:
        raise NotSupported(f"{type(self).__name__} does not support preapprovals.")

    def cancel_preapproval(self, ref: PreapprovalRef) -> PreapprovalSnapshot:
        raise NotSupported(f"{type(self).__name__} does not support preapprovals.")

    def complete_preapproval_return(
        self, ref: PreapprovalRef, params: Mapping[str, str]
    ) -> PreapprovalSnapshot:
        """The agreement's state once its customer is back on the return URL.

        As :meth:`complete_return`: ``params`` holds only the
        ``return_parameters``, which may be used to ask the provider, never as
        proof. The default ignores them and pulls the agreement.
        """
        return self.fetch_preapproval(ref)

    # notifications ---------------------------------------------------------

    def verify_webhook(
        self, body: bytes, headers: Mapping[str, str], remote_addr: str | None = None
    ) -> None:
        """Raise ``WebhookAuthenticationError`` unless the notification is genuine.

        Called on the raw bytes and headers before anything parses the body,
        so it must not parse the body either (beyond what a signature scheme
        needs, such as a timestamp header).
        """
        raise NotImplementedError

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> ParsedWebhook:
        """Turn a verified body into updates; raise ``MalformedWebhook`` if unreadable.

        ``ParsedWebhook.event_id`` is the inbox key: the same for every
        delivery of one event. Read the body with
        :func:`~django_kakaopay.backends.payloads.read_json`, which refuses
        what no database column could store.
        """
        raise NotImplementedError

    def notification_identity(self, body: bytes, headers: Mapping[str, str]) -> tuple[str, str]:
        """The event id and type of a verified notification, read without acting on it.

        The queued mode stores a delivery under its event id before anything
        processes it. The default parses the body; a backend whose parsing
        calls the provider (a hint-style notification) reads the two cheaply
        instead. ``("", "")`` when they cannot be read: the body's hash keys it.
        """
        try:
            parsed = self.parse_webhook(body, headers)
        except MalformedWebhook as exc:
            return (exc.event_id if isinstance(exc.event_id, str) else ""), ""
        except Exception:
            return "", ""
        return parsed.event_id, parsed.event_type

    def acknowledge(self, outcome: WebhookOutcome) -> WebhookAck:
        """The answer the provider expects for a handled notification."""
        return WebhookAck(200, b"OK")

    def redact_headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        allowed = {name.lower() for name in self.stored_webhook_headers}
        return {name: value for name, value in headers.items() if name.lower() in allowed}


def content_hash(body: bytes) -> str:
    return "sha256:" + hashlib.sha256(body).hexdigest()


# The vocabulary is re-exported: backends written against this module keep working.
__all__ = [
    "JSON",
    "BaseBackend",
    "BrowserCheckout",
    "Capability",
    "ChargeRequest",
    "Customer",
    "LineItem",
    "NotSupported",
    "ParsedWebhook",
    "PaymentRef",
    "PaymentRequest",
    "PaymentSnapshot",
    "PreapprovalRedirect",
    "PreapprovalRef",
    "PreapprovalRequest",
    "PreapprovalSnapshot",
    "RedirectInstruction",
    "RefundRequest",
    "RefundSnapshot",
    "Snapshot",
    "TerminalType",
    "WebhookAck",
    "WebhookAuth",
    "WebhookOutcome",
    "content_hash",
]
