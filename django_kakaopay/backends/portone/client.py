"""Calling PortOne's V2 REST API, and what each of its error answers means.

Every call goes to ``https://api.portone.io`` with ``Authorization: PortOne
<API secret>``. Errors are non-2xx answers with ``{"type", "message"}``: a
401/403 is our configuration, a 5xx, a 408/425/429 or a timeout leaves the
outcome unknown, and any other 4xx is a refusal. A 409 is a refusal only
when its ``type`` says what conflicted (a payment paid or cancelled
already); another 409 leaves the outcome unknown. The ``type`` is kept
verbatim for operators.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NoReturn
from urllib.parse import quote

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ..errors import ErrorSentences, error_for
from ..http import HttpClient, HttpResponse, client_from_options, unreadable_answer
from ..readers import mapping, text
from .options import BASE_URL, PortOneSettings

UNREADABLE = gettext_lazy(
    "PortOne answered HTTP %(status)s while %(operation)s, but the answer could not "
    "be read; the outcome is unknown."
)
# Conflicts that say what the state is: the request definitely did not act.
DEFINITE_CONFLICTS = frozenset(
    {
        "ALREADY_PAID",
        "PAYMENT_ALREADY_CANCELLED",
        "PAYMENT_NOT_PAID",
        "BILLING_KEY_ALREADY_DELETED",
        "CANCEL_AMOUNT_EXCEEDS_CANCELLABLE_AMOUNT",
        "SUM_OF_PARTS_EXCEEDS_CANCEL_AMOUNT",
    }
)
MAX_ID = 200


def http_client(settings: PortOneSettings, options: Mapping[str, Any]) -> HttpClient:
    """The pooled client of one backend, authenticated with the API secret."""
    return client_from_options(
        BASE_URL,
        options,
        default_headers={"Authorization": settings.authorization},
    )


def segment(value: str) -> str:
    """``value`` as one path segment: an id chosen by us or the browser never adds a path."""
    return quote(value[:MAX_ID], safe="")


class PortOneApi:
    """PortOne's API: a call answers a JSON object or raises the ``ProviderError`` it means."""

    def __init__(self, client: HttpClient) -> None:
        self.client = client

    def call(
        self, method: str, path: str, operation: str, body: Mapping[str, Any] | None = None
    ) -> Mapping[str, Any]:
        response = self.client.request(
            method, path, json_body=dict(body) if body is not None else None
        )
        if not 200 <= response.status_code < 300:
            raise_for(response, operation)
        try:
            data = response.json()
        except (ValueError, UnicodeDecodeError):
            data = None
        if not isinstance(data, Mapping):
            raise unreadable_answer(response, operation, UNREADABLE)
        return data


def raise_for(response: HttpResponse, operation: str) -> NoReturn:
    """Turn an error answer into the ProviderError subclass it means."""
    try:
        payload = mapping(response.json())
    except (ValueError, UnicodeDecodeError):
        payload = {}
    status = response.status_code
    kind = text(payload.get("type"))[:100]
    message = text(payload.get("message"))[:200]
    details = kind or _("no error type given")
    if message:
        details = f"{details}: {message}"
    values = {"operation": operation, "status": status, "details": details}
    codes = (kind,) if kind else ()
    refused = _("PortOne refused the request while %(operation)s (HTTP %(status)s): %(details)s.")
    sentences = ErrorSentences(
        credentials=_(
            "PortOne refused the credentials while %(operation)s (HTTP %(status)s, "
            "%(details)s). Check API_SECRET (a V2 API secret of this store) and STORE_ID."
        )
        % values,
        unknown=_(
            "PortOne answered HTTP %(status)s while %(operation)s (%(details)s); the "
            "outcome is unknown and will be reconciled."
        )
        % values,
        refused=refused % values,
    )
    raise error_for(
        status, sentences, codes=codes, definite=status == 409 and kind in DEFINITE_CONFLICTS
    )
