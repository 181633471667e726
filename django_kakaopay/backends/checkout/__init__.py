"""Checkout.com: KakaoPay one-time payments through the Payment Setup API.

The flow is the one Checkout.com documents for KakaoPay: create a payment
setup, confirm it with the ``kakaopay`` method and send the customer to the
returned redirect link. The outcome is learnt from a pull when the customer
comes back and from signed webhooks. Refunds may be full or partial.

Where to look:

``options.py``
    the options (``KAKAOPAY["BACKENDS"][alias]["OPTIONS"]``) and their checks;
``client.py``
    calling the API, and what each error answer means;
``payment_request.py``
    the payment setup built for one of our payments;
``payments.py``
    starting, pulling and refunding payments;
``notifications.py``
    authenticating webhooks (``Cko-Signature``) and reading them;
``maps.py``
    Checkout.com's statuses and event types, and ours for each;
``backend.py``
    :class:`CheckoutBackend`, which hands each method of the contract to the above.
"""

from .backend import CheckoutBackend
from .maps import PAYMENT_EVENTS, PAYMENT_STATUS_MAP, REFUND_EVENTS, map_payment_status
from .notifications import sign_webhook

__all__ = [
    "PAYMENT_EVENTS",
    "PAYMENT_STATUS_MAP",
    "REFUND_EVENTS",
    "CheckoutBackend",
    "map_payment_status",
    "sign_webhook",
]
