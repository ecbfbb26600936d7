"""A PDF's pages as words: opening the file (with errors a person can act on), reading the
words of each page from its text layer with font, size and box, or by OCR when it has none.

Words are the unit everything after works on; characters become words here (ligatures expanded,
odd spaces made plain, a soft hyphen where a word breaks kept as a mark, list bullets drawn as
shapes made bullet words).

## OCR

OCR for PDFs without a text layer (scans), with the ``tesseract`` command when installed.

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

tesseract runs in a process group of its own with a time limit per page
(``DEFAULT_OCR_TIMEOUT_S``); however the OCR ends, even by its process being killed, the group
is killed and the temporary folder of page images (``factsheets-ocr-*``) removed.

Install tesseract with ``apt-get install tesseract-ocr`` (Debian/Ubuntu) or ``brew install
tesseract`` (macOS).
"""

from __future__ import annotations

import bisect
import contextlib
import csv
import hashlib
import io
import math
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from schemas.errors import NoTextLayerError, TooLargeError, UnreadablePDFError, UnreadableTextError
from schemas.records import BBox

from .normalise import HYPHENS

BULLETS = "•●▪■◦‣∙○□➢►✓\uf0b7\uf0a7\ufffd"
#: A glyph the PDF gives no Unicode for; alone at the start of a line it is a bullet.
_UNKNOWN_GLYPH = re.compile(r"\(cid:\d+\)")

# Characters that are typographic variants of plain text. Curly quotes are kept as they are.
_CHAR_MAP = {
    "\ufb00": "ff",
    "\ufb01": "fi",
    "\ufb02": "fl",
    "\ufb03": "ffi",
    "\ufb04": "ffl",
    "\ufb05": "st",
    "\ufb06": "st",
    "\u00a0": " ",  # no-break space
    "\u2007": " ",  # figure space
    "\u202f": " ",  # narrow no-break space
    "\u2009": " ",  # thin space
    "\u00ad": "",  # soft hyphen
    "\u200b": "",  # zero-width space
    "\u200c": "",
    "\u200d": "",
    "\ufeff": "",
}
_TRANSLATE = str.maketrans(_CHAR_MAP)

#: A soft hyphen at the end of a word as drawn on the page: the typesetter broke the word there,
#: so the two parts are one word. ``clean_word`` keeps it (and only it) as this mark.
SOFT_HYPHEN = "\u00ad"
_WORD_END_SOFT_HYPHEN = re.compile("\u00ad+[-\u2010\u2011]?$")


def clean_text(text: str) -> str:
    """Expand ligatures, drop soft hyphens and zero-width characters, make odd spaces plain."""
    return text.translate(_TRANSLATE)


def clean_word(text: str) -> str:
    """``clean_text`` for one word as drawn on the page, keeping a soft hyphen at its end.

    A soft hyphen inside a word is invisible and only splits the word for the typesetter, so
    it goes. At the end of a word (with or without the visible hyphen glyph drawn for it) it says
    that the line break splits one word; ``join_lines`` joins the parts without any guessing.
    """
    m = _WORD_END_SOFT_HYPHEN.search(text)
    if m:
        return clean_text(text[: m.start()]) + SOFT_HYPHEN
    return clean_text(text)



@dataclass(frozen=True)
class Word:
    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    size: float
    fontname: str

    @property
    def bold(self) -> bool:
        name = self.fontname.lower()
        return any(k in name for k in ("bold", "black", "heavy", "semibold", "demi"))

    @property
    def italic(self) -> bool:
        name = self.fontname.lower()
        return "italic" in name or "oblique" in name



@dataclass
class PageWords:
    number: int
    width: float
    height: float
    words: list[Word]
    figures: list[BBox] = field(default_factory=list)
    #: Characters of the text layer (spaces aside), and those of them that are unknown glyphs:
    #: a font without a Unicode mapping gives ``(cid:N)`` or U+FFFD for its characters.
    chars: int = 0
    unknown_chars: int = 0

    @property
    def unreadable(self) -> bool:
        """Over ``DEFAULT_UNREADABLE_SHARE`` of the page's text is unknown glyphs: it cannot be
        read from its text layer."""
        return self.unknown_chars >= DEFAULT_UNREADABLE_MIN_CHARS and self.unknown_chars > DEFAULT_UNREADABLE_SHARE * self.chars


