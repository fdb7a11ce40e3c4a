"""Headless Chromium (Debian's chromium + chromium-driver) driven by selenium, for the HTML report tests.

The browser is started with a new empty profile and everything that would phone home turned off,
so the only network a test page could reach is one it asks for; the report pages ask for none.
"""

from __future__ import annotations

import base64
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--disable-extensions", "--window-size=1300,1600",
)
SHOTS = Path("/tmp/dockbench-shots")  # one copy of each screenshot for a person to look at


class Browser:
    """One Chromium session: open a file, run JS, click, screenshot, print."""

    def __init__(self, workdir: Path | None = None):
        for binary in (CHROMIUM, CHROMEDRIVER):
            if not shutil.which(binary):
                raise RuntimeError(f"{binary} not found: install Debian's chromium and chromium-driver (tests/run.sh does)")
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        self.profile = Path(tempfile.mkdtemp(prefix="dockbench-chromium-", dir=workdir))
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={self.profile}")
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self.driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        self.driver.set_page_load_timeout(120)
        self.driver.set_script_timeout(60)

    def open(self, path: Path) -> None:
        self.console()  # what earlier pages logged is theirs
        self.driver.get(Path(path).resolve().as_uri())
        self.js("return document.readyState")

    def js(self, script: str, *args: Any) -> Any:
        return self.driver.execute_script(script, *args)

    def css(self, selector: str):
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.CSS_SELECTOR, selector)

    def console(self) -> list[dict[str, Any]]:
        return self.driver.get_log("browser")

    def media(self, kind: str) -> None:
        """Emulate a CSS media type ('print'), or '' for the screen again."""
        self.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": kind})

    def shot(self, path: Path, full_page: bool = False) -> Path:
        """A PNG of the viewport (or the whole page), also copied under /tmp/dockbench-shots/."""
        path = Path(path)
        if full_page:
            metrics = self.driver.execute_cdp_cmd("Page.getLayoutMetrics", {})
            size = metrics["cssContentSize"]
            clip = {"x": 0, "y": 0, "width": size["width"], "height": min(size["height"], 12000), "scale": 1}
            data = self.driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "clip": clip, "captureBeyondViewport": True})["data"]
            path.write_bytes(base64.b64decode(data))
        else:
            self.driver.save_screenshot(str(path))
        SHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, SHOTS / path.name)
        return path

    def pdf(self, path: Path) -> Path:
        """Print to PDF the way a person's "print to PDF" would (print media, backgrounds on)."""
        data = self.driver.execute_cdp_cmd("Page.printToPDF", {"printBackground": True})["data"]
        Path(path).write_bytes(base64.b64decode(data))
        return Path(path)

    def quit(self) -> None:
        try:
            self.driver.quit()
        finally:
            shutil.rmtree(self.profile, ignore_errors=True)


def wait_for(browser, script, *args, timeout=10):
    """Poll a JS expression until it is truthy (toggle events and hash navigation are asynchronous)."""
    deadline = time.monotonic() + timeout
    while True:
        value = browser.js(script, *args)
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.05)
