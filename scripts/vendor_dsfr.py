#!/usr/bin/env python3
"""Vendor the few parts of the French state design system (DSFR) that the personal space uses.

Usage: `python scripts/vendor_dsfr.py` from the repository root (needs `npm` on the PATH and the
npm registry). It fetches `@gouvfr/dsfr` at the pinned version with `npm pack`, checks the
tarball against the pinned integrity, and rewrites `app/static/dsfr/` from scratch with:

- the core CSS and the CSS of the components listed in COMPONENTS, without the IE 11 part
  (`*.main.min.css`), and trimmed (see `trim`): deprecated `fr-fi-*` aliases, most spacing
  utility classes, unused custom properties and the font faces we do not ship are removed;
- the Marianne regular and bold fonts (woff2 only: every browser we target reads it);
- the DSFR icons the templates name (`fr-icon-…` classes found in app/templates), in one small
  CSS file, plus every SVG the vendored CSS points to;
- the site's icon (a 3 KB PNG), the licence, and a README listing what was taken.

The whole package is over 100 MB and `dsfr.min.css` alone is 728 KB: too heavy for a cheap
phone on little data. To use a new component or icon: add it here (or in a template), re-run.
No JavaScript is vendored: every flow of the personal space works without it.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import posixpath
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import textwrap
from dataclasses import dataclass
from pathlib import Path

VERSION = "1.15.3"
INTEGRITY = ("sha512-R9AALZc1LfZjtytWZMOaUIOHWTkllBZ/sZlsL8TpKZVgF3qUKXt/uNYh+L1D1Fh4p92Z"
             "qWxbtNcebsigBZe5pQ==")
PACKAGE = f"@gouvfr/dsfr@{VERSION}"

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "app" / "static" / "dsfr"
TEMPLATES = ROOT / "app" / "templates"

# What a sign-in form, a list of consents with buttons, a table of accesses with pagination,
# alerts and the header and footer need. Left out on purpose: navigation, breadcrumb, modal,
# translate, accordion (they need JavaScript to open on a phone).
COMPONENTS = (
    "skiplink", "link", "logo", "button", "header", "footer",
    "alert", "notice", "badge", "tag", "card", "table", "pagination",
    "form", "input", "password", "radio", "checkbox", "select",
)
# Regular and bold only: medium (500) falls back to regular, italics are synthesised.
FONTS = ("Marianne-Regular.woff2", "Marianne-Bold.woff2")
# Spacing utilities kept (`fr-mt-2w`…), at the base breakpoint only; the full set is 75 KB.
SPACING_KEPT = {"0", "1v", "2v", "3v", "1w", "2w", "3w", "4w", "5w", "6w", "8w", "auto"}
SPACING = re.compile(r"^\.fr-[mp][trblxy]?-([0-9a-z-]+)$")
# In the sheets of the text fields (`form`, `input`), the parts the pages never use: a field is
# shown plain or in error, never "valid" nor "info"; no range slider, rich radio, date picker
# or input add-on. About 6 KB of the 16 KB every form page needs.
FIELD_SHEETS = ("dist/component/form/", "dist/component/input/")
UNUSED_IN_FIELDS = re.compile(r"fr-range|fr-radio-rich|\[type=date\]|calendar-picker"
                              r"|fr-input-wrap--(?:addon|action)|--valid\b|--info\b"
                              r"|fr-(?:valid|info)-text|fr-label--success")
ICON_CLASS = re.compile(r"\bfr-icon-([a-z0-9]+(?:-[a-z0-9]+)*)")
URL = re.compile(r"url\(\s*(['\"]?)([^'\")]+)\1\s*\)")
VAR_USE = re.compile(r"var\(\s*(--[\w-]+)")
BANNER = re.compile(r"^\s*/\*!.*?\*/", re.S)


# --- A small parser for minified CSS: enough for DSFR's own output -------------------------

@dataclass
class Node:
    """A rule (`prelude{declarations}`), an at-rule with children, or a statement (`@x ...;`)."""

    prelude: str
    body: str | None = None            # declarations, for a rule or a leaf at-rule
    children: list[Node] | None = None  # for @media, @supports

    def render(self) -> str:
        if self.children is not None:
            inner = "".join(child.render() for child in self.children)
            return f"{self.prelude}{{{inner}}}" if inner else ""
        if self.body is None:
            return self.prelude
        return f"{self.prelude}{{{self.body}}}" if self.prelude else ""


def _scan(text: str, start: int, stop: str) -> int:
    """Return the index of the first `stop` character at depth 0, skipping strings and url()."""
    i, depth, quote = start, 0, ""
    while i < len(text):
        char = text[i]
        if quote:
            if char == "\\":
                i += 1
            elif char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif depth == 0 and char in stop:
            return i
        i += 1
    return len(text)


def _matching_brace(text: str, open_at: int) -> int:
    depth, i = 0, open_at
    while i < len(text):
        i = _scan(text, i, "{}")
        if i >= len(text):
            raise ValueError("unbalanced braces in CSS")
        depth += 1 if text[i] == "{" else -1
        if depth == 0:
            return i
        i += 1
    raise ValueError("unbalanced braces in CSS")


def parse(text: str) -> list[Node]:
    nodes: list[Node] = []
    i = 0
    while i < len(text):
        j = _scan(text, i, "{;")
        if j >= len(text):
            break
        prelude = text[i:j].strip()
        if text[j] == ";":
            nodes.append(Node(prelude + ";"))
            i = j + 1
            continue
        end = _matching_brace(text, j)
        inner = text[j + 1:end]
        if prelude.startswith(("@media", "@supports", "@layer")):
            nodes.append(Node(prelude, children=parse(inner)))
        else:
            nodes.append(Node(prelude, body=inner))
        i = end + 1
    return nodes


def split_top(text: str, separator: str) -> list[str]:
    parts, i = [], 0
    while i <= len(text):
        j = _scan(text, i, separator)
        parts.append(text[i:j])
        i = j + 1
    return parts


def walk(nodes: list[Node], media: str = ""):  # type: ignore[no-untyped-def]
    for node in nodes:
        if node.children is not None:
            yield from walk(node.children, media + node.prelude)
        else:
            yield node, media


# --- Trimming ------------------------------------------------------------------------------

def strip_comments(text: str) -> tuple[str, str]:
    """Return the licence banner and the CSS without any comment."""
    banner = BANNER.match(text)
    head = banner.group(0).strip() if banner else ""
    body = text[banner.end():] if banner else text
    return head, re.sub(r"/\*.*?\*/", "", body, flags=re.S)


def without_negations(selector: str) -> str:
    """Return the selector without its `:not(...)` parts (which match what they do not name)."""
    out, i = [], 0
    while (start := selector.find(":not(", i)) >= 0:
        out.append(selector[i:start])
        i = _scan(selector, start + len(":not("), ")") + 1
    return "".join(out) + selector[i:]


def keep_selector(selector: str, media: str, core: bool, fields: bool = False) -> bool:
    selector = selector.strip()
    if "fr-fi-" in without_negations(selector):  # icon aliases, deprecated since DSFR 1.0
        return False
    if fields and UNUSED_IN_FIELDS.search(without_negations(selector)):
        return False
    spacing = SPACING.match(selector) if core else None
    return not spacing or (not media and spacing.group(1) in SPACING_KEPT)


def trim_rules(nodes: list[Node], core: bool, fields: bool = False) -> None:
    for node, media in walk(nodes):
        if node.body is None or node.prelude.startswith("@"):
            continue
        selectors = [s for s in split_top(node.prelude, ",")
                     if keep_selector(s, media, core, fields)]
        node.prelude = ",".join(selectors)
        if node.prelude and node.body.strip() == "":
            node.prelude = ""


def trim_font_faces(nodes: list[Node]) -> None:
    """Keep the @font-face rules of FONTS only, pointing at their woff2 file only."""
    for node, _media in walk(nodes):
        if node.prelude != "@font-face" or node.body is None:
            continue
        sources = [m.group(0) for m in re.finditer(r"url\([^)]*\)\s*format\([^)]*\)", node.body)]
        woff2 = [s for s in sources if any(f"/{font})" in s for font in FONTS)]
        if not woff2:
            node.prelude = ""
            continue
        node.body = re.sub(r"src:[^;}]*", "src:" + woff2[0], node.body)


def prune_custom_properties(sheets: list[list[Node]]) -> None:
    """Drop the `:root` custom properties no vendored rule uses, even indirectly."""
    definitions: dict[str, list[str]] = {}
    used: set[str] = set()
    for nodes in sheets:
        for node, _media in walk(nodes):
            if node.body is None or not node.prelude:
                continue
            if node.prelude == ":root":
                for declaration in split_top(node.body, ";"):
                    name, _, value = declaration.partition(":")
                    if name.strip().startswith("--"):
                        definitions.setdefault(name.strip(), []).append(value)
                    else:
                        used.update(VAR_USE.findall(declaration))
            else:
                used.update(VAR_USE.findall(node.body))
    pending = list(used)
    while pending:
        for value in definitions.get(pending.pop(), []):
            for name in VAR_USE.findall(value):
                if name not in used:
                    used.add(name)
                    pending.append(name)
    for nodes in sheets:
        for node, _media in walk(nodes):
            if node.prelude == ":root" and node.body is not None:
                kept = [d for d in split_top(node.body, ";")
                        if not d.strip().startswith("--") or d.partition(":")[0].strip() in used]
                node.body = ";".join(d for d in kept if d.strip())
                if not node.body:
                    node.prelude = ""


# --- The package ---------------------------------------------------------------------------

def fetch(workdir: Path) -> tarfile.TarFile:
    """Return the pinned package, checked against its pinned integrity."""
    out = subprocess.run(  # noqa: S603 -- fixed arguments
        ["npm", "pack", PACKAGE, "--json", "--pack-destination", str(workdir)],  # noqa: S607
        check=True, capture_output=True, text=True, cwd=workdir,
    )
    filename = json.loads(out.stdout)[0]["filename"]
    data = (workdir / filename).read_bytes()
    integrity = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
    if integrity != INTEGRITY:
        sys.exit(f"{PACKAGE}: integrity {integrity} is not the pinned {INTEGRITY}")
    return tarfile.open(fileobj=io.BytesIO(data), mode="r:gz")


class Package:
    def __init__(self, tar: tarfile.TarFile) -> None:
        self.tar = tar

    def read(self, path: str) -> bytes:
        member = self.tar.extractfile(f"package/{path}")
        if member is None:
            raise FileNotFoundError(path)
        return member.read()

    def text(self, path: str) -> str:
        return self.read(path).decode("utf-8")


def icons_used() -> list[str]:
    names: set[str] = set()
    for template in TEMPLATES.rglob("*.html"):
        names.update(ICON_CLASS.findall(template.read_text(encoding="utf-8")))
    # Size modifiers (`fr-icon--sm`) are in the core, not icons.
    return sorted(name for name in names if not name.startswith("-"))


def icon_rules(package: Package, names: list[str]) -> list[Node]:
    """Return the rules declaring the icons named, from the per-family icon sheets."""
    family = re.compile(r"package/dist/utility/icons/icons-[a-z]+/icons-[a-z]+\.main\.min\.css")
    sheets = [p.name.removeprefix("package/") for p in package.tar.getmembers()
              if family.fullmatch(p.name)]
    wanted = {f".fr-icon-{name}:before" for name in names}
    rules: list[Node] = []
    found: set[str] = set()
    for sheet in sorted(sheets):
        _banner, text = strip_comments(package.text(sheet))
        for node, _media in walk(parse(text)):
            selectors = {s.strip() for s in split_top(node.prelude, ",")}
            if selectors & wanted:
                found |= selectors & wanted
                node.body = rebase_urls(node.body or "", posixpath.dirname(sheet), "dist/utility")
                rules.append(node)
    missing = wanted - found
    if missing:
        sys.exit(f"icons not in DSFR {VERSION}: {', '.join(sorted(missing))}")
    return rules


def rebase_urls(text: str, source_dir: str, target_dir: str) -> str:
    """Rewrite relative url()s written for `source_dir` so they resolve from `target_dir`."""
    def rewrite(match: re.Match[str]) -> str:
        url = match.group(2)
        if url.startswith(("data:", "/", "#")) or "://" in url:
            return match.group(0)
        resolved = posixpath.normpath(posixpath.join(source_dir, url))
        return f"url({posixpath.relpath(resolved, target_dir)})"
    return URL.sub(rewrite, text)


def assets_of(css: str, css_path: str) -> set[str]:
    """Return the package paths (under dist/) of the files a vendored sheet points to."""
    found = set()
    for match in URL.finditer(css):
        url = match.group(2)
        if not url.startswith(("data:", "/", "#")) and "://" not in url:
            found.add(posixpath.normpath(posixpath.join(posixpath.dirname(css_path), url)))
    return found


def write(path: Path, data: bytes) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return len(data)


def vendor(package: Package) -> dict[str, int]:
    """Write app/static/dsfr/ and return the size of each file written."""
    sheets: dict[str, tuple[str, list[Node]]] = {}
    core = "dist/core/core.main.min.css"
    for path in [core] + [f"dist/component/{c}/{c}.main.min.css" for c in COMPONENTS]:
        banner, text = strip_comments(package.text(path))
        nodes = parse(text)
        trim_rules(nodes, core=path == core, fields=path.startswith(FIELD_SHEETS))
        trim_font_faces(nodes)
        sheets[path.replace(".main.min.css", ".min.css")] = (banner, nodes)
    icons = icons_used()
    banner = strip_comments(package.text(core))[0]
    sheets["dist/utility/icons.min.css"] = (banner, icon_rules(package, icons))
    prune_custom_properties([nodes for _banner, nodes in sheets.values()])

    if TARGET.exists():
        shutil.rmtree(TARGET)
    sizes: dict[str, int] = {}
    # The 180 px PNG serves as favicon and home-screen icon: every browser reads it, and it is
    # half the size of favicon.svg.
    assets: set[str] = {"dist/favicon/apple-touch-icon.png"}
    note = "/* Trimmed for Ofpra Connect by scripts/vendor_dsfr.py: see README.md */"
    for path, (banner, nodes) in sheets.items():
        css = "".join(node.render() for node in nodes)
        assets |= assets_of(css, path)
        relative = path.removeprefix("dist/")
        sizes[relative] = write(TARGET / relative, f"{banner}{note}{css}\n".encode())
    for asset in sorted(assets):
        relative = asset.removeprefix("dist/")
        sizes[relative] = write(TARGET / relative, package.read(asset))
    sizes["LICENSE.md"] = write(TARGET / "LICENSE.md", package.read("LICENSE.md"))
    sizes["README.md"] = write(TARGET / "README.md", readme(sizes, icons).encode())
    return sizes


def readme(sizes: dict[str, int], icons: list[str]) -> str:
    total = sum(sizes.values())
    rows = "\n".join(f"| `{path}` | {size:,} |" for path, size in sorted(sizes.items()))
    spacing = ",".join(sorted(SPACING_KEPT))
    taken = textwrap.fill(
        f"Taken: the core and these components, without their IE 11 part: "
        f"{', '.join(COMPONENTS)}; the Marianne regular and bold fonts (woff2: medium text "
        f"shows in regular, italics are drawn by the browser); the icons the templates use "
        f"({', '.join(icons) or 'none'}) and the SVG files the CSS points to; the icon of the "
        f"site (`favicon/apple-touch-icon.png`). No JavaScript: every flow works without it.",
        width=96, break_on_hyphens=False, break_long_words=False)
    trimmed = textwrap.fill(
        f"Trimmed from the CSS, so that a first visit stays under 300 KB on a cheap phone: the "
        f"`fr-fi-*` icon aliases (deprecated since DSFR 1.0); the spacing utilities other than "
        f"`fr-{{m,p}}{{t,r,b,l,x,y}}-{{{spacing}}}` at the base breakpoint; the font faces not "
        f"shipped; the `:root` custom properties that no vendored rule uses, even indirectly; "
        f"in `form` and `input`, the parts no page uses (the \"valid\" and \"info\" states of "
        f"fields, range sliders, rich radios, date pickers, input add-ons).",
        width=96, break_on_hyphens=False, break_long_words=False)
    return f"""# DSFR {VERSION}, vendored minimally

The French State design system, from the npm package `{PACKAGE}`, under the Etalab
2.0 open licence (`LICENSE.md`, with its terms of use: the DSFR is for State services only).
Written by `scripts/vendor_dsfr.py`, which checks the package's integrity: do not edit these
files by hand.

{taken}

{trimmed}

To use another component or icon: add it to `COMPONENTS` in the script (icons: just use the
`fr-icon-…` class in a template), run `python scripts/vendor_dsfr.py` from the repository root
(it needs `npm`), and commit `app/static/dsfr/`. To change version: change `VERSION` and
`INTEGRITY` (`npm view @gouvfr/dsfr@X dist.integrity`), re-run, and look at the pages.

Integrity of the package: `{INTEGRITY}`.

Total: {total:,} bytes (this file aside).

| file | bytes |
| --- | ---: |
{rows}
"""


def main() -> None:
    with tempfile.TemporaryDirectory() as workdir, fetch(Path(workdir)) as tar:
        sizes = vendor(Package(tar))
    for path, size in sorted(sizes.items()):
        print(f"{size:>9,}  {path}")
    print(f"{sum(sizes.values()):>9,}  total in {TARGET.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
