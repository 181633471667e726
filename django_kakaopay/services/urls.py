"""Absolute URLs handed to providers (return and notification URLs)."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest
from django.urls import reverse

from ..conf import get_setting


def absolute_url(path: str, request: HttpRequest | None = None) -> str:
    if request is not None:
        return request.build_absolute_uri(path)
    site_url = str(get_setting("SITE_URL") or "").rstrip("/")
    if not site_url:
        raise ImproperlyConfigured(
            'Set KAKAOPAY["SITE_URL"] (e.g. "https://shop.example.com") so that return and '
            "notification URLs can be built outside a request."
        )
    return site_url + path


def return_url(token: str, request: HttpRequest | None = None) -> str:
    return absolute_url(reverse("kakaopay:return", args=[token]), request)


def checkout_url(
    token: str, request: HttpRequest | None = None, *, preapproval: bool = False
) -> str:
    """Our checkout page of a payment (or an agreement): where its customer starts paying."""
    name = "kakaopay:preapproval-checkout" if preapproval else "kakaopay:checkout"
    return absolute_url(reverse(name, args=[token]), request)


def notification_url(alias: str, request: HttpRequest | None = None) -> str:
    return absolute_url(reverse("kakaopay:webhook", args=[alias]), request)
