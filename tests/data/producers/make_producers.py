"""Render two factsheets with two real producers (Chromium, LibreOffice) plus their golden blocks.

Run from the repository root::

    .venv/bin/python tests/data/producers/make_producers.py            # sources, PDFs, gold
    .venv/bin/python tests/data/producers/make_producers.py --gold-only  # gold from the PDFs

The content comes from the golden blocks of the reportlab samples
(``tests/data/gold/blocks/<stem>.json``); the layout is new, so the extractor is judged on PDFs
it was not tuned on. For each factsheet ``<stem>`` this writes, next to this script:

- ``<stem>-chromium.html`` and ``<stem>-chromium.pdf``: an HTML page styled like a NATO
  factsheet (explicit page ``<div>``s each with their own running header and folio, CSS
  multi-column sections, soft hyphens from pyphen because Chromium on Linux ships no
  hyphenation dictionary, an inline-SVG "photo" with a ``<figcaption>``), printed by headless
  Chromium;
- ``<stem>-libreoffice.fodt`` and ``<stem>-libreoffice.pdf``: a flat ODF text document
  (page-style header and footer with a page-number field, two-column sections, a bullet list,
  a PNG in a frame with its caption, automatic hyphenation in en-GB), converted by
  ``soffice --headless --convert-to pdf``;
- ``<stem>-<producer>.json``: the golden blocks of that PDF (same format as the input gold).

The golden blocks are not re-extracted layout: the body blocks are the input gold's blocks, in
the same order and with the same text. Only their page numbers are read from the PDF (the page
holding each block's first character, in the PDF's content-stream order), after checking that
the body text of the PDF is exactly the gold text (letters and digits compared, so line-end
hyphens and bullets do not matter). Header and footer blocks are the running texts each page
shows, checked on that page with ``page.extract_text()``.

Neither producer is needed by the tests: the PDFs, sources and gold files are checked in.
When a producer is missing, this script says which one, keeps the existing PDF of that
producer and only refreshes its gold file.
"""

from __future__ import annotations

import argparse
import base64
import html
import io
import json
import re
import shutil
import subprocess
import sys
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
GOLD_DIR = ROOT / "tests" / "data" / "gold" / "blocks"

STEMS = ("1902-factsheet-nato-eu-en", "1902-factsheet-operation-sea-guardian-en")
PRODUCERS = ("chromium", "libreoffice")
HEADER_KINDS = ("header", "footer")

NATO_BLUE = "#004990"


# ------------------------------------------------------------------------------------------
# Content: the input gold, grouped into layout regions
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Block:
    page: int  # page of the input gold (used to cut the Chromium pages)
    kind: str
    text: str


@dataclass
class Region:
    """Consecutive body blocks set the same way: ``full`` width or two ``cols``."""

    layout: str
    blocks: list[Block]


@dataclass
class Factsheet:
    stem: str
    headers: list[str]  # running header texts, as the input gold gives them on page 1
    body: list[Block]  # title, heading, paragraph, list_item, caption in reading order

    @property
    def title(self) -> str:
        return next(b.text for b in self.body if b.kind == "title")

    @property
    def edition(self) -> str:
        """The month and year of the header ("February 2019")."""
        return next(h for h in self.headers if re.fullmatch(r"[A-Z][a-z]+ \d{4}", h))


def load_factsheet(stem: str) -> Factsheet:
    blocks = json.loads((GOLD_DIR / f"{stem}.json").read_text(encoding="utf-8"))
    headers = [b["text"] for b in blocks if b["kind"] == "header" and b["page"] == 1]
    expected = ["North Atlantic Treaty Organization", "www.nato.int/factsheets", "Factsheet"]
    if headers[:3] != expected or len(headers) != 4:
        raise SystemExit(f"{stem}: unexpected running header in the input gold: {headers}")
    body = [Block(b["page"], b["kind"], b["text"]) for b in blocks if b["kind"] not in HEADER_KINDS]
    return Factsheet(stem, headers, body)


