"""The admin in a real browser: Debian's headless Chromium driven by selenium through the
system chromedriver (never Selenium Manager, which would download one).

`make test-browser` runs this folder; `make test` leaves it out (pyproject.toml, --ignore).
Without chromium, chromedriver or selenium every test is skipped with the reason, from the
session-wide `browser` fixture. A failing test leaves a screenshot and the page's HTML in
var/browser-screenshots/.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "var" / "browser-screenshots"
BROWSER_ZONE = "Asia/Shanghai"  # the zone the browser says it is in (not the hub's default)
SIZES = {"1440": (1440, 900), "390": (390, 844)}
PASSWORD = "correct-horse-battery-staple"

# Console entries that are no fault of a page.
HARMLESS = re.compile(r"favicon\.ico", re.IGNORECASE)


def _chromium() -> str | None:
    """The browser: HUB_CHROMIUM (`make test-browser` sets it), else chromium on PATH."""
    return os.environ.get("HUB_CHROMIUM") or shutil.which("chromium")


def _chromedriver() -> str | None:
    """The system's driver, never one Selenium Manager would download."""
    return os.environ.get("HUB_CHROMEDRIVER") or shutil.which("chromedriver")


def why_not_runnable() -> str:
    """Why this machine cannot run the suite ("" when it can)."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -r requirements-browser.txt)"
    for what, path in (("chromium", _chromium()), ("chromedriver", _chromedriver())):
        if not path or not os.access(path, os.X_OK):
            return f"no {what} (apt-get install chromium chromium-driver)"
    return ""


def pytest_report_header(config) -> str:
    reason = why_not_runnable()
    if reason:
        return f"browser suite not run: {reason}"
    return f"browser: {_chromium()} with {_chromedriver()}"


@pytest.fixture(scope="session")
def browser():
    reason = why_not_runnable()
    if reason:
        pytest.skip(f"browser suite not run: {reason}")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = _chromium()
    for flag in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root in a container
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--disable-extensions",
        "--no-first-run",
        "--lang=en-US",
        "--window-size=1440,900",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(executable_path=_chromedriver(), env={**os.environ, "TZ": BROWSER_ZONE})
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def page_left(old) -> bool:
    """Whether `old` (an element of the previous page) is gone from the document. Selenium's
    staleness_of expects a stale-element error, but chromedriver, asked while the next page
    replaces the document, sometimes answers "Node with given id does not belong to the
    document" as an unknown error instead (seen in CI on 2026-12-07): that is gone too."""
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException

    try:
        old.is_enabled()
    except StaleElementReferenceException:
        return True
    except WebDriverException as exc:
        if "does not belong to the document" in str(exc):
            return True
        raise
    return False


