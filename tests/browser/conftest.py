"""Browser tests: Playwright for Python driving Debian's Chromium (/usr/bin/chromium).

Playwright never downloads a browser here. Without Chromium these tests are skipped and the
run's header says so; with REQUIRE_BROWSER=1 (CI) a missing Chromium is a failure.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

from tests import live

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
# Each step (a page, an element, a text) waits at most this long: a stuck journey fails fast.
STEP_MS = 10_000


def chromium_present() -> bool:
    return shutil.which(CHROMIUM) is not None


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not chromium_present():
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"REQUIRE_BROWSER=1 and no Chromium at {CHROMIUM}")
        pytest.skip(f"no Chromium at {CHROMIUM}: browser tests skipped")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=STEP_MS)  # assertions wait as long as actions do
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[live.Live]:
    with live.serve(tmp_path_factory.mktemp("instance")) as running:
        yield running


@pytest.fixture()
def page(browser, server):  # type: ignore[no-untyped-def]
    """A fresh browser context (no cookies), French first, on a small phone's screen."""
    context = browser.new_context(base_url=server.url, locale="fr-FR",
                                  viewport={"width": 360, "height": 740})
    context.set_default_timeout(STEP_MS)
    opened = context.new_page()
    yield opened
    context.close()
