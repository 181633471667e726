"""``KakaoPayBackend``: the contract's methods, each handed to the module that does it.

options.py reads and checks the options, client.py calls the API,
payment_request.py builds the ``ready`` body, payments.py starts, completes,
pulls and cancels payments, and maps.py says what KakaoPay's statuses mean.
KakaoPay's own API sends no notifications: every delivery is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any, ClassVar

from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ...exceptions import (
    MalformedWebhook,
    ProviderConfigurationError,
    WebhookAuthenticationError,
)
from ..configuration import ProviderBackend
from ..types import (
    Capability,
    ChargeRequest,
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
    WebhookAuth,
)
from .client import KakaoPayApi, http_client
from .options import (
    OPTION_NAMES,
    REQUIRED_OPTIONS,
    KakaoPaySettings,
    option_problems,
    option_warnings,
)
from .payment_request import APP_LINK_SCHEMES
from .payments import KakaoPayPayments
from .subscriptions import KakaoPaySubscriptions

MISCONFIGURED = gettext_lazy(
    "The KakaoPay backend %(alias)s is misconfigured: %(problems)s. "
    "Run manage.py check for details."
)
NO_SUBSCRIPTION_CID = gettext_lazy(
    "The KakaoPay backend %(alias)s has no SUBSCRIPTION_CID, so it offers no subscriptions."
)


class KakaoPayBackend(ProviderBackend):
    """KakaoPay's own Online Payment API (``open-api.kakaopay.com``)."""

    known_options: ClassVar[tuple[str, ...]] = OPTION_NAMES
    misconfigured: ClassVar[Promise] = MISCONFIGURED
    required_options: ClassVar[tuple[str, ...]] = REQUIRED_OPTIONS
    display_name: ClassVar[str] = "KakaoPay"
    currencies: ClassVar[frozenset[str]] = frozenset({"KRW"})
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.REFUNDS, Capability.PARTIAL_REFUNDS, Capability.PREAPPROVALS}
    )
    is_sandbox_backend: ClassVar[bool] = False
    # No idempotency key exists: a timed-out cancel is never sent again on its
    # own (it could refund twice); it is left for a person.
    idempotency_window: ClassVar[timedelta | None] = timedelta(0)
    webhook_auth: ClassVar[WebhookAuth] = WebhookAuth.NONE
    return_parameters: ClassVar[tuple[str, ...]] = ("pg_token",)
    app_link_schemes: ClassVar[frozenset[str]] = APP_LINK_SCHEMES

    def __init__(self, alias: str, options: Mapping[str, Any]) -> None:
        super().__init__(alias, options)
        self.settings = KakaoPaySettings.from_options(self.options)
        self.environment = self.settings.environment
        self.client = http_client(self.settings, self.options)
        self.api = KakaoPayApi(self.client)
        self._payments = KakaoPayPayments(
            self.api, self.settings.cid, prefer_app_scheme=self.settings.prefer_app_scheme
        )
        self._subscriptions = KakaoPaySubscriptions(
            self.api,
            self._payments,
            self.settings.subscription_cid,
            allow_zero_won=self.settings.allow_zero_won,
        )

    # configuration ---------------------------------------------------------

    @classmethod
    def option_rules(cls, options: Mapping[str, Any]) -> list[str]:
        return option_problems(options)

    @classmethod
    def option_advice(cls, options: Mapping[str, Any]) -> list[str]:
        return option_warnings(options)

    def supports(self, capability: Capability) -> bool:
        """Agreements only with a ``SUBSCRIPTION_CID``."""
        if capability == Capability.PREAPPROVALS and not self.settings.subscription_cid:
            return False
        return super().supports(capability)

    @property
    def is_live(self) -> bool:
        """Only the live environment moves real money."""
        return self.environment == "live"

    @property
    def expiry_window(self) -> timedelta | None:
        """How long a payment may stay unapproved before a pull may expire it (unverified)."""
        return self.settings.expiry

    def has_webhook_credentials(self) -> bool:
        # There are no notifications, so there is nothing to authenticate:
        # every delivery is refused (``webhook_auth`` is ``NONE``).
        return False

    # one-time payments -------------------------------------------------------

    def create_payment(self, request: PaymentRequest) -> RedirectInstruction:
        self._ensure_configured()
        instruction, _answer = self._payments.create(request)
        return instruction

    def fetch_payment(self, ref: PaymentRef) -> PaymentSnapshot:
        self._ensure_configured()
        return self._payments.fetch(ref, cid=self._cid_for(ref))

    def complete_return(self, ref: PaymentRef, params: Mapping[str, str]) -> PaymentSnapshot:
        """Approve with the ``pg_token`` the browser brought; KakaoPay's answer is the proof.

        Without a token (the cancel and fail returns), or when KakaoPay
        refuses it (forged, replayed, approved already), the order is pulled.
        """
        self._ensure_configured()
        return self._payments.complete(ref, params)

    def refund_payment(self, request: RefundRequest) -> RefundSnapshot:
        self._ensure_configured()
        return self._payments.refund(request, cid=self._cid_for(request.payment))

    def _cid_for(self, ref: PaymentRef) -> str:
        """A charge on an agreement (its first payment too) lives on ``SUBSCRIPTION_CID``."""
        return self.settings.subscription_cid if ref.preapproval_reference else self.settings.cid

    # subscriptions (SID) -----------------------------------------------------

    def _ensure_subscriptions(self) -> None:
        self._ensure_configured()
        if not self.settings.subscription_cid:
            raise ProviderConfigurationError(NO_SUBSCRIPTION_CID % {"alias": self.alias})

    def create_preapproval(self, request: PreapprovalRequest) -> PreapprovalRedirect:
        self._ensure_subscriptions()
        return self._subscriptions.create(request)

    def complete_preapproval_return(
        self, ref: PreapprovalRef, params: Mapping[str, str]
    ) -> PreapprovalSnapshot:
        """Approve the first payment with the ``pg_token``; the ``sid`` it answers makes the agreement."""
        self._ensure_subscriptions()
        return self._subscriptions.complete(ref, params)

    def fetch_preapproval(self, ref: PreapprovalRef) -> PreapprovalSnapshot:
        self._ensure_subscriptions()
        return self._subscriptions.fetch(ref)

    def charge_preapproval(self, request: ChargeRequest) -> PaymentSnapshot:
        self._ensure_subscriptions()
        return self._subscriptions.charge(request)

    def cancel_preapproval(self, ref: PreapprovalRef) -> PreapprovalSnapshot:
        self._ensure_subscriptions()
        return self._subscriptions.cancel(ref)

    # notifications: there are none -------------------------------------------

    def verify_webhook(
        self, body: bytes, headers: Mapping[str, str], remote_addr: str | None = None
    ) -> None:
        raise WebhookAuthenticationError(
            _("KakaoPay's Online Payment API sends no notifications; this one is refused.")
        )

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> ParsedWebhook:
        raise MalformedWebhook(
            _("KakaoPay's Online Payment API sends no notifications; there is nothing to read.")
        )
