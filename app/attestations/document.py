"""An attestation as a PDF: one A4 page in French, its QR code, its token in the metadata.

The words come from `site/attestations/document.html`, rendered in French (the language of the
acts) with the shared record macros; this module only lays them out. Standard PDF fonts
(Helvetica, nothing embedded) keep the file small and generation fast; they cover French and
the Latin script OFPRA writes names in (WinAnsi), and any other letter is written without its
accent in the visible text, never in the signed facts.

The QR code is drawn as vector rectangles (sharp at any zoom, on any printer) with a fixed
mask: the content is base64url of a signature and of compact JSON, already as irregular as
masking aims to make it, and choosing among the eight masks costs 30 to 90 ms
(bench/attestations.py); the tests read every sandbox attestation back with a real decoder.

The QR code's content is also the PDF's `Keywords` entry, a plain string in the file: the
verify page finds it in an uploaded PDF with no image decoder and no PDF parser
(`tokens_in`), and a PDF whose QR code was altered still carries OFPRA's own token.
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Sequence
from html.parser import HTMLParser

import segno
from flask import render_template
from flask_babel import force_locale
from reportlab import rl_config
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfgen.canvas import Canvas

from app.attestations import services, signing

# Compressed streams stay binary: ASCII85 would cost time and a quarter more bytes.
rl_config.useA85 = 0

LANGUAGE = "fr"
WIDTH, HEIGHT = A4
MARGIN = 18 * mm
# A module (one square) of 0.6 mm reads well from paper with a phone; a long attestation's
# code gets smaller modules rather than pushing the text off the page.
QR_MODULE = 0.6 * mm
QR_SIZES = (45 * mm, 72 * mm)
QR_QUIET = 4  # modules of white around the code, as ISO/IEC 18004 asks
QR_MASK = 2
GAP = 6 * mm
BRAND = ("RÉPUBLIQUE", "FRANÇAISE")
OFFICE = "Office français de protection des réfugiés et apatrides"
# (font, size, leading, space before, indent)
STYLES = {
    "h1": ("Helvetica-Bold", 15, 19, 0, 0),
    "h2": ("Helvetica-Bold", 11, 14, 8, 0),
    "p": ("Helvetica", 10, 13, 3, 0),
    "li": ("Helvetica", 10, 13, 1, 5 * mm),
    "small": ("Helvetica", 7.5, 9.5, 6, 0),
}
_TOKEN = re.compile(rb"eyJ[A-Za-z0-9_-]{2,}\.eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{40,}")


def render(issued: services.Issued, verify_url: str) -> bytes:
    """The attestation's PDF (needs a request context: the words are a template's)."""
    with force_locale(LANGUAGE):
        words = render_template("site/attestations/document.html", issued=issued,
                                verify_url=verify_url)
    blocks = _Blocks.of(words)
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, pageCompression=1, lang="fr-FR")
    title = blocks[0][1] if blocks else "Attestation"
    canvas.setTitle(_latin(title))
    canvas.setAuthor("OFPRA")
    canvas.setCreator("Ofpra Connect")
    canvas.setSubject(f"Attestation {issued.terms.id}")
    canvas.setKeywords(issued.token)
    matrix = qr_code(issued.token).matrix
    side = min(max((len(matrix) + 2 * QR_QUIET) * QR_MODULE, QR_SIZES[0]), QR_SIZES[1])
    qr_bottom = HEIGHT - MARGIN - side
    _brand(canvas)
    _qr(canvas, matrix, WIDTH - MARGIN - side, qr_bottom, side)
    _text(canvas, blocks, top=HEIGHT - MARGIN - 22 * mm, qr_bottom=qr_bottom,
          narrow=WIDTH - 2 * MARGIN - side - GAP)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def tokens_in(data: bytes, limit: int = 5) -> list[str]:
    """The attestation tokens written as plain strings in a file (an attestation PDF)."""
    found: list[str] = []
    for match in _TOKEN.finditer(data):
        token = match.group().decode()
        if len(token) <= signing.MAX_LENGTH and token not in found:
            found.append(token)
            if len(found) == limit:
                break
    return found


def qr_code(token: str) -> segno.QRCode:
    """The QR code of a token, as the PDF prints it."""
    return segno.make(token, error=signing.QR_ERROR, micro=False, mask=QR_MASK)


class _Blocks(HTMLParser):
    """The template's text as (style, text) blocks, whitespace collapsed."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[tuple[str, str]] = []
        self._style: str | None = None
        self._text: list[str] = []

    @classmethod
    def of(cls, html: str) -> list[tuple[str, str]]:
        parser = cls()
        parser.feed(html)
        parser.close()
        return parser.blocks

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("h1", "h2", "p", "li"):
            classes = (dict(attrs).get("class") or "").split()
            self._style = "small" if "small" in classes else tag
            self._text = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("h1", "h2", "p", "li") and self._style is not None:
            text = " ".join("".join(self._text).split())
            if text:
                self.blocks.append((self._style, text))
            self._style = None

    def handle_data(self, data: str) -> None:
        if self._style is not None:
            self._text.append(data)


