"""The test suite's URLs plus a fake PortOne browser SDK and a place it reports its calls to.

Used only by ``test_portone_checkout.py`` (``ROOT_URLCONF`` overridden there).
The live server runs in a thread of the test process, so :data:`RECORDED`
is the same list the test reads.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

FAKE_SDK = Path(__file__).with_name("fake_portone_sdk.js")
SDK_PATH = "/portone-test/browser-sdk.js"
MISSING_SDK_PATH = "/portone-test/no-such-sdk.js"
RECORDED: list[dict[str, Any]] = []


@never_cache
def fake_sdk(request: HttpRequest) -> HttpResponse:
    return HttpResponse(
        FAKE_SDK.read_text(encoding="utf-8"), content_type="text/javascript; charset=utf-8"
    )


@csrf_exempt
def record_call(request: HttpRequest) -> HttpResponse:
    RECORDED.append(json.loads(request.body.decode("utf-8")))
    return HttpResponse(status=204)


urlpatterns = [
    path(SDK_PATH.lstrip("/"), fake_sdk),
    path("portone-test/calls/", record_call),
    path("", include("tests.urls")),
]