#: A page whose characters are more than this share unknown glyphs cannot be read from its text
#: layer (its fonts have no Unicode mapping) and is OCRed. A few bullets or symbols drawn with
#: unmapped glyphs are far below it.
DEFAULT_UNREADABLE_SHARE = 0.3
#: ... and at least this many of them: a logo or a line of symbols does not make a page unreadable.
DEFAULT_UNREADABLE_MIN_CHARS = 20



# --------------------------------------------------------------------------------------- words


#: Characters closer than this (points) belong to one word; a space always separates words.
DEFAULT_X_TOLERANCE = 1.5
#: Characters whose tops differ by less than this (points) are on one line.
DEFAULT_Y_TOLERANCE = 3.0


def words_of_page(page: Any, number: int) -> PageWords:
    """The words of a pdfplumber page, cleaned, with font name and size, and its figures.

    Reads pdfminer's layout objects of the page (``page.layout``) directly: a third of the
    cost of building pdfplumber's full object dictionaries, which the words do not need.

    The page is read in the orientation of most of its text (:func:`_quarter`): a page turned
    by ``/Rotate``, or with its text drawn turned, is read as if turned upright. Its words,
    figures, width and height are then in that upright frame, not in the page's own. Text in
    another orientation than the page's (a label up the margin) is left out.
    """
    from pdfminer.layout import LTChar, LTContainer, LTCurve, LTImage, LTRect

    by_quarter: dict[int, list[Any]] = defaultdict(list)  # the page's characters by orientation
    figures: list[_Box] = []  # in pdfminer's page space (y up)
    shapes: list[_Box] = []  # small filled shapes: list bullets drawn as graphics
    count = [0, 0]  # characters, unknown glyphs

    def visit(objs: Iterable[Any]) -> None:
        for obj in objs:
            if isinstance(obj, LTChar):
                text = obj.get_text()
                if not text.isspace():
                    count[0] += 1
                    count[1] += text == "\ufffd" or _UNKNOWN_GLYPH.fullmatch(text) is not None
                quarter = _quarter(obj)
                if quarter is not None:
                    by_quarter[quarter].append(obj)
            elif isinstance(obj, LTImage) or (isinstance(obj, LTRect) and obj.fill and obj.width > 40 and obj.height > 40):
                figures.append(obj.bbox)
            elif isinstance(obj, LTCurve) and obj.fill and 0 < obj.width < 40 and 0 < obj.height < 40:
                shapes.append(obj.bbox)
            if isinstance(obj, LTContainer):
                visit(obj)

    visit(page.layout)
    quarter = max(by_quarter, key=lambda q: (sum(not c.get_text().isspace() for c in by_quarter[q]), q == 0), default=0)
    width, height = float(page.width), float(page.height)
    frame = _frame(quarter, width, height, float(page.mediabox[0]), float(page.mediabox[1]))
    chars: list[tuple[float, float, float, float, str, float, str]] = []  # top, x0, x1, bottom, text, size, font
    for obj in by_quarter[quarter]:
        font = obj.fontname
        if isinstance(font, bytes):
            font = font.decode("latin-1", "replace")
        x0, top, x1, bottom = frame(obj.bbox)
        chars.append((top, x0, x1, bottom, obj.get_text(), obj.size if quarter % 2 == 0 else obj.width, font))
    words = _group_words(chars)
    bullets = _shape_bullets([BBox(*frame(s)) for s in shapes], words)
    if quarter % 2:
        width, height = height, width
    return PageWords(number, width, height, words + bullets, [BBox(*frame(f)) for f in figures], count[0], count[1])


def _quarter(char: Any) -> int | None:
    """The orientation of a pdfminer character, in quarter turns counterclockwise on the page as
    shown: 0 upright (as pdfminer's ``upright``, slanted text too), 1 its line running up the page,
    2 upside down, 3 running down; ``None`` for mirrored text."""
    a, b, c, d = char.matrix[:4]
    if char.upright and a > 0:
        return 0
    if a * d - b * c <= 0:  # mirrored
        return None
    return round(math.atan2(b, a) / (math.pi / 2)) % 4


