"""Opening PDFs and reading their pages' words, with errors a person can act on."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from schemas.errors import NoTextLayerError, TooLargeError, UnreadablePDFError

from .layout import PageWords, words_of_page


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
    when no page has any text.
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
        from .ocr import ocr_available, ocr_pages

        if ocr and ocr_available():
            try:
                pages = ocr_pages(path)
            except MemoryError:
                raise
            except Exception as exc:
                raise NoTextLayerError(
                    f"{path.name} has no text layer and OCR failed on it ({type(exc).__name__}: {exc}); "
                    "check the file opens in a PDF viewer.", source=path.name) from exc
            if any(p.words for p in pages):
                return pages, info
            raise NoTextLayerError(f"{path.name} has no text layer and OCR found no text on its {len(pages)} page(s).", source=path.name)
        raise NoTextLayerError(
            f"{path.name} has {len(pages)} page(s) but no text layer (a scan?) and OCR is "
            + ("turned off" if not ocr else "not available: install tesseract (`apt-get install tesseract-ocr`)")
            + " or run OCR on it first (e.g. `ocrmypdf in.pdf out.pdf`) and ingest the result.",
            source=path.name,
        )
    return pages, info


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
    return "something else"
