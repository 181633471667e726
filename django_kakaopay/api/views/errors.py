"""The API's answers for what the services refuse or cannot reach, and for a URL
under the API's prefix that names nothing."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.urls import Resolver404, resolve
from django.views.decorators.csrf import csrf_exempt
from rest_framework import status
from rest_framework.exceptions import APIException, NotFound, ValidationError

from ...exceptions import InvalidPaymentRequest


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


class ProviderUnavailable(APIException):
    status_code = status.HTTP_502_BAD_GATEWAY
    default_code = "provider_error"


def as_validation_error(exc: InvalidPaymentRequest) -> ValidationError:
    """A request the services refused as a whole: a 400 with no field to blame."""
    return ValidationError({"non_field_errors": [str(exc)]})


@csrf_exempt  # it changes nothing; CSRF's refusal would be an HTML page
def not_found(request: HttpRequest, path: str = "") -> HttpResponse:
    """The API's JSON 404 for any path under its prefix that no endpoint matches
    (``payments/0.5/``: an id the router's pattern refuses), instead of the
    project's HTML page.

    Like Django's ``APPEND_SLASH``, a GET or HEAD of an endpoint without its
    trailing slash is redirected to it (the catch-all matching it stops
    ``CommonMiddleware`` from doing so).
    """
    if (
        settings.APPEND_SLASH
        and request.method in ("GET", "HEAD")
        and not request.path_info.endswith("/")
    ):
        try:
            match = resolve(request.path_info + "/", getattr(request, "urlconf", None))
        except Resolver404:
            match = None
        if match is not None and match.func is not not_found:
            return HttpResponsePermanentRedirect(request.get_full_path(force_append_slash=True))
    return JsonResponse({"detail": str(NotFound.default_detail)}, status=status.HTTP_404_NOT_FOUND)
