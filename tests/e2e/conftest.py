"""Browser tests: Playwright driving Debian's Chromium against pytest-django's live server.

Every page records Content-Security-Policy violations, console errors and dialogs, so a test can
assert that none happened (nothing ran that should not have).
"""

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest

CHROMIUM = os.environ.get("LABELKEEP_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
# Runs before any page script (Playwright injects it over the DevTools protocol, so the page's
# own CSP does not apply to it) and collects the violations the page reports.
_WATCH_CSP = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI);
});
"""


@dataclass
class Watched:
    page: Any
    console_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    # What the "person" answers to a confirmation dialog; any dialog is recorded either way.
    confirm: bool = False

    def csp_violations(self) -> list[str]:
        return list(self.page.evaluate("window.__cspViolations || []"))

    def assert_clean(self) -> None:
        assert self.csp_violations() == []
        assert self.dialogs == []
        assert self.console_errors == []


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not shutil.which(CHROMIUM):
        pytest.fail(f"Chromium not found at {CHROMIUM} (apt-get install chromium).")
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture(autouse=True)
def _plain_static_names(settings):
    # The live server serves static files from their sources (finders), which know nothing of
    # the hashed names that ManifestStaticFilesStorage writes into pages.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@contextmanager
def watching(browser: Any, base_url: str) -> Iterator[Watched]:
    """A fresh browser context (its own cookies: one person) with one watched page."""
    context = browser.new_context(base_url=base_url)
    context.add_init_script(_WATCH_CSP)
    page = context.new_page()
    page.set_default_timeout(10_000)
    result = Watched(page)

    def on_console(message: Any) -> None:
        if message.type == "error":
            result.console_errors.append(message.text)

    def on_dialog(dialog: Any) -> None:
        result.dialogs.append(dialog.message)
        if result.confirm:
            dialog.accept()
        else:
            dialog.dismiss()

    def on_response(response: Any) -> None:
        if response.status >= 400 and "/static/" in response.url:
            result.console_errors.append(f"{response.status} {response.url}")

    page.on("console", on_console)
    page.on("dialog", on_dialog)
    page.on("response", on_response)
    try:
        yield result
    finally:
        context.close()


@pytest.fixture
def watched(browser, live_server) -> Iterator[Watched]:
    with watching(browser, live_server.url) as result:
        yield result


def sign_in(watched: Watched, email: str, password: str) -> None:
    page = watched.page
    page.goto("/account/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