def regions(blocks: list[Block]) -> list[Region]:
    """Group body blocks into full-width and two-column regions.

    Full width: the title, the paragraph right after it (the intro), bullet lists together
    with a heading or a "...:" lead-in paragraph right before them. Everything else (headings,
    paragraphs, the captioned photo) is set in two columns.
    """
    layouts: list[str] = []
    for i, b in enumerate(blocks):
        nxt = blocks[i + 1] if i + 1 < len(blocks) else None
        prev = blocks[i - 1] if i else None
        if b.kind in ("title", "list_item"):
            layouts.append("full")
        elif b.kind == "paragraph" and prev is not None and prev.kind == "title":
            layouts.append("full")
        elif nxt is not None and nxt.kind == "list_item" and (
            b.kind == "heading" or (b.kind == "paragraph" and b.text.endswith(":"))
        ):
            layouts.append("full")
        else:
            layouts.append("cols")
    out: list[Region] = []
    for b, layout in zip(blocks, layouts):
        if out and out[-1].layout == layout:
            out[-1].blocks.append(b)
        else:
            out.append(Region(layout, [b]))
    return out


# ------------------------------------------------------------------------------------------
# Chromium: HTML + CSS
# ------------------------------------------------------------------------------------------

CSS = """
@page { size: A4; margin: 0; }
html { font-family: "Liberation Sans", "DejaVu Sans", sans-serif; font-size: 9pt; color: #1a1a1a; }
body { margin: 0; }
.page { position: relative; box-sizing: border-box; width: 210mm; height: 296mm;
        padding: 12mm 17mm 22mm 17mm; break-after: page; page-break-after: always; }
.page:last-child { break-after: auto; page-break-after: auto; }
.running { margin-bottom: 9mm; }
.running .top { display: flex; justify-content: space-between; align-items: center;
                color: NATO; font-size: 7.5pt; padding-bottom: 2.5pt; }
.running .org { display: flex; align-items: center; gap: 4pt; }
.running .bar { display: flex; justify-content: space-between; background: NATO; color: #fff;
                font-weight: bold; font-size: 7.5pt; padding: 3pt 5pt; }
.folio { position: absolute; left: 17mm; right: 17mm; bottom: 10mm; border-top: 1pt solid NATO;
         padding-top: 5pt; text-align: center; font-size: 7.5pt; }
h1 { color: NATO; font-size: 24pt; font-weight: bold; margin: 0 0 8pt 0; line-height: 1.15; }
h2 { color: NATO; font-size: 11pt; font-weight: bold; margin: 9pt 0 3pt 0; break-after: avoid; }
.cols > h2:first-child { margin-top: 0; }
p { margin: 0 0 6pt 0; line-height: 1.3; }
p.intro { font-weight: bold; font-size: 10pt; text-align: justify; margin-bottom: 10pt; }
.full { margin-bottom: 6pt; }
.cols { column-count: 2; column-gap: 20pt; text-align: justify; hyphens: auto;
        -webkit-hyphens: auto; margin-bottom: 4pt; }
ul.bullets { list-style: "\\2022" outside; margin: 0 0 8pt 0; padding: 0 0 0 11pt; }
ul.bullets li { padding-left: 6pt; margin-bottom: 3pt; line-height: 1.3; }
ul.bullets li::marker { color: NATO; }
figure.photo { margin: 2pt 0 9pt 0; break-inside: avoid; }
figure.photo svg { display: block; width: 100%; height: 150pt; border: 0.75pt solid #8a8f96; }
figcaption { font-style: italic; font-size: 7.5pt; line-height: 1.3; margin-top: 3pt; text-align: left;
             hyphens: manual; color: #333; }
""".replace("NATO", NATO_BLUE)

LOGO_SVG = (
    '<svg width="9pt" height="9pt" viewBox="0 0 20 20" aria-hidden="true">'
    f'<circle cx="10" cy="10" r="9.5" fill="{NATO_BLUE}"/>'
    '<path d="M10 2 L12 8 L18 10 L12 12 L10 18 L8 12 L2 10 L8 8 Z" fill="#fff"/></svg>'
)

PHOTO_SVG = """<svg viewBox="0 0 500 300" preserveAspectRatio="xMidYMid slice" aria-hidden="true">
<rect width="500" height="170" fill="#c9d3dc"/><circle cx="410" cy="70" r="24" fill="#eef1f3"/>
<rect y="170" width="500" height="130" fill="#7f93a6"/>
<path d="M40 172 L330 172 L310 200 L60 200 Z" fill="#3b4550"/>
<path d="M120 172 L120 140 L160 140 L160 120 L215 120 L215 140 L250 140 L250 172 Z" fill="#4a5562"/>
<rect x="185" y="70" width="5" height="52" fill="#3b4550"/><rect x="168" y="84" width="40" height="4" fill="#3b4550"/>
<path d="M360 176 L455 176 L447 188 L368 188 Z" fill="#4a5562"/>
<path d="M385 176 L385 164 L425 164 L425 176 Z" fill="#56616e"/><rect x="403" y="146" width="3" height="19" fill="#4a5562"/>
<path d="M80 225 L200 225 M260 245 L420 245 M120 265 L300 265" stroke="#a9b7c4" stroke-width="3"/>
</svg>"""


