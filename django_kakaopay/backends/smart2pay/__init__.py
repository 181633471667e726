"""Smart2Pay (Nuvei APM, "GlobalPay"): KakaoPay payments and auto-debit agreements.

KakaoPay is Smart2Pay's payment method 1135. The backend speaks Smart2Pay's
REST API (``/v1/...``) with HTTP Basic authentication on every call:
preapprovals (auto-debit agreements) the customer confirms on KakaoPay's
page, recurring charges on an open preapproval, one-time payments with a
redirect, refunds (partial ones after checking the payment's refund types),
and notifications to ``kakaopay/webhooks/<alias>/``, authenticated by the
same ``Authorization`` header and answered with ``204 No Content``.

Where to look:

``options.py``
    the options (``KAKAOPAY["BACKENDS"][alias]["OPTIONS"]``) and their checks;
``client.py``
    calling the API, what each error answer means, and our ids in its calls;
``payments.py``
    the payment request, starting a payment and pulling it;
``refunds.py``
    refunds, full and partial;
``preapprovals.py``
    auto-debit agreements and the recurring charges on them;
``customer.py``
    the customer's name, e-mail and billing country as Smart2Pay takes them;
``notifications.py``
    authenticating notifications (IP allow-list, Basic credentials), their
    inbox key, and reading them;
``maps.py``
    Smart2Pay's statuses and amounts in our terms, and the snapshots of its objects;
``backend.py``
    :class:`Smart2PayBackend`, which hands each method of the contract to the above.

What the reference marks as inferred (the preapproval list filter, the
refund statuses besides 1, 2 and 4, the shape of list answers, ``Amount``
as a number or a string) is parsed defensively; every payload is stored.
"""

from ..auth import basic_authorization
from .backend import Smart2PayBackend
from .client import merchant_id
from .customer import split_name
from .maps import (
    PAYMENT_STATUS_MAP,
    PREAPPROVAL_STATUS_MAP,
    REFUND_STATUS_MAP,
    InexactAmount,
)
from .notifications import parse_notification_time

__all__ = [
    "PAYMENT_STATUS_MAP",
    "PREAPPROVAL_STATUS_MAP",
    "REFUND_STATUS_MAP",
    "InexactAmount",
    "Smart2PayBackend",
    "basic_authorization",
    "merchant_id",
    "parse_notification_time",
    "split_name",
]
