"""Exceptions raised by django-kakaopay.

Messages never contain credentials: backends build them from status codes,
provider error codes and request ids only.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured


class KakaoPayError(Exception):
    """Base class of every error this package raises on purpose."""


class BackendNotFound(KakaoPayError, ImproperlyConfigured):
    """No backend is configured under the given alias."""


class ProviderError(KakaoPayError):
    """The provider answered with an error.

    ``request_id`` and ``codes`` are what the provider said; they are safe to
    show to a merchant and to log.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        request_id: str = "",
        codes: tuple[str, ...] = (),
        customer_message: str = "",
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.request_id = request_id
        self.codes = codes
        # What the provider says the customer may read (a refusal's reason,
        # such as a card limit); empty when it said nothing fit to show.
        self.customer_message = customer_message


class ProviderConfigurationError(ProviderError):
    """The provider refused our credentials (401/403): an option is wrong."""


class ProviderRejected(ProviderError):
    """The provider refused the request itself (validation, business rule).

    The operation definitely did not happen, so it is safe to mark it failed.
    """


class OutcomeUnknown(ProviderError):
    """A timeout, connection error, 409, 429 or 5xx: the request may or may not
    have taken effect. Never treat this as a failure; reconcile later."""


class PreapprovalNotActive(KakaoPayError):
    """A charge was requested on a preapproval that is not active."""


class RefundNotAllowed(KakaoPayError):
    """A refund was requested that the payment cannot take."""


class NotASandbox(KakaoPayError, ValueError):
    """A sandbox-only operation was asked of a backend that moves real money."""


class InvalidPaymentRequest(KakaoPayError, ValueError):
    """A payment or preapproval was started with invalid data."""


class WebhookError(KakaoPayError):
    """Base class for problems with an inbound notification."""


class WebhookAuthenticationError(WebhookError):
    """The notification's signature or credentials are missing or wrong."""

    status_code = 401


class WebhookForbidden(WebhookAuthenticationError):
    """The notification came from a source the backend does not accept."""

    status_code = 403


class WebhookNotReplayable(WebhookError):
    """Only a ``failed`` inbox row can be replayed; this one is in another state."""


class MalformedWebhook(WebhookError):
    """The notification body cannot be understood.

    ``event_id`` is the provider's event id when it could be read, so that
    the stored row keeps the key every delivery of the event shares.
    """

    def __init__(self, message: object = "", *, event_id: str = "") -> None:
        super().__init__(message)
        self.event_id = event_id


class WebhookUnconfirmed(MalformedWebhook):
    """An authenticated notification that is only a hint, whose provider did not answer.

    A backend whose notifications say "look me up" raises it when the
    look-up fails (a timeout, a 5xx): the delivery is kept as failed, can be
    replayed, and the provider is asked to deliver it again.
    """
