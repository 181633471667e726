"""The REST API (django_kakaopay.api): endpoints, permissions, validation,
idempotency, throttling, the schema and a full sandbox flow through the API only."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.core.cache import cache
from django.db import connection
from django.test import Client, override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from django_kakaopay.models import IdempotencyRecord, Payment, Preapproval, SandboxTransaction
from django_kakaopay.sandbox import provider
from tests.conftest import is_postgres
from tests.helpers import HEADPHONES, active_preapproval, paid_payment, sandbox_settings

API = "/kakaopay/api"
SCHEMA_PATH = Path(__file__).resolve().parent.parent / "docs" / "api" / "openapi.yaml"
SECRET_FIELDS = ("return_token", "idempotency_key", "provider_payload", "last_error", "metadata")

BODY: dict[str, Any] = {
    "amount": 11000,
    "currency": "KRW",
    "reference": "ORD-5023-4E89",
    "description": "Wireless headphones",
    "items": HEADPHONES,
    "customer": {"name": "Kim Minji", "email": "minji@example.com"},
    "success_url": "/shop/done/",
    "failure_url": "/shop/failed/",
}


@pytest.fixture(autouse=True)
def _clear_throttles() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def customer(db: None) -> User:
    return User.objects.create_user("minji", password="pw")


@pytest.fixture
def other(db: None) -> User:
    return User.objects.create_user("jisoo", password="pw")


@pytest.fixture
def staff(db: None) -> User:
    user = User.objects.create_user("staff", password="pw", is_staff=True)
    codenames = ["refund_payment", "charge_preapproval", "view_payment", "view_preapproval"]
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    return User.objects.get(pk=user.pk)


def client_for(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.fixture
def api(customer: User) -> APIClient:
    return client_for(customer)


def create(client: APIClient, key: str | None = None, **changes: Any) -> Any:
    body = {**BODY, **changes}
    body = {name: value for name, value in body.items() if value is not None}
    extra = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post(f"{API}/payments/", body, format="json", **extra)


def approve_at_sandbox(payment_id: str) -> None:
    payment = Payment.objects.get(pk=payment_id)
    tx = SandboxTransaction.objects.get(pk=payment.provider_payment_id)
    provider.decide_payment(tx, "approve")


def paid(client: APIClient, **changes: Any) -> dict[str, Any]:
    response = create(client, **changes)
    assert response.status_code == 201, response.data
    approve_at_sandbox(response.data["id"])
    synced = client.get(f"{API}/payments/{response.data['id']}/?sync=1")
    assert synced.data["status"] == "paid"
    return dict(synced.data)


# -- payments ----------------------------------------------------------------------


def test_create_payment_starts_it_and_returns_the_redirect(api: APIClient, customer: User) -> None:
    response = create(api)
    assert response.status_code == 201, response.data
    data = response.data
    assert data["status"] == "pending"
    assert data["amount"] == 11000
    assert data["amount_display"] == "₩11,000"
    assert data["reference"] == "ORD-5023-4E89"
    assert data["redirect_url"].startswith("http://testserver/kakaopay/sandbox/")
    assert data["customer"] == {"name": "Kim Minji", "email": "minji@example.com", "phone": ""}
    for name in SECRET_FIELDS:
        assert name not in data
    payment = Payment.objects.get(pk=data["id"])
    assert payment.user == customer
    assert payment.transitions.last().source == "api"


def test_app_terminal_type_and_os_type_reach_the_provider(api: APIClient, monkeypatch: Any) -> None:
    from django_kakaopay.backends.sandbox import SandboxBackend

    seen: list[Any] = []
    original = SandboxBackend.create_payment

    def spy(self: SandboxBackend, request: Any) -> Any:
        seen.append(request)
        return original(self, request)

    monkeypatch.setattr(SandboxBackend, "create_payment", spy)
    response = create(api, terminal_type="app", os_type="ios")
    assert response.status_code == 201, response.data
    assert response.data["terminal_type"] == "app"
    assert (seen[0].terminal_type, seen[0].os_type) == ("app", "ios")


def test_reference_is_generated_when_omitted(api: APIClient) -> None:
    response = create(api, reference=None)
    assert response.status_code == 201
    assert response.data["reference"].startswith("KP-")


def test_retrieve_and_sync(api: APIClient) -> None:
    created = create(api).data
    url = f"{API}/payments/{created['id']}/"
    assert api.get(url).data["status"] == "pending"
    approve_at_sandbox(created["id"])
    assert api.get(url).data["status"] == "pending"  # no pull without ?sync=1
    assert api.get(url + "?sync=1").data["status"] == "paid"


def test_another_users_payment_is_404(api: APIClient, other: User) -> None:
    created = create(api).data
    response = client_for(other).get(f"{API}/payments/{created['id']}/")
    assert response.status_code == 404
    assert client_for(other).get(f"{API}/payments/").data["count"] == 0


def test_malformed_id_is_404(api: APIClient) -> None:
    assert api.get(f"{API}/payments/not-a-uuid/").status_code == 404


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/payments/"),
        ("post", "/payments/"),
        ("get", f"/payments/{uuid.uuid4()}/"),
        ("post", f"/payments/{uuid.uuid4()}/refunds/"),
        ("post", "/preapprovals/"),
        ("post", f"/preapprovals/{uuid.uuid4()}/charges/"),
    ],
)
def test_anonymous_is_refused(db: None, method: str, path: str) -> None:
    response = getattr(APIClient(), method)(API + path, {}, format="json")
    assert response.status_code in (401, 403)


def test_list_filters_and_paginates(api: APIClient, other: User) -> None:
    first = create(api, reference="ORD-1").data
    create(api, reference="ORD-2")
    create(client_for(other), reference="ORD-3")
    approve_at_sandbox(first["id"])
    api.get(f"{API}/payments/{first['id']}/?sync=1")
    everything = api.get(f"{API}/payments/").data
    assert everything["count"] == 2
    assert {row["reference"] for row in everything["results"]} == {"ORD-1", "ORD-2"}
    only_paid = api.get(f"{API}/payments/?status=paid").data
    assert [row["reference"] for row in only_paid["results"]] == ["ORD-1"]
    page = api.get(f"{API}/payments/?page_size=1").data
    assert len(page["results"]) == 1
    assert page["next"]
    assert api.get(f"{API}/payments/?status=bogus").status_code == 400


def test_staff_with_view_permission_sees_every_payment(api: APIClient, staff: User) -> None:
    create(api)
    assert client_for(staff).get(f"{API}/payments/").data["count"] == 1


# -- refunds -----------------------------------------------------------------------


def test_refunds_need_the_staff_permission(api: APIClient, staff: User) -> None:
    payment = paid(api)
    url = f"{API}/payments/{payment['id']}/refunds/"
    assert api.post(url, {}, format="json").status_code == 403
    partial = client_for(staff).post(url, {"amount": 5000, "reason": "Returned"}, format="json")
    assert partial.status_code == 201, partial.data
    assert partial.data["amount"] == 5000
    rest = client_for(staff).post(url, {}, format="json")
    assert rest.status_code == 201
    assert rest.data["amount"] == 6000
    listed = api.get(url)
    assert listed.status_code == 200
    assert [row["amount"] for row in listed.data] == [5000, 6000]
    assert api.get(f"{API}/payments/{payment['id']}/?sync=1").data["status"] == "refunded"


def test_refund_refusals(api: APIClient, staff: User) -> None:
    pending = create(api, reference="ORD-P").data
    url = f"{API}/payments/{pending['id']}/refunds/"
    response = client_for(staff).post(url, {}, format="json")
    assert response.status_code == 409
    assert "paid" in response.data["detail"]
    payment = paid(api, reference="ORD-Q")
    url = f"{API}/payments/{payment['id']}/refunds/"
    too_much = client_for(staff).post(url, {"amount": 20000}, format="json")
    assert too_much.status_code == 409
    assert client_for(staff).post(url, {"amount": 1.5}, format="json").status_code == 400


def test_staff_permission_is_replaceable(api: APIClient) -> None:
    payment = paid(api)
    url = f"{API}/payments/{payment['id']}/refunds/"
    value = {**sandbox_settings(), "API_STAFF_PERMISSION": "rest_framework.permissions.AllowAny"}
    with override_settings(KAKAOPAY=value):
        assert api.post(url, {}, format="json").status_code == 201


def test_api_permission_classes_are_replaceable(db: None) -> None:
    value = {
        **sandbox_settings(),
        "API_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    }
    with override_settings(KAKAOPAY=value):
        anonymous = APIClient()
        created = create(anonymous)
        assert created.status_code == 201, created.data
        assert anonymous.get(f"{API}/payments/{created.data['id']}/").status_code == 200
        assert anonymous.get(f"{API}/payments/").data["count"] == 1
        stranger = APIClient()
        assert stranger.get(f"{API}/payments/{created.data['id']}/").status_code == 404


# -- preapprovals and charges ------------------------------------------------------


def active(api: APIClient) -> dict[str, Any]:
    created = api.post(
        f"{API}/preapprovals/", {"description": "Care plan", "max_amount": 11000}, format="json"
    )
    assert created.status_code == 201, created.data
    assert created.data["redirect_url"]
    preapproval = Preapproval.objects.get(pk=created.data["id"])
    tx = SandboxTransaction.objects.get(pk=preapproval.provider_preapproval_id)
    provider.decide_preapproval(tx, "approve")
    synced = api.get(f"{API}/preapprovals/{created.data['id']}/?sync=1")
    assert synced.data["status"] == "active"
    return dict(synced.data)


def test_preapproval_charge_and_cancel(api: APIClient, staff: User, other: User) -> None:
    agreement = active(api)
    for name in SECRET_FIELDS:
        assert name not in agreement
    url = f"{API}/preapprovals/{agreement['id']}/"
    assert client_for(other).get(url).status_code == 404
    assert client_for(other).post(url + "cancel/", {}, format="json").status_code == 404
    charge = {"amount": 11000, "billing_period": "2026-11"}
    assert api.post(url + "charges/", charge, format="json").status_code == 403
    first = client_for(staff).post(url + "charges/", charge, format="json")
    assert first.status_code == 201, first.data
    assert first.data["billing_period"] == "2026-11"
    assert first.data["preapproval"] == agreement["id"]
    again = client_for(staff).post(url + "charges/", charge, format="json")
    assert again.status_code == 200
    assert again.data["id"] == first.data["id"]
    over = client_for(staff).post(
        url + "charges/", {"amount": 20000, "billing_period": "2026-12"}, format="json"
    )
    assert over.status_code == 400
    assert (
        client_for(staff).post(url + "charges/", {"amount": 1000}, format="json").status_code == 400
    )
    canceled = api.post(url + "cancel/", {}, format="json")
    assert canceled.status_code == 200
    assert canceled.data["status"] == "canceled"
    late = client_for(staff).post(
        url + "charges/", {"amount": 1000, "billing_period": "2027-01"}, format="json"
    )
    assert late.status_code == 409


def test_preapproval_validation(api: APIClient) -> None:
    response = api.post(
        f"{API}/preapprovals/",
        {"currency": "XXX", "max_amount": -1, "success_url": "https://evil.example/"},
        format="json",
    )
    assert response.status_code == 400
    assert set(response.data) == {"currency", "max_amount", "success_url"}


# -- validation --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"amount": 0}, "amount"),
        ({"amount": -100}, "amount"),
        ({"amount": 11000.0}, "amount"),
        ({"amount": "11000"}, "amount"),
        ({"amount": True}, "amount"),
        ({"amount": 10**13}, "amount"),
        ({"currency": "XYZ"}, "currency"),
        ({"items": [{"name": "Headphones", "quantity": 1, "unit_price": 9000}]}, "items"),
        ({"items": [{"name": "Headphones", "quantity": 0, "unit_price": 11000}]}, "items"),
        ({"success_url": "https://evil.example/steal"}, "success_url"),
        ({"failure_url": "//evil.example/"}, "failure_url"),
        ({"success_url": "javascript:alert(1)"}, "success_url"),
        ({"success_url": "relative/path"}, "success_url"),
        ({"success_url": "/\\evil.example"}, "success_url"),
        ({"success_url": "https://[evil.example]/"}, "success_url"),
        ({"failure_url": "https://[/"}, "failure_url"),
        ({"terminal_type": "tv"}, "terminal_type"),
        ({"terminal_type": "app"}, "os_type"),
        ({"terminal_type": "app", "os_type": "windows"}, "os_type"),
        ({"backend": "nope"}, "backend"),
        ({"customer": {"email": "not-an-email"}}, "customer"),
    ],
)
def test_create_payment_validation(api: APIClient, changes: dict[str, Any], field: str) -> None:
    response = create(api, **changes)
    assert response.status_code == 400, response.data
    assert field in response.data
    assert Payment.objects.count() == 0


def test_amount_is_required(api: APIClient) -> None:
    response = api.post(f"{API}/payments/", {"currency": "KRW"}, format="json")
    assert response.status_code == 400
    assert "amount" in response.data


def test_duplicate_reference_is_a_validation_error(api: APIClient) -> None:
    assert create(api).status_code == 201
    response = create(api)
    assert response.status_code == 400
    assert "reference" in response.data


def test_redirect_hosts_allowed_by_setting(api: APIClient) -> None:
    assert create(api, success_url="http://testserver/ok/", reference="A").status_code == 201
    assert create(api, success_url="https://shop.example.com/ok/", reference="B").status_code == 400
    value = {**sandbox_settings(), "API_ALLOWED_REDIRECT_HOSTS": [".example.com"]}
    with override_settings(KAKAOPAY=value):
        response = create(api, success_url="https://shop.example.com/ok/", reference="C")
        assert response.status_code == 201, response.data


def test_form_bodies_are_refused(api: APIClient) -> None:
    response = api.post(f"{API}/payments/", {"amount": "11000"})
    assert response.status_code == 415


# -- idempotency -------------------------------------------------------------------


def test_same_key_same_body_replays_the_first_response(api: APIClient) -> None:
    first = create(api, key="order-5023")
    second = create(api, key="order-5023")
    assert first.status_code == second.status_code == 201
    assert second.data == first.data
    assert second["Idempotent-Replayed"] == "true"
    assert Payment.objects.count() == 1


def test_same_key_different_body_is_refused(api: APIClient) -> None:
    assert create(api, key="order-5023").status_code == 201
    response = create(api, key="order-5023", amount=12000, items=[])
    assert response.status_code == 422
    assert "Idempotency-Key" in str(response.data["detail"])
    assert Payment.objects.count() == 1


def test_same_key_on_another_endpoint_is_refused(api: APIClient) -> None:
    assert create(api, key="k1").status_code == 201
    response = api.post(f"{API}/preapprovals/", BODY, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert response.status_code == 422


def test_keys_are_scoped_to_the_caller(api: APIClient, other: User) -> None:
    assert create(api, key="shared").status_code == 201
    response = create(client_for(other), key="shared", reference="ORD-OTHER")
    assert response.status_code == 201
    assert Payment.objects.count() == 2
    assert set(IdempotencyRecord.objects.values_list("scope", flat=True)) == {
        f"user:{user.pk}" for user in User.objects.filter(username__in=["minji", "jisoo"])
    }


def test_refused_requests_do_not_use_up_the_key(api: APIClient) -> None:
    assert create(api, key="retry", amount=0).status_code == 400
    assert create(api, key="retry").status_code == 201
    assert IdempotencyRecord.objects.get().response_status == 201


def test_refunds_and_charges_are_idempotent(api: APIClient, staff: User) -> None:
    payment = paid(api)
    url = f"{API}/payments/{payment['id']}/refunds/"
    first = client_for(staff).post(url, {"amount": 1000}, format="json", HTTP_IDEMPOTENCY_KEY="r1")
    again = client_for(staff).post(url, {"amount": 1000}, format="json", HTTP_IDEMPOTENCY_KEY="r1")
    assert first.status_code == again.status_code == 201
    assert first.data["id"] == again.data["id"]
    assert Payment.objects.get(pk=payment["id"]).refunds.count() == 1


def test_overlong_key_is_refused(api: APIClient) -> None:
    response = create(api, key="k" * 256)
    assert response.status_code == 400
    assert "Idempotency-Key" in response.data


def test_a_key_still_in_progress_gets_409(api: APIClient, customer: User) -> None:
    first = create(api, key="busy")
    record = IdempotencyRecord.objects.get()
    IdempotencyRecord.objects.filter(pk=record.pk).update(response_status=None)
    value = {**sandbox_settings(), "API_IDEMPOTENCY_WAIT": 0}
    with override_settings(KAKAOPAY=value):
        response = create(api, key="busy")
    assert first.status_code == 201
    assert response.status_code == 409


@pytest.mark.django_db(transaction=True)
def test_concurrent_identical_requests_create_one_payment(customer: User) -> None:
    if not is_postgres():
        reason = "concurrent Idempotency-Key requests need PostgreSQL (SQLite locks the database)"
        print(f"SKIP: {reason}")
        pytest.skip(reason)
    barrier = threading.Barrier(2)
    results: list[Any] = []

    def worker() -> None:
        try:
            client = client_for(customer)
            barrier.wait()
            results.append(create(client, key="concurrent"))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.status_code for r in results) == [201, 201]
    assert results[0].data["id"] == results[1].data["id"]
    assert sorted(r.get("Idempotent-Replayed", "") for r in results) == ["", "true"]
    assert Payment.objects.count() == 1
    assert IdempotencyRecord.objects.get().response_status == 201


# -- throttling --------------------------------------------------------------------


def test_create_endpoints_are_throttled(api: APIClient) -> None:
    value = {**sandbox_settings(), "API_CREATE_RATE": "2/minute"}
    with override_settings(KAKAOPAY=value):
        assert create(api, reference="T1").status_code == 201
        assert create(api, reference="T2").status_code == 201
        response = create(api, reference="T3")
        assert response.status_code == 429
        assert api.get(f"{API}/payments/").status_code == 200  # reads are not throttled


# -- the whole flow, through the API and the sandbox pages only ---------------------


def test_single_page_shop_flow(customer: User, staff: User) -> None:
    browser = Client()
    browser.force_login(customer)
    created = browser.post(
        f"{API}/payments/", BODY, content_type="application/json", HTTP_IDEMPOTENCY_KEY="flow"
    )
    assert created.status_code == 201
    payment = created.json()
    page = browser.get(payment["redirect_url"])
    assert page.status_code == 200
    back = browser.post(payment["redirect_url"], {"action": "approve"})
    assert back.status_code == 302
    final = browser.get(back["Location"])
    assert final.status_code == 302
    assert final["Location"] == "/shop/done/"
    state = browser.get(f"{API}/payments/{payment['id']}/?sync=1").json()
    assert state["status"] == "paid"

    agreement = browser.post(
        f"{API}/preapprovals/", {"max_amount": 11000}, content_type="application/json"
    ).json()
    form = {
        "accept_terms": "on",
        "verification_code": "123456",
        "accept_auto_debit": "on",
        "action": "approve",
    }
    back = browser.post(agreement["redirect_url"], form)
    assert back.status_code == 302
    browser.get(back["Location"])
    state = browser.get(f"{API}/preapprovals/{agreement['id']}/?sync=1").json()
    assert state["status"] == "active"
    charged = client_for(staff).post(
        f"{API}/preapprovals/{agreement['id']}/charges/",
        {"amount": 11000, "billing_period": "2026-11"},
        format="json",
    )
    assert charged.status_code == 201
    assert charged.data["status"] == "paid"


def test_api_views_run_outside_the_request_transaction() -> None:
    from django.urls import resolve

    for path in (f"{API}/payments/", f"{API}/preapprovals/{uuid.uuid4()}/charges/"):
        assert "default" in resolve(path).func._non_atomic_requests


def test_the_app_does_not_need_the_api() -> None:
    """The checkout URLs, models and services never import django_kakaopay.api."""
    code = (
        "import sys, django; django.setup(); "
        "import django_kakaopay.urls, django_kakaopay.admin, django_kakaopay.services; "
        "from django.urls import reverse; "
        "assert not [m for m in sys.modules if m.startswith(('django_kakaopay.api', "
        "'drf_spectacular'))], sorted(sys.modules)"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    root = Path(__file__).resolve().parent.parent
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


# -- the schema --------------------------------------------------------------------


def test_committed_schema_is_current_and_valid() -> None:
    from drf_spectacular.drainage import GENERATOR_STATS
    from drf_spectacular.validation import validate_schema

    from django_kakaopay.api.schema import build_schema, schema_yaml

    GENERATOR_STATS.reset()
    with GENERATOR_STATS.silence():
        schema = build_schema()
        rendered = schema_yaml()
    assert not GENERATOR_STATS, "drf-spectacular reported warnings or errors"
    validate_schema(schema)
    assert SCHEMA_PATH.read_text(encoding="utf-8") == rendered, (
        "docs/api/openapi.yaml is stale: run "
        "DJANGO_SETTINGS_MODULE=tests.settings python -m django kakaopay_api_schema "
        "> docs/api/openapi.yaml"
    )


@pytest.mark.parametrize("prefix", ["kakaopay/api/", "shop/api/"])
def test_committed_and_generated_schemas_pass_an_independent_validator(prefix: str) -> None:
    # drf-spectacular's own validation accepted an e-mail field whose default
    # '' sat in the e-mail branch; openapi-spec-validator, written apart from
    # the generator, did not. Both the committed file and what a project
    # generates for its own mount point must pass it.
    import yaml
    from drf_spectacular.drainage import GENERATOR_STATS
    from openapi_spec_validator import validate

    from django_kakaopay.api.schema import schema_yaml

    validate(yaml.safe_load(SCHEMA_PATH.read_text(encoding="utf-8")))
    with GENERATOR_STATS.silence():
        generated = yaml.safe_load(schema_yaml(prefix))
    validate(generated)


# -- property-based: no body makes the create endpoint fail with 5xx -----------------

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
)


def json_containers(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.lists(children, max_size=3) | st.dictionaries(
        st.text(max_size=8), children, max_size=3
    )


json_values = st.recursive(json_scalars, json_containers, max_leaves=8)
items = st.lists(
    st.fixed_dictionaries(
        {"name": st.text(max_size=220), "unit_price": st.integers(-5, 20000)},
        optional={"quantity": st.integers(-1, 5) | json_scalars, "reference": json_values},
    ),
    max_size=3,
)
shaped_bodies = st.fixed_dictionaries(
    {"amount": st.integers(-10, 10**13) | json_scalars},
    optional={
        "currency": st.sampled_from(["KRW", "krw", "USD", "XXX", ""]) | json_scalars,
        "reference": st.text(max_size=120) | json_scalars,
        "description": st.text(max_size=300) | json_values,
        "items": items | json_values,
        "customer": st.fixed_dictionaries(
            {},
            optional={
                "name": json_scalars,
                "email": st.emails() | json_scalars,
                "phone": json_scalars,
            },
        )
        | json_values,
        "success_url": st.sampled_from(
            ["/ok/", "https://evil.example/", "//x", "http://testserver/"]
        )
        | st.text(max_size=50)
        | json_scalars,
        "failure_url": st.text(max_size=50) | json_scalars,
        "terminal_type": st.sampled_from(["web", "wap", "app", "tv", ""]) | json_scalars,
        "os_type": st.sampled_from(["ios", "android", "windows", ""]) | json_scalars,
        "backend": st.sampled_from(["sandbox", "nope", ""]) | json_scalars,
    },
)


@pytest.mark.django_db
@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=shaped_bodies | json_values)
def test_create_payment_never_fails_with_5xx(customer: User, body: Any) -> None:
    value = {**sandbox_settings(), "API_CREATE_RATE": None}
    with override_settings(KAKAOPAY=value):
        response = client_for(customer).post(f"{API}/payments/", body, format="json")
    assert response.status_code < 500, (body, response.content)
    assert response.status_code in (201, 400), (body, response.content)


def test_currency_must_be_one_the_backend_takes(api: APIClient) -> None:
    from .test_checkout_backend import CHECKOUT_SETTINGS

    with override_settings(KAKAOPAY=CHECKOUT_SETTINGS):
        response = create(api, currency="USD", amount=1100, items=[])
    assert response.status_code == 400, response.data
    assert "currency" in response.data
    assert "USD" in str(response.data["currency"])
    assert Payment.objects.count() == 0


other_post_bodies = st.fixed_dictionaries(
    {},
    optional={
        "amount": st.integers(-10, 10**13) | json_scalars,
        "billing_period": st.text(max_size=80) | json_scalars,
        "currency": st.sampled_from(["KRW", "USD", "XXX", ""]) | json_scalars,
        "max_amount": st.integers(-10, 10**13) | json_scalars,
        "reference": st.text(max_size=120) | json_scalars,
        "reason": st.text(max_size=300) | json_values,
        "description": st.text(max_size=300) | json_values,
        "success_url": st.text(max_size=50) | json_scalars,
        "backend": st.sampled_from(["sandbox", "nope"]) | json_scalars,
    },
)


@pytest.mark.django_db
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    endpoint=st.sampled_from(["preapprovals", "refunds", "charges", "cancel"]),
    body=other_post_bodies | json_values,
)
def test_other_post_endpoints_never_fail_with_5xx(staff: User, endpoint: str, body: Any) -> None:
    """Every other POST of the schema, with bodies in and out of its shapes."""
    value = {**sandbox_settings(), "API_CREATE_RATE": None}
    with override_settings(KAKAOPAY=value):
        paths = {"preapprovals": f"{API}/preapprovals/"}
        if endpoint in ("refunds", "charges", "cancel"):
            payment = paid_payment(user=staff)
            agreement = active_preapproval(user=staff)
            paths["refunds"] = f"{API}/payments/{payment.pk}/refunds/"
            paths["charges"] = f"{API}/preapprovals/{agreement.pk}/charges/"
            paths["cancel"] = f"{API}/preapprovals/{agreement.pk}/cancel/"
        response = client_for(staff).post(paths[endpoint], body, format="json")
    assert response.status_code < 500, (endpoint, body, response.content)
