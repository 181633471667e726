"""Calling Checkout.com, and what each of its error answers means for us.

A 401 or 403 is our configuration; a 5xx, a 408/409/425/429 or a timeout
leaves the outcome unknown (the call is reconciled later, never failed); any
other 4xx is a rejection of this request.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NoReturn
from urllib.parse import quote

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ...exceptions import (
    OutcomeUnknown,
    ProviderConfigurationError,
    ProviderError,
    ProviderRejected,
)
from ..http import HttpClient, HttpResponse, client_from_options, unreadable_answer
from ..readers import header, mapping, text
from .options import CheckoutSettings

UNREADABLE = gettext_lazy(
    "Checkout.com answered HTTP %(status)s while %(operation)s, but the answer "
    "could not be read; the outcome is unknown."
)

IDEMPOTENCY_HEADER = "Cko-Idempotency-Key"
REQUEST_ID_HEADER = "Cko-Request-Id"


def http_client(settings: CheckoutSettings, options: Mapping[str, Any]) -> HttpClient:
    """The pooled client of one backend, authenticated with the secret key."""
    return client_from_options(
        settings.base_url,
        options,
        default_headers={"Authorization": f"Bearer {settings.secret_key}"},
    )


def request_id(response: HttpResponse) -> str:
    """Checkout.com's id of the request, for support tickets; ``""`` when not sent."""
    return header(response.headers, REQUEST_ID_HEADER)


class CheckoutApi:
    """Checkout.com's REST API: a call either succeeds or raises the ``ProviderError`` it means."""

    def __init__(self, client: HttpClient) -> None:
        self.client = client

    def call(
        self,
        method: str,
        path: str,
        operation: str,
        *,
        body: Any = None,
        idempotency_key: str = "",
    ) -> HttpResponse:
        headers = {IDEMPOTENCY_HEADER: idempotency_key} if idempotency_key else {}
        response = self.client.request(method, path, json_body=body, headers=headers)
        if not 200 <= response.status_code < 300:
            raise_for(response, operation)
        return response

    def get_payment(self, payment_id: str) -> Mapping[str, Any]:
        operation = _("getting payment %(id)s") % {"id": payment_id}
        response = self.call("GET", f"/payments/{quote(payment_id, safe='')}", operation)
        return json_object(response, operation)


def json_object(response: HttpResponse, operation: str) -> Mapping[str, Any]:
    """The JSON object of a successful answer; an unreadable one leaves the outcome unknown."""
    try:
        data = response.json()
    except ValueError:
        data = None
    if not isinstance(data, Mapping):
        raise unreadable_answer(response, operation, UNREADABLE, request_id=request_id(response))
    return data


def raise_for(response: HttpResponse, operation: str) -> NoReturn:
    """Turn an error answer into the ProviderError subclass it means."""
    try:
        payload = mapping(response.json())
    except ValueError:
        payload = {}
    status = response.status_code
    found_request_id = text(payload.get("request_id")) or request_id(response)
    error_type = text(payload.get("error_type"))
    raw_codes = payload.get("error_codes")
    codes = tuple(code for code in (raw_codes if isinstance(raw_codes, list) else []) if text(code))
    details = ", ".join(codes) or error_type or _("no error code given")
    suffix = (
        " " + _("Checkout.com request id: %(request_id)s.") % {"request_id": found_request_id}
        if found_request_id
        else ""
    )
    values = {"operation": operation, "status": status, "details": details}
    kwargs: dict[str, Any] = {
        "status_code": status,
        "request_id": found_request_id,
        "codes": codes or ((error_type,) if error_type else ()),
    }
    error: ProviderError
    if status == 401:
        error = ProviderConfigurationError(
            _(
                "Checkout.com did not accept the API key while %(operation)s (HTTP 401). "
                "Check SECRET_KEY (a sandbox key, sk_sbox_..., works only with ENVIRONMENT "
                "'sandbox'), ENVIRONMENT and SUBDOMAIN_PREFIX."
            )
            % values
            + suffix,
            **kwargs,
        )
    elif status == 403:
        error = ProviderConfigurationError(
            _(
                "Checkout.com refused permission while %(operation)s (HTTP 403). Check that "
                "SECRET_KEY is allowed to use this API, that PROCESSING_CHANNEL_ID belongs to "
                "the same account and has KakaoPay enabled, and that SUBDOMAIN_PREFIX and "
                "ENVIRONMENT match the key. A refund the payment cannot take is refused "
                "with 403 too."
            )
            % values
            + suffix,
            **kwargs,
        )
    elif HttpClient.outcome_is_unknown(status) or status < 400:
        error = OutcomeUnknown(
            _(
                "Checkout.com answered HTTP %(status)s while %(operation)s (%(details)s); "
                "the outcome is unknown and will be reconciled."
            )
            % values
            + suffix,
            **kwargs,
        )
    elif status == 404:
        error = ProviderRejected(
            _("Checkout.com found nothing while %(operation)s (HTTP 404).") % values + suffix,
            **kwargs,
        )
    else:
        error = ProviderRejected(
            _(
                "Checkout.com rejected the request while %(operation)s (HTTP %(status)s): %(details)s."
            )
            % values
            + suffix,
            **kwargs,
        )
    raise error
