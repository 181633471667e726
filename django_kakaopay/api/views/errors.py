"""The API's answers for what the services refuse or cannot reach."""

from __future__ import annotations

from rest_framework import status
from rest_framework.exceptions import APIException, ValidationError

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
