"""PortOne's checkout page in a real headless Chromium, against a fake browser SDK.

The page's own JavaScript (``browser-checkout.js``) runs for real: it reads
the SDK call the server wrote into the page, calls ``PortOne.requestPayment``
or ``PortOne.requestIssueBillingKey`` of ``fake_portone_sdk.js`` (served by
``portone_urls.py``), and goes to the return view with what it answered. The
fake answers as PortOne does in a popup (the promise resolves), in redirect
mode (the SDK itself leaves for ``redirectUrl``) or when the customer cancels
(``code`` and ``message``), as the ``?mode=`` of its URL says.

PortOne's server API is replayed with ``responses`` in this process: the live
server runs in one of its threads, so the return view's look-ups are
answered by the mock. Nothing reaches the network.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import responses
from django.urls import reverse

from django_kakaopay import services
from django_kakaopay.models import Payment, Preapproval
from django_kakaopay.status import PaymentStatus, PreapprovalStatus

from ..test_portone_backend import (
    API,
    BILLING_CHANNEL,
    BILLING_KEY,
    CHANNEL,
    FAKE_SECRET,
    OPTIONS,
    STORE,
    billing_key_object,
    payment_object,
    planned,
)
from .conftest import DESKTOP, PHONE, WAIT_SECONDS, set_viewport
from .portone_urls import MISSING_SDK_PATH, RECORDED, SDK_PATH

pytestmark = pytest.mark.django_db(transaction=True)

PHONE_USER_AGENT = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36"
)
# Runs before any of the page's scripts: uncaught exceptions and rejected
# promises nobody handled. A script that fails to load fires its error event
# on the <script> element, which does not bubble to window.
CATCH_ERRORS = """
window.__jsErrors = [];
window.addEventListener("error", function (event) {
  window.__jsErrors.push(String(event.message || event));
});
window.addEventListener("unhandledrejection", function (event) {
  window.__jsErrors.push("unhandled rejection: " + String(event.reason));
});
"""
STORED_CALLS = "return JSON.parse(window.localStorage.getItem('fakePortOneCalls') || '[]');"

Configure = Callable[..., None]


@pytest.fixture
def use_portone(settings: Any, live_server: Any) -> Iterator[Configure]:
    """PortOne as the default backend, its SDK loaded from ``sdk_url`` (the fake by default)."""
    settings.ROOT_URLCONF = "tests.browser.portone_urls"
    RECORDED.clear()

    def configure(mode: str = "popup", sdk_url: str = "") -> None:
        options = {**OPTIONS, "SDK_URL": sdk_url or f"{SDK_PATH}?mode={mode}"}
        settings.KAKAOPAY = {
            "DEFAULT_BACKEND": "portone",
            "SITE_URL": live_server.url,
            "BACKENDS": {
                "portone": {
                    "BACKEND": "django_kakaopay.backends.portone.PortOneBackend",
                    "OPTIONS": options,
                }
            },
        }

    yield configure
    RECORDED.clear()


@pytest.fixture
def portone_api() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mocked:
        yield mocked


@pytest.fixture
def chromium(browser: Any) -> Any:
    """The browser, catching the page's JavaScript errors from the first script on."""
    browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": CATCH_ERRORS})
    return browser


def wait_for(driver: Any, condition: Callable[[Any], Any], what: str) -> Any:
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        return WebDriverWait(driver, WAIT_SECONDS).until(condition)
    except TimeoutException:
        body = driver.execute_script("return document.body ? document.body.innerText : '';")
        pytest.fail(f"Timed out waiting for {what}; at {driver.current_url}:\n{body}")


def heading_is(driver: Any, text: str) -> None:
    from selenium.webdriver.common.by import By

    def found(d: Any) -> bool:
        return any(h.text.strip() == text for h in d.find_elements(By.CSS_SELECTOR, "h1"))

    wait_for(driver, found, f"the heading {text!r}")


def stored_calls(driver: Any) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = driver.execute_script(STORED_CALLS)
    return calls


def beacon_calls(driver: Any, count: int) -> list[dict[str, Any]]:
    """The calls the fake SDK reported to the live server (``sendBeacon`` is asynchronous)."""
    wait_for(driver, lambda d: len(RECORDED) >= count, f"{count} reported SDK call(s)")
    return list(RECORDED)


def js_errors(driver: Any) -> list[str]:
    errors: list[str] = driver.execute_script("return window.__jsErrors || [];")
    return errors


