"""Opening PDFs and reading their pages' words, with errors a person can act on."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from .errors import NoTextLayerError, UnreadablePDFError
from .layout import PageWords, words_of_page


def file_digest(path: Path) -> str:
    """sha256 of the file's bytes: the document's id."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_pages(path: Path, max_pages: int | None = None) -> tuple[list[PageWords], dict[str, Any]]:
    """The words of every page of ``path`` and the PDF's info dictionary.

    Raises ``UnreadablePDFError`` when the file is not a readable PDF and ``NoTextLayerError``
    when no page has any text.
    """
    import pdfplumber
    from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect
    from pdfminer.pdfparser import PDFSyntaxError
    from pdfminer.psparser import PSException

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
                raise UnreadablePDFError(
                    f"{path.name} has {n} pages, more than the limit of {max_pages}; raise the "
                    "max_pages setting if this really is a factsheet.",
                    source=path.name,
                )
            pages = []
            for i, page in enumerate(pdf.pages, start=1):
                pages.append(words_of_page(page, i))
                page.close()
            info = dict(pdf.metadata or {})
    except (PDFPasswordIncorrect, PDFEncryptionError) as exc:
        raise UnreadablePDFError(
            f"{path.name} is encrypted with a password; decrypt it (e.g. `qpdf --decrypt`) and ingest it again.",
            source=path.name,
        ) from exc
    except (PDFSyntaxError, PSException) as exc:
        raise UnreadablePDFError(
            f"{path.name} is damaged and cannot be parsed ({type(exc).__name__}: {exc}); "
            "re-download it or repair it (e.g. `qpdf in.pdf out.pdf`).",
            source=path.name,
        ) from exc
    except UnreadablePDFError:
        raise
    except Exception as exc:  # pdfminer raises many kinds of errors on broken files
        raise UnreadablePDFError(
            f"{path.name} could not be read as a PDF ({type(exc).__name__}: {exc}); re-download or re-export it.",
            source=path.name,
        ) from exc
    if not any(p.words for p in pages):
        raise NoTextLayerError(
            f"{path.name} has {len(pages)} page(s) but no text layer (a scan?); run OCR on it first "
            "(e.g. `ocrmypdf in.pdf out.pdf`) and ingest the result.",
            source=path.name,
        )
    return pages, info


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
