"""OCR for PDFs without a text layer (scans), with the ``tesseract`` command when installed.

Each page is rendered with pypdfium2 (pdfplumber's own renderer) and read by tesseract's TSV
output, which gives every word with its box; the words then go through the same layout
analysis as a born-digital PDF, so line-end hyphens are undone and list items found the same
way. Two things are made to look as they would in a text layer first:

- a list bullet that tesseract reads as a character ("¢", "«", "e", ...) becomes the bullet
  "•", so it is neither taken as text nor missed as a list item;
- the font size of a line comes from its tesseract paragraph, not from the line's own box
  (a line without ascenders or descenders has a lower box): otherwise the lines of one
  paragraph differ in "size", are cut into separate blocks, and a hyphen at the end of one
  line is never joined to the next.

Install tesseract with ``apt-get install tesseract-ocr`` (Debian/Ubuntu) or ``brew install
tesseract`` (macOS).
"""

from __future__ import annotations

import csv
import io
import shutil
import statistics
import subprocess
import tempfile
from collections import defaultdict
from pathlib import Path

from .layout import BULLETS, PageWords, Word
from .text import clean_text

DEFAULT_DPI = 300
#: A text line's box is about this many times the font size (ascender to descender).
DEFAULT_LINE_HEIGHT_EM = 1.25
#: Characters tesseract reads for a round list bullet, alone or glued to the item's first word.
OCR_BULLET_SYMBOLS = frozenset("¢©®°*•·■●▪")
#: Characters it also reads for a bullet that can be text ("e", "o", guillemets): a bullet only
#: when alone at the start of a line and followed by a gap wider than a space.
OCR_BULLET_LOOKALIKES = frozenset({"e", "o", "«", "»"})
#: That gap, in font sizes: a word space is about a quarter of the size, a bullet's indent more.
DEFAULT_OCR_BULLET_GAP_EM = 0.4
#: Tesseract's reading of a hyphen at the end of a line, besides the hyphen itself.
_OCR_LINE_END_HYPHENS = ("¬",)


def ocr_available() -> bool:
    return shutil.which("tesseract") is not None


def ocr_pages(path: Path, language: str = "eng", dpi: int = DEFAULT_DPI, timeout: float = 120.0) -> list[PageWords]:
    """The words of every page of ``path`` as tesseract reads them, in PDF points."""
    import pypdfium2

    scale = dpi / 72.0
    pages: list[PageWords] = []
    pdf = pypdfium2.PdfDocument(str(path))
    try:
        with tempfile.TemporaryDirectory(prefix="factsheets-ocr-") as tmp:
            for number in range(len(pdf)):
                page = pdf[number]
                width, height = page.get_size()
                image = page.render(scale=scale).to_pil().convert("L")
                png = Path(tmp) / f"page-{number + 1}.png"
                image.save(png)
                out = subprocess.run(
                    ["tesseract", str(png), "stdout", "-l", language, "--psm", "3", "tsv"],
                    capture_output=True, text=True, timeout=timeout, check=True,
                ).stdout
                pages.append(PageWords(number + 1, float(width), float(height), _words(out, scale)))
                page.close()
    finally:
        pdf.close()
    return pages


def _words(tsv: str, scale: float) -> list[Word]:
    """Word boxes in points; words share their line's top and bottom, so a line is one row."""
    rows = list(csv.DictReader(io.StringIO(tsv), delimiter="\t", quoting=csv.QUOTE_NONE))
    lines: dict[tuple[str, str, str, str], tuple[float, float]] = {}
    par_heights: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    for r in rows:
        if r["level"] == "4":
            top = int(r["top"]) / scale
            height = int(r["height"]) / scale
            lines[(r["page_num"], r["block_num"], r["par_num"], r["line_num"])] = (top, top + height)
            par_heights[(r["page_num"], r["block_num"], r["par_num"])].append(height)
    by_line: dict[tuple[str, str, str, str], list[Word]] = defaultdict(list)
    for r in rows:
        text = clean_text(r.get("text") or "").strip()
        if r["level"] != "5" or not text or float(r["conf"]) < 0:
            continue
        key = (r["page_num"], r["block_num"], r["par_num"], r["line_num"])
        x0 = int(r["left"]) / scale
        x1 = x0 + int(r["width"]) / scale
        word_top = int(r["top"]) / scale
        top, bottom = lines.get(key, (word_top, word_top + int(r["height"]) / scale))
        heights = par_heights.get(key[:3]) or [bottom - top]
        size = round(statistics.median(heights) / DEFAULT_LINE_HEIGHT_EM * 2) / 2
        by_line[key].append(Word(text, x0, x1, top, bottom, size, "OCR"))
    words: list[Word] = []
    for line in by_line.values():
        words.extend(_line_end_hyphen(_bullet(sorted(line, key=lambda w: w.x0))))
    return words


def _bullet(line: list[Word]) -> list[Word]:
    """The words of one OCR line with a misread bullet at its start made the bullet "•".

    A bullet symbol alone or glued to a capitalised or numbered first word ("¢NATO") is a
    bullet; a look-alike that can be text ("e", "«") only when it stands alone before a gap
    wider than a word space, as a bullet stands before its item's text.
    """
    if not line:
        return line
    first = line[0]
    bullet = BULLETS[0]
    if first.text in OCR_BULLET_SYMBOLS or first.text in OCR_BULLET_LOOKALIKES:
        if len(line) < 2:
            return line
        gap = line[1].x0 - first.x1
        if first.text in OCR_BULLET_SYMBOLS or gap >= DEFAULT_OCR_BULLET_GAP_EM * first.size:
            return [Word(bullet, first.x0, first.x1, first.top, first.bottom, first.size, first.fontname), *line[1:]]
        return line
    if len(first.text) > 1 and first.text[0] in OCR_BULLET_SYMBOLS and (first.text[1].isupper() or first.text[1].isdigit()):
        # One glyph's width for the bullet, the rest for the word.
        cut = first.x0 + (first.x1 - first.x0) / len(first.text)
        return [
            Word(bullet, first.x0, cut, first.top, first.bottom, first.size, first.fontname),
            Word(first.text[1:], cut, first.x1, first.top, first.bottom, first.size, first.fontname),
            *line[1:],
        ]
    return line


def _line_end_hyphen(line: list[Word]) -> list[Word]:
    """A hyphen tesseract read as another character at the end of a line becomes "-", so the
    break is undone (or kept) by the same rules as in a text layer."""
    if line and line[-1].text.endswith(_OCR_LINE_END_HYPHENS) and len(line[-1].text) > 1:
        w = line[-1]
        return [*line[:-1], Word(w.text[:-1] + "-", w.x0, w.x1, w.top, w.bottom, w.size, w.fontname)]
    return line
