"""The sandbox backend: KakaoPay simulated inside the project.

No account, no network. Payments redirect to a local approval page that
looks like KakaoPay's; the customer's choice produces a signed notification
to the app's webhook endpoint, exactly as a real provider would send. Options:

``MERCHANT_NAME``
    Shown on the approval pages (default "Sandbox shop").
``WEBHOOK_SECRET``
    Shared HMAC key; derived from ``SECRET_KEY`` when unset.
``NOTIFICATIONS``
    ``immediate`` (default), ``late``, ``twice``, ``out_of_order`` or ``none``.
``NOTIFICATION_DELAY``
    Seconds after which ``late`` notifications are sent (0: only on demand).
``NOTIFICATION_TRANSPORT``
    ``inprocess`` (default, works everywhere) or ``http`` (a real POST).
``ALLOW_WITHOUT_DEBUG``
    ``True`` lets the approval pages serve while ``DEBUG`` is off (a staging
    site). Otherwise they answer 404 and ``manage.py check`` reports
    ``kakaopay.E008``: anyone could approve their own payment on them.
``DASHBOARD_URL``
    A link template for the admin, as for every backend.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import urlsplit

from django.contrib.admin.utils import quote
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _

from ..exceptions import MalformedWebhook, ProviderRejected, WebhookAuthenticationError
from ..sandbox import provider
from ..sandbox.models import SandboxTransaction
from ..sandbox.notifier import MODES, Notifier, deliver_all_outboxes, hold
from ..sandbox.signing import SIGNATURE_HEADER, sign, signing_secret
from ..status import PaymentStatus, PreapprovalStatus, RefundStatus
from .base import (
    BaseBackend,
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
    Snapshot,
)
from .payloads import parse_iso_time, read_json

PAYMENT_STATUS_MAP: dict[str, str] = {
    provider.READY: PaymentStatus.PENDING,
    provider.SUCCESS_PAYMENT: PaymentStatus.PAID,
    provider.PART_CANCEL_PAYMENT: PaymentStatus.PARTIALLY_REFUNDED,
    provider.CANCEL_PAYMENT: PaymentStatus.REFUNDED,
    provider.FAIL_PAYMENT: PaymentStatus.FAILED,
    provider.QUIT_PAYMENT: PaymentStatus.CANCELED,
}

PREAPPROVAL_STATUS_MAP: dict[str, str] = {
    provider.READY: PreapprovalStatus.PENDING,
    provider.ISSUED_SID: PreapprovalStatus.ACTIVE,
    provider.INACTIVE_SID: PreapprovalStatus.CANCELED,
    provider.QUIT_PAYMENT: PreapprovalStatus.CANCELED,
    provider.FAIL_SID: PreapprovalStatus.FAILED,
}


def _minor_units(data: Mapping[str, Any], key: str) -> int | None:
    """A whole number of minor units, or ``None`` when absent; anything else is malformed."""
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise MalformedWebhook(
            _("%(field)s is not a whole number of minor units: %(value)r")
            % {"field": key, "value": value}
        )
    return value


def _currency(data: Mapping[str, Any]) -> str | None:
    value = data.get("currency")
    if value is None:
        return None
    if not isinstance(value, str):
        raise MalformedWebhook(_("currency is not a currency code: %(value)r") % {"value": value})
    return value


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


class SandboxBackend(BaseBackend):
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.REFUNDS, Capability.PARTIAL_REFUNDS, Capability.PREAPPROVALS}
    )
    is_sandbox_backend: ClassVar[bool] = True
    known_options: ClassVar[tuple[str, ...]] = (
        "MERCHANT_NAME",
        "WEBHOOK_SECRET",
        "NOTIFICATIONS",
        "NOTIFICATION_DELAY",
        "NOTIFICATION_TRANSPORT",
        "ALLOW_WITHOUT_DEBUG",
        "DASHBOARD_URL",
    )

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> list[str]:
        problems = super().check_options(options)
        mode = options.get("NOTIFICATIONS", "immediate")
        if mode not in MODES:
            problems.append(f"NOTIFICATIONS must be one of {', '.join(MODES)}, not {mode!r}")
        transport = options.get("NOTIFICATION_TRANSPORT", "inprocess")
        if transport not in ("inprocess", "http"):
            problems.append(
                f"NOTIFICATION_TRANSPORT must be 'inprocess' or 'http', not {transport!r}"
            )
        allow = options.get("ALLOW_WITHOUT_DEBUG", False)
        if not isinstance(allow, bool):
            problems.append(f"ALLOW_WITHOUT_DEBUG must be True or False, not {allow!r}")
        return problems + cls.unknown_option_problems(options)

    def has_webhook_credentials(self) -> bool:
        return True

    def dashboard_url(self, kind: str, provider_id: str) -> str:
        """The simulated provider's "dashboard" is its own admin page.

        A ``DASHBOARD_URL`` option still wins; without the admin (or under a
        renamed admin site) there is simply no link.
        """
        configured = super().dashboard_url(kind, provider_id)
        if configured or not provider_id:
            return configured
        try:
            # quote(): the admin unquotes "_25" and its kin, which sandbox ids can hold.
            return reverse(
                "admin:django_kakaopay_sandboxtransaction_change", args=[quote(provider_id)]
            )
        except NoReverseMatch:
            return ""

    @property
    def notifier(self) -> Notifier:
        return Notifier(self.alias, self.options)

    def hold_notifications(self) -> AbstractContextManager[None]:
        # The simulated provider notifies in-process, during the very call the
        # services make: held, its notification confirms the applied answer.
        return hold()

    @property
    def merchant_name(self) -> str:
        """The name on the approval pages, in the customer's language.

        A lazy translation is shown as such; a plain string is looked up in
        the project's catalogues at display time, so ``"Example shop"`` reads
        "예제 상점" to a Korean customer when the project translates it.
        """
        name = self.options.get("MERCHANT_NAME")
        if not name:
            return _("Sandbox shop")
        return _(name) if isinstance(name, str) else str(name)

    # payments --------------------------------------------------------------

    def create_payment(self, request: PaymentRequest) -> RedirectInstruction:
        tx = provider.create_payment(self.alias, request)
        path = reverse("kakaopay:sandbox-payment", args=[self.alias, tx.pk])
        return RedirectInstruction(_origin(request.return_url) + path, self._payment_snapshot(tx))

    def fetch_payment(self, ref: PaymentRef) -> PaymentSnapshot:
        tx = None
        if ref.provider_payment_id:
            tx = SandboxTransaction.objects.filter(
                backend=self.alias, pk=ref.provider_payment_id
            ).first()
        if tx is None:
            tx = provider.find(self.alias, SandboxTransaction.Kind.PAYMENT, ref.reference)
        if tx is None:
            raise ProviderRejected(
                _("The sandbox has no payment %(reference)r.") % {"reference": ref.reference},
                status_code=404,
            )
        return self._payment_snapshot(tx)

    def refund_payment(self, request: RefundRequest) -> RefundSnapshot:
        try:
            refund = provider.refund(self.alias, request)
        except provider.SandboxProviderError as exc:
            raise ProviderRejected(str(exc), status_code=422) from exc
        assert refund.parent is not None
        self.notifier.notify(refund)
        return self._refund_snapshot(refund)

    # preapprovals ----------------------------------------------------------

    def create_preapproval(self, request: PreapprovalRequest) -> PreapprovalRedirect:
        tx = provider.create_preapproval(self.alias, request)
        path = reverse("kakaopay:sandbox-preapproval", args=[self.alias, tx.pk])
        return PreapprovalRedirect(
            _origin(request.return_url) + path, self._preapproval_snapshot(tx)
        )

    def fetch_preapproval(self, ref: PreapprovalRef) -> PreapprovalSnapshot:
        tx = None
        if ref.provider_preapproval_id:
            tx = SandboxTransaction.objects.filter(
                backend=self.alias, pk=ref.provider_preapproval_id
            ).first()
        if tx is None:
            tx = provider.find(self.alias, SandboxTransaction.Kind.PREAPPROVAL, ref.reference)
        if tx is None:
            raise ProviderRejected(
                _("The sandbox has no preapproval %(reference)r.") % {"reference": ref.reference},
                status_code=404,
            )
        return self._preapproval_snapshot(tx)

    def charge_preapproval(self, request: ChargeRequest) -> PaymentSnapshot:
        try:
            tx = provider.charge(self.alias, request)
        except provider.SandboxProviderError as exc:
            raise ProviderRejected(str(exc), status_code=422) from exc
        self.notifier.notify(tx)
        return self._payment_snapshot(tx)

    def cancel_preapproval(self, ref: PreapprovalRef) -> PreapprovalSnapshot:
        try:
            tx = provider.cancel_preapproval(self.alias, ref.provider_preapproval_id)
        except provider.SandboxProviderError as exc:
            raise ProviderRejected(str(exc), status_code=404) from exc
        self.notifier.notify(tx)
        return self._preapproval_snapshot(tx)

    # notifications ---------------------------------------------------------

    def verify_webhook(
        self, body: bytes, headers: Mapping[str, str], remote_addr: str | None = None
    ) -> None:
        received = headers.get(SIGNATURE_HEADER, "")
        if not received:
            raise WebhookAuthenticationError(
                _("The %(header)s header is missing.") % {"header": SIGNATURE_HEADER}
            )
        expected = sign(signing_secret(self.alias, self.options), body)
        if not hmac.compare_digest(received.encode(), expected.encode()):
            raise WebhookAuthenticationError(
                _("The %(header)s header does not match.") % {"header": SIGNATURE_HEADER}
            )

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> ParsedWebhook:
        event = read_json(body, "sandbox")
        try:
            event_id = event["id"]
            event_type = event["type"]
            data = event["data"]
            kind = data["object"]
        except (KeyError, TypeError) as exc:
            raise MalformedWebhook(
                _("Unreadable sandbox notification: %(error)r") % {"error": exc}
            ) from exc
        if not isinstance(event_id, str) or not isinstance(event_type, str) or not event_id:
            raise MalformedWebhook(_("The sandbox notification has no id or type."))
        occurred_at = parse_iso_time(event.get("created_at"))
        update: Snapshot
        if kind == SandboxTransaction.Kind.PAYMENT:
            update = self._payment_snapshot_from_json(data, occurred_at)
        elif kind == SandboxTransaction.Kind.PREAPPROVAL:
            update = self._preapproval_snapshot_from_json(data, occurred_at)
        elif kind == SandboxTransaction.Kind.REFUND:
            update = self._refund_snapshot_from_json(data, occurred_at)
        else:
            return ParsedWebhook(event_id, event_type, (), occurred_at)
        return ParsedWebhook(event_id, event_type, (update,), occurred_at)

    # helpers for the example shop and tests ---------------------------------

    def deliver_late_notifications(self) -> int:
        """Send every notification held back by ``NOTIFICATIONS="late"``."""
        return deliver_all_outboxes(self.alias, self.options)

    # translation -------------------------------------------------------------

    # A pull is the provider's present state, so it carries no event time and
    # is never "older" than a notification; the status rules still forbid regressions.
    def _payment_snapshot(self, tx: SandboxTransaction) -> PaymentSnapshot:
        return self._payment_snapshot_from_json(provider.as_json(tx), None)

    def _payment_snapshot_from_json(
        self, data: Mapping[str, Any], occurred_at: datetime | None
    ) -> PaymentSnapshot:
        raw_status = str(data.get("status", ""))
        return PaymentSnapshot(
            status=PAYMENT_STATUS_MAP.get(raw_status),
            provider_status=raw_status,
            provider_payment_id=str(data.get("id", "")),
            reference=str(data.get("reference", "")),
            amount=_minor_units(data, "amount"),
            currency=_currency(data),
            refunded_amount=_minor_units(data, "refunded_amount"),
            occurred_at=occurred_at,
            raw=dict(data),
        )

    def _preapproval_snapshot(self, tx: SandboxTransaction) -> PreapprovalSnapshot:
        return self._preapproval_snapshot_from_json(provider.as_json(tx), None)

    def _preapproval_snapshot_from_json(
        self, data: Mapping[str, Any], occurred_at: datetime | None
    ) -> PreapprovalSnapshot:
        raw_status = str(data.get("status", ""))
        return PreapprovalSnapshot(
            status=PREAPPROVAL_STATUS_MAP.get(raw_status),
            provider_status=raw_status,
            provider_preapproval_id=str(data.get("id", "")),
            reference=str(data.get("reference", "")),
            occurred_at=occurred_at,
            raw=dict(data),
        )

    def _refund_snapshot(self, tx: SandboxTransaction) -> RefundSnapshot:
        return self._refund_snapshot_from_json(provider.as_json(tx), None)

    def _refund_snapshot_from_json(
        self, data: Mapping[str, Any], occurred_at: datetime | None
    ) -> RefundSnapshot:
        raw_status = str(data.get("status", ""))
        return RefundSnapshot(
            status=RefundStatus.SUCCEEDED if raw_status == provider.REFUND_SUCCEEDED else None,
            provider_refund_id=str(data.get("id", "")),
            reference=str(data.get("reference", "")),
            provider_payment_id=str(data.get("parent_id") or ""),
            payment_reference=str(data.get("parent_reference") or ""),
            amount=_minor_units(data, "amount"),
            currency=_currency(data),
            occurred_at=occurred_at,
            raw=dict(data),
        )
