"""The example shop in a real headless Chromium, against pytest-django's live server.

Needs Debian's ``chromium`` and ``chromium-driver`` packages and the
``selenium`` Python package; without them the test is skipped with the reason
printed. Selenium is given the driver's path explicitly, so Selenium Manager
never downloads anything. Screenshots go to a temporary directory, printed
at the end (run pytest with ``-s`` to see it).
"""

from __future__ import annotations

import pytest

from django_kakaopay.dates import format_billing_period
from django_kakaopay.models import Payment
from example_project.shop.models import Order, Product, Subscription
from example_project.shop.views import current_period

from .conftest import WAIT_SECONDS


@pytest.mark.django_db(transaction=True)
def test_buy_and_subscribe_in_a_real_browser(browser, live_server, screenshots, signal_log):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    headphones = Product.objects.create(
        name="Wireless headphones", price=11000, description="Over-ear, 30 hours of battery."
    )
    Product.objects.create(name="Coffee beans, monthly", price=9900, is_subscription=True)
    wait = WebDriverWait(browser, WAIT_SECONDS)

    def click(css: str) -> None:
        wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, css))).click()

    def status_is(testid: str, status: str) -> None:
        wait.until(
            ec.presence_of_element_located(
                (By.CSS_SELECTOR, f'[data-testid="{testid}"][data-status="{status}"]')
            )
        )

    # A one-time purchase -------------------------------------------------------
    browser.get(f"{live_server.url}/shop/")
    assert "Wireless headphones" in browser.page_source
    screenshots(browser, "01-products")
    click('[data-product="Wireless headphones"] button[type="submit"]')

    wait.until(ec.url_contains("/kakaopay/sandbox/"))
    page = browser.find_element(By.TAG_NAME, "body").text
    assert "₩11,000" in page
    assert "Wireless headphones" in page
    screenshots(browser, "02-kakaopay-payment")
    click('button[value="approve"]')

    status_is("order-status", "paid")
    assert "/shop/orders/" in browser.current_url
    assert "Paid" in browser.find_element(By.CSS_SELECTOR, '[data-testid="order-status"]').text
    screenshots(browser, "03-order-paid")
    order = Order.objects.get(product=headphones)
    assert order.status == Order.Status.PAID
    assert len(signal_log.of("payment_paid")) == 1

    # A monthly subscription ---------------------------------------------------
    browser.get(f"{live_server.url}/shop/")
    click('[data-product="Coffee beans, monthly"] button[type="submit"]')
    wait.until(ec.url_contains("/kakaopay/sandbox/"))
    click("#id_accept_terms")
    browser.find_element(By.ID, "id_verification_code").send_keys("123456")
    click("#id_accept_auto_debit")
    screenshots(browser, "04-kakaopay-agreement")
    click('button[value="approve"]')

    status_is("subscription-status", "active")
    screenshots(browser, "05-subscription-active")
    period = current_period()
    click('[data-testid="charge"]')
    wait.until(ec.text_to_be_present_in_element((By.CSS_SELECTOR, ".messages"), "Charged"))
    month = format_billing_period(period)
    assert f"Charged ₩9,900 for {month}." in browser.find_element(By.TAG_NAME, "body").text
    screenshots(browser, "06-charged")
    click('[data-testid="charge"]')
    wait.until(ec.text_to_be_present_in_element((By.CSS_SELECTOR, ".messages"), "already charged"))
    screenshots(browser, "07-charged-again")

    subscription = Subscription.objects.get()
    assert subscription.status == Subscription.Status.ACTIVE
    assert subscription.last_charged_period == period
    assert Payment.objects.filter(preapproval=subscription.preapproval).count() == 1
