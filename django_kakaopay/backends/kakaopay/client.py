"""Calling KakaoPay's Online Payment API, and what each of its error answers means.

Every call is a JSON ``POST`` to ``https://open-api.kakaopay.com`` with
``Authorization: SECRET_KEY <key>``. Errors arrive as non-2xx answers in one
of two shapes, both read: ``{"error_code", "error_message", "extras":
{"method_result_code", "method_result_message"}}`` and the legacy ``{"code",
"msg"}``. A 401/403 is our configuration; a 5xx, a 408/409/425/429 or a
timeout leaves the outcome unknown; any other 4xx is a refusal. Codes are
kept verbatim for operators: only ``-780`` is attested, so no behaviour
depends on a particular one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NoReturn

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ..errors import ErrorSentences, error_for
from ..http import HttpClient, HttpResponse, client_from_options, unreadable_answer
from ..readers import customer_text, mapping, text, text_or_number
from .options import BASE_URL, KakaoPaySettings

UNREADABLE = gettext_lazy(
    "KakaoPay answered HTTP %(status)s while %(operation)s, but the answer could not "
    "be read; the outcome is unknown."
)


def http_client(settings: KakaoPaySettings, options: Mapping[str, Any]) -> HttpClient:
    """The pooled client of one backend, authenticated with the secret key."""
    return client_from_options(
        BASE_URL,
        options,
        default_headers={
            "Authorization": settings.authorization,
            "Content-Type": "application/json",
        },
    )


class KakaoPayApi:
    """KakaoPay's API: a call answers a JSON object or raises the ``ProviderError`` it means."""

    def __init__(self, client: HttpClient) -> None:
        self.client = client

    def post(self, path: str, body: Mapping[str, Any], operation: str) -> Mapping[str, Any]:
        response = self.client.request("POST", path, json_body=dict(body))
        if not 200 <= response.status_code < 300:
            raise_for(response, operation)
        try:
            data = response.json()
        except (ValueError, UnicodeDecodeError):
            data = None
        if not isinstance(data, Mapping):
            raise unreadable_answer(response, operation, UNREADABLE)
        return data


def error_details(payload: Mapping[str, Any]) -> tuple[tuple[str, ...], str, str]:
    """The codes, the operator's message and the customer's message of an error answer."""
    extras = mapping(payload.get("extras"))
    code = text_or_number(payload.get("error_code")) or text_or_number(payload.get("code"))
    method_code = text_or_number(extras.get("method_result_code"))
    message = text(payload.get("error_message")) or text(payload.get("msg"))
    customer_message = customer_text(extras.get("method_result_message"))
    codes = tuple(c for c in (code, method_code) if c)
    return codes, message, customer_message


def raise_for(response: HttpResponse, operation: str) -> NoReturn:
    """Turn an error answer into the ProviderError subclass it means."""
    try:
        payload = mapping(response.json())
    except (ValueError, UnicodeDecodeError):
        payload = {}
    status = response.status_code
    codes, message, customer_message = error_details(payload)
    details = ", ".join(codes) or _("no error code given")
    if message:
        details = f"{details}: {message[:200]}"
    if customer_message:
        details = f"{details} ({customer_message[:200]})"
    values = {"operation": operation, "status": status, "details": details}
    sentences = ErrorSentences(
        credentials=_(
            "KakaoPay refused the credentials while %(operation)s (HTTP %(status)s, "
            "%(details)s). Check SECRET_KEY (a test key works only with ENVIRONMENT "
            "'test'), AUTHORIZATION_SCHEME and the CID the key belongs to."
        )
        % values,
        unknown=_(
            "KakaoPay answered HTTP %(status)s while %(operation)s (%(details)s); the "
            "outcome is unknown and will be reconciled."
        )
        % values,
        refused=_(
            "KakaoPay refused the request while %(operation)s (HTTP %(status)s): %(details)s."
        )
        % values,
    )
    # Only a refusal's reason is the customer's to read (a card limit, a wrong
    # password); error_for drops it from a credentials or server error.
    raise error_for(status, sentences, codes=codes, customer_message=customer_message)
