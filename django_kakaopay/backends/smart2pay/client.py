"""Calling Smart2Pay, what each of its error answers means for us, and our ids in its calls.

Every call carries ``Authorization: Basic base64(SiteID:ApiKey)``. A 401 or
403, or a reason code about the site, is our configuration; a 5xx, a
408/409/425/429 or a timeout leaves the outcome unknown (reconciled later,
never failed); any other 4xx is a rejection of this request.

``MerchantTransactionID`` (payments, charges, refunds) and
``MerchantPreapprovalID`` are our reference, unique in our database and the
same on every retry, so Smart2Pay's "duplicated" answers (reason codes 20
and 109) name the object a timed-out call already created.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, NoReturn

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ...exceptions import (
    OutcomeUnknown,
    ProviderConfigurationError,
    ProviderError,
    ProviderRejected,
)
from ..auth import basic_authorization
from ..http import HttpClient, HttpResponse, client_from_options, unreadable_answer
from ..readers import field, text_or_number
from .maps import reasons
from .options import Smart2PaySettings

UNREADABLE = gettext_lazy(
    "Smart2Pay answered HTTP %(status)s while %(operation)s, but the answer "
    "could not be read; the outcome is unknown."
)

JSON_CONTENT_TYPE = "application/json; charset=utf-8"
AUTHORIZATION_HEADER = "Authorization"

# Reason codes meaning "this was already created": reconcile, do not fail.
DUPLICATE_TRANSACTION = "20"  # MerchantTransactionID is duplicated
DUPLICATE_PREAPPROVAL = "109"  # Merchant preapproval ID duplicated
# Reason codes that point at our configuration rather than at the request.
CONFIGURATION_CODES = frozenset({"3", "4", "7", "127"})

MERCHANT_ID_RE = re.compile(r"^[0-9A-Za-z_-]{1,50}$")


def http_client(settings: Smart2PaySettings, options: Mapping[str, Any]) -> HttpClient:
    """The pooled client of one backend, authenticated with the site's credentials."""
    return client_from_options(
        settings.base_url,
        options,
        default_headers={
            AUTHORIZATION_HEADER: basic_authorization(settings.site_id, settings.api_key)
        },
    )


def merchant_id(reference: str, idempotency_key: str) -> str:
    """The ``MerchantTransactionID`` / ``MerchantPreapprovalID`` for an object.

    Our reference when Smart2Pay accepts it (``[0-9A-Za-z_-]{1,50}``), else
    the object's idempotency key. Both are unique and the same on every retry.
    """
    for candidate in (reference, idempotency_key):
        if candidate and MERCHANT_ID_RE.match(candidate):
            return candidate
    raise ProviderRejected(
        _(
            "The reference %(reference)r cannot be sent to Smart2Pay: it accepts only up to "
            "50 letters, digits, '-' and '_'."
        )
        % {"reference": reference}
    )


def payload(response: HttpResponse) -> Any:
    """The answer's JSON, or ``None`` when it has none or it is unreadable."""
    try:
        return response.json()
    except ValueError:
        return None


class Smart2PayApi:
    """Smart2Pay's REST API: a call either succeeds or raises the ``ProviderError`` it means."""

    def __init__(self, client: HttpClient) -> None:
        self.client = client

    def call(self, method: str, path: str, operation: str, *, body: Any = None) -> HttpResponse:
        headers = {"Content-Type": JSON_CONTENT_TYPE} if body is not None else {}
        response = self.client.request(method, path, json_body=body, headers=headers)
        if not 200 <= response.status_code < 300:
            raise_for(response, operation)
        return response

    def create(
        self,
        path: str,
        body: Any,
        root: str,
        operation: str,
        *,
        duplicate_code: str,
        find: Callable[[], Mapping[str, Any]],
    ) -> tuple[Mapping[str, Any], bool]:
        """POST ``body``; when Smart2Pay answers that it has it already, ``find()`` it.

        A call that timed out may have created the object, so a retry meets
        the duplicate reason code. Returns the ``root`` object and whether
        it was found rather than created by this call.
        """
        try:
            response = self.call("POST", path, operation, body=body)
            return self.resource(response, root, operation), False
        except ProviderRejected as exc:
            if duplicate_code not in exc.codes:
                raise
        return find(), True

    @staticmethod
    def resource(response: HttpResponse, root: str, operation: str) -> Mapping[str, Any]:
        """The ``{root: {...}}`` object of a successful answer (a bare object is accepted too)."""
        answer = payload(response)
        found = field(answer, root) if isinstance(answer, Mapping) else None
        if not isinstance(found, Mapping) and isinstance(answer, Mapping):
            found = answer if field(answer, "ID") is not None else None
        if not isinstance(found, Mapping):
            raise unreadable_answer(response, operation, UNREADABLE)
        if field(found, "ID") is None and reasons(found):
            # A success code with only error reasons: treat it as the error it says.
            raise_for(response, operation, force_rejection=True)
        return found

    @staticmethod
    def rows(response: HttpResponse, key: str) -> list[Mapping[str, Any]]:
        """The objects of a list answer, ``{key: [...]}`` or a bare list."""
        answer = payload(response)
        found = field(answer, key) if isinstance(answer, Mapping) else answer
        return [
            row for row in (found if isinstance(found, list) else []) if isinstance(row, Mapping)
        ]


def raise_for(response: HttpResponse, operation: str, *, force_rejection: bool = False) -> NoReturn:
    """Turn an error answer into the ProviderError subclass it means.

    Two shapes exist: the resource wrapper with ``Status.Reasons`` and a
    plain ``{"Message": "..."}``.
    """
    answer = payload(response)
    status = response.status_code
    codes: list[str] = []
    texts: list[str] = []
    if isinstance(answer, Mapping):
        message = text_or_number(field(answer, "Message")).strip()
        if message:
            texts.append(message)
        candidates = [answer, *(v for v in answer.values() if isinstance(v, Mapping))]
        for candidate in candidates:
            for code, info in reasons(candidate):
                if code:
                    codes.append(code)
                texts.append(f"{code} {info}".strip() if code else info)
    details = "; ".join(text for text in texts if text) or _("no reason given")
    values = {"operation": operation, "status": status, "details": details}
    kwargs: dict[str, Any] = {"status_code": status, "codes": tuple(codes)}
    error: ProviderError
    if status in (401, 403) or CONFIGURATION_CODES.intersection(codes):
        error = ProviderConfigurationError(
            _(
                "Smart2Pay refused our credentials while %(operation)s (HTTP %(status)s: "
                "%(details)s). Check SITE_ID, API_KEY and ENVIRONMENT: test credentials "
                "work only with ENVIRONMENT 'test' (paytest.smart2pay.com), live ones only "
                "with 'live', and the site must be active in the merchant dashboard."
            )
            % values,
            **kwargs,
        )
    elif not force_rejection and (HttpClient.outcome_is_unknown(status) or status < 400):
        error = OutcomeUnknown(
            _(
                "Smart2Pay answered HTTP %(status)s while %(operation)s (%(details)s); the "
                "outcome is unknown and will be reconciled."
            )
            % values,
            **kwargs,
        )
    elif status == 404:
        error = ProviderRejected(
            _("Smart2Pay found nothing while %(operation)s (HTTP 404: %(details)s).") % values,
            **kwargs,
        )
    else:
        error = ProviderRejected(
            _("Smart2Pay rejected the request while %(operation)s (HTTP %(status)s): %(details)s.")
            % values,
            **kwargs,
        )
    raise error