class Page:
    """The browser at one window size, on the live server, with the console checked on
    every page it visits."""

    def __init__(self, driver, base_url: str, width: int, height: int):
        self.driver = driver
        self.base_url = base_url
        self.width = width
        self.problems: list[str] = []
        self.resize(width, height)

    def resize(self, width: int, height: int) -> None:
        # The viewport itself, not the window around it (headless has no window chrome, but
        # the size must be exact for the overflow check).
        self.driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 768},
        )
        self.driver.execute_cdp_cmd("Emulation.setTimezoneOverride", {"timezoneId": BROWSER_ZONE})

    def open(self, path: str) -> None:
        self.driver.get(self.base_url + path)
        self.check_console()

    def check_console(self) -> None:
        """Collect console errors and CSP violations (the test fails on them at its end)."""
        url = self.driver.current_url
        for entry in self.driver.get_log("browser"):
            message = entry.get("message", "")
            if HARMLESS.search(message):
                continue
            if entry.get("level") == "SEVERE" or "Content Security Policy" in message:
                self.problems.append(f"{url}: {entry.get('level')}: {message}")

    # --- finding things --------------------------------------------------------------------

    def find(self, css: str):
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.CSS_SELECTOR, css)

    def find_all(self, css: str):
        from selenium.webdriver.common.by import By

        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def text(self, css: str = "body") -> str:
        """An element's words as in the HTML (not as CSS shows them: the admin upper-cases
        some)."""
        return " ".join(self.find(css).get_attribute("textContent").split())

    def messages(self) -> list[tuple[str, str]]:
        """Django's messages on the page: (level, text)."""
        return [
            (li.get_attribute("class"), " ".join(li.get_attribute("textContent").split()))
            for li in self.find_all("ul.messagelist li")
        ]

    def fill(self, name: str, value: str) -> None:
        box = self.find(f"[name='{name}']")
        box.clear()
        box.send_keys(value)

    def choose(self, name: str, visible_text: str) -> None:
        from selenium.webdriver.support.ui import Select

        Select(self.find(f"select[name='{name}']")).select_by_visible_text(visible_text)

    def press(self, label: str) -> None:
        """Press a button (a submit <button> or <input>) by the words on it, and wait for the
        next page."""
        from selenium.webdriver.common.by import By

        xpath = (
            f"//button[normalize-space()='{label}'] | //input[@type='submit' and @value='{label}']"
        )
        buttons = [b for b in self.driver.find_elements(By.XPATH, xpath) if b.is_displayed()]
        assert buttons, f"no visible button {label!r} on {self.driver.current_url}"
        old = self.find("html")
        self.scroll_to(buttons[0])
        buttons[0].click()
        self.wait_for_new_page(old)

    def save(self) -> None:
        self.press("Save")

    def scroll_to(self, element) -> None:
        self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", element)

    def wait_for_new_page(self, old) -> None:
        from selenium.webdriver.support.ui import WebDriverWait

        WebDriverWait(self.driver, 15).until(lambda d: page_left(old))
        WebDriverWait(self.driver, 15).until(
            lambda d: d.execute_script("return document.readyState") == "complete"
        )
        self.check_console()

    def path(self) -> str:
        return self.driver.current_url.removeprefix(self.base_url)

    def widths(self, css: str | None = None) -> dict:
        """How wide the page is laid out against the width it was given (not innerWidth: on
        an emulated phone the layout viewport grows with content that overflows), and how
        far one element's content reaches, if named."""
        return self.driver.execute_script(
            """
            const out = {viewport: arguments[1], page: document.scrollingElement.scrollWidth};
            const el = arguments[0] && document.querySelector(arguments[0]);
            if (el) {
              const r = el.getBoundingClientRect();
              out.element = Math.ceil(r.left + Math.max(el.scrollWidth, r.width));
            }
            return out;
            """,
            css,
            self.width,
        )

    def wider_than_viewport(self) -> list[str]:
        """The outermost elements reaching past the viewport (the culprits of an overflow);
        those inside a box that scrolls sideways itself (a stock Django results table) are
        not."""
        return self.driver.execute_script(
            """
            const limit = arguments[0] + 1, out = [];
            const scrolls = (el) => {
              for (let a = el.parentElement; a; a = a.parentElement) {
                if (a === document.body) return false;
                if (getComputedStyle(a).overflowX !== 'visible') return true;
              }
              return false;
            };
            for (const el of document.querySelectorAll('body *')) {
              const r = el.getBoundingClientRect();
              if (!r.width || r.right <= limit || scrolls(el)) continue;
              const parent = el.parentElement;
              if (parent && parent !== document.body
                  && parent.getBoundingClientRect().right > limit) continue;
              const cls = typeof el.className === 'string' && el.className.trim()
                ? '.' + el.className.trim().split(/\\s+/).join('.') : '';
              out.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + cls +
                ' right=' + Math.round(r.right));
            }
            return out.slice(0, 10);
            """,
            self.width,
        )

    # --- logging in -------------------------------------------------------------------------

    def log_in(self, username: str, password: str = PASSWORD) -> None:
        self.open("/admin/login/?next=/admin/")
        self.fill("username", username)
        self.fill("password", password)
        self.press("Log in")


@pytest.fixture
def superuser(transactional_db):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_superuser(
        username="ops", email="ops@example.com", password=PASSWORD
    )


@pytest.fixture(params=list(SIZES), ids=[f"{w}px" for w in SIZES])
def page(request, browser, live_server, transactional_db):
    width, height = SIZES[request.param]
    browser.delete_all_cookies()
    browser.get_log("browser")  # drop what an earlier test left
    page = Page(browser, live_server.url, width, height)
    yield page
    call = getattr(request.node, "report_call", None)
    if call is not None and call.failed:
        SHOTS.mkdir(parents=True, exist_ok=True)
        stem = re.sub(r"[^\w.-]+", "_", request.node.name)
        browser.save_screenshot(str(SHOTS / f"{stem}.png"))
        (SHOTS / f"{stem}.html").write_text(browser.page_source, encoding="utf-8")
    elif call is not None and call.passed:
        page.check_console()
        assert not page.problems, "console errors or CSP violations:\n" + "\n".join(page.problems)


@pytest.fixture
def logged_in(page, superuser):
    page.log_in(superuser.username)
    assert page.path() == "/admin/", page.path()
    return page
