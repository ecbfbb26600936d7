"""The project's exceptions and the failure record, in one place.

Each exception's message says what was wrong and how to fix it. A document that cannot be
processed raises a :class:`FactsheetError` subclass (its ``stage`` says where); the pipeline turns
it into one :class:`Failure`, a row of the ``failures`` table, and the batch goes on. Errors of
the call itself (a wrong path or setting) are :class:`UsageError`; the CLI exits with 2 on them.
"""

from __future__ import annotations

import traceback
from dataclasses import asdict, dataclass
from typing import Any


class FactsheetError(Exception):
    """Base class: something about one input stopped it from being processed."""

    stage = "pipeline"

    def __init__(self, message: str, *, source: str | None = None) -> None:
        super().__init__(message)
        self.source = source


class UnreadablePDFError(FactsheetError):
    """The file is not a PDF that can be opened (empty, another format, truncated, encrypted)."""

    stage = "read"


class FileNameError(FactsheetError):
    """The file's name cannot be stored in the tables (it is not valid UTF-8)."""

    stage = "read"


class NoTextLayerError(FactsheetError):
    """The PDF has pages but no extractable text (a scan) and OCR is not available."""

    stage = "layout"


class UnreadableTextError(NoTextLayerError):
    """The PDF has text, but its fonts give no Unicode for it (no ``/ToUnicode`` map, glyph
    names of their own), so it reads as unknown glyphs, and OCR is not available."""


class TooLargeError(FactsheetError):
    """The document is over a configured limit (pages)."""

    stage = "limit"


class LayoutError(FactsheetError):
    """The pages were read but no usable text blocks came out of them."""

    stage = "layout"


class FetchError(FactsheetError):
    """A URL that did not give a usable PDF or index page."""

    stage = "discover"


class OutputError(FactsheetError):
    """The tables could not be validated or written."""

    stage = "write"


class StoreBusyError(OutputError):
    """Another run holds the store's lock."""


class UsageError(ValueError):
    """The command or call was made wrongly (a path that does not exist, a bad setting): the
    message names the value and the fix."""


@dataclass(frozen=True)
class Failure:
    """One input that could not be processed: a row of the ``failures`` table."""

    source: str
    doc_id: str | None
    stage: str
    error: str
    message: str

    @classmethod
    def from_exception(cls, source: str, doc_id: str | None, stage: str, exc: BaseException) -> Failure:
        """The failure for ``exc`` raised at ``stage``: a project error keeps its message and
        stage; running out of memory is a ``limit``; anything else is a bug, said so, with the
        last frame of the traceback."""
        if isinstance(exc, MemoryError):
            return cls(source, doc_id, "limit", "MemoryError",
                       f"{source} needed more memory than the limit allows at stage {stage} (a decompression bomb "
                       "or a huge page?); raise FACTSHEETS_MEMORY_LIMIT_MB if it is a real factsheet.")
        if isinstance(exc, FactsheetError):
            return cls(source, doc_id, exc.stage, type(exc).__name__, str(exc))
        last = traceback.format_exception(exc, limit=-1)
        frame = "".join(last).strip().splitlines()
        where = next((line.strip() for line in reversed(frame) if line.strip().startswith("File ")), "")
        return cls(source, doc_id, stage, type(exc).__name__,
                   f"unexpected {type(exc).__name__} in stage {stage}: {exc}. This is a bug in factsheets or a PDF it "
                   f"cannot handle yet; report it with the file. {where}".rstrip())

    @property
    def transient(self) -> bool:
        """Whether the failure says nothing about the file (its Dask worker was lost): the next
        run tries it again, where a failure of the file itself is reported once."""
        return self.error in TRANSIENT_ERRORS

    def row(self) -> dict[str, Any]:
        return asdict(self)


#: Errors of the machinery rather than the file; a file that failed with one is tried again.
TRANSIENT_ERRORS = frozenset({"KilledWorker"})
