"""Headless Chromium for the browser tests, from Debian's packages only.

Needs ``chromium``, ``chromium-driver`` and the ``selenium`` Python package;
without them a test is skipped with the reason printed. Selenium is given the
driver's path explicitly, so Selenium Manager never downloads anything.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest

CHROMIUM = os.environ.get("CHROMIUM_BINARY", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-dev-shm-usage",
    "--window-size=1280,900",
)
WAIT_SECONDS = 15
DESKTOP = (1280, 900)
PHONE = (390, 844)


def _skip(reason: str) -> NoReturn:
    print(f"SKIPPED browser test: {reason}")
    pytest.skip(reason)


@pytest.fixture
def browser_language() -> str:
    """What the browser asks pages to be written in; a test module may override it."""
    return "en-US"


@pytest.fixture
def browser(browser_language: str) -> Iterator[Any]:
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _skip("the selenium package is not installed (pip install selenium)")
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not (Path(path).is_file() and os.access(path, os.X_OK)):
            _skip(f"{path} is missing (apt-get install {package})")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in CHROMIUM_ARGS:
        options.add_argument(argument)
    options.add_argument(f"--lang={browser_language}")
    options.add_experimental_option("prefs", {"intl.accept_languages": browser_language})
    # Both binaries are there, so a failure to start is an error, not a skip.
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(WAIT_SECONDS * 2)
    try:
        yield driver
    finally:
        driver.quit()


def set_viewport(driver: Any, width: int, height: int) -> None:
    """Lay pages out at ``width`` x ``height`` CSS pixels, as a phone of that size would.

    Headless Chromium keeps its window at least ~500 px wide whatever
    ``--window-size`` says, so a narrower layout needs device emulation.
    """
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {
            "width": width,
            "height": height,
            "deviceScaleFactor": 1,
            "mobile": width < DESKTOP[0],
        },
    )


@pytest.fixture
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[Any, str], None]]:
    folder = tmp_path_factory.mktemp("browser-screenshots")

    def take(driver: Any, name: str) -> None:
        driver.save_screenshot(str(folder / f"{name}.png"))

    yield take
    print(f"Screenshots of the browser run: {folder}")
