"""What the example shop, the sandbox and the admin pages show, read from a real Chromium's DOM.

Each test walks one flow as a customer or an operations person would and
checks what a person sees at that point: the words of a badge, which button
is the main action, the dates, whether a table fits its card on a phone and
whether the admin's payment list shows every column on a laptop. Each saves
screenshots (the folder is printed at the end; run pytest with ``-s``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.utils import translation

from django_kakaopay import services
from django_kakaopay.dates import format_billing_period, format_datetime
from django_kakaopay.models import Payment, Preapproval, StatusTransition, WebhookEvent
from django_kakaopay.sandbox import provider
from example_project.shop.models import Order, Product, Subscription
from example_project.shop.views import current_period
from tests import helpers

from .conftest import DESKTOP, PHONE, WAIT_SECONDS, set_viewport

pytestmark = pytest.mark.django_db(transaction=True)

Screenshots = Callable[[Any, str], None]


class Shopper:
    """One browser on the live server, with the few moves the tests repeat."""

    def __init__(self, driver: Any, base_url: str) -> None:
        from selenium.webdriver.support.ui import WebDriverWait

        self.driver = driver
        self.base_url = base_url
        self.wait = WebDriverWait(driver, WAIT_SECONDS)

    def open(self, path: str) -> None:
        self.driver.get(self.base_url + path)

    def find(self, css: str) -> Any:
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.CSS_SELECTOR, css)

    def find_all(self, css: str) -> list[Any]:
        from selenium.webdriver.common.by import By

        return list(self.driver.find_elements(By.CSS_SELECTOR, css))

    def click(self, css: str) -> None:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as ec

        self.wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, css))).click()

    def wait_for(self, css: str) -> Any:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as ec

        return self.wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, css)))

    def status_is(self, testid: str, status: str) -> Any:
        return self.wait_for(f'[data-testid="{testid}"][data-status="{status}"]')

    def body_text(self) -> str:
        return str(self.find("body").text)

    def fact(self, label: str) -> str:
        """The value beside ``label`` in an order's or a subscription's summary."""
        for term in self.find_all("dl.facts dt"):
            if term.text == label:
                return str(term.find_element("xpath", "following-sibling::dd[1]").text)
        raise AssertionError(f"no {label!r} in the summary")

    def to_kakaopay(self, product: Product) -> None:
        """Press the product's button in the shop and wait for the sandbox's page."""
        from selenium.webdriver.support import expected_conditions as ec

        self.open("/shop/")
        self.click(f'[data-product="{product.name}"] button[type="submit"]')
        self.wait.until(ec.url_contains("/kakaopay/sandbox/"))

    def fill_agreement(self) -> None:
        self.click("#id_accept_terms")
        self.find("#id_verification_code").send_keys("123456")
        self.click("#id_accept_auto_debit")


@pytest.fixture
def headphones() -> Product:
    return Product.objects.create(
        name="Wireless headphones", price=11000, description="Over-ear, 30 hours of battery."
    )


@pytest.fixture
def coffee() -> Product:
    return Product.objects.create(name="Coffee beans, monthly", price=9900, is_subscription=True)


def test_a_canceled_payment_reads_canceled_everywhere(
    browser: Any, live_server: Any, screenshots: Screenshots, headphones: Product
) -> None:
    shopper = Shopper(browser, live_server.url)
    shopper.to_kakaopay(headphones)
    shopper.click('button[value="cancel"]')

    badge = shopper.status_is("order-status", "canceled")
    assert shopper.find("h1").text == "You canceled the payment"
    assert badge.text == "Canceled"
    assert "Payment failed" not in shopper.body_text()
    screenshots(browser, "canceled-1-failure-page")

    order = Order.objects.get()
    assert order.status == Order.Status.CANCELED
    shopper.open(order.get_absolute_url())
    assert shopper.status_is("order-status", "canceled").text == "Canceled"
    assert shopper.find("h1").text == "You canceled the payment"
    shopper.open("/shop/orders/")
    row_badge = shopper.find("table.list tbody .badge")
    assert row_badge.text == "Canceled"
    assert "badge-canceled" in row_badge.get_attribute("class")
    screenshots(browser, "canceled-2-my-orders")


def subscribe_in_the_browser(shopper: Shopper, coffee: Product) -> Subscription:
    shopper.to_kakaopay(coffee)
    shopper.fill_agreement()
    shopper.click('button[value="approve"]')
    shopper.status_is("subscription-status", "active")
    return Subscription.objects.get()


def test_after_this_months_charge_the_charge_button_is_no_longer_the_main_action(
    browser: Any, live_server: Any, screenshots: Screenshots, coffee: Product
) -> None:
    shopper = Shopper(browser, live_server.url)
    subscribe_in_the_browser(shopper, coffee)
    main_actions = shopper.find_all(".actions .button-kakao")
    assert [button.get_attribute("data-testid") for button in main_actions] == ["charge"]
    screenshots(browser, "charge-1-before")

    shopper.click('[data-testid="charge"]')
    shopper.wait_for(".messages li.success")
    button = shopper.find('[data-testid="charge"]')
    classes = button.get_attribute("class").split()
    assert "button-kakao" not in classes
    assert "button-plain" in classes
    # Nothing else took the yellow: there is no main action left to press this month.
    assert shopper.find_all(".actions .button-kakao") == []
    screenshots(browser, "charge-2-after-desktop")
    set_viewport(browser, *PHONE)
    browser.refresh()
    assert "button-kakao" not in shopper.find('[data-testid="charge"]').get_attribute("class")
    screenshots(browser, "charge-3-after-phone")

    # Pressing it anyway still explains, and charges nothing more.
    shopper.click('[data-testid="charge"]')
    shopper.wait_for(".messages li.info")
    assert "No second charge was made." in shopper.body_text()
    assert Payment.objects.filter(preapproval__isnull=False).count() == 1


# A month as an ISO key ("2026-12") or a numeric date ("12/02/2026", "2026-12-02"):
# what the pages showed next to written-out dates before.
NUMERIC_DATES = re.compile(r"\b\d{4}-\d{2}\b|\b\d{1,2}/\d{1,2}/\d{2,4}\b")


def test_the_subscription_page_uses_one_date_format_and_names_the_time_zone(
    browser: Any, live_server: Any, screenshots: Screenshots, coffee: Product
) -> None:
    shopper = Shopper(browser, live_server.url)
    subscribe_in_the_browser(shopper, coffee)
    shopper.click('[data-testid="charge"]')
    shopper.wait_for(".messages li.success")
    browser.execute_script(
        "arguments[0].scrollIntoView({block: 'center'});", shopper.find('[data-testid="charges"]')
    )
    screenshots(browser, "dates-1-subscription")

    charge = Payment.objects.get(preapproval__isnull=False)
    with translation.override("en"):
        month = format_billing_period(current_period())
        charged_at = format_datetime(charge.created_at)
    assert charged_at.endswith(" KST"), "the test settings' zone is Asia/Seoul"
    row = shopper.find('[data-testid="charges"] tbody tr')
    cells = [cell.text for cell in row.find_elements("css selector", "td")]
    assert cells[0] == month
    assert cells[3] == charged_at
    assert shopper.find('[data-testid="last-charged-period"]').text == month
    assert f"Charge this month ({month})" in shopper.body_text()
    assert f"Charged ₩9,900 for {month}." in shopper.body_text()
    assert NUMERIC_DATES.findall(shopper.body_text()) == []


def test_the_order_page_names_the_time_zone_of_the_payment_time(
    browser: Any, live_server: Any, screenshots: Screenshots, headphones: Product
) -> None:
    shopper = Shopper(browser, live_server.url)
    shopper.to_kakaopay(headphones)
    shopper.click('button[value="approve"]')
    shopper.status_is("order-status", "paid")
    order = Order.objects.get()
    assert order.paid_at is not None
    with translation.override("en"):
        paid_at = format_datetime(order.paid_at)
    assert shopper.fact("Paid at") == paid_at
    assert paid_at.endswith(" KST")
    assert NUMERIC_DATES.findall(shopper.body_text()) == []
    screenshots(browser, "dates-2-order")


def test_declining_on_the_agreement_page_ends_the_agreement_as_failed(
    browser: Any, live_server: Any, screenshots: Screenshots, coffee: Product
) -> None:
    shopper = Shopper(browser, live_server.url)
    shopper.to_kakaopay(coffee)
    buttons = [b.get_attribute("value") for b in shopper.find_all(".kp-actions button")]
    assert buttons == ["approve", "decline", "cancel"]
    assert shopper.find('button[value="decline"]').text == "Simulate a declined agreement"
    screenshots(browser, "decline-1-agreement-page")
    # Declining needs none of the three steps, as canceling does not.
    shopper.click('button[value="decline"]')

    shopper.status_is("subscription-status", "failed")
    screenshots(browser, "decline-2-subscription")
    subscription = Subscription.objects.select_related("preapproval").get()
    assert subscription.status == Subscription.Status.FAILED
    assert subscription.preapproval.status == Preapproval.Status.FAILED
    agreement = provider.get("sandbox", subscription.preapproval.provider_preapproval_id)
    assert agreement.status == provider.FAIL_SID
    # The sandbox said so in a signed notification, through the webhook view.
    event = WebhookEvent.objects.get()
    assert event.status == WebhookEvent.Status.PROCESSED
    failed = StatusTransition.objects.get(preapproval=subscription.preapproval, to_status="failed")
    assert failed.source == "webhook"


FITS_IN_ITS_CARD = """
const report = [];
for (const table of document.querySelectorAll('table.list')) {
  const card = table.closest('.card');
  const padding = parseFloat(getComputedStyle(card).paddingRight);
  const inner = card.getBoundingClientRect().right - padding;
  report.push({
    header: table.querySelector('th').textContent.trim(),
    tableRight: table.getBoundingClientRect().right,
    cardInnerRight: inner,
    widestCell: Math.max(...[...table.querySelectorAll('td, th')].map(
      (cell) => cell.getBoundingClientRect().right)),
  });
}
return {
  report,
  pageWidth: document.documentElement.scrollWidth,
  viewport: window.innerWidth,
};
"""


@pytest.mark.parametrize("browser_language", ["en-US", "ko"])
def test_my_orders_fits_a_390_px_phone(
    browser: Any,
    live_server: Any,
    screenshots: Screenshots,
    headphones: Product,
    coffee: Product,
    browser_language: str,
) -> None:
    shopper = Shopper(browser, live_server.url)
    # One order of each kind, so every badge's label is in the table.
    for action in ("approve", "decline", "cancel", None):
        shopper.to_kakaopay(headphones)
        if action:
            shopper.click(f'button[value="{action}"]')
            shopper.wait_for('[data-testid="order-status"]:not([data-status="pending"])')
    subscribe_in_the_browser(shopper, coffee)
    assert set(Order.objects.values_list("status", flat=True)) == {
        "paid",
        "failed",
        "canceled",
        "pending",
    }

    set_viewport(browser, *PHONE)
    shopper.open("/shop/orders/")
    assert len(shopper.find_all("table.list tbody tr")) == 5
    screenshots(browser, f"my-orders-390-{browser_language}")
    measured = browser.execute_script(FITS_IN_ITS_CARD)
    assert measured["viewport"] == PHONE[0]
    assert measured["pageWidth"] <= PHONE[0], measured
    for table in measured["report"]:
        assert table["tableRight"] <= table["cardInnerRight"] + 0.5, table
        assert table["widestCell"] <= table["cardInnerRight"] + 0.5, table


COLUMNS_SHOWN = """
const results = document.querySelector('#changelist .results');
const box = results.getBoundingClientRect();
return {
  resultsRight: box.right,
  scrollWidth: results.scrollWidth,
  clientWidth: results.clientWidth,
  headers: [...document.querySelectorAll('#result_list thead th')].map((th) => ({
    text: th.textContent.trim(),
    right: th.getBoundingClientRect().right,
  })),
};
"""


@pytest.mark.parametrize("backends", ["one", "several"])
def test_the_admin_payment_list_shows_every_column_at_1280_px(
    browser: Any, live_server: Any, screenshots: Screenshots, settings: Any, backends: str
) -> None:
    if backends == "several":
        # With more than one backend the list says which one each payment used.
        settings.KAKAOPAY = helpers.sandbox_settings()
    get_user_model().objects.create_superuser("ops", "ops@example.com", "pw-for-browser")
    long_customer = {"name": "Seo-yeon Kim-Park", "email": "seoyeon.kimpark@example.com"}
    refunded = helpers.paid_payment(reference="ORD-5023-4E89-2026-11", customer=long_customer)
    services.request_refund(refunded, 3000)
    stuck = helpers.started_payment(reference="ORD-7741-AB02-2026-11", customer=long_customer)
    Payment.objects.filter(pk=stuck.pk).update(needs_reconciliation=True)

    shopper = Shopper(browser, live_server.url)
    set_viewport(browser, *DESKTOP)
    shopper.open("/admin/login/")
    shopper.find("#id_username").send_keys("ops")
    shopper.find("#id_password").send_keys("pw-for-browser")
    shopper.click("input[type=submit]")
    shopper.wait_for("#site-name")
    shopper.open("/admin/django_kakaopay/payment/")
    shopper.wait_for("#result_list")
    screenshots(browser, f"admin-payments-1280-{backends}-backends")

    measured = browser.execute_script(COLUMNS_SHOWN)
    assert measured["scrollWidth"] <= measured["clientWidth"], measured
    for header in measured["headers"]:
        assert header["right"] <= measured["resultsRight"] + 0.5, header
    headers = [header["text"] for header in measured["headers"]][1:]  # after the checkbox
    expected = ["Reference", "Amount", "Status", "Customer", "Created at"]
    if backends == "several":
        expected.insert(3, "Backend")
    assert [text.casefold() for text in headers] == [text.casefold() for text in expected]
    # The refunded amount and the reconciliation flag lost their own columns,
    # not their place on the page.
    refunded_row = shopper.find(f'#result_list tr:has(a[href*="/{refunded.pk}/"])')
    assert "Refunded amount: ₩3,000" in refunded_row.text
    stuck_row = shopper.find(f'#result_list tr:has(a[href*="/{stuck.pk}/"])')
    assert "needs reconciliation" in stuck_row.text.casefold()
    assert "needs reconciliation" not in refunded_row.text.casefold()