def console_log(driver: Any) -> list[dict[str, Any]] | None:
    """Chromium's console entries since the last call, or ``None`` when it does not share them."""
    from selenium.common.exceptions import WebDriverException

    try:
        entries: list[dict[str, Any]] = driver.get_log("browser")
    except WebDriverException:
        return None
    return entries


def uncaught(entries: list[dict[str, Any]] | None) -> list[str]:
    """The console entries that are uncaught exceptions (not a resource that failed to load)."""
    return [entry["message"] for entry in entries or [] if "Uncaught" in entry["message"]]


def checkout_path(payment: Payment) -> str:
    return reverse("kakaopay:checkout", args=[payment.return_token])


def return_path(obj: Payment | Preapproval) -> str:
    return reverse("kakaopay:return", args=[obj.return_token])


def assert_payment_arguments(args: dict[str, Any], payment: Payment, live_server: Any) -> None:
    assert args["storeId"] == STORE
    assert args["channelKey"] == CHANNEL
    assert args["paymentId"] == payment.reference
    assert args["totalAmount"] == 11000
    assert args["currency"] == "CURRENCY_KRW"
    assert args["payMethod"] == "EASY_PAY"
    assert args["easyPay"]["easyPayProvider"] == "KAKAOPAY"
    assert args["redirectUrl"] == f"{live_server.url}{return_path(payment)}"
    assert FAKE_SECRET not in json.dumps(args)
    assert "whsec_" not in json.dumps(args)


def mock_payment(api: responses.RequestsMock, payment: Payment, status: str) -> None:
    api.add(
        responses.GET,
        f"{API}/payments/{payment.reference}",
        json=payment_object(payment.reference, status),
    )


def paid_transitions(payment: Payment) -> int:
    return payment.transitions.filter(to_status=PaymentStatus.PAID).count()


def test_popup_payment_on_a_pc_ends_paid(
    chromium: Any, live_server: Any, use_portone: Configure, portone_api: Any, signal_log: Any
) -> None:
    use_portone("popup")
    set_viewport(chromium, *DESKTOP)
    payment = services.create_payment(amount=11000, description="Wireless headphones")
    mock_payment(portone_api, payment, "PAID")

    chromium.get(f"{live_server.url}{checkout_path(payment)}")
    heading_is(chromium, "Payment complete")

    assert return_path(payment) in chromium.current_url
    assert f"paymentId={payment.reference}" in chromium.current_url
    calls = stored_calls(chromium)
    assert [call["method"] for call in calls] == ["requestPayment"]
    assert calls[0]["page"] == f"{live_server.url}{checkout_path(payment)}"
    assert_payment_arguments(calls[0]["arguments"], payment, live_server)
    assert calls[0]["arguments"]["orderName"] == "Wireless headphones"
    assert beacon_calls(chromium, 1)[0]["arguments"] == calls[0]["arguments"]
    assert "₩11,000" in chromium.find_element("tag name", "body").text

    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PAID
    assert paid_transitions(payment) == 1
    assert len(signal_log.of("payment_paid")) == 1
    assert any(f"/payments/{payment.reference}" in c.request.url for c in portone_api.calls)
    assert js_errors(chromium) == []
    assert uncaught(console_log(chromium)) == []


def test_redirect_payment_on_a_phone_ends_paid(
    chromium: Any, live_server: Any, use_portone: Configure, portone_api: Any
) -> None:
    use_portone("redirect")
    set_viewport(chromium, *PHONE)
    chromium.execute_cdp_cmd("Emulation.setUserAgentOverride", {"userAgent": PHONE_USER_AGENT})
    payment = services.create_payment(amount=11000, description="Wireless headphones")
    mock_payment(portone_api, payment, "PAID")

    chromium.get(f"{live_server.url}{checkout_path(payment)}")
    heading_is(chromium, "Payment complete")

    assert "Mobile" in chromium.execute_script("return navigator.userAgent;")
    assert chromium.execute_script("return window.innerWidth;") == PHONE[0]
    # The fake SDK went to redirectUrl itself, with PortOne's query parameters.
    assert chromium.current_url.startswith(f"{live_server.url}{return_path(payment)}?")
    assert f"paymentId={payment.reference}" in chromium.current_url
    assert "transactionType=PAYMENT" in chromium.current_url
    assert "code=" not in chromium.current_url
    calls = stored_calls(chromium)
    assert [(call["method"], call["mode"]) for call in calls] == [("requestPayment", "redirect")]
    assert_payment_arguments(calls[0]["arguments"], payment, live_server)
    assert calls[0]["arguments"]["windowType"] == {"pc": "IFRAME", "mobile": "REDIRECTION"}

    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PAID
    assert paid_transitions(payment) == 1
    assert js_errors(chromium) == []


