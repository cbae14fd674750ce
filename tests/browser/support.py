"""Real Chromium driven by Selenium (Debian's chromium and chromium-driver; no browser download), with a
screenshot of each step kept in the log directory, and the browser's console read for errors."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")

# Nothing but the page under test may use the network: no updates, no safe browsing, no metrics.
QUIET_FLAGS = (
    "--headless=new",
    "--no-sandbox",  # root in CI
    "--disable-dev-shm-usage",
    "--disable-gpu",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-client-side-phishing-detection",
    "--disable-domain-reliability",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--no-pings",
    "--metrics-recording-only",
    "--safebrowsing-disable-auto-update",
    "--password-store=basic",
    "--disable-features=Translate,OptimizationHints,MediaRouter,AutofillServerCommunication",
)


def browser_paths() -> tuple[str, str]:
    """Chromium and its driver; a missing one fails in CI and skips, with the reason, elsewhere."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if chromium and driver:
        return chromium, driver
    reason = "Chromium and chromedriver are needed (Debian's chromium and chromium-driver; make test installs them)"
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


def screenshot_dir() -> Path:
    """Where each step's screenshot goes: FM_LOG_DIR (CI's log directory, .ci/logs by default)/browser/<set>."""
    base = Path(os.environ.get("FM_LOG_DIR") or ROOT / ".ci" / "logs")
    folder = base / "browser" / os.environ.get("FM_BACKENDS", "embedded")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class Browser:
    def __init__(self, driver: webdriver.Chrome, shots: Path, prefix: str) -> None:
        self.driver = driver
        self.shots = shots
        self.prefix = prefix
        self.step = 0
        self.console: list[dict[str, Any]] = []

    def wait(self, condition: Callable[[webdriver.Chrome], T], seconds: float = 20, what: str = "") -> T:
        # The app re-renders lists: an element seen a moment ago may be replaced; look again.
        waiting = WebDriverWait(
            self.driver, seconds, poll_frequency=0.05, ignored_exceptions=(StaleElementReferenceException,)
        )
        return waiting.until(condition, what)

    def find(self, css: str, seconds: float = 20) -> WebElement:
        """The first element matching `css` that is displayed, waited for."""

        def shown(driver: webdriver.Chrome) -> WebElement | bool:
            for element in driver.find_elements(By.CSS_SELECTOR, css):
                if element.is_displayed():
                    return element
            return False

        found: WebElement = self.wait(shown, seconds, f"a visible {css}")
        return found

    def gone(self, css: str, seconds: float = 20) -> None:
        self.wait(
            lambda d: not any(e.is_displayed() for e in d.find_elements(By.CSS_SELECTOR, css)), seconds, f"no {css}"
        )

    def js(self, script: str, *args: Any) -> Any:
        return self.driver.execute_script(script, *args)

    def shot(self, name: str) -> Path:
        self.step += 1
        path = self.shots / f"{self.prefix}{self.step:02d}-{name}.png"
        self.driver.save_screenshot(str(path))
        return path

    def read_console(self) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = self.driver.get_log("browser")
        self.console.extend(entries)
        return entries

    def console_errors(self) -> list[str]:
        self.read_console()
        return [json.dumps(entry) for entry in self.console if entry.get("level") == "SEVERE"]


@contextmanager
def chromium(
    prefix: str, width: int = 1280, height: int = 900, phone: bool = False, downloads: Path | None = None
) -> Iterator[Browser]:
    """A fresh browser profile: nothing shared with any other (an anonymous visitor is another one). With
    `phone`, the page sees a phone's screen (width x height CSS pixels, touch, mobile viewport); downloads are
    saved in `downloads`."""
    binary, driver_path = browser_paths()
    profile = tempfile.mkdtemp(prefix="fm-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in QUIET_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--window-size={width},{height}")
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    os.environ.setdefault("SE_AVOID_STATS", "true")  # Selenium Manager is not used (both paths are given)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    if downloads is not None:
        driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    if phone:
        metrics = {"width": width, "height": height, "deviceScaleFactor": 2, "mobile": True}
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
        driver.execute_cdp_cmd("Emulation.setTouchEmulationEnabled", {"enabled": True})
    try:
        yield Browser(driver, screenshot_dir(), prefix)
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
