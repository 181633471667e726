"""Korean pages in a real Chromium: the words are Korean, and the glyphs are really drawn.

A page can be perfectly Korean in its HTML and still show a row of boxes
("tofu") when the machine has no font with Hangul in it; the DOM cannot tell.
So one test looks at pixels: it draws two different syllables of the page's
own heading, in the heading's font, and compares screenshots of them. Two
different Hangul syllables never look alike; two missing glyphs are the
same box. It also asks Chromium which fonts it used, to say so on failure.
"""

from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import Callable
from typing import Any

import pytest

from django_kakaopay.models import Payment
from example_project.shop.models import Order, Product

from .conftest import DESKTOP, PHONE, WAIT_SECONDS, set_viewport

pytestmark = pytest.mark.django_db(transaction=True)

Screenshots = Callable[[Any, str], None]
HANGUL = re.compile(r"[\uac00-\ud7a3]")
# A code point no font has a glyph for: what a missing glyph looks like here.
UNASSIGNED = "\u0378"


@pytest.fixture
def browser_language() -> str:
    return "ko"


# One probe per character, each drawn alone at the same whole-pixel spot in
# the heading's font, so two probes differ only if their glyphs do.
ADD_PROBES = """
const [heading, characters] = arguments;
const style = getComputedStyle(heading);
return characters.map((character) => {
  const probe = document.createElement('span');
  probe.textContent = character;
  probe.style.cssText = [
    'position:fixed', 'left:8px', 'top:8px', 'z-index:2147483647', 'display:none',
    'padding:4px', 'line-height:1.2', 'background:#fff', 'color:#000',
    'font-family:' + style.fontFamily, 'font-size:' + style.fontSize,
    'font-weight:' + style.fontWeight,
  ].join(';');
  document.body.appendChild(probe);
  return probe;
});
"""


def platform_fonts(driver: Any, css: str) -> list[str]:
    """The fonts Chromium actually drew ``css``'s text with, and how many glyphs each."""
    driver.execute_cdp_cmd("DOM.enable", {})
    driver.execute_cdp_cmd("CSS.enable", {})
    root = driver.execute_cdp_cmd("DOM.getDocument", {"depth": 0})["root"]["nodeId"]
    node = driver.execute_cdp_cmd("DOM.querySelector", {"nodeId": root, "selector": css})
    fonts = driver.execute_cdp_cmd("CSS.getPlatformFontsForNode", {"nodeId": node["nodeId"]})
    return [f"{font['familyName']} ({font['glyphCount']} glyphs)" for font in fonts["fonts"]]


def glyph_screenshots(driver: Any, heading: Any, characters: list[str]) -> list[str]:
    """A digest of each character's screenshot: equal digests, equal pixels."""
    probes = driver.execute_script(ADD_PROBES, heading, characters)
    digests = []
    for probe in probes:
        driver.execute_script("arguments[0].style.display = 'inline-block';", probe)
        digests.append(hashlib.sha256(probe.screenshot_as_png).hexdigest())
        driver.execute_script("arguments[0].remove();", probe)
    return digests


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_korean_text_is_drawn_with_a_font_that_has_hangul(
    browser: Any, live_server: Any, screenshots: Screenshots, size: tuple[int, int]
) -> None:
    from selenium.webdriver.common.by import By

    Product.objects.create(name="무선 헤드폰", price=11000, description="30시간 재생")
    set_viewport(browser, *size)
    browser.get(f"{live_server.url}/shop/")
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "ko"
    heading = browser.find_element(By.TAG_NAME, "h1")
    assert heading.text == "상품"
    screenshots(browser, f"korean-products-{size[0]}x{size[1]}")

    syllables = list(dict.fromkeys(HANGUL.findall(heading.text)))
    assert len(syllables) >= 2, heading.text
    fonts = platform_fonts(browser, "h1")
    first, second, missing = glyph_screenshots(
        browser, heading, [syllables[0], syllables[1], UNASSIGNED]
    )
    why = f"the heading {heading.text!r} was drawn with {fonts}"
    assert first != second, f"{syllables[0]} and {syllables[1]} look alike (boxes): {why}"
    assert missing not in (first, second), f"Hangul is drawn as a missing glyph: {why}"