def soft_hyphenate(text: str) -> str:
    """Insert soft hyphens (U+00AD) where pyphen (en_GB) allows a break in a long word.

    Chromium's ``hyphens: auto`` needs a hyphenation dictionary that the Linux build downloads
    at run time; without it the browser still breaks at soft hyphens (and draws a hyphen).
    Acronyms, words with digits and words with an apostrophe or a hyphen are left alone.

    Chromium 156 writes every soft hyphen, broken or not, into the PDF as a space glyph with no
    advance (it overlaps the next letter): pdfplumber reads "cooper a tion" for "cooperation",
    and a line-end break as "Min ‐" (a space, then U+2010) + "isterial".
    """
    import pyphen

    dic = pyphen.Pyphen(lang="en_GB", left=3, right=3)

    def one(match: re.Match[str]) -> str:
        word = match.group(0)
        if len(word) < 7 or word.isupper():
            return word
        return dic.inserted(word, hyphen="\u00ad")

    return re.sub(r"(?<![\w’'-])[A-Za-z]+(?![\w’'-])", one, text)


def _html_block(b: Block, hyphenate: bool) -> str:
    text = soft_hyphenate(b.text) if hyphenate and b.kind != "heading" else b.text
    text = html.escape(text, quote=False)
    if b.kind == "title":
        return f"<h1>{text}</h1>"
    if b.kind == "heading":
        return f"<h2>{text}</h2>"
    if b.kind == "caption":
        return f'<figure class="photo">{PHOTO_SVG}<figcaption>{text}</figcaption></figure>'
    if b.kind == "paragraph":
        return f"<p>{text}</p>"
    raise ValueError(b.kind)


def _html_region(region: Region) -> list[str]:
    out: list[str] = []
    if region.layout == "cols":
        out.append('<div class="cols">')
        out += ["  " + _html_block(b, hyphenate=True) for b in region.blocks]
        out.append("</div>")
        return out
    out.append('<div class="full">')
    items: list[str] = []
    for b in region.blocks:
        if b.kind == "list_item":
            items.append(f"    <li>{html.escape(b.text, quote=False)}</li>")
            continue
        if items:
            out += ['  <ul class="bullets">', *items, "  </ul>"]
            items = []
        if b.kind == "paragraph" and not b.text.endswith(":"):  # the intro under the title
            out.append(f'  <p class="intro">{html.escape(b.text, quote=False)}</p>')
        else:
            out.append("  " + _html_block(b, hyphenate=False))
    if items:
        out += ['  <ul class="bullets">', *items, "  </ul>"]
    out.append("</div>")
    return out


def build_html(sheet: Factsheet) -> str:
    org, site, label, edition = sheet.headers
    pages = sorted({b.page for b in sheet.body})
    lines = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f"<title>{html.escape(sheet.title)}</title>",
        f"<style>{CSS}</style>",
        "</head>",
        "<body>",
    ]
    for page in pages:
        blocks = [b for b in sheet.body if b.page == page]
        lines += [
            '<div class="page">',
            '<header class="running">',
            f'  <div class="top"><span class="org">{LOGO_SVG}<span>{html.escape(org)}</span></span>'
            f"<span>{html.escape(site)}</span></div>",
            f'  <div class="bar"><span>{html.escape(label)}</span><span>{html.escape(edition)}</span></div>',
            "</header>",
        ]
        for region in regions(blocks):
            lines += _html_region(region)
        lines += [f'<footer class="folio">{page}</footer>', "</div>"]
    lines += ["</body>", "</html>", ""]
    return "\n".join(lines)


def chromium_binary() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


