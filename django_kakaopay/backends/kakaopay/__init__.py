"""KakaoPay's own Online Payment API: one-time payments, partial cancels and subscriptions.

The merchant's CID and secret key come from the KakaoPay developer center.
A payment is prepared (``ready``), the customer approves it at KakaoPay and
comes back with a ``pg_token``, and our ``approve`` call is the proof of
payment. There are no notifications: the outcome comes from the return and
from pulling ``order`` (``kakaopay_reconcile``).

Where to look:

``options.py``
    the options (``KAKAOPAY["BACKENDS"][alias]["OPTIONS"]``) and their checks;
``client.py``
    calling the API, and what each error answer means;
``payment_request.py``
    the ``ready`` body, the return URLs and the customer's redirect;
``payments.py``
    preparing, approving, pulling and cancelling payments;
``subscriptions.py``
    agreements (SIDs) made by a first payment, and their charges;
``maps.py``
    KakaoPay's statuses and amounts, and ours for each;
``backend.py``
    :class:`KakaoPayBackend`, which hands each method of the contract to the above.
"""

from .backend import KakaoPayBackend
from .maps import ORDER_STATUS_MAP, map_order_status

__all__ = ["ORDER_STATUS_MAP", "KakaoPayBackend", "map_order_status"]
