"""Safe by default: no free checkout in production, no open redirect through services.

The sandbox approves whatever its customer chooses, so with ``DEBUG`` off its
pages answer 404 unless its options opt in (the test settings do: Django runs
tests with ``DEBUG`` off). A success or failure URL handed to the services is
held to the REST API's rule, and checked again before the return view follows it.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.test import Client, override_settings

from django_kakaopay import services
from django_kakaopay.exceptions import InvalidPaymentRequest
from django_kakaopay.models import Payment
from django_kakaopay.redirects import allowed_redirect_hosts, redirect_problem

from .helpers import HEADPHONES, provider_side, sandbox_settings

pytestmark = pytest.mark.django_db


def sandbox_without_opt_in() -> dict[str, Any]:
    value = sandbox_settings()
    value["BACKENDS"]["sandbox"]["OPTIONS"] = {}
    return value


def sandbox_page(payment: Payment) -> str:
    services.start_payment(payment)
    return payment.redirect_url


# -- the sandbox in production -------------------------------------------------------


def test_the_sandbox_pages_answer_404_with_debug_off(caplog: pytest.LogCaptureFixture) -> None:
    with override_settings(KAKAOPAY=sandbox_without_opt_in()):
        payment = services.create_payment(amount=11000, items=HEADPHONES)
        page = sandbox_page(payment)
        client = Client()
        with caplog.at_level(logging.WARNING, logger="django_kakaopay"):
            assert client.get(page).status_code == 404
        assert client.post(page, {"action": "approve"}).status_code == 404
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PENDING, "nobody approved their own payment"
    assert provider_side(payment).status == "READY"
    assert "kakaopay.E008" in caplog.text, "the log says why, for whoever set it up"


def test_the_sandbox_agreement_page_answers_404_with_debug_off() -> None:
    with override_settings(KAKAOPAY=sandbox_without_opt_in()):
        preapproval = services.create_preapproval()
        services.start_preapproval(preapproval)
        assert Client().get(preapproval.redirect_url).status_code == 404


@override_settings(DEBUG=True)
def test_the_sandbox_pages_serve_while_debug_is_on() -> None:
    with override_settings(KAKAOPAY=sandbox_without_opt_in()):
        payment = services.create_payment(amount=11000, items=HEADPHONES)
        assert Client().get(sandbox_page(payment)).status_code == 200


def test_a_sandbox_that_opts_in_serves_with_debug_off() -> None:
    payment = services.create_payment(amount=11000, items=HEADPHONES)
    page = sandbox_page(payment)
    assert Client().get(page).status_code == 200
    Client().post(page, {"action": "approve"})
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PAID


def test_with_no_setting_at_all_the_sandbox_is_refused_too() -> None:
    with override_settings(KAKAOPAY=None):
        payment = services.create_payment(amount=11000, items=HEADPHONES)
        client = Client()
        page = client.get(payment.get_checkout_url())["Location"]
        assert client.get(page).status_code == 404


# -- open redirects ------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example/",
        "//evil.example/",
        "http:/\\evil.example",
        "javascript:alert(1)",
        "https://testserver.evil.example/",
        "https://evil.example\\@testserver/",
        "https://evil.example@testserver/",
        "https://user:pass@testserver/",
        "https://testserver:80:90/",
        "thanks/",
        " /thanks/",
        # Bracketed hosts that are no IP address make urlsplit raise ValueError.
        "https://[evil.example]/",
        "https://[/",
        "http://[::1/",
    ],
)
@pytest.mark.parametrize("field", ["success_url", "failure_url"])
def test_services_refuse_an_open_redirect(url: str, field: str) -> None:
    with pytest.raises(InvalidPaymentRequest, match=field):
        services.create_payment(amount=11000, **{field: url})
    with pytest.raises(InvalidPaymentRequest, match=field):
        services.create_preapproval(**{field: url})
    assert not Payment.objects.exists()


@pytest.mark.parametrize(
    "url", ["/thanks/", "/orders/1/?paid=1", "http://testserver/thanks/", "https://localhost/ok"]
)
def test_paths_and_own_hosts_are_accepted(url: str) -> None:
    payment = services.create_payment(amount=11000, success_url=url, failure_url=url)
    assert payment.success_url == url


def test_extra_hosts_come_from_the_setting_and_its_former_name() -> None:
    url = "https://pay.shop.example/done/"
    assert redirect_problem(url)
    with override_settings(
        KAKAOPAY={**sandbox_settings(), "ALLOWED_REDIRECT_HOSTS": [".shop.example"]}
    ):
        assert redirect_problem(url) is None
        services.create_payment(amount=11000, success_url=url)
    with override_settings(
        KAKAOPAY={**sandbox_settings(), "API_ALLOWED_REDIRECT_HOSTS": ["pay.shop.example"]}
    ):
        assert redirect_problem(url) is None


@override_settings(ALLOWED_HOSTS=["*"])
def test_a_wildcard_allowed_host_trusts_no_other_site() -> None:
    assert "*" not in allowed_redirect_hosts()
    with pytest.raises(InvalidPaymentRequest, match="not allowed"):
        services.create_payment(amount=11000, success_url="https://evil.example/")


def test_the_return_view_does_not_follow_a_stored_foreign_url() -> None:
    """A row written before the rule (or by code that bypassed services) is not followed."""
    payment = services.create_payment(amount=11000, items=HEADPHONES)
    page = sandbox_page(payment)
    Payment.objects.filter(pk=payment.pk).update(
        success_url="https://evil.example/", failure_url="https://evil.example/"
    )
    client = Client()
    back = client.post(page, {"action": "approve"})
    response = client.get(back["Location"])
    assert response.status_code == 200, "our own result page, not a redirect"
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PAID


def test_the_return_view_does_not_fail_on_a_stored_unparseable_url() -> None:
    """A stored URL that urlsplit cannot read is not followed, and is no 500."""
    payment = services.create_payment(amount=11000, items=HEADPHONES)
    page = sandbox_page(payment)
    Payment.objects.filter(pk=payment.pk).update(
        success_url="https://[evil.example]/", failure_url="https://[/"
    )
    client = Client()
    back = client.post(page, {"action": "approve"})
    response = client.get(back["Location"])
    assert response.status_code == 200, "our own result page, not a redirect"


def test_the_return_view_follows_an_allowed_url() -> None:
    payment = services.create_payment(amount=11000, items=HEADPHONES, success_url="/thanks/")
    page = sandbox_page(payment)
    client = Client()
    back = client.post(page, {"action": "approve"})
    assert client.get(back["Location"])["Location"] == "/thanks/"
