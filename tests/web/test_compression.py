"""Static stylesheets and icons travel gzipped; pages never do (BREACH)."""

from __future__ import annotations

import gzip
import re


def test_stylesheets_are_gzipped_and_identical_once_inflated(client):
    page = client.get("/", headers={"Accept": "text/html"}).get_data(as_text=True)
    css = re.search(r'href="(/static/dsfr/core/core\.min\.css\?v=[0-9a-f]+)"', page).group(1)
    with client.get(css) as plain, \
            client.get(css, headers={"Accept-Encoding": "gzip, deflate, br"}) as packed:
        plain_data, packed_data = plain.data, packed.data
    assert "Content-Encoding" not in plain.headers
    assert packed.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in packed.headers["Vary"]
    assert gzip.decompress(packed_data) == plain_data
    # The core stylesheet is the heaviest file of every page: it must shrink a lot.
    assert len(packed_data) * 4 < len(plain_data)
    assert int(packed.headers["Content-Length"]) == len(packed_data)


def test_pages_and_fonts_are_not_compressed_here(client):
    page = client.get("/", headers={"Accept": "text/html", "Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in page.headers
    with client.get("/static/dsfr/core/core.min.css") as css:
        font = re.search(r"url\(([^)]*Marianne-Regular\.woff2)\)", css.get_data(as_text=True))
    assert font is not None
    with client.get(font.group(1).replace("../", "/static/dsfr/"),
                    headers={"Accept-Encoding": "gzip"}) as woff2:
        assert woff2.status_code == 200
        assert "Content-Encoding" not in woff2.headers
