"""Where a customer may be sent after paying: the rule against open redirects.

A ``success_url`` or ``failure_url`` comes from the shop's code, and shops
often fill it from a request (``?next=``). Sent on blindly, it would let
anyone craft a link to this site that lands the customer on a phishing page
right after a real payment. So every such URL is either a path on this site
or an http(s) URL on a host the project trusts: ``ALLOWED_HOSTS`` (without
its ``"*"`` wildcard) and ``KAKAOPAY["ALLOWED_REDIRECT_HOSTS"]``.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpResponseRedirect
from django.http.request import validate_host
from django.utils.translation import gettext as _

from .conf import get_setting


def allowed_redirect_hosts() -> list[str]:
    """Hosts that absolute success and failure URLs may point to."""
    # "*" in ALLOWED_HOSTS (common behind a proxy) trusts every Host header;
    # it must not make every site a valid place to send paying customers.
    own = [host for host in settings.ALLOWED_HOSTS if host != "*"]
    extra = [*get_setting("ALLOWED_REDIRECT_HOSTS"), *get_setting("API_ALLOWED_REDIRECT_HOSTS")]
    return [*extra, *own]


def redirect_problem(value: str) -> str | None:
    """Why ``value`` may not be a success or failure URL, or ``None`` if it may."""
    if not value:
        return None
    if any(ch.isspace() or not ch.isprintable() for ch in value) or "\\" in value:
        return _("Enter a URL without spaces or backslashes.")
    try:
        parts = urlsplit(value)
        host = parts.hostname
        _port = parts.port  # an unreadable port ("https://shop:80:90/") raises too
    except ValueError:  # a bracketed host that is no IP address: "https://[evil.example]/"
        return _("Enter a valid URL.")
    if "@" in parts.netloc:
        # "https://evil.example@shop/" reads to a person as evil.example.
        return _("Enter a URL without a user name or password.")
    if not parts.scheme and not parts.netloc:
        if not value.startswith("/") or value.startswith("//"):
            return _("Enter an absolute URL or a path starting with a single '/'.")
        return None
    if parts.scheme not in ("http", "https") or not host:
        return _("Only http and https URLs are allowed.")
    if not validate_host(host, allowed_redirect_hosts()):
        return _(
            "The host %(host)s is not allowed. Add it to "
            'KAKAOPAY["ALLOWED_REDIRECT_HOSTS"] or use a path on this site.'
        ) % {"host": host}
    return None


def is_safe_redirect(value: str) -> bool:
    """Whether a stored URL may still be redirected to (the rule may have tightened since)."""
    return bool(value) and redirect_problem(value) is None


class ProviderLinkRedirect(HttpResponseRedirect):
    """A redirect to the link a provider gave for its payment page.

    Django's redirect allows http, https and ftp; a wallet's app link
    (``kakaotalk://``, ``intent://``) is allowed only when the backend
    declares its scheme, and ftp never. Anything else raises
    :class:`~django.core.exceptions.DisallowedRedirect`.
    """

    def __init__(self, url: str, app_schemes: Iterable[str] = ()) -> None:
        self.allowed_schemes = ["http", "https", *sorted(app_schemes)]
        super().__init__(url)
