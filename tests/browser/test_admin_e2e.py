"""An operations person refunds part of a payment in the Korean admin, in a real browser.

Logs in through the admin's own form, finds the payment by the customer's
e-mail, opens its history, runs the refund action with an amount typed the
way a person types it, and reads the Korean confirmation.
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from django_kakaopay.models import Payment
from tests import helpers

from .conftest import WAIT_SECONDS


@pytest.fixture
def browser_language() -> str:
    return "ko"


@pytest.mark.django_db(transaction=True)
def test_partial_refund_in_the_korean_admin(browser, live_server, screenshots):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import Select, WebDriverWait

    get_user_model().objects.create_superuser("ops", "ops@example.com", "pw-for-browser")
    payment = helpers.paid_payment(
        reference="ORD-5023-4E89", customer={"name": "Jia Tsang", "email": "jia@example.com"}
    )
    wait = WebDriverWait(browser, WAIT_SECONDS)

    browser.get(f"{live_server.url}/admin/login/")
    browser.find_element(By.NAME, "username").send_keys("ops")
    browser.find_element(By.NAME, "password").send_keys("pw-for-browser")
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    wait.until(ec.presence_of_element_located((By.ID, "site-name")))

    # Find the payment by the customer's e-mail: the list speaks Korean.
    browser.get(f"{live_server.url}/admin/django_kakaopay/payment/?q=jia%40example.com")
    page = browser.page_source
    assert "ORD-5023-4E89" in page
    assert "₩11,000" in page
    assert "결제 완료" in page  # the paid status badge
    screenshots(browser, "1-payment-list-ko")

    # Its history, in Korean.
    browser.find_element(By.LINK_TEXT, "ORD-5023-4E89").click()
    wait.until(ec.presence_of_element_located((By.ID, "payment_form")))
    assert "상태 변경 내역" in browser.page_source
    screenshots(browser, "2-payment-history-ko")

    # Refund ₩3,000 of it with the action and its form.
    browser.get(f"{live_server.url}/admin/django_kakaopay/payment/?q=jia%40example.com")
    browser.find_element(By.CSS_SELECTOR, "input.action-select").click()
    Select(browser.find_element(By.NAME, "action")).select_by_value("refund_payments")
    browser.find_element(By.CSS_SELECTOR, "button[name=index]").click()
    amount = wait.until(ec.presence_of_element_located((By.NAME, "amount")))
    assert "환불" in browser.title
    # The field starts with the whole refundable amount; a partial refund replaces it.
    assert amount.get_attribute("value") == "11000"
    amount.clear()
    amount.send_keys("3,000")
    browser.find_element(By.NAME, "reason").send_keys("한 개 반품")
    screenshots(browser, "3-refund-form-ko")
    browser.find_element(By.CSS_SELECTOR, ".submit-row input[type=submit]").click()

    message = wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "ul.messagelist li")))
    assert message.text.startswith("결제 1건을 환불했습니다"), message.text
    screenshots(browser, "4-refunded-ko")
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PARTIALLY_REFUNDED
    assert payment.refunded_amount == 3000
    assert payment.refunds.get().reason == "한 개 반품"
