"""The project's exceptions, in one place. Each message says what was wrong and how to fix it.

A document that cannot be processed raises a ``FactsheetError`` subclass; the flow records it as
one row of the ``failures`` table (``stage``, ``error``, ``message``) and goes on with the batch.
"""

from __future__ import annotations


class FactsheetError(Exception):
    """Base class: something about one input stopped it from being processed."""

    stage = "pipeline"

    def __init__(self, message: str, *, source: str | None = None) -> None:
        super().__init__(message)
        self.source = source


class UnreadablePDFError(FactsheetError):
    """The file is not a PDF that can be opened (empty, another format, truncated, encrypted)."""

    stage = "read"


class NoTextLayerError(FactsheetError):
    """The PDF has pages but no extractable text (a scan) and OCR is not available."""

    stage = "layout"


class TooLargeError(FactsheetError):
    """The document is over a configured limit (pages)."""

    stage = "limit"


class LayoutError(FactsheetError):
    """The pages were read but no usable text blocks came out of them."""

    stage = "layout"


class TaggingError(FactsheetError):
    """The spaCy pipeline failed on the document's text."""

    stage = "tag"


class SettingsError(ValueError):
    """A setting has a value that cannot work; the message names the setting and the fix."""


class OutputError(FactsheetError):
    """The tables could not be validated or written."""

    stage = "write"