def test_a_cancelled_payment_stays_pending_and_offers_to_try_again(
    chromium: Any, live_server: Any, use_portone: Configure, portone_api: Any
) -> None:
    from selenium.webdriver.common.by import By

    use_portone("cancel")
    payment = services.create_payment(amount=11000, description="Wireless headphones")
    portone_api.add(
        responses.GET,
        f"{API}/payments/{payment.reference}",
        status=404,
        json={"type": "PAYMENT_NOT_FOUND", "message": "결제 건이 존재하지 않습니다."},
    )

    chromium.get(f"{live_server.url}{checkout_path(payment)}")
    heading_is(chromium, "Payment processing")

    assert chromium.current_url.startswith(f"{live_server.url}{return_path(payment)}?")
    assert "code=FAILURE_TYPE_PG" in chromium.current_url
    assert "message=" in chromium.current_url
    retry = wait_for(
        chromium,
        lambda d: d.find_element(By.LINK_TEXT, "Try again"),
        "the 'Try again' link",
    )
    assert retry.get_attribute("href") == f"{live_server.url}{checkout_path(payment)}"
    # With a way back offered, the page does not reload itself.
    assert not chromium.find_elements(By.CSS_SELECTOR, 'meta[http-equiv="refresh"]')
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING
    assert paid_transitions(payment) == 0

    # "Try again" opens KakaoPay again for the same payment.
    retry.click()
    wait_for(chromium, lambda d: len(stored_calls(d)) == 2, "the second requestPayment call")
    heading_is(chromium, "Payment processing")
    calls = stored_calls(chromium)
    assert [call["arguments"]["paymentId"] for call in calls] == [payment.reference] * 2
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING
    assert js_errors(chromium) == []


def test_a_return_that_claims_success_for_an_unpaid_payment_stays_pending(
    chromium: Any, live_server: Any, use_portone: Configure, portone_api: Any
) -> None:
    from selenium.webdriver.common.by import By

    use_portone("redirect")
    payment = services.create_payment(amount=11000, description="Wireless headphones")
    mock_payment(portone_api, payment, "READY")

    chromium.get(f"{live_server.url}{checkout_path(payment)}")
    heading_is(chromium, "Payment processing")

    # The browser says it went well: a paymentId and no code.
    assert f"paymentId={payment.reference}" in chromium.current_url
    assert "code=" not in chromium.current_url
    assert not chromium.find_elements(By.LINK_TEXT, "Try again")
    assert chromium.find_elements(By.CSS_SELECTOR, 'meta[http-equiv="refresh"]')
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING
    assert paid_transitions(payment) == 0
    assert any(f"/payments/{payment.reference}" in c.request.url for c in portone_api.calls)


def test_an_agreement_in_a_popup_issues_a_billing_key_and_becomes_active(
    chromium: Any, live_server: Any, use_portone: Configure, portone_api: Any
) -> None:
    use_portone("popup")
    preapproval = planned()
    portone_api.add(
        responses.GET,
        f"{API}/billing-keys/{BILLING_KEY}",
        json=billing_key_object(preapproval.reference),
    )
    checkout = reverse("kakaopay:preapproval-checkout", args=[preapproval.return_token])

    chromium.get(f"{live_server.url}{checkout}")
    heading_is(chromium, "Automatic payment registered")

    assert f"billingKey={BILLING_KEY}" in chromium.current_url
    calls = stored_calls(chromium)
    assert [call["method"] for call in calls] == ["requestIssueBillingKey"]
    args = calls[0]["arguments"]
    assert args["storeId"] == STORE
    assert args["channelKey"] == BILLING_CHANNEL
    assert args["billingKeyMethod"] == "EASY_PAY"
    assert args["issueId"] == preapproval.reference
    assert args["customer"]["customerId"] == preapproval.reference
    assert args["redirectUrl"] == f"{live_server.url}{return_path(preapproval)}"
    assert FAKE_SECRET not in json.dumps(args)
    assert beacon_calls(chromium, 1)[0]["method"] == "requestIssueBillingKey"

    preapproval.refresh_from_db()
    assert preapproval.status == PreapprovalStatus.ACTIVE
    assert preapproval.provider_preapproval_id == BILLING_KEY
    assert any(f"/billing-keys/{BILLING_KEY}" in c.request.url for c in portone_api.calls)
    assert js_errors(chromium) == []