_Box = tuple[float, float, float, float]


def _frame(quarter: int, width: float, height: float, mb_x0: float, mb_top: float) -> Callable[[_Box], _Box]:
    """A box in pdfminer's page space (x0, y0, x1, y1, y up, on a page of ``width`` by
    ``height`` as shown) as (x0, top, x1, bottom) on the page turned ``quarter`` quarter turns
    clockwise, so that text of that orientation is upright; upright, in pdfplumber's coordinates."""
    if quarter == 1:
        return lambda box: (box[1], box[0], box[3], box[2])
    if quarter == 2:
        return lambda box: (width - box[2], box[1], width - box[0], box[3])
    if quarter == 3:
        return lambda box: (height - box[3], width - box[2], height - box[1], width - box[0])
    return lambda box: (box[0] + mb_x0, height - box[3] + mb_top, box[2] + mb_x0, height - box[1] + mb_top)


#: A filled shape at most this many font sizes wide and high, before the first word of a line,
#: is a list bullet drawn as a graphic (Chromium draws CSS list discs that way, with no glyph).
DEFAULT_BULLET_SHAPE_EM = 0.6
#: ... when the word it marks starts within this many font sizes to its right.
DEFAULT_BULLET_GAP_EM = 1.5


def _shape_bullets(shapes: Sequence[BBox], words: Sequence[Word]) -> list[Word]:
    """A bullet word (``•``) for each small filled shape that marks the start of a line of text.

    Without it, list items whose bullets are graphics run together into one paragraph. The
    shape must be small beside the text it marks, centred on that text's line, with the text
    just to its right and no word of the same line just to its left (a shape inside a line is
    not a bullet). The bullet takes the marked word's line box, size and font, as a bullet
    glyph would.
    """
    bullets: list[Word] = []
    if not shapes or not words:
        return bullets
    by_top = sorted(words, key=lambda w: w.top)
    tops = [w.top for w in by_top]
    tallest = max(w.bottom - w.top for w in words)
    for s in shapes:
        mid = (s.top + s.bottom) / 2
        # Only words whose top lies within one word height above the shape's middle can hold it.
        near = by_top[bisect.bisect_left(tops, mid - tallest) : bisect.bisect_right(tops, mid)]
        on_line = [w for w in near if w.top <= mid <= w.bottom]
        after = [w for w in on_line if w.x0 >= s.x1 - 0.5]
        if not after:
            continue
        w = min(after, key=lambda w: w.x0)
        limit = DEFAULT_BULLET_SHAPE_EM * w.size
        if s.x1 - s.x0 > limit or s.bottom - s.top > limit or w.x0 - s.x1 > DEFAULT_BULLET_GAP_EM * w.size:
            continue
        if any(s.x0 - DEFAULT_BULLET_GAP_EM * w.size < v.x1 <= s.x0 + 0.5 for v in on_line):
            continue
        bullets.append(Word(BULLETS[0], s.x0, s.x1, w.top, w.bottom, w.size, w.fontname))
    return bullets


def _group_words(chars: list[tuple[float, float, float, float, str, float, str]]) -> list[Word]:
    """Characters into words: lines by top, words split at spaces and at gaps."""
    chars.sort(key=lambda c: c[0])
    lines: list[list[tuple[float, float, float, float, str, float, str]]] = []
    for c in chars:
        if lines and c[0] - lines[-1][0][0] <= DEFAULT_Y_TOLERANCE:
            lines[-1].append(c)
        else:
            lines.append([c])
    words: list[Word] = []
    for line in lines:
        line.sort(key=lambda c: c[1])
        current: list[tuple[float, float, float, float, str, float, str]] = []
        for i, c in enumerate(line):
            if c[4].isspace():
                # A space drawn over a letter (Chromium's soft hyphen: no advance) joins, not splits.
                if current and any(
                    0 <= j < len(line) and not line[j][4].isspace() and abs(line[j][1] - c[1]) < 0.5 for j in (i - 1, i + 1)
                ):
                    if i + 1 < len(line) and line[i + 1][4] in HYPHENS and abs(line[i + 1][1] - c[1]) < 0.5:
                        # ... and over the hyphen drawn for it where the word breaks: keep the evidence.
                        current.append((c[0], c[1], c[1], c[3], SOFT_HYPHEN, c[5], c[6]))
                    continue
                _flush(current, words)
                current = []
                continue
            if current and c[1] - current[-1][2] > DEFAULT_X_TOLERANCE:
                _flush(current, words)
                current = []
            current.append(c)
        _flush(current, words)
    return words


