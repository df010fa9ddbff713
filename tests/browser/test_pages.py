"""The public pages in a real browser: language, no script, nothing blocked by the CSP."""

from __future__ import annotations

from urllib.parse import urlsplit


def test_home_in_french_then_english_without_any_script(page):
    blocked: list[str] = []
    page.on("console", lambda message: blocked.append(message.text)
            if "Content Security Policy" in message.text else None)
    failed: list[str] = []
    page.on("requestfailed", lambda request: failed.append(request.url))
    page.goto("/")
    assert page.locator("html").get_attribute("lang") == "fr"
    assert page.locator("script").count() == 0
    # The language switcher is a plain form: it works without JavaScript.
    page.get_by_role("button", name="English").click()
    assert page.locator("html").get_attribute("lang") == "en"
    assert blocked == [] and failed == []


def test_fonts_load_from_the_service_itself(page, server):
    responses: list[str] = []
    page.on("response", lambda response: responses.append(response.url))
    page.goto("/")
    page.wait_for_load_state("networkidle")
    assert any(urlsplit(url).path.endswith(".woff2") for url in responses)
    assert {urlsplit(url).netloc for url in responses} == {urlsplit(server.url).netloc}