def test_an_sdk_that_fails_to_load_shows_the_error_and_the_button(
    chromium: Any, live_server: Any, use_portone: Configure, portone_api: Any
) -> None:
    from selenium.webdriver.common.by import By

    use_portone(sdk_url=MISSING_SDK_PATH)
    payment = services.create_payment(amount=11000, description="Wireless headphones")

    chromium.get(f"{live_server.url}{checkout_path(payment)}")
    section = chromium.find_element(By.ID, "kp-browser-checkout")
    error = section.get_attribute("data-load-error")
    assert error
    wait_for(
        chromium,
        lambda d: d.find_element(By.ID, "kp-message").text.strip() == error,
        "the load-error message",
    )
    button = chromium.find_element(By.ID, "kp-start")
    assert button.is_displayed()
    assert button.is_enabled()
    assert button.text.strip() == "Open KakaoPay"
    assert not chromium.find_element(By.ID, "kp-spinner").is_displayed()
    assert chromium.execute_script("return typeof window.PortOne;") == "undefined"

    # Pressing the button without an SDK shows the same message, no exception.
    button.click()
    assert chromium.find_element(By.ID, "kp-message").text.strip() == error
    assert chromium.find_element(By.ID, "kp-start").is_enabled()
    assert chromium.current_url == f"{live_server.url}{checkout_path(payment)}"
    assert js_errors(chromium) == []
    entries = console_log(chromium)
    assert uncaught(entries) == []
    if entries is not None:
        # The log is read: it holds the failed load, and nothing else went wrong.
        assert any(MISSING_SDK_PATH in entry["message"] for entry in entries), entries
    assert stored_calls(chromium) == []
    assert RECORDED == []
    assert len(portone_api.calls) == 0
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING


def test_an_sdk_that_answers_nothing_leaves_the_page_ready_to_open_it_again(
    chromium: Any, live_server: Any, use_portone: Configure, portone_api: Any
) -> None:
    from selenium.webdriver.common.by import By

    use_portone("nothing")
    payment = services.create_payment(amount=11000, description="Wireless headphones")

    chromium.get(f"{live_server.url}{checkout_path(payment)}")
    wait_for(chromium, lambda d: d.find_element(By.ID, "kp-start").is_enabled(), "the button")
    assert len(stored_calls(chromium)) == 1
    assert not chromium.find_element(By.ID, "kp-spinner").is_displayed()
    assert chromium.current_url == f"{live_server.url}{checkout_path(payment)}"
    chromium.find_element(By.ID, "kp-start").click()
    wait_for(chromium, lambda d: len(stored_calls(d)) == 2, "the second requestPayment call")
    wait_for(chromium, lambda d: d.find_element(By.ID, "kp-start").is_enabled(), "the button")
    assert chromium.current_url == f"{live_server.url}{checkout_path(payment)}"
    assert len(portone_api.calls) == 0
    assert js_errors(chromium) == []


@pytest.mark.parametrize("browser_language", ["ko-KR"])
def test_the_korean_checkout_page_screenshot(
    chromium: Any,
    live_server: Any,
    use_portone: Configure,
    portone_api: Any,
    screenshots: Callable[[Any, str], None],
) -> None:
    from selenium.webdriver.common.by import By

    use_portone("hold")
    set_viewport(chromium, *DESKTOP)
    payment = services.create_payment(amount=11000, description="Wireless headphones")

    chromium.get(f"{live_server.url}{checkout_path(payment)}")
    wait_for(chromium, lambda d: len(stored_calls(d)) == 1, "the requestPayment call")
    assert chromium.find_element(By.TAG_NAME, "html").get_attribute("lang") == "ko"
    # The SDK is open (it never answers here): the spinner turns, the button waits.
    assert chromium.find_element(By.ID, "kp-spinner").is_displayed()
    assert not chromium.find_element(By.ID, "kp-start").is_enabled()
    assert payment.reference in chromium.find_element(By.TAG_NAME, "body").text
    screenshots(chromium, "portone-checkout-ko")
    assert js_errors(chromium) == []
