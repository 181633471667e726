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
from django.utils.translation import gettext as _

from .. import __version__
from ..exceptions import OutcomeUnknown

DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_READ_TIMEOUT = 30.0

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
