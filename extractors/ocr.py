"""OCR for PDFs without a text layer (scans), with the ``tesseract`` command when installed.

Each page is rendered with pypdfium2 (pdfplumber's own renderer) and read by tesseract's TSV
output, which gives every word with its box; the words then go through the same layout
analysis as a born-digital PDF. Install tesseract with ``apt-get install tesseract-ocr``
(Debian/Ubuntu) or ``brew install tesseract`` (macOS).
"""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
import tempfile
from pathlib import Path

from .layout import PageWords, Word
from .text import clean_text

DEFAULT_DPI = 300


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
    for r in rows:
        if r["level"] == "4":
            top = int(r["top"]) / scale
            lines[(r["page_num"], r["block_num"], r["par_num"], r["line_num"])] = (top, top + int(r["height"]) / scale)
    words = []
    for r in rows:
        text = clean_text(r.get("text") or "").strip()
        if r["level"] != "5" or not text or float(r["conf"]) < 0:
            continue
        x0 = int(r["left"]) / scale
        x1 = x0 + int(r["width"]) / scale
        word_top = int(r["top"]) / scale
        top, bottom = lines.get((r["page_num"], r["block_num"], r["par_num"], r["line_num"]),
                                (word_top, word_top + int(r["height"]) / scale))
        size = round((bottom - top) * 0.8 * 2) / 2
        words.append(Word(text, x0, x1, top, bottom, size, "OCR"))
    return words