def render_chromium(binary: str, source: Path, target: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        cmd = [
            binary,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            "--no-pdf-header-footer",
            f"--print-to-pdf={target}",
            source.resolve().as_uri(),
        ]
        subprocess.run(cmd, check=True, capture_output=True, timeout=180)
    if not target.exists():
        raise SystemExit(f"chromium wrote no PDF for {source.name}")


# ------------------------------------------------------------------------------------------
# LibreOffice: flat ODF text (.fodt)
# ------------------------------------------------------------------------------------------

ODF_NS = " ".join(
    f'xmlns:{k}="{v}"'
    for k, v in {
        "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
        "style": "urn:oasis:names:tc:opendocument:xmlns:style:1.0",
        "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0",
        "draw": "urn:oasis:names:tc:opendocument:xmlns:drawing:1.0",
        "fo": "urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0",
        "xlink": "http://www.w3.org/1999/xlink",
        "dc": "http://purl.org/dc/elements/1.1/",
        "meta": "urn:oasis:names:tc:opendocument:xmlns:meta:1.0",
        "svg": "urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0",
        "loext": "urn:org:documentfoundation:names:experimental:office:xmlns:loext:1.0",
    }.items()
)

PAGE_WIDTH_CM = 21.0
MARGIN_CM = 1.8
TEXT_WIDTH_CM = PAGE_WIDTH_CM - 2 * MARGIN_CM
COLUMN_GAP_CM = 0.706  # 20 pt
COLUMN_WIDTH_CM = (TEXT_WIDTH_CM - COLUMN_GAP_CM) / 2
PHOTO_HEIGHT_CM = 4.6
#: Factsheets whose photo starts a new column (a manual column break). LibreOffice 7.4 does not
#: balance a two-column section that holds an image: the first column is filled to the page
#: foot. Without the break, the photo of the one-page sheet stands next to an empty column.
LO_PHOTO_STARTS_COLUMN = {"1902-factsheet-operation-sea-guardian-en"}

FODT_STYLES = f"""
 <office:font-face-decls>
  <style:font-face style:name="Liberation Sans" svg:font-family="'Liberation Sans'" style:font-family-generic="swiss" style:font-pitch="variable"/>
 </office:font-face-decls>
 <office:styles>
  <style:default-style style:family="paragraph">
   <style:paragraph-properties fo:hyphenation-ladder-count="no-limit" style:writing-mode="lr-tb"/>
   <style:text-properties style:font-name="Liberation Sans" fo:font-size="9pt" fo:language="en" fo:country="GB"
     fo:hyphenate="false" fo:hyphenation-remain-char-count="2" fo:hyphenation-push-char-count="2"/>
  </style:default-style>
  <style:default-style style:family="graphic">
   <style:graphic-properties draw:shadow="hidden"/>
  </style:default-style>
  <style:style style:name="Standard" style:family="paragraph" style:class="text"/>
  <style:style style:name="Title" style:family="paragraph" style:parent-style-name="Standard" style:class="chapter">
   <style:paragraph-properties fo:margin-top="0.2cm" fo:margin-bottom="0.25cm"/>
   <style:text-properties fo:font-size="24pt" fo:font-weight="bold" fo:color="{NATO_BLUE}"/>
  </style:style>
  <style:style style:name="Intro" style:family="paragraph" style:parent-style-name="Standard">
   <style:paragraph-properties fo:margin-top="0cm" fo:margin-bottom="0.3cm" fo:line-height="118%" fo:text-align="justify" style:justify-single-word="false"/>
   <style:text-properties fo:font-size="10pt" fo:font-weight="bold" fo:hyphenate="false"/>
  </style:style>
  <style:style style:name="Body" style:family="paragraph" style:parent-style-name="Standard" style:class="text">
   <style:paragraph-properties fo:margin-top="0cm" fo:margin-bottom="0.2cm" fo:line-height="118%" fo:text-align="justify" style:justify-single-word="false" fo:orphans="2" fo:widows="2"/>
   <style:text-properties fo:hyphenate="true" fo:hyphenation-remain-char-count="2" fo:hyphenation-push-char-count="3"/>
  </style:style>
  <style:style style:name="LeadIn" style:family="paragraph" style:parent-style-name="Body">
   <style:paragraph-properties fo:margin-bottom="0.1cm" fo:keep-with-next="always"/>
  </style:style>
  <style:style style:name="Heading" style:family="paragraph" style:parent-style-name="Standard" style:class="text" style:default-outline-level="2">
   <style:paragraph-properties fo:margin-top="0.25cm" fo:margin-bottom="0.1cm" fo:keep-with-next="always"/>
   <style:text-properties fo:font-size="11pt" fo:font-weight="bold" fo:color="{NATO_BLUE}" fo:hyphenate="false"/>
  </style:style>
  <style:style style:name="ListItem" style:family="paragraph" style:parent-style-name="Standard" style:list-style-name="Bullets">
   <style:paragraph-properties fo:margin-top="0cm" fo:margin-bottom="0.08cm" fo:line-height="118%"/>
  </style:style>
  <style:style style:name="Figure" style:family="paragraph" style:parent-style-name="Standard">
   <style:paragraph-properties fo:margin-top="0.1cm" fo:margin-bottom="0.05cm" fo:text-align="start" fo:keep-with-next="always"/>
  </style:style>
  <style:style style:name="FigureNewColumn" style:family="paragraph" style:parent-style-name="Figure">
   <style:paragraph-properties fo:break-before="column"/>
  </style:style>
  <style:style style:name="Caption" style:family="paragraph" style:parent-style-name="Standard" style:class="extra">
   <style:paragraph-properties fo:margin-top="0cm" fo:margin-bottom="0.3cm" fo:line-height="115%"/>
   <style:text-properties fo:font-size="7.5pt" fo:font-style="italic" fo:color="#333333"/>
  </style:style>
  <style:style style:name="HeaderTop" style:family="paragraph" style:parent-style-name="Standard" style:class="extra">
   <style:paragraph-properties fo:margin-bottom="0.08cm">
    <style:tab-stops><style:tab-stop style:position="{TEXT_WIDTH_CM:.3f}cm" style:type="right"/></style:tab-stops>
   </style:paragraph-properties>
   <style:text-properties fo:font-size="7.5pt" fo:color="{NATO_BLUE}"/>
  </style:style>
  <style:style style:name="HeaderBar" style:family="paragraph" style:parent-style-name="Standard" style:class="extra">
   <style:paragraph-properties fo:background-color="{NATO_BLUE}" fo:padding-left="0.15cm" fo:padding-right="0.15cm"
     fo:padding-top="0.08cm" fo:padding-bottom="0.08cm">
    <style:tab-stops><style:tab-stop style:position="{TEXT_WIDTH_CM - 0.3:.3f}cm" style:type="right"/></style:tab-stops>
   </style:paragraph-properties>
   <style:text-properties fo:font-size="7.5pt" fo:font-weight="bold" fo:color="#ffffff"/>
  </style:style>
  <style:style style:name="Footer" style:family="paragraph" style:parent-style-name="Standard" style:class="extra">
   <style:paragraph-properties fo:text-align="center" fo:border-top="1pt solid {NATO_BLUE}" fo:padding-top="0.15cm"/>
   <style:text-properties fo:font-size="7.5pt"/>
  </style:style>
  <text:list-style style:name="Bullets">
   <text:list-level-style-bullet text:level="1" text:bullet-char="•">
    <style:list-level-properties text:list-level-position-and-space-mode="label-alignment">
     <style:list-level-label-alignment text:label-followed-by="listtab" text:list-tab-stop-position="0.45cm"
       fo:text-indent="-0.35cm" fo:margin-left="0.45cm"/>
    </style:list-level-properties>
    <style:text-properties fo:color="{NATO_BLUE}"/>
   </text:list-level-style-bullet>
  </text:list-style>
 </office:styles>
 <office:automatic-styles>
  <style:page-layout style:name="pm1">
   <style:page-layout-properties fo:page-width="{PAGE_WIDTH_CM}cm" fo:page-height="29.7cm" style:print-orientation="portrait"
     fo:margin-top="1.1cm" fo:margin-bottom="1.0cm" fo:margin-left="{MARGIN_CM}cm" fo:margin-right="{MARGIN_CM}cm"/>
   <style:header-style><style:header-footer-properties fo:min-height="0cm" fo:margin-bottom="0.7cm"/></style:header-style>
   <style:footer-style><style:header-footer-properties fo:min-height="0cm" fo:margin-top="0.6cm"/></style:footer-style>
  </style:page-layout>
  <style:style style:name="TwoColumns" style:family="section">
   <style:section-properties text:dont-balance-text-columns="false" style:editable="false">
    <style:columns fo:column-count="2" fo:column-gap="{COLUMN_GAP_CM}cm"/>
   </style:section-properties>
  </style:style>
  <style:style style:name="PhotoImage" style:family="graphic">
   <style:graphic-properties style:vertical-pos="top" style:vertical-rel="baseline" fo:padding="0cm"
     fo:border="0.75pt solid #8a8f96"/>
  </style:style>
 </office:automatic-styles>
"""


def photo_png() -> bytes:
    """A small grey seascape (two warships) drawn with PIL: the factsheet's "photo"."""
    from PIL import Image, ImageDraw

    w, h = 480, 270
    img = Image.new("RGB", (w, h), "#c9d3dc")
    d = ImageDraw.Draw(img)
    d.rectangle([0, 150, w, h], fill="#7f93a6")
    d.ellipse([375, 35, 425, 85], fill="#eef1f3")
    d.polygon([(40, 152), (320, 152), (300, 180), (60, 180)], fill="#3b4550")
    d.polygon([(115, 152), (115, 122), (150, 122), (150, 104), (205, 104), (205, 122), (240, 122), (240, 152)], fill="#4a5562")
    d.rectangle([176, 55, 181, 105], fill="#3b4550")
    d.rectangle([160, 68, 198, 72], fill="#3b4550")
    d.polygon([(345, 156), (440, 156), (432, 168), (353, 168)], fill="#4a5562")
    d.rectangle([370, 144, 410, 156], fill="#56616e")
    d.rectangle([389, 128, 392, 145], fill="#4a5562")
    for x0, y, x1 in ((70, 205, 190), (250, 222, 410), (110, 245, 290)):
        d.line([(x0, y), (x1, y)], fill="#a9b7c4", width=3)
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def _x(text: str) -> str:
    return html.escape(text, quote=False)


def _fodt_photo(caption: str, png: bytes, new_column: bool = False) -> str:
    """The photo in its own paragraph (a graphic frame anchored as a character, as wide as the
    column) and the caption paragraph under it.

    (A Writer text frame holding both, the structure of LibreOffice's "Insert Caption", is
    imported by LibreOffice 7.4 from flat ODF as a drawing shape that drops the nested image.)
    """
    data = base64.b64encode(png).decode("ascii")
    data = "\n".join(data[i : i + 76] for i in range(0, len(data), 76))
    return (
        f'<text:p text:style-name="{"FigureNewColumn" if new_column else "Figure"}">'
        f'<draw:frame draw:style-name="PhotoImage" draw:name="Photo"'
        f' text:anchor-type="as-char" svg:width="{COLUMN_WIDTH_CM - 0.05:.3f}cm" svg:height="{PHOTO_HEIGHT_CM:.2f}cm"'
        f' draw:z-index="0"><draw:image loext:mime-type="image/png"><office:binary-data>\n{data}\n</office:binary-data>'
        f"</draw:image><svg:title>Warships at sea</svg:title></draw:frame></text:p>\n"
        f'   <text:p text:style-name="Caption">{_x(caption)}</text:p>'
    )


def build_fodt(sheet: Factsheet) -> str:
    org, site, label, edition = sheet.headers
    png = photo_png()
    body: list[str] = []
    sections = 0
    for region in regions(sheet.body):  # the input gold's pages are ignored: LibreOffice paginates
        if region.layout == "cols":
            sections += 1
            body.append(f'<text:section text:style-name="TwoColumns" text:name="Columns{sections}">')
        in_list = False
        for b in region.blocks:
            if b.kind == "list_item" and not in_list:
                body.append('<text:list text:style-name="Bullets">')
                in_list = True
            elif b.kind != "list_item" and in_list:
                body.append("</text:list>")
                in_list = False
            if b.kind == "title":
                body.append(f'<text:p text:style-name="Title">{_x(b.text)}</text:p>')
            elif b.kind == "heading":
                body.append(f'<text:h text:style-name="Heading" text:outline-level="2">{_x(b.text)}</text:h>')
            elif b.kind == "list_item":
                body.append(f'<text:list-item><text:p text:style-name="ListItem">{_x(b.text)}</text:p></text:list-item>')
            elif b.kind == "caption":
                body.append(_fodt_photo(b.text, png, new_column=sheet.stem in LO_PHOTO_STARTS_COLUMN))
            elif region.layout == "full" and b.text.endswith(":"):
                body.append(f'<text:p text:style-name="LeadIn">{_x(b.text)}</text:p>')
            elif region.layout == "full":
                body.append(f'<text:p text:style-name="Intro">{_x(b.text)}</text:p>')
            else:
                body.append(f'<text:p text:style-name="Body">{_x(b.text)}</text:p>')
        if in_list:
            body.append("</text:list>")
        if region.layout == "cols":
            body.append("</text:section>")
    master = (
        ' <office:master-styles>\n  <style:master-page style:name="Standard" style:page-layout-name="pm1">\n'
        f'   <style:header><text:p text:style-name="HeaderTop">{_x(org)}<text:tab/>{_x(site)}</text:p>'
        f'<text:p text:style-name="HeaderBar">{_x(label)}<text:tab/>{_x(edition)}</text:p></style:header>\n'
        '   <style:footer><text:p text:style-name="Footer"><text:page-number text:select-page="current">1'
        "</text:page-number></text:p></style:footer>\n  </style:master-page>\n </office:master-styles>\n"
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<office:document {ODF_NS} office:version="1.3" office:mimetype="application/vnd.oasis.opendocument.text">\n'
        f" <office:meta><dc:title>{_x(sheet.title)}</dc:title><dc:language>en-GB</dc:language></office:meta>\n"
        f"{FODT_STYLES}{master}"
        " <office:body>\n  <office:text>\n"
        + "\n".join("   " + line for line in body)
        + "\n  </office:text>\n </office:body>\n</office:document>\n"
    )


def soffice_binary() -> str | None:
    for name in ("soffice", "libreoffice"):
        found = shutil.which(name)
        if found:
            return found
    return None


def render_libreoffice(binary: str, source: Path, target: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="lo-") as tmp:
        profile = Path(tmp, "profile").as_uri()
        out = Path(tmp, "out")
        cmd = [
            binary,
            f"-env:UserInstallation={profile}",
            "--headless",
            "--norestore",
            "--convert-to",
            "pdf:writer_pdf_Export",
            "--outdir",
            str(out),
            str(source),
        ]
        subprocess.run(cmd, check=True, capture_output=True, timeout=300)
        produced = out / (source.stem + ".pdf")
        if not produced.exists():
            raise SystemExit(f"soffice wrote no PDF for {source.name}")
        shutil.copyfile(produced, target)


# ------------------------------------------------------------------------------------------
# Golden blocks of a rendered PDF
# ------------------------------------------------------------------------------------------


def norm(text: str) -> str:
    """Letters and digits only, lower case: line-end hyphens, bullets and spacing drop out."""
    text = unicodedata.normalize("NFKC", text).lower()
    return "".join(c for c in text if c.isalnum())


def gold_for_pdf(sheet: Factsheet, pdf_path: Path) -> list[dict]:
    """The golden blocks of ``pdf_path``: the sheet's body blocks with the pages they start on,
    and the running header and footer texts of every page.

    Raises SystemExit when the PDF's body text is not exactly the sheet's text or when a page
    does not show its running texts.
    """
    import pdfplumber

    org, site, label, edition = sheet.headers
    stream: list[str] = []  # normalized body characters in content-stream order
    page_of: list[int] = []
    per_page_running: dict[int, list[tuple[str, str]]] = {}
    page_texts: dict[int, str] = {}
    with pdfplumber.open(pdf_path) as pdf:
        for number, page in enumerate(pdf.pages, start=1):
            text = page.extract_text() or ""
            page_texts[number] = norm(text)
            lines = [" ".join(line.split()) for line in text.splitlines()]
            words = page.extract_words()
            # The running header ends with the bar ("Factsheet ... February 2019"); the folio is
            # the last line on the page and must read the page number.
            bar = [w for w in words if w["text"] == label and w["top"] < page.height * 0.15]
            if len(bar) != 1:
                raise SystemExit(f"{pdf_path.name} p.{number}: running header bar not found")
            header_bottom = bar[0]["bottom"]
            lowest = max(w["top"] for w in words)
            folio = [w for w in words if w["top"] > lowest - 2]
            if [w["text"] for w in folio] != [str(number)]:
                raise SystemExit(f"{pdf_path.name} p.{number}: footer shows {[w['text'] for w in folio]}")
            footer_top = folio[0]["top"]
            for expected in (org, site, label, edition):
                if not any(expected in line for line in lines[:3]):
                    raise SystemExit(f"{pdf_path.name} p.{number}: header text {expected!r} not on the page")
            if lines[-1] != str(number):
                raise SystemExit(f"{pdf_path.name} p.{number}: last line is {lines[-1]!r}, not the page number")
            per_page_running[number] = [
                ("header", org),
                ("header", site),
                ("header", label),
                ("header", edition),
                ("footer", str(number)),
            ]
            for ch in page.chars:
                if header_bottom < ch["top"] and ch["bottom"] < footer_top:
                    for c in norm(ch["text"]):
                        stream.append(c)
                        page_of.append(number)
    body_text = "".join(stream)
    # A caption sits in a frame (LibreOffice) that may be painted before or after the page's
    # running text: find it anywhere, once, and take it out of the stream.
    caption_pages: dict[int, int] = {}
    for i, b in enumerate(sheet.body):
        if b.kind != "caption":
            continue
        key = norm(b.text)
        at = body_text.find(key)
        if at < 0 or body_text.find(key, at + 1) >= 0:
            raise SystemExit(f"{pdf_path.name}: caption {b.text[:40]!r} found {'never' if at < 0 else 'twice'}")
        caption_pages[i] = page_of[at]
        body_text = body_text[:at] + body_text[at + len(key) :]
        page_of = page_of[:at] + page_of[at + len(key) :]
    flow = [b for b in sheet.body if b.kind != "caption"]
    expected = "".join(norm(b.text) for b in flow)
    if body_text != expected:
        import difflib

        sm = difflib.SequenceMatcher(None, expected, body_text, autojunk=False)
        diffs = [op for op in sm.get_opcodes() if op[0] != "equal"][:5]
        detail = "; ".join(f"{tag} gold[{i1}:{i2}]={expected[i1:i2][:40]!r} pdf={body_text[j1:j2][:40]!r}" for tag, i1, i2, j1, j2 in diffs)
        raise SystemExit(f"{pdf_path.name}: body text differs from the gold: {detail}")
    pages: list[int] = []
    pos = 0
    for i, b in enumerate(sheet.body):
        if i in caption_pages:
            pages.append(caption_pages[i])
            continue
        pages.append(page_of[pos])
        pos += len(norm(b.text))
    if pages != sorted(pages):
        raise SystemExit(f"{pdf_path.name}: blocks are not in page order: {pages}")
    # Cross-check with pdfplumber's own reading of each page: the first words of every block
    # are on the page it is assigned to (letters and digits compared: columns share text lines).
    for b, number in zip(sheet.body, pages):
        head = norm(" ".join(b.text.split()[:3]))
        if head not in page_texts[number]:
            raise SystemExit(f"{pdf_path.name}: {b.text[:40]!r} is not on page {number} by extract_text()")
    out: list[dict] = []
    for number in sorted(per_page_running):
        out += [{"page": number, "kind": k, "text": t} for k, t in per_page_running[number] if k == "header"]
        out += [{"page": number, "kind": b.kind, "text": b.text} for b, p in zip(sheet.body, pages) if p == number]
        out += [{"page": number, "kind": k, "text": t} for k, t in per_page_running[number] if k == "footer"]
    return out


def write_json(path: Path, blocks: list[dict]) -> None:
    path.write_text(json.dumps(blocks, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


# ------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gold-only", action="store_true", help="only rewrite the gold JSON from the existing PDFs")
    parser.add_argument("--producer", choices=PRODUCERS, action="append", help="limit to this producer (repeatable)")
    args = parser.parse_args(argv)
    producers = args.producer or list(PRODUCERS)

    binaries = {"chromium": chromium_binary(), "libreoffice": soffice_binary()}
    install = {"chromium": "Debian package `chromium`", "libreoffice": "Debian package `libreoffice-writer-nogui`"}
    missing: list[str] = []
    for stem in STEMS:
        sheet = load_factsheet(stem)
        for producer in producers:
            name = f"{stem}-{producer}"
            pdf = HERE / f"{name}.pdf"
            if not args.gold_only:
                if producer == "chromium":
                    source = HERE / f"{name}.html"
                    source.write_text(build_html(sheet), encoding="utf-8")
                else:
                    source = HERE / f"{name}.fodt"
                    source.write_text(build_fodt(sheet), encoding="utf-8")
                binary = binaries[producer]
                if binary is None:
                    if producer not in missing:
                        missing.append(producer)
                    print(f"MISSING PRODUCER {producer}: not on PATH ({install[producer]}); "
                          f"wrote {source.name}, kept the existing {pdf.name}", file=sys.stderr)
                elif producer == "chromium":
                    render_chromium(binary, source, pdf)
                else:
                    render_libreoffice(binary, source, pdf)
            if not pdf.exists():
                print(f"{name}: no PDF, no gold written", file=sys.stderr)
                continue
            gold = gold_for_pdf(sheet, pdf)
            write_json(HERE / f"{name}.json", gold)
            n_pages = max(b["page"] for b in gold)
            print(f"{name}: {n_pages} page(s), {len(gold)} golden blocks")
    if missing:
        print("missing producer(s): " + ", ".join(f"{p} ({install[p]})" for p in missing), file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
