"""Outbound HTTP shared by provider backends.

Every call has a connect and a read timeout. Transport failures become
``OutcomeUnknown`` because a request that timed out may still have been
carried out by the provider; callers reconcile instead of failing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests
from django.utils.functional import Promise
from django.utils.translation import gettext as _

from .. import __version__
from ..exceptions import OutcomeUnknown
from .readers import positive_number

DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_READ_TIMEOUT = 30.0
# The options every remote backend offers for its client, in seconds.
TIMEOUT_OPTIONS = ("CONNECT_TIMEOUT", "READ_TIMEOUT")
# Where an unconfigured backend's client points: a reserved name that never
# resolves, so a call that slips past the configuration check cannot reach anyone.
UNCONFIGURED_URL = "https://unconfigured.invalid"

# Answers whose outcome is undecided: the provider may have acted.
UNKNOWN_OUTCOME_STATUSES = frozenset({408, 409, 425, 429})


@dataclass(frozen=True)
class HttpResponse:
    status_code: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        import json

        return json.loads(self.body.decode("utf-8")) if self.body else None


class HttpClient:
    """A thin ``requests`` wrapper with mandatory timeouts and a pooled session."""

    def __init__(
        self,
        base_url: str,
        *,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
        default_headers: Mapping[str, str] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = (float(connect_timeout), float(read_timeout))
        self.session = requests.Session()
        self.session.headers.update(
            {"User-Agent": f"django-kakaopay/{__version__}", "Accept": "application/json"}
        )
        if default_headers:
            self.session.headers.update(default_headers)

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> HttpResponse:
        url = path if path.startswith("http") else f"{self.base_url}/{path.lstrip('/')}"
        try:
            response = self.session.request(
                method, url, json=json_body, headers=dict(headers or {}), timeout=self.timeout
            )
        except requests.Timeout as exc:
            raise OutcomeUnknown(
                _("%(request)s timed out; the outcome is unknown.")
                % {"request": f"{method} {path}"}
            ) from exc
        except requests.ConnectionError as exc:
            raise OutcomeUnknown(
                _("%(request)s could not complete (connection error); the outcome is unknown.")
                % {"request": f"{method} {path}"}
            ) from exc
        return HttpResponse(response.status_code, dict(response.headers), response.content)

    @staticmethod
    def outcome_is_unknown(status_code: int) -> bool:
        return status_code >= 500 or status_code in UNKNOWN_OUTCOME_STATUSES


def timeout_problems(options: Mapping[str, Any]) -> list[str]:
    """Problems with ``CONNECT_TIMEOUT`` and ``READ_TIMEOUT``, as system check sentences."""
    return [
        f"{name} must be a positive number of seconds"
        for name in TIMEOUT_OPTIONS
        if name in options and not positive_number(options[name])
    ]


def client_from_options(
    base_url: str, options: Mapping[str, Any], *, default_headers: Mapping[str, str]
) -> HttpClient:
    """The client of a backend: its timeouts from ``options`` (defaults where unreadable)."""
    connect = options.get("CONNECT_TIMEOUT", DEFAULT_CONNECT_TIMEOUT)
    read = options.get("READ_TIMEOUT", DEFAULT_READ_TIMEOUT)
    return HttpClient(
        base_url or UNCONFIGURED_URL,
        connect_timeout=float(connect) if positive_number(connect) else DEFAULT_CONNECT_TIMEOUT,
        read_timeout=float(read) if positive_number(read) else DEFAULT_READ_TIMEOUT,
        default_headers=default_headers,
    )


def unreadable_answer(
    response: HttpResponse, operation: str, message: Promise, *, request_id: str = ""
) -> OutcomeUnknown:
    """The error for a success answer whose body cannot be read: the provider may have acted.

    ``message`` is the backend's own lazy sentence with ``%(status)s`` and
    ``%(operation)s``, translated in the language active now.
    """
    return OutcomeUnknown(
        str(message) % {"status": response.status_code, "operation": operation},
        status_code=response.status_code,
        request_id=request_id,
    )
