"""The page that starts a payment or an agreement in a provider's browser SDK.

Some providers (PortOne) create the payment in the customer's browser: the
checkout view then renders a page of ours whose script calls the SDK with
the payment's values, instead of redirecting. The values are built the way
``start_payment`` builds them, so the page and the server agree on what is
being paid; the return view still proves the outcome with the provider.
"""

from __future__ import annotations

from django.http import HttpRequest

from ..backends.types import BrowserCheckout
from ..conf import get_backend
from ..models import Payment, Preapproval
from .payments import payment_request_for
from .preapprovals import preapproval_request_for


def browser_checkout(obj: Payment | Preapproval, request: HttpRequest) -> BrowserCheckout | None:
    """The SDK page for ``obj``, or ``None`` when its backend redirects instead."""
    backend = get_backend(obj.backend)
    if not backend.starts_in_browser:
        return None
    if isinstance(obj, Payment):
        return backend.browser_checkout(payment_request_for(obj, request))
    return backend.browser_checkout(preapproval_request_for(obj, request))