def korean_merchant(settings: Any) -> None:
    """The example shop's own merchant name, which its catalogue translates."""
    value = copy.deepcopy(settings.KAKAOPAY)
    value["BACKENDS"]["sandbox"]["OPTIONS"]["MERCHANT_NAME"] = "Example shop"
    settings.KAKAOPAY = value


# What may stay in Latin letters on a Korean page: the shop's references
# (ORD-…, SUB-…), the KakaoPay logo, the app's name, the time zone's
# abbreviation and the language switcher's "English".
# Hangul counts as a word character to ``\b``, so the edges are Latin-only.
NOT_WORDS = re.compile(
    r"(?<![A-Za-z])(?:(?:ORD|SUB)-[0-9A-F-]+|django-kakaopay|kakao\s*pay|KST|English)(?![A-Za-z])"
)
LATIN = re.compile(r"[A-Za-z]+")


def test_the_korean_shop_and_kakaopay_pages_speak_only_korean(
    browser: Any, live_server: Any, screenshots: Screenshots, settings: Any
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    korean_merchant(settings)
    headphones = Product.objects.create(name="무선 헤드폰", price=11000)
    coffee = Product.objects.create(name="원두 정기배송", price=9900, is_subscription=True)
    wait = WebDriverWait(browser, WAIT_SECONDS)
    seen: dict[str, tuple[str, str]] = {}

    def look(name: str) -> None:
        """Keep the page's title and visible text, and a screenshot."""
        body = browser.find_element(By.TAG_NAME, "body").text
        seen[name] = (browser.title, body)
        screenshots(browser, f"korean-{name}")

    def press(css: str) -> None:
        wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, css))).click()

    def to_kakaopay(product: Product) -> None:
        browser.get(f"{live_server.url}/shop/")
        press(f'[data-product="{product.name}"] button[type="submit"]')
        wait.until(ec.url_contains("/kakaopay/sandbox/"))

    def status_is(status: str) -> None:
        wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, f'[data-status="{status}"]')))

    def fact(label: str) -> str:
        """The value beside ``label`` in an order's or subscription's summary."""
        for term in browser.find_elements(By.CSS_SELECTOR, "dl.facts dt"):
            if term.text == label:
                return str(term.find_element(By.XPATH, "following-sibling::dd[1]").text)
        raise AssertionError(f"no {label!r} in the summary")

    browser.get(f"{live_server.url}/shop/")
    look("01-products")
    to_kakaopay(headphones)
    assert browser.find_element(By.CSS_SELECTOR, ".kp-merchant").text == "예제 상점"
    look("02-kakaopay-payment")
    press('button[value="cancel"]')
    status_is("canceled")
    look("03-canceled")

    to_kakaopay(headphones)
    press('button[value="approve"]')
    status_is("paid")
    assert fact("결제 수단") == "카카오페이"
    look("04-thanks")
    paid = Order.objects.get(status=Order.Status.PAID)
    browser.get(f"{live_server.url}{paid.get_absolute_url()}")
    look("05-order")

    to_kakaopay(coffee)
    assert browser.find_element(By.CSS_SELECTOR, ".kp-merchant").text == "예제 상점"
    look("06-kakaopay-agreement")
    press("#id_accept_terms")
    browser.find_element(By.ID, "id_verification_code").send_keys("123456")
    press("#id_accept_auto_debit")
    press('button[value="approve"]')
    status_is("active")
    press('[data-testid="charge"]')
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, ".messages li.success")))
    look("07-subscription")
    assert Payment.objects.filter(preapproval__isnull=False, status="paid").count() == 1
    browser.get(f"{live_server.url}/shop/orders/")
    look("08-my-orders")

    def latin(text: str) -> list[str]:
        return LATIN.findall(NOT_WORDS.sub("", text))

    titles = {name: latin(title) for name, (title, _body) in seen.items() if latin(title)}
    assert titles == {}, f"titles with words that are not Korean: {titles}"
    bodies = {name: latin(body) for name, (_title, body) in seen.items() if latin(body)}
    assert bodies == {}, f"pages with words that are not Korean: {bodies}"
