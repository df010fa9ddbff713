"""The weight of a first visit, and the vendored DSFR: every file referenced is there."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
from flask.testing import FlaskClient

from tests.web.conftest import fetch

STATIC = Path(__file__).resolve().parents[2] / "app" / "static"
BUDGET = 300_000  # bytes: a first visit on a cheap phone with little data
URL = re.compile(r"url\(\s*(['\"]?)([^'\")]+)\1\s*\)")
FONT_FACE = re.compile(r"@font-face\s*{([^}]*)}")


class Links(HTMLParser):
    """The files a page makes the browser fetch: stylesheets, icons, images, scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.scripts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "link" and values.get("rel") in ("stylesheet", "icon", "preload"):
            self.urls.append(values["href"] or "")
        elif tag in ("img", "source") and values.get("src"):
            self.urls.append(values["src"] or "")
        elif tag == "script":
            self.scripts.append(values.get("src") or "inline")


def local_refs(css: str, base: str) -> tuple[list[str], list[str]]:
    """Return (fonts, other files) a stylesheet points to, as absolute paths.

    For a font, only the first source of each @font-face counts: the browser stops there.
    """
    fonts = []
    for face in FONT_FACE.finditer(css):
        first = URL.search(face.group(1))
        if first:
            fonts.append(urljoin(base, first.group(2)))
    outside_faces = FONT_FACE.sub("", css)
    others = [urljoin(base, m.group(2)) for m in URL.finditer(outside_faces)
              if not m.group(2).startswith("data:")]
    return fonts, others


def first_visit(client: FlaskClient, path: str) -> dict[str, int]:
    """Fetch a page and everything it makes the browser download; return bytes per URL."""
    status, body, _headers = fetch(client, path)
    assert status == 200
    sizes = {path: len(body)}
    links = Links()
    links.feed(body.decode())
    assert links.scripts == [], "pages carry no JavaScript"
    pending = list(links.urls)
    while pending:
        url = pending.pop()
        if url in sizes:
            continue
        assert urlsplit(url).netloc == "", f"{url} is not on this site"
        status, data, headers = fetch(client, url)
        assert status == 200, f"{url} answers {status}"
        sizes[url] = len(data)
        if headers["Content-Type"].startswith("text/css"):
            fonts, others = local_refs(data.decode(), url)
            pending += fonts + others
    return sizes


@pytest.mark.parametrize("path", ["/", "/accessibilite"])
def test_a_first_visit_stays_under_300_kb(browser: FlaskClient, path: str,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    sizes = first_visit(browser, path)
    total = sum(sizes.values())
    with capsys.disabled():
        print(f"\nfirst visit of {path}: {total:,} bytes in {len(sizes)} files "
              f"(HTML {sizes[path]:,}; fonts "
              f"{sum(v for k, v in sizes.items() if k.endswith('.woff2')):,})")
    assert total < BUDGET
    assert any(url.endswith("Marianne-Regular.woff2") for url in sizes)


def test_versioned_assets_are_cached_for_a_year(browser: FlaskClient) -> None:
    _status, body, _headers = fetch(browser, "/")
    core = re.search(r'href="(/static/dsfr/core/core\.min\.css\?v=[0-9a-f]{12})"',
                     body.decode())
    assert core
    status, _data, headers = fetch(browser, core.group(1))
    assert status == 200
    assert headers["Cache-Control"] == "public, max-age=31536000, immutable"
    status, _data, headers = fetch(browser, "/static/dsfr/fonts/Marianne-Bold.woff2")
    assert status == 200
    assert headers["Cache-Control"] == "public, max-age=86400"
    assert headers["Content-Type"] == "font/woff2"


def test_every_file_the_vendored_css_points_to_is_vendored() -> None:
    sheets = sorted(STATIC.rglob("*.css"))
    assert sheets
    missing = []
    for sheet in sheets:
        for match in URL.finditer(sheet.read_text(encoding="utf-8")):
            url = match.group(2)
            if url.startswith("data:"):
                continue
            target = (sheet.parent / urlsplit(url).path).resolve()
            if not target.is_file():
                missing.append(f"{sheet.relative_to(STATIC)} -> {url}")
    assert missing == []


def test_the_vendored_dsfr_is_small_and_has_no_script() -> None:
    dsfr = STATIC / "dsfr"
    files = [p for p in dsfr.rglob("*") if p.is_file()]
    assert (dsfr / "LICENSE.md").read_text(encoding="utf-8").count("LICENCE OUVERTE") >= 1
    assert "DSFR 1.15.3" in (dsfr / "README.md").read_text(encoding="utf-8")
    assert not [p for p in files if p.suffix in (".js", ".map", ".woff")]
    assert sum(p.stat().st_size for p in files) < 600_000


def test_every_icon_the_templates_use_is_vendored() -> None:
    """An icon class without its CSS shows nothing: re-run scripts/vendor_dsfr.py."""
    templates = STATIC.parent / "templates"
    used = set()
    for template in templates.rglob("*.html"):
        used |= set(re.findall(r"\bfr-icon-([a-z0-9]+(?:-[a-z0-9]+)*)",
                               template.read_text(encoding="utf-8")))
    assert used
    declared = "".join(p.read_text(encoding="utf-8") for p in (STATIC / "dsfr").rglob("*.css"))
    missing = sorted(name for name in used if f".fr-icon-{name}:before" not in declared)
    assert missing == []
