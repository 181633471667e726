"""What a provider's error answer means: our configuration, an unknown outcome or a refusal.

The rule every backend shares: a 401/403 is a credential we hold wrong; a
5xx, a 408/409/425/429 (or an answer that is no error at all) leaves it
unknown whether the provider acted; any other 4xx is a refusal, safe to
record as failed. A backend that knows a conflict to be definite (PortOne's
"already paid") says so with ``definite``. The sentences are the backend's
own, already translated.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..exceptions import (
    OutcomeUnknown,
    ProviderConfigurationError,
    ProviderError,
    ProviderRejected,
)
from .http import HttpClient


@dataclass(frozen=True)
class ErrorSentences:
    credentials: str
    unknown: str
    refused: str


def error_for(
    status: int,
    sentences: ErrorSentences,
    *,
    codes: tuple[str, ...] = (),
    customer_message: str = "",
    definite: bool = False,
) -> ProviderError:
    """The ``ProviderError`` an error answer with HTTP ``status`` means.

    ``customer_message`` (the provider's words for the customer) is kept on
    a refusal only: a credentials or server error is ours to handle.
    """
    if status in (401, 403):
        return ProviderConfigurationError(sentences.credentials, status_code=status, codes=codes)
    if not definite and (HttpClient.outcome_is_unknown(status) or status < 400):
        return OutcomeUnknown(sentences.unknown, status_code=status, codes=codes)
    return ProviderRejected(
        sentences.refused, status_code=status, codes=codes, customer_message=customer_message
    )
