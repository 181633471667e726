"""Outbound HTTP: every call has a connect and a read timeout; failures are unknown outcomes."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
import responses

from django_kakaopay.backends.http import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_READ_TIMEOUT,
    HttpClient,
)
from django_kakaopay.exceptions import OutcomeUnknown, ProviderError

BASE = "https://provider.example"


@responses.activate
def test_every_call_carries_the_connect_and_read_timeouts() -> None:
    responses.add(responses.GET, f"{BASE}/ping", json={"ok": True})
    responses.add(responses.POST, f"{BASE}/payments", json={"id": "p1"}, status=201)
    client = HttpClient(BASE, connect_timeout=2, read_timeout=7)
    assert client.request("GET", "/ping").json() == {"ok": True}
    assert client.request("POST", "payments", json_body={"amount": 11000}).status_code == 201
    assert len(responses.calls) == 2
    for call in responses.calls:
        assert call.request.req_kwargs["timeout"] == (2.0, 7.0)  # type: ignore[attr-defined]


@responses.activate
def test_default_timeouts_are_never_none() -> None:
    responses.add(responses.GET, f"{BASE}/ping")
    client = HttpClient(BASE)
    client.request("GET", "/ping")
    timeout = responses.calls[0].request.req_kwargs["timeout"]  # type: ignore[attr-defined]
    assert timeout == (DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT)
    assert all(isinstance(part, float) and part > 0 for part in timeout)


def test_the_timeout_reaches_the_transport_adapter(monkeypatch: pytest.MonkeyPatch) -> None:
    """Checked below ``responses``: what ``requests`` hands to the connection pool."""
    seen: list[Any] = []

    def send(self: Any, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        seen.append(kwargs.get("timeout"))
        response = requests.Response()
        response.status_code = 204
        response._content = b""
        response.request = request
        return response

    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", send)
    answer = HttpClient(BASE, connect_timeout=3, read_timeout=11).request("DELETE", "/x")
    assert answer.status_code == 204
    assert seen == [(3.0, 11.0)]


@responses.activate
def test_request_shape() -> None:
    captured: list[requests.PreparedRequest] = []

    def callback(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        captured.append(request)
        return 200, {"X-Request-Id": "req_1"}, json.dumps({"status": "ok"})

    responses.add_callback(responses.POST, f"{BASE}/v1/payments", callback=callback)
    client = HttpClient(f"{BASE}/v1/", default_headers={"Authorization": "Bearer sk_test"})
    answer = client.request(
        "POST", "/payments", json_body={"amount": 11000}, headers={"Idempotency-Key": "k1"}
    )
    assert answer.json() == {"status": "ok"}
    assert answer.headers["X-Request-Id"] == "req_1"
    sent = captured[0]
    assert sent.url == f"{BASE}/v1/payments"
    assert json.loads(sent.body or b"") == {"amount": 11000}
    assert sent.headers["Idempotency-Key"] == "k1"
    assert sent.headers["Authorization"] == "Bearer sk_test"
    assert sent.headers["User-Agent"].startswith("django-kakaopay/")


@responses.activate
def test_an_absolute_url_is_used_as_is() -> None:
    responses.add(responses.GET, "https://other.example/status")
    HttpClient(BASE).request("GET", "https://other.example/status")
    assert responses.calls[0].request.url == "https://other.example/status"


@pytest.mark.parametrize(
    "failure",
    [
        requests.ConnectTimeout("connect timed out"),
        requests.ReadTimeout("read timed out"),
        requests.Timeout("timed out"),
        requests.ConnectionError("connection reset"),
    ],
    ids=lambda exc: type(exc).__name__,
)
@responses.activate
def test_transport_failures_mean_the_outcome_is_unknown(failure: Exception) -> None:
    responses.add(responses.POST, f"{BASE}/payments", body=failure)
    with pytest.raises(OutcomeUnknown) as caught:
        HttpClient(BASE).request("POST", "/payments", json_body={})
    assert isinstance(caught.value, ProviderError)
    assert "POST /payments" in str(caught.value)
    assert "outcome is unknown" in str(caught.value)
    assert caught.value.__cause__ is failure


@responses.activate
def test_an_error_status_is_returned_not_raised() -> None:
    """The backend decides what a 4xx/5xx means; the client only reports it."""
    responses.add(responses.POST, f"{BASE}/payments", status=503, body=b"busy")
    answer = HttpClient(BASE).request("POST", "/payments", json_body={})
    assert answer.status_code == 503
    assert answer.body == b"busy"
    assert HttpClient.outcome_is_unknown(answer.status_code)


@pytest.mark.parametrize(
    ("status", "unknown"),
    [
        (200, False),
        (201, False),
        (400, False),
        (401, False),
        (403, False),
        (404, False),
        (422, False),
        (408, True),
        (409, True),
        (425, True),
        (429, True),
        (500, True),
        (502, True),
        (503, True),
        (504, True),
    ],
)
def test_which_answers_leave_the_outcome_unknown(status: int, unknown: bool) -> None:
    assert HttpClient.outcome_is_unknown(status) is unknown


def test_an_empty_body_is_no_json() -> None:
    from django_kakaopay.backends.http import HttpResponse

    assert HttpResponse(204, {}, b"").json() is None