def _flush(current: list[tuple[float, float, float, float, str, float, str]], words: list[Word]) -> None:
    if not current:
        return
    text = _UNKNOWN_GLYPH.sub("\ufffd", clean_word("".join(c[4] for c in current))).strip()
    if not text.strip(SOFT_HYPHEN):
        return
    first = current[0]
    words.append(Word(text, first[1], max(c[2] for c in current), min(c[0] for c in current),
                      max(c[3] for c in current), first[5], first[6]))



# ------------------------------------------------------------------------------------ the file


def file_digest(path: Path) -> str:
    """sha256 of the file's bytes: the document's id."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_pages(path: Path, max_pages: int | None = None, ocr: bool = True) -> tuple[list[PageWords], dict[str, Any]]:
    """The words of every page of ``path`` and the PDF's info dictionary.

    Raises ``UnreadablePDFError`` when the file is not a readable PDF and ``NoTextLayerError``
    when no page has any text. A page whose text is largely unknown glyphs (its fonts have no
    Unicode mapping, :attr:`PageWords.unreadable`) is OCRed, or raises ``UnreadableTextError``
    when OCR is not available.
    """
    import pdfplumber

    size = path.stat().st_size
    if size == 0:
        raise UnreadablePDFError(f"{path.name} is empty (0 bytes); re-download or re-export it.", source=path.name)
    with path.open("rb") as fh:
        head = fh.read(1024)
    if b"%PDF-" not in head:
        kind = _sniff(head)
        raise UnreadablePDFError(
            f"{path.name} is not a PDF (it starts like {kind}); supply the factsheet as a PDF file.",
            source=path.name,
        )
    try:
        with pdfplumber.open(path) as pdf:
            n = len(pdf.pages)
            if n == 0:
                raise UnreadablePDFError(
                    f"{path.name} has no pages (its page tree is empty); re-export it from its source or download it again.",
                    source=path.name,
                )
            if max_pages is not None and n > max_pages:
                raise TooLargeError(
                    f"{path.name} has {n} pages, more than the limit of {max_pages}; raise the "
                    "max_pages setting (FACTSHEETS_MAX_PAGES) if this really is a factsheet.",
                    source=path.name,
                )
            pages = []
            for i, page in enumerate(pdf.pages, start=1):
                pages.append(words_of_page(page, i))
                page.close()
            info = dict(pdf.metadata or {})
    except (UnreadablePDFError, TooLargeError, MemoryError):
        raise
    except Exception as exc:  # pdfminer raises many kinds of errors on broken files
        if isinstance(exc.args[0] if exc.args else None, MemoryError) or isinstance(exc.__context__, MemoryError):
            raise MemoryError(f"{path.name}: {exc}") from exc  # a limit, not a damaged file
        raise _explain(exc, path) from exc
    if not any(p.words for p in pages):
        if ocr and ocr_available():
            pages = _ocr(path, f"{path.name} has no text layer")
            if any(p.words for p in pages):
                return pages, info
            raise NoTextLayerError(f"{path.name} has no text layer and OCR found no text on its {len(pages)} page(s).", source=path.name)
        raise NoTextLayerError(
            f"{path.name} has {len(pages)} page(s) but no text layer (a scan?) and OCR is "
            + ("turned off" if not ocr else "not available: install tesseract (`apt-get install tesseract-ocr`)")
            + " or run OCR on it first (e.g. `ocrmypdf in.pdf out.pdf`) and ingest the result.",
            source=path.name,
        )
    unreadable = [p for p in pages if p.unreadable]
    if unreadable:
        numbers = [p.number for p in unreadable]
        which = f"page{'s' if len(numbers) > 1 else ''} {', '.join(map(str, numbers))}"
        share = sum(p.unknown_chars for p in unreadable) / sum(p.chars for p in unreadable)
        why = (f"{path.name}: the text of {which} cannot be read: its fonts have no Unicode mapping "
               f"({share:.0%} of the characters are unknown glyphs)")
        if not (ocr and ocr_available()):
            raise UnreadableTextError(
                f"{why}; it needs OCR, and OCR is "
                + ("turned off (FACTSHEETS_OCR): turn it on" if not ocr else "not available: install tesseract (`apt-get install tesseract-ocr`)")
                + ", or OCR it first (e.g. `ocrmypdf --force-ocr in.pdf out.pdf`) and ingest the result.",
                source=path.name,
            )
        by_number = {p.number: p for p in _ocr(path, why, numbers, UnreadableTextError)}
        pages = [by_number.get(p.number, p) for p in pages]
    return pages, info


def _ocr(path: Path, why: str, numbers: Sequence[int] | None = None, error: type[NoTextLayerError] = NoTextLayerError) -> list[PageWords]:
    """``ocr_pages``; its errors become ``error``, its message starting with ``why`` the pages needed OCR."""
    try:
        return ocr_pages(path, timeout=DEFAULT_OCR_TIMEOUT_S, numbers=numbers)
    except MemoryError:
        raise
    except OCRTimeout as exc:
        raise error(
            f"{why} and OCR was stopped: tesseract took more than {exc.timeout:g} s on page {exc.page}; "
            "OCR it first with more time (e.g. `ocrmypdf in.pdf out.pdf`) and ingest the result.",
            source=path.name) from exc
    except Exception as exc:
        raise error(
            f"{why} and OCR failed on it ({type(exc).__name__}: {exc}); check the file opens in a PDF viewer.",
            source=path.name) from exc


def _explain(exc: Exception, path: Path) -> UnreadablePDFError:
    """A message a person can act on, from pdfminer's error (pdfplumber wraps it)."""
    from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect
    from pdfminer.pdfparser import PDFSyntaxError
    from pdfminer.psparser import PSEOF, PSException

    cause = exc.args[0] if exc.args and isinstance(exc.args[0], Exception) else exc.__context__ or exc
    if isinstance(cause, (PDFPasswordIncorrect, PDFEncryptionError)):
        msg = "is encrypted with a password; decrypt it (e.g. `qpdf --password=PW --decrypt in.pdf out.pdf`) and ingest the result."
    elif isinstance(cause, PSEOF):
        msg = "ends early: it is truncated (an interrupted download?); download it again."
    elif isinstance(cause, (PDFSyntaxError, PSException)):
        msg = f"is damaged and cannot be parsed ({type(cause).__name__}: {cause}); download it again or repair it (e.g. `qpdf in.pdf out.pdf`)."
    else:
        msg = f"could not be read as a PDF ({type(cause).__name__}: {cause}); download it again or re-export it."
    return UnreadablePDFError(f"{path.name} {msg}", source=path.name)


