"""Agreements as PortOne billing keys: issued in the browser, proven on the server.

The customer issues a KakaoPay billing key in PortOne's window
(``requestIssueBillingKey``), with our agreement's reference as the
customer id. The browser then brings the ``billingKey`` to the return URL;
anyone can write that, so the key is looked up
(``GET /billing-keys/{billingKey}``) and accepted only when it is this
store's, issued, and issued for this agreement. Cancelling the agreement
deletes the key (``DELETE /billing-keys/{billingKey}``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext as _

from ...exceptions import ProviderRejected
from ...status import PreapprovalStatus
from ..readers import text
from ..types import PreapprovalRef, PreapprovalSnapshot
from .client import MAX_ID, PortOneApi, segment
from .maps import billing_key_customer, billing_key_snapshot, kept

RETURN_PARAMETER = "billingKey"


class PortOneBillingKeys:
    def __init__(self, api: PortOneApi, store_id: str) -> None:
        self.api = api
        self.store_id = store_id

    def look_up(self, billing_key: str) -> Mapping[str, Any]:
        operation = _("looking up a billing key")
        return self.api.call("GET", f"/billing-keys/{segment(billing_key)}", operation)

    def complete(self, ref: PreapprovalRef, params: Mapping[str, str]) -> PreapprovalSnapshot:
        """The agreement once the browser came back, maybe with a billing key."""
        if ref.provider_preapproval_id:
            return self.fetch(ref)
        billing_key = str(params.get(RETURN_PARAMETER) or "").strip()
        if not billing_key or len(billing_key) > MAX_ID:
            return waiting(ref)
        try:
            data = self.look_up(billing_key)
        except ProviderRejected:
            # Unknown to PortOne (forged, mistyped): nothing is learnt.
            return waiting(ref)
        if not self.belongs_to(data, ref):
            return waiting(ref)
        return billing_key_snapshot(data, ref.reference)

    def belongs_to(self, data: Mapping[str, Any], ref: PreapprovalRef) -> bool:
        """Whether a looked-up key is this store's and was issued for this agreement."""
        return (
            text(data.get("storeId")) == self.store_id
            and billing_key_customer(data) == ref.reference
        )

    def fetch(self, ref: PreapprovalRef) -> PreapprovalSnapshot:
        if not ref.provider_preapproval_id:
            return waiting(ref)
        data = self.look_up(ref.provider_preapproval_id)
        if not self.belongs_to(data, ref):
            raise ProviderRejected(
                _("PortOne's billing key for %(reference)s belongs to another store or customer.")
                % {"reference": ref.reference}
            )
        return billing_key_snapshot(data, ref.reference)

    def cancel(self, ref: PreapprovalRef) -> PreapprovalSnapshot:
        """Delete the billing key: the agreement is canceled once PortOne says so."""
        if not ref.provider_preapproval_id:
            raise ProviderRejected(
                _(
                    "The agreement %(reference)s has no billing key yet, so there is "
                    "nothing to delete at PortOne."
                )
                % {"reference": ref.reference},
                status_code=400,
            )
        operation = _("deleting the billing key of %(reference)s") % {"reference": ref.reference}
        path = f"/billing-keys/{segment(ref.provider_preapproval_id)}"
        try:
            data = self.api.call("DELETE", path, operation)
        except ProviderRejected as exc:
            if "BILLING_KEY_ALREADY_DELETED" not in exc.codes:
                raise
            data = {"status": "DELETED"}
        return PreapprovalSnapshot(
            status=PreapprovalStatus.CANCELED,
            provider_status="DELETED",
            provider_preapproval_id=ref.provider_preapproval_id,
            reference=ref.reference,
            raw=kept(data),
        )


def waiting(ref: PreapprovalRef) -> PreapprovalSnapshot:
    """No billing key is proven yet: the agreement stays open."""
    return PreapprovalSnapshot(
        status=PreapprovalStatus.PENDING,
        provider_status="NOT_ISSUED",
        reference=ref.reference,
        raw={"status": "NOT_ISSUED"},
    )
