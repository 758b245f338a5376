"""A real headless Chromium for the console's tests, driven through Selenium.

Debian's ``chromium`` and ``chromium-driver`` packages (``make test`` installs them when
missing); nothing is downloaded by the tests. Selenium is synchronous: every call goes
to a worker thread (``trio.to_thread.run_sync``), one at a time, so the server under test
keeps running in the test's Trio loop meanwhile.

Outside CI a machine without Chromium skips these tests, with a reason in capitals in the
summary; in CI (``CI=true``) a missing browser fails them.

``TILEMUD_CONSOLE_SCREENSHOTS=docs/console`` makes :meth:`Browser.screenshot` write the
PNGs docs/console.md shows (they are committed; regenerate them with
``TILEMUD_CONSOLE_SCREENSHOTS=docs/console .venv/bin/pytest
tests/integration/test_console_browser.py``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import trio
from selenium import webdriver
from selenium.common.exceptions import (
    NoSuchElementException,
    StaleElementReferenceException,
    WebDriverException,
)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SCREENSHOTS = os.environ.get("TILEMUD_CONSOLE_SCREENSHOTS")

T = TypeVar("T")


def open_chromium() -> Iterator[Any]:
    """One headless Chromium (a generator for a pytest fixture)."""
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        message = (
            "CHROMIUM IS MISSING: THE CONSOLE'S BROWSER TESTS DID NOT RUN "
            "(apt-get install chromium chromium-driver, or run make test)"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",  # root in a container
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1100,760",
        "--no-first-run",
        "--disable-extensions",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


class Browser:
    """The test's view of one Chromium tab on one server."""

    def __init__(self, driver: Any, base_url: str) -> None:
        self.driver = driver
        self.base_url = base_url

    async def run(self, call: Callable[[], T]) -> T:
        return await trio.to_thread.run_sync(call)

    async def open(self, path: str) -> None:
        await self.run(lambda: self.driver.get(self.base_url + path))

    async def fill(self, css: str, text: str) -> None:
        def fill() -> None:
            field = self._find(css)
            field.clear()
            field.send_keys(text)

        await self.run(fill)

    async def choose(self, css: str, option: str) -> None:
        await self.run(lambda: Select(self._find(css)).select_by_visible_text(option))

    async def click(self, css: str) -> None:
        """Click something that stays on the page (a script's button)."""
        await self.run(lambda: self._find(css).click())

    async def follow(self, css: str) -> None:
        """Click a link or a form's button, and wait until the next page replaced this one
        (under load the old page may still be there when the click returns)."""
        old = await self.run(lambda: self.driver.find_element(By.TAG_NAME, "html"))
        await self.run(lambda: self._find(css).click())

        def replaced() -> bool:
            try:
                old.is_enabled()
            except WebDriverException:
                # Stale, or (Chromium, mid-navigation) "Node with given id does not belong
                # to the document": either way the old page is gone.
                return bool(self.driver.execute_script("return document.readyState") == "complete")
            return False

        await self.wait_for(replaced, f"the page after clicking {css}")

    async def text(self, css: str) -> str:
        """The element's text, once it is there."""
        found: str = await self.wait_for(lambda: str(self._find(css).text) or " ", css)
        return found.strip()

    async def attribute(self, css: str, name: str) -> str | None:
        return await self.run(lambda: self._find(css).get_attribute(name))

    async def source(self) -> str:
        return await self.run(lambda: str(self.driver.page_source))

    async def path(self) -> str:
        url = await self.run(lambda: str(self.driver.current_url))
        return url.removeprefix(self.base_url)

    async def wait_for(self, check: Callable[[], Any], what: str, *, within: float = 10.0) -> Any:
        """Poll ``check`` (in the worker thread) until it answers something true (an
        element not there yet, or replaced while read, counts as not yet)."""

        def attempt() -> Any:
            try:
                return check()
            except (NoSuchElementException, StaleElementReferenceException):
                return None
            except WebDriverException as exc:
                # Chromium's way of saying stale while a page is being replaced.
                if "does not belong to the document" in str(exc):
                    return None
                raise

        with trio.move_on_after(within):
            while True:
                found = await self.run(attempt)
                if found:
                    return found
                await trio.sleep(0.05)
        raise AssertionError(f"the browser never showed {what}")

    async def wait_path(self, path: str) -> None:
        """Wait until the browser shows ``path`` (a form's answer may still be loading)."""
        await self.wait_for(
            lambda: self.driver.current_url.removeprefix(self.base_url) == path, path
        )

    async def screenshot(self, name: str) -> None:
        """Save the page as ``<name>.png`` when screenshots are asked for."""
        if SCREENSHOTS:
            target = Path(SCREENSHOTS) / f"{name}.png"
            target.parent.mkdir(parents=True, exist_ok=True)
            await self.run(lambda: self.driver.save_screenshot(str(target)))

    def _find(self, css: str) -> Any:
        return self.driver.find_element(By.CSS_SELECTOR, css)