def _sniff(head: bytes) -> str:
    if head.startswith(b"\x89PNG"):
        return "a PNG image"
    if head.startswith(b"\xff\xd8"):
        return "a JPEG image"
    if head.startswith(b"PK"):
        return "a ZIP or Office document"
    lowered = head.lower()
    if b"<html" in lowered or b"<!doctype" in lowered:
        return "an HTML page"
    text = head.decode("utf-8", "replace")
    if text and sum(c.isprintable() and c != "\ufffd" or c in "\r\n\t" for c in text) >= 0.95 * len(text):
        return "a text file"
    return "something else"


# ------------------------------------------------------------------------------------------ OCR

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


#: tesseract's time limit for one page, seconds.
DEFAULT_OCR_TIMEOUT_S = 120.0


def ocr_pages(
    path: Path, language: str = "eng", dpi: int = DEFAULT_DPI, timeout: float = DEFAULT_OCR_TIMEOUT_S,
    numbers: Sequence[int] | None = None,
) -> list[PageWords]:
    """The words of every page of ``path`` (or of the pages ``numbers``, from 1) as tesseract
    reads them, in PDF points.

    Whatever way it ends (done, tesseract's ``timeout`` on a page, an error, Ctrl-C, running
    out of memory, even this process killed), tesseract and any process it started are stopped
    and the temporary folder of page images is removed: see :class:`_OCRGuard`.
    """
    import pypdfium2

    scale = dpi / 72.0
    pages: list[PageWords] = []
    pdf = pypdfium2.PdfDocument(str(path))
    try:
        with _OCRGuard() as guard, tempfile.TemporaryDirectory(prefix="factsheets-ocr-") as tmp:
            guard.watch_folder(tmp)
            for number in range(len(pdf)) if numbers is None else [n - 1 for n in numbers]:
                page = pdf[number]
                width, height = page.get_size()
                image = page.render(scale=scale).to_pil().convert("L")
                png = Path(tmp) / f"page-{number + 1}.png"
                image.save(png)
                out = _tesseract(["tesseract", str(png), "stdout", "-l", language, "--psm", "3", "tsv"], guard, timeout, number + 1)
                pages.append(PageWords(number + 1, float(width), float(height), _words(out, scale)))
                page.close()
    finally:
        pdf.close()
    return pages