def _latin(text: str) -> str:
    """Text the standard fonts can draw: a letter outside WinAnsi loses its accent, or is '?'."""
    try:
        text.encode("cp1252")
        return text
    except UnicodeEncodeError:
        pass
    kept = []
    for char in text:
        try:
            char.encode("cp1252")
            kept.append(char)
        except UnicodeEncodeError:
            bare = "".join(part for part in unicodedata.normalize("NFKD", char)
                           if not unicodedata.combining(part))
            kept.append(bare if bare and bare.isascii() else "?")
    return "".join(kept)


def _brand(canvas: Canvas) -> None:
    y = HEIGHT - MARGIN - 4 * mm
    canvas.setFont("Helvetica-Bold", 10)
    for line in BRAND:
        canvas.drawString(MARGIN, y, line)
        y -= 12
    canvas.setFont("Helvetica", 8.5)
    canvas.drawString(MARGIN, y - 4, OFFICE)


def _qr(canvas: Canvas, matrix: Sequence[Sequence[int]], x: float, y: float,
        side: float) -> None:
    """Draw a QR code `side` wide, its lower left corner (quiet zone included) at x, y."""
    modules = len(matrix)
    total = modules + 2 * QR_QUIET
    unit = side / total
    # One path of rectangles in module units, a dark run of each row per rectangle: written as
    # plain operators, since drawing them one call each is most of the page's cost.
    operators = [f"q 0 g {unit:.5f} 0 0 {unit:.5f} {x:.3f} {y:.3f} cm"]
    for row_index, row in enumerate(matrix):
        row_y = total - QR_QUIET - 1 - row_index
        column = 0
        while column < modules:
            if row[column]:
                start = column
                while column < modules and row[column]:
                    column += 1
                operators.append(f"{start + QR_QUIET} {row_y} {column - start} 1 re")
            else:
                column += 1
    operators.append("f Q")
    canvas.addLiteral("\n".join(operators))


def _text(canvas: Canvas, blocks: list[tuple[str, str]], *, top: float, qr_bottom: float,
          narrow: float) -> None:
    """Lay the blocks out from `top`: `narrow` beside the QR code, then the full width."""
    y = top
    full = WIDTH - 2 * MARGIN
    for style, text in blocks:
        font, size, leading, before, indent = STYLES[style]
        y -= before
        width = (narrow if y > qr_bottom else full) - indent
        lines = simpleSplit(_latin(text), font, size, width)
        for number, line in enumerate(lines):
            if y - leading < MARGIN:
                canvas.showPage()
                y = HEIGHT - MARGIN
            y -= leading
            canvas.setFont(font, size)
            if style == "li" and number == 0:
                canvas.drawString(MARGIN + indent - 3.5 * mm, y, "\u2022")
            canvas.drawString(MARGIN + indent, y, line)
