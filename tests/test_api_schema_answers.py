"""Every answer the API gives is one the committed schema documents, with its body.

Each error the schema lists (400, 401, 403, 404, 406, 409, 415, 422, 429,
502) is provoked over HTTP and validated against docs/api/openapi.yaml with
schemathesis' response validation; every error of a URL under the API's
prefix is JSON, and ``Accept: text/html`` never makes the API fail, with or
without the browsable API.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
import yaml
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Permission, User
from django.core.cache import cache
from django.test import Client, modify_settings, override_settings
from rest_framework.authentication import BasicAuthentication, SessionAuthentication

from django_kakaopay.api.views import KakaoPayViewSet
from django_kakaopay.backends.sandbox import SandboxBackend
from django_kakaopay.exceptions import ProviderConfigurationError, ProviderRejected
from django_kakaopay.models import IdempotencyRecord, Payment
from tests.helpers import active_preapproval, paid_payment, started_payment
from tests.test_api import SCHEMA_PATH
from tests.test_api_schemathesis import loopback_server

PREFIX = "/kakaopay/api"
PASSWORD = "answers-pw"
BODY = {"amount": 11000, "currency": "KRW", "description": "Wireless headphones"}


class BrokenBackend(SandboxBackend):
    """The provider fails in a way that is neither a refusal nor a timeout."""

    def create_payment(self, request: Any) -> Any:
        raise ProviderConfigurationError("The merchant account is misconfigured.")

    def create_preapproval(self, request: Any) -> Any:
        raise ProviderConfigurationError("The merchant account is misconfigured.")


class StubbornBackend(SandboxBackend):
    """The provider refuses to end an agreement."""

    def cancel_preapproval(self, ref: Any) -> Any:
        raise ProviderRejected("cancel_refused", status_code=400)


def kakaopay(**changes: Any) -> dict[str, Any]:
    value: dict[str, Any] = {**settings.KAKAOPAY, "API_CREATE_RATE": None, **changes}
    value["BACKENDS"] = {
        **settings.KAKAOPAY["BACKENDS"],
        "broken": {"BACKEND": f"{__name__}.BrokenBackend", "OPTIONS": {}},
        "stubborn": {"BACKEND": f"{__name__}.StubbornBackend", "OPTIONS": {}},
    }
    return value


@pytest.fixture(scope="module")
def schema() -> Any:
    raw = yaml.safe_load(SCHEMA_PATH.read_text(encoding="utf-8"))
    return schemathesis.openapi.from_dict(raw)


class Api:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def call(
        self, method: str, path: str, user: str | None = "customer", **kwargs: Any
    ) -> requests.Response:
        auth = (user, PASSWORD) if user else None
        return requests.request(
            method, self.base_url + PREFIX + path, auth=auth, timeout=30, **kwargs
        )


@pytest.fixture
def api(transactional_db: None) -> Iterator[Api]:
    User.objects.create_user("customer")
    User.objects.create_user("jisoo")
    staff = User.objects.create_user("staff", is_staff=True)
    codenames = ["refund_payment", "charge_preapproval", "view_payment", "view_preapproval"]
    staff.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    hashers = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with override_settings(PASSWORD_HASHERS=hashers, KAKAOPAY=kakaopay()), loopback_server() as url:
        User.objects.update(password=make_password(PASSWORD))
        yield Api(url)


def documented(schema: Any, template: str, method: str, response: requests.Response) -> Any:
    """``response`` is one the schema lists for the operation, and its body conforms."""
    operation = schema[PREFIX + template][method]
    listed = operation.definition.raw["responses"]
    assert str(response.status_code) in listed, (response.status_code, response.text)
    assert response.headers["Content-Type"] == "application/json", response.text
    operation.validate_response(response)
    for name, header in listed[str(response.status_code)].get("headers", {}).items():
        if name in response.headers and header["schema"].get("type") == "integer":
            assert response.headers[name].isdigit(), (name, response.headers[name])
    return response.json()


def test_list_answers(api: Api, schema: Any) -> None:
    started_payment(user=User.objects.get(username="customer"))
    for query, status in (
        ("", 200),
        ("?page_size=1&page=1", 200),
        ("?status=bogus", 400),
        ("?page_size=0", 400),
        ("?page_size=101", 400),
        ("?page_size=ten", 400),
        ("?page=2", 404),
        ("?page=0", 404),
        ("?page=last", 404),
    ):
        response = api.call("GET", "/payments/" + query)
        assert response.status_code == status, (query, response.text)
        documented(schema, "/payments/", "GET", response)
    assert "page_size" in api.call("GET", "/payments/?page_size=0").json()


def test_anonymous_and_unacceptable_answers(api: Api, schema: Any) -> None:
    anonymous = api.call("GET", "/payments/", user=None)
    assert anonymous.status_code == 403  # session authentication comes first
    documented(schema, "/payments/", "GET", anonymous)
    wrong = api.call("POST", "/payments/", user="nobody", json=BODY)
    assert wrong.status_code == 403
    documented(schema, "/payments/", "POST", wrong)
    html_only = api.call("GET", "/payments/", headers={"Accept": "text/html"})
    assert html_only.status_code == 406
    documented(schema, "/payments/", "GET", html_only)


def test_basic_authentication_first_answers_401_with_its_challenge(
    api: Api, schema: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # DRF reads DEFAULT_AUTHENTICATION_CLASSES into the views when they are defined.
    classes = [BasicAuthentication, SessionAuthentication]
    monkeypatch.setattr(KakaoPayViewSet, "authentication_classes", classes)
    response = api.call("GET", "/payments/", user=None)
    wrong = api.call("POST", "/preapprovals/", user="nobody", json={})
    for template, method, answer in (
        ("/payments/", "GET", response),
        ("/preapprovals/", "POST", wrong),
    ):
        assert answer.status_code == 401
        assert answer.headers["WWW-Authenticate"].startswith("Basic")
        documented(schema, template, method, answer)


def test_create_answers(api: Api, schema: Any) -> None:
    created = api.call("POST", "/payments/", json=BODY, headers={"Idempotency-Key": "k-1"})
    assert created.status_code == 201
    documented(schema, "/payments/", "POST", created)
    replayed = api.call("POST", "/payments/", json=BODY, headers={"Idempotency-Key": "k-1"})
    assert replayed.headers["Idempotent-Replayed"] == "true"
    documented(schema, "/payments/", "POST", replayed)
    cases: list[tuple[dict[str, Any], int]] = [
        ({"json": {**BODY, "amount": 0, "customer": {"email": "x"}}}, 400),
        ({"json": {**BODY, "items": [{"name": " ", "unit_price": 0}]}}, 400),
        ({"json": {**BODY, "description": 12}}, 400),
        ({"data": "{not json", "headers": {"Content-Type": "application/json"}}, 400),
        ({"json": BODY, "headers": {"Idempotency-Key": "é"}}, 400),
        ({"json": BODY, "headers": {"Idempotency-Key": "k" * 256}}, 400),
        ({"data": {"amount": "11000"}}, 415),
        ({"json": {**BODY, "amount": 12000}, "headers": {"Idempotency-Key": "k-1"}}, 422),
    ]
    for kwargs, status in cases:
        response = api.call("POST", "/payments/", **kwargs)
        assert response.status_code == status, (kwargs, response.text)
        documented(schema, "/payments/", "POST", response)
    IdempotencyRecord.objects.update(response_status=None)
    with override_settings(KAKAOPAY=kakaopay(API_IDEMPOTENCY_WAIT=0)):
        busy = api.call("POST", "/payments/", json=BODY, headers={"Idempotency-Key": "k-1"})
    assert busy.status_code == 409
    documented(schema, "/payments/", "POST", busy)


def test_the_create_limit_answers_429_with_retry_after(api: Api, schema: Any) -> None:
    cache.clear()
    with override_settings(KAKAOPAY=kakaopay(API_CREATE_RATE="1/minute")):
        assert api.call("POST", "/preapprovals/", json={}).status_code == 201
        limited = api.call("POST", "/preapprovals/", json={})
        other = api.call("POST", "/payments/", json=BODY)
    for template, response in (("/preapprovals/", limited), ("/payments/", other)):
        assert response.status_code == 429
        assert 0 < int(response.headers["Retry-After"]) <= 60
        documented(schema, template, "POST", response)
    cache.clear()


def test_provider_failures_answer_502_with_the_stored_object(api: Api, schema: Any) -> None:
    payment = api.call("POST", "/payments/", json={**BODY, "backend": "broken"})
    assert payment.status_code == 502
    assert documented(schema, "/payments/", "POST", payment)["payment"]["backend"] == "broken"
    agreement = api.call("POST", "/preapprovals/", json={"backend": "broken"})
    assert agreement.status_code == 502
    documented(schema, "/preapprovals/", "POST", agreement)
    active = active_preapproval(user=User.objects.get(username="customer"), backend="stubborn")
    canceled = api.call("POST", f"/preapprovals/{active.pk}/cancel/")
    assert canceled.status_code == 502
    documented(schema, "/preapprovals/{id}/cancel/", "POST", canceled)


def test_refund_and_charge_answers(api: Api, schema: Any) -> None:
    customer = User.objects.get(username="customer")
    paid = paid_payment(user=customer)
    pending = started_payment(user=customer)
    refunds = f"/payments/{paid.pk}/refunds/"
    template = "/payments/{id}/refunds/"
    for user, path, body, status in (
        ("customer", refunds, {}, 403),
        ("staff", f"/payments/{pending.pk}/refunds/", {}, 409),
        ("staff", refunds, {"amount": 10**12 + 1}, 400),
        ("staff", refunds, {"amount": 5000}, 201),
        ("staff", refunds, {"amount": 20000}, 409),
        ("staff", "/payments/6f1c2a34-9b1e-4c53-8f0a-2d6e4b7c9a10/refunds/", {}, 404),
    ):
        response = api.call("POST", path, user=user, json=body)
        assert response.status_code == status, (path, body, response.text)
        documented(schema, template, "POST", response)
    listed = api.call("GET", refunds)
    assert [row["amount"] for row in documented(schema, template, "GET", listed)] == [5000]

    agreement = active_preapproval(user=customer, max_amount=11000)
    charges = f"/preapprovals/{agreement.pk}/charges/"
    november = {"amount": 11000, "billing_period": "2026-11"}
    for user, body, status in (
        ("customer", november, 403),
        ("staff", {"amount": 11000, "billing_period": " "}, 400),
        ("staff", {"amount": 20000, "billing_period": "2026-12"}, 400),
        ("staff", november, 201),
        ("staff", november, 200),
    ):
        response = api.call("POST", charges, user=user, json=body)
        assert response.status_code == status, (body, response.text)
        documented(schema, "/preapprovals/{id}/charges/", "POST", response)
    canceled = api.call("POST", f"/preapprovals/{agreement.pk}/cancel/")
    assert canceled.status_code == 200
    documented(schema, "/preapprovals/{id}/cancel/", "POST", canceled)
    late = api.call("POST", charges, user="staff", json={"amount": 1000, "billing_period": "x"})
    assert late.status_code == 409
    documented(schema, "/preapprovals/{id}/charges/", "POST", late)
    for path in (f"/preapprovals/{agreement.pk}/", f"/payments/{paid.pk}/"):
        template = path.replace(str(agreement.pk), "{id}").replace(str(paid.pk), "{id}")
        for query, status in (("", 200), ("?sync=1", 200), ("?sync=maybe", 200)):
            response = api.call("GET", path + query)
            assert response.status_code == status
            documented(schema, template, "GET", response)
        response = api.call("GET", path, user="jisoo")
        assert response.status_code == 404
        documented(schema, template, "GET", response)


# -- JSON everywhere under the prefix -------------------------------------------------------


NOT_FOUND = {"detail": "Not found."}


@pytest.mark.parametrize(
    "path",
    [
        "/payments/0.5/",
        "/payments/0.5/refunds/",
        "/preapprovals/0.5/cancel/",
        "/payments/6f1c2a34-9b1e-4c53-8f0a-2d6e4b7c9a10/nope/",
        "/nope/",
        "/",
        "/payments/6f1c2a34-9b1e-4c53-8f0a-2d6e4b7c9a10/refunds/extra",
    ],
)
@pytest.mark.parametrize("method", ["get", "post", "delete"])
def test_unknown_paths_under_the_prefix_answer_json_404(db: None, path: str, method: str) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(User.objects.create_user("minji"))
    response = getattr(client, method)(PREFIX + path, HTTP_ACCEPT="text/html")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == NOT_FOUND


def test_an_endpoint_without_its_slash_is_redirected_to_it(db: None) -> None:
    response = Client().get(PREFIX + "/payments?page=2")
    assert response.status_code == 301
    assert response["Location"] == PREFIX + "/payments/?page=2"
    assert Client().post(PREFIX + "/payments").json() == NOT_FOUND
    with override_settings(APPEND_SLASH=False):
        assert Client().get(PREFIX + "/payments").json() == NOT_FOUND


# -- Accept: text/html, with and without the browsable API ----------------------------------


def api_urls() -> list[tuple[str, str, dict[str, Any] | None]]:
    customer = User.objects.get(username="minji")
    payment = paid_payment(user=customer)
    agreement = active_preapproval(user=customer)
    return [
        ("get", "/payments/", None),
        ("get", "/payments/?status=bogus", None),
        ("get", "/payments/?page=9", None),
        ("post", "/payments/", BODY),
        ("post", "/payments/", {"amount": 0}),
        ("get", f"/payments/{payment.pk}/", None),
        ("get", f"/payments/{payment.pk}/?sync=1", None),
        ("get", f"/payments/{payment.pk}/refunds/", None),
        ("post", f"/payments/{payment.pk}/refunds/", {"amount": 1000}),
        ("get", "/payments/6f1c2a34-9b1e-4c53-8f0a-2d6e4b7c9a10/", None),
        ("post", "/preapprovals/", {}),
        ("get", f"/preapprovals/{agreement.pk}/", None),
        ("post", f"/preapprovals/{agreement.pk}/charges/", {"amount": 1000}),
        ("post", f"/preapprovals/{agreement.pk}/cancel/", None),
        ("get", "/payments/0.5/", None),
        ("delete", "/payments/", None),
    ]


def request_html(client: Client, method: str, path: str, body: dict[str, Any] | None) -> Any:
    kwargs: dict[str, Any] = {"HTTP_ACCEPT": "text/html"}
    if body is not None:
        kwargs.update(data=json.dumps(body), content_type="application/json")
    return getattr(client, method)(PREFIX + path, **kwargs)


@pytest.fixture
def browser(db: None) -> Client:
    client = Client()
    client.force_login(User.objects.create_user("minji"))
    return client


def test_without_rest_framework_installed_the_api_answers_json(browser: Client) -> None:
    assert "rest_framework" not in settings.INSTALLED_APPS
    with override_settings(KAKAOPAY=kakaopay()):
        for method, path, body in api_urls():
            response = request_html(browser, method, path, body)
            assert response.status_code < 500, (method, path)
            assert response["Content-Type"] == "application/json", (method, path)
        # What a browser sends: HTML first, anything else after it.
        accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
        response = browser.get(PREFIX + "/payments/", HTTP_ACCEPT=accept)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"


@modify_settings(INSTALLED_APPS={"append": "rest_framework"})
def test_with_rest_framework_installed_html_is_the_browsable_api(browser: Client) -> None:
    with override_settings(KAKAOPAY=kakaopay()):
        for method, path, body in api_urls():
            response = request_html(browser, method, path, body)
            assert response.status_code < 500, (method, path)
            if path.startswith("/payments/0.5/"):
                assert response["Content-Type"] == "application/json"
        page = browser.get(PREFIX + "/payments/", HTTP_ACCEPT="text/html")
    assert page.status_code == 200
    assert page["Content-Type"].startswith("text/html")
    assert b"Django REST framework" in page.content


def test_projects_may_keep_the_api_json_only(browser: Client) -> None:
    renderers = {"DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]}
    with (
        modify_settings(INSTALLED_APPS={"append": "rest_framework"}),
        override_settings(REST_FRAMEWORK=renderers),
    ):
        response = browser.get(PREFIX + "/payments/", HTTP_ACCEPT="text/html")
    assert response.status_code == 406
    assert response["Content-Type"] == "application/json"


# -- docs/api.md says the same ----------------------------------------------------------

API_PAGE = SCHEMA_PATH.parent.parent / "api.md"


def section(title: str) -> str:
    text = API_PAGE.read_text(encoding="utf-8")
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def test_the_error_table_of_the_docs_matches_the_schema() -> None:
    raw = yaml.safe_load(SCHEMA_PATH.read_text(encoding="utf-8"))
    expected = {}
    for path, operations in raw["paths"].items():
        for method, operation in operations.items():
            codes = sorted(operation["responses"])
            endpoint = f"{method.upper()} {path.removeprefix(PREFIX + '/')}"
            expected[endpoint] = (
                [code for code in codes if code.startswith("2")],
                [code for code in codes if not code.startswith("2")],
            )
    documented: dict[str, tuple[list[str], list[str]]] = {}
    for line in section("Errors").splitlines():
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`"):
            documented[cells[0].strip("`")] = (cells[1].split(", "), cells[2].split(", "))
    assert documented == expected
    statuses = {code for _, errors in expected.values() for code in errors}
    described = {
        line.split("|")[1].strip()
        for line in section("Errors").splitlines()
        if line.startswith("| 4") or line.startswith("| 5")
    }
    assert described == statuses


def http_blocks(text: str) -> list[tuple[str, str, dict[str, str], Any]]:
    """The ``http`` blocks of ``text``: method, path, headers and JSON body."""
    blocks = []
    for block in text.split("```http")[1:]:
        lines = [line.strip() for line in block.split("```")[0].strip().splitlines()]
        method, path = lines[0].split()
        blank = lines.index("") if "" in lines else len(lines)
        headers = dict(line.split(": ", 1) for line in lines[1:blank])
        body = " ".join(lines[blank + 1 :])
        blocks.append((method, path, headers, json.loads(body) if body else None))
    return blocks


def test_the_documented_mobile_app_flow_works(db: None) -> None:
    (create_method, create_path, headers, body), (_, status_path, _, _) = http_blocks(
        section("A mobile-app flow")
    )
    app = Client()
    app.force_login(User.objects.create_user("minji"))
    key = {"HTTP_IDEMPOTENCY_KEY": headers["Idempotency-Key"]}
    created = app.generic(
        create_method, create_path, json.dumps(body), content_type="application/json", **key
    )
    assert created.status_code == 201, created.content
    payment = created.json()
    assert (payment["terminal_type"], payment["status"]) == ("app", "pending")
    assert app.get(payment["redirect_url"]).status_code == 200
    back = app.post(payment["redirect_url"], {"action": "approve"})
    assert back.status_code == 302
    final = app.get(back["Location"])
    assert (final.status_code, final["Location"]) == (302, body["success_url"])
    status_url = status_path.replace("6f1c2a34-9b1e-4c53-8f0a-2d6e4b7c9a10", payment["id"])
    assert status_url.endswith("/?sync=1")
    assert app.get(status_url).json()["status"] == "paid"
    again = app.generic(
        create_method, create_path, json.dumps(body), content_type="application/json", **key
    )
    assert again.json()["id"] == payment["id"]
    assert again["Idempotent-Replayed"] == "true"
    assert Payment.objects.count() == 1
