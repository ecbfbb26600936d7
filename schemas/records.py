"""Record types passed between the stages.

Every block and entity carries its provenance (page and bounding box), so each row in the
output tables traces back to a place on a page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

#: The kinds of the running header and footer: page furniture, not the document's text.
MARGIN_KINDS = ("header", "footer")
#: The kinds of the document's own text: tagged, compared, reported.
TEXT_KINDS = ("title", "heading", "paragraph", "list_item", "caption")
BLOCK_KINDS = TEXT_KINDS + MARGIN_KINDS
ENTITY_LABELS = ("ORG", "OPERATION", "DATE", "AMOUNT", "PERSON", "GPE", "LOC")
#: The labels whose mentions carry a value (a fact).
FACT_LABELS = ("AMOUNT", "DATE")


@dataclass(frozen=True)
class BBox:
    """A box on a page, in PDF points, origin top-left (pdfplumber's convention)."""

    x0: float
    top: float
    x1: float
    bottom: float


@dataclass
class Block:
    """One text block in reading order: a title, heading, paragraph, list item, caption,
    header or footer line. A block continued across a column or page break keeps the
    page and box of its first part."""

    block_id: int
    page: int
    kind: str
    text: str
    bbox: BBox
    section: str | None = None


@dataclass
class DateRange:
    """The span of days a date expression covers, both ends inclusive."""

    start: date
    end: date
    qualifier: str | None = None


@dataclass
class Amount:
    """A normalised amount: value in base units (2 million -> 2000000.0), an ISO 4217 code,
    ``percent`` or the counted noun as unit, and a qualifier such as ``more than``."""

    value: float
    unit: str | None = None
    qualifier: str | None = None


@dataclass
class Entity:
    """One mention of an entity in a block, offsets into the block's text."""

    block_id: int
    page: int
    label: str
    text: str
    start_char: int
    end_char: int
    canonical: str
    date_start: date | None = None
    date_end: date | None = None
    value: float | None = None
    unit: str | None = None
    qualifier: str | None = None


@dataclass
class Fact:
    """A value with what it is about: an AMOUNT or DATE mention (its block and offsets), the
    words of its clause that say what it is about (``subject``), its unit, currency or date role
    (``measure``) and the sentence it is in (``text``)."""

    block_id: int
    page: int
    label: str
    start_char: int
    end_char: int
    subject: str
    measure: str
    mention: str
    text: str
    value: float | None = None
    date_start: date | None = None
    date_end: date | None = None
    qualifier: str | None = None


@dataclass
class DocumentMeta:
    """What the page says about the document: title, edition, series, language."""

    title: str
    series: str
    edition: str | None  # YYYY-MM
    language: str
    pages: int


@dataclass
class ExtractedDocument:
    """The layout stage's result for one PDF."""

    doc_id: str
    source: str
    meta: DocumentMeta
    blocks: list[Block] = field(default_factory=list)
