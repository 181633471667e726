"""The ``Idempotency-Key`` header of the API's POST requests.

Rules (see docs/api.md):

* The key is at most 255 printable ASCII characters; an empty one is no key.
* The key is scoped to the caller: the user's id, or the session for
  anonymous callers. Two callers may use the same key independently.
* The first request with a key inserts an :class:`IdempotencyRecord` (unique
  per scope and key) and commits it *before* doing the work, then stores the
  response it returns. A later request with the same key and the same body
  (same method, path and canonical JSON) gets that response again, with the
  header ``Idempotent-Replayed: true``, and nothing is done twice.
* The same key with a different body is refused with 422.
* A request that arrives while the first one is still running waits for it
  (``KAKAOPAY["API_IDEMPOTENCY_WAIT"]`` seconds) and then replays its response;
  if the first is still running after that, it gets 409 and may retry.
* A request that ends in an error raised before a response was built
  (validation, a missing object, a server error) leaves no record, so the key
  may be used again once the request is fixed.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

from ..conf import get_setting
from ..models import IdempotencyRecord

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
#: What a key may hold: printable ASCII, spaces included (the schema's pattern).
KEY_PATTERN = r"^[ -~]*$"
POLL_SECONDS = 0.05


class IdempotencyKeyMismatch(APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "idempotency_key_reused"

    def __init__(self) -> None:
        super().__init__(
            _(
                "This Idempotency-Key was already used with a different request. "
                "Use a new key for a new request."
            )
        )


class IdempotencyInProgress(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "idempotency_in_progress"

    def __init__(self) -> None:
        super().__init__(
            _(
                "A request with this Idempotency-Key is still being processed. "
                "Retry in a moment to get its response."
            )
        )


def caller_scope(request: Request) -> str:
    """``user:<pk>`` for a signed-in caller, else ``session:<key>`` (created if needed)."""
    user = request.user
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    session = request._request.session
    if not session.session_key:
        session.save()
    return f"session:{session.session_key}"


def request_hash(request: Request) -> str:
    """SHA-256 of the method, path and body as canonical JSON (sorted keys)."""
    payload = {"method": request.method, "path": request.path, "body": request.data}
    canonical = json.dumps(
        payload, sort_keys=True, separators=(",", ":"), ensure_ascii=True, cls=JSONEncoder
    )
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def _replay(record: IdempotencyRecord) -> Response:
    response = Response(record.response_body, status=record.response_status)
    response[REPLAYED_HEADER] = "true"
    return response


def _existing(scope: str, key: str, digest: str) -> Response:
    deadline = time.monotonic() + float(get_setting("API_IDEMPOTENCY_WAIT"))
    while True:
        record = IdempotencyRecord.objects.filter(scope=scope, key=key).first()
        if record is None:
            # The first request failed and released the key: do not run in
            # parallel with its retry; the caller may simply send it again.
            raise IdempotencyInProgress()
        if record.request_hash != digest:
            raise IdempotencyKeyMismatch()
        if not record.in_progress:
            return _replay(record)
        if time.monotonic() >= deadline:
            raise IdempotencyInProgress()
        time.sleep(POLL_SECONDS)


def idempotent(request: Request, handler: Callable[[], Response]) -> Response:
    """Run ``handler`` at most once per (caller, Idempotency-Key, body)."""
    key = request.headers.get(HEADER, "")
    if not key:
        return handler()
    if len(key) > MAX_KEY_LENGTH or not all(" " <= char <= "~" for char in key):
        raise ValidationError(
            {
                HEADER: [
                    _("An Idempotency-Key is at most %(max)d printable ASCII characters.")
                    % {"max": MAX_KEY_LENGTH}
                ]
            }
        )
    scope = caller_scope(request)
    digest = request_hash(request)
    try:
        with transaction.atomic():
            record = IdempotencyRecord.objects.create(
                scope=scope,
                key=key,
                method=request.method or "",
                path=request.path[:2000],
                request_hash=digest,
            )
    except IntegrityError:
        return _existing(scope, key, digest)
    try:
        response = handler()
    except BaseException:
        IdempotencyRecord.objects.filter(pk=record.pk).delete()
        raise
    body: Any = json.loads(json.dumps(response.data, cls=JSONEncoder))
    IdempotencyRecord.objects.filter(pk=record.pk).update(
        response_status=response.status_code, response_body=body, completed_at=timezone.now()
    )
    return response