class OCRTimeout(subprocess.TimeoutExpired):
    """tesseract ran over its time limit on one page (and was stopped)."""

    def __init__(self, cmd: list[str], timeout: float, page: int) -> None:
        super().__init__(cmd, timeout)
        self.page = page


def _tesseract(cmd: list[str], guard: _OCRGuard, timeout: float, page: int) -> str:
    """tesseract's output for one page. It runs in a process group of its own (a new session),
    which is killed however the call ends, so nothing it started outlives it."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    guard.track(proc.pid)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        raise OCRTimeout(cmd, timeout, page) from None
    finally:
        _kill_group(proc)
        guard.untrack(proc.pid)
    if proc.returncode:
        raise subprocess.CalledProcessError(proc.returncode, cmd, out, err)
    return out


def _kill_group(proc: subprocess.Popen[str]) -> None:
    """Kill the process group led by ``proc`` (whatever of it still runs) and reap ``proc``."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    try:
        proc.communicate(timeout=5)  # drains and closes the pipes, reaps the process
    except subprocess.TimeoutExpired:  # a pipe held open by a process that left the group
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
        proc.wait()


#: The guard process (``python -I -S -c``): reads "folder PATH", "+ PGID", "- PGID" lines from its
#: stdin until it closes, then kills the process groups still listed and removes the folder.
_GUARD_CODE = """
import os, shutil, signal, sys
folder, groups = None, set()
for line in sys.stdin:
    kind, _, value = line.rstrip("\\n").partition(" ")
    if kind == "folder":
        folder = value
    elif kind == "+":
        groups.add(int(value))
    elif kind == "-":
        groups.discard(int(value))
for group in groups:
    try:
        os.killpg(group, signal.SIGKILL)
    except OSError:
        pass
if folder:
    shutil.rmtree(folder, ignore_errors=True)
"""


class _OCRGuard:
    """Cleans up after an OCR even when its process dies without running any ``finally``: a
    worker killed (SIGKILL) at the document time limit in the middle of tesseract.

    A small process of its own session holds the other end of a pipe; it is told the OCR's
    temporary folder and the process group of the tesseract running. When the pipe closes, on
    a normal exit (with nothing left to do) or because this process died (the kernel closes
    it), it kills the groups still running and removes the folder.
    """

    def __init__(self) -> None:
        self._proc: subprocess.Popen[str] | None = None

    def __enter__(self) -> _OCRGuard:
        self._proc = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", _GUARD_CODE], stdin=subprocess.PIPE, text=True, start_new_session=True,
        )
        return self

    def _say(self, line: str) -> None:
        if self._proc is not None and self._proc.stdin is not None:
            with contextlib.suppress(BrokenPipeError, OSError):
                self._proc.stdin.write(line + "\n")
                self._proc.stdin.flush()

    def watch_folder(self, folder: str) -> None:
        self._say(f"folder {folder}")

    def track(self, group: int) -> None:
        self._say(f"+ {group}")

    def untrack(self, group: int) -> None:
        self._say(f"- {group}")

    def __exit__(self, *exc: object) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        with contextlib.suppress(BrokenPipeError, OSError):
            if proc.stdin is not None:
                proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


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
