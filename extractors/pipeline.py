"""One PDF in, its records out: :func:`process_pdf`.

``process_pdf(path)`` reads the PDF (:mod:`extractors.pdf`), lays its words out in blocks and
reads the title, edition, series and language from the page (:mod:`extractors.layout`,
:func:`read_metadata` here), tags and normalises the entities (:mod:`extractors.tagging`) and
returns a :class:`ProcessedPDF`: the document's rows of the ``documents``, ``blocks`` and
``entities`` tables, or one :class:`~schemas.errors.Failure` saying why it could not be
processed. It never raises for a bad input; the failure is a value, so a batch goes on.

The rows carry the key they were made with (:func:`cache_key`): a hash of the code of
``extractors/`` and ``schemas/``, the data files, the model and its version, and the settings
that shape the output. Any edit to one of them gives a new key, so a store re-processes its
documents on the next run without anybody bumping a version by hand.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from schemas.errors import FactsheetError, Failure, LayoutError
from schemas.records import MARGIN_KINDS, TEXT_KINDS, Block, DocumentMeta, ExtractedDocument
from schemas.settings import Settings
from schemas.tables import arrow_table, frame, frame_from_arrow

from .layout import build_blocks
from .normalise import APOSTROPHES, DASHES, month_number
from .pdf import file_digest, read_pages

#: The folders whose files shape a document's rows (with the model and the settings).
CODE_ROOTS = ("extractors", "schemas")
#: The kinds of files in them that count: code and data.
CODE_SUFFIXES = (".py", ".csv", ".jsonl", ".txt", ".json")
#: The row tables :func:`process_pdf` gives (``documents`` aside).
ROW_TABLES = ("blocks", "entities")


@dataclass
class ProcessedPDF:
    """What one input gave: its rows (``document``, ``blocks``, ``entities`` as DataFrames with
    the table schemas' types), or ``failure``. Rows travel as compact Arrow tables (``rows``)
    between processes; the DataFrames are made when asked for."""

    source: str
    doc_id: str | None = None
    document_row: dict[str, Any] | None = None
    rows: dict[str, pa.Table] = field(default_factory=lambda: {name: arrow_table(name, []) for name in ROW_TABLES})
    failure: Failure | None = None

    @property
    def ok(self) -> bool:
        return self.failure is None

    @property
    def document(self) -> pd.DataFrame:
        """One row of the ``documents`` table (none for a failure)."""
        return frame("documents", [self.document_row] if self.document_row else [])

    @property
    def blocks(self) -> pd.DataFrame:
        return frame_from_arrow("blocks", [self.rows["blocks"]])

    @property
    def entities(self) -> pd.DataFrame:
        return frame_from_arrow("entities", [self.rows["entities"]])

    def drop_rows(self) -> None:
        """Let go of the rows (once they are kept elsewhere); ``document_row`` and ``failure`` stay."""
        self.rows = {name: arrow_table(name, []) for name in ROW_TABLES}

    @classmethod
    def failed(cls, source: str, failure: Failure) -> ProcessedPDF:
        return cls(source=source, doc_id=failure.doc_id, failure=failure)


def extract_document(
    path: Path | str,
    layout: dict[str, Any] | None = None,
    max_pages: int | None = None,
    doc_id: str | None = None,
    ocr: bool = True,
) -> ExtractedDocument:
    """The layout stage: pages, blocks in reading order and the document's metadata."""
    path = Path(path)
    doc_id = doc_id or file_digest(path)
    pages, info = read_pages(path, max_pages=max_pages, ocr=ocr)
    blocks = build_blocks(pages, layout)
    if not any(b.kind not in MARGIN_KINDS for b in blocks):
        raise LayoutError(f"{path.name}: no body text was found on its {len(pages)} page(s).", source=path.name)
    meta = read_metadata(blocks, path.name, info, len(pages))
    return ExtractedDocument(doc_id=doc_id, source=path.name, meta=meta, blocks=blocks)


def process_pdf(path: Path | str, settings: Settings | None = None) -> ProcessedPDF:
    """Read, lay out and tag one PDF. Never raises for a bad input: returns a failure instead."""
    from .tagging import entity_id, load_nlp, tag_document

    settings = settings or Settings()
    path = Path(path)
    result = ProcessedPDF(source=path.name)
    stage = "read"
    try:
        result.doc_id = file_digest(path)
        stage = "layout"
        extracted = extract_document(path, settings.layout, settings.max_pages, result.doc_id, settings.ocr)
        stage = "tag"
        entities = tag_document(extracted, load_nlp(settings.model))
    except Exception as exc:  # one broken PDF never stops a batch
        stage = exc.stage if isinstance(exc, FactsheetError) else stage
        result.failure = Failure.from_exception(path.name, result.doc_id, stage, exc)
        return result
    meta = extracted.meta
    result.document_row = {
        "doc_id": extracted.doc_id,
        "source": extracted.source,
        "series": meta.series,
        "title": meta.title,
        "edition": meta.edition,
        "language": meta.language,
        "pages": meta.pages,
        "ingested_at": datetime.now(UTC),
        "pipeline_version": pipeline_version(settings),
    }
    result.rows["blocks"] = arrow_table("blocks", [
        {
            "doc_id": extracted.doc_id,
            "block_id": b.block_id,
            "page": b.page,
            "kind": b.kind,
            "section": b.section,
            "text": b.text,
            "x0": round(b.bbox.x0, 2),
            "top": round(b.bbox.top, 2),
            "x1": round(b.bbox.x1, 2),
            "bottom": round(b.bbox.bottom, 2),
        }
        for b in extracted.blocks
    ])
    result.rows["entities"] = arrow_table("entities", [
        {"doc_id": extracted.doc_id, "entity_id": entity_id(e.label, e.canonical), **asdict(e)} for e in entities
    ])
    return result


# ---------------------------------------------------------------------------------- metadata

_MONTH_YEAR = re.compile(r"\b([^\W\d_]+)\.?\s+((?:19|20)\d\d)\b")
_FILE_PREFIX = re.compile(r"^(\d\d)(\d\d)[-_]")
_PDF_DATE = re.compile(r"(?:D:)?((?:19|20)\d\d)(\d\d)")
_DASH_RUN = re.compile(rf"\s*[{re.escape(DASHES)}]+\s*")


def series_slug(title: str) -> str:
    """A slug that is the same for every edition of a series, whatever the title's dashes or case.

    >>> series_slug("NATO – EU Relations") == series_slug("NATO-EU relations") == "nato-eu-relations"
    True
    """
    text = unicodedata.normalize("NFKD", title)
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = _DASH_RUN.sub("-", text.lower())
    text = re.sub(f"[{re.escape(APOSTROPHES)}]", "", text)
    text = re.sub(r"[^a-z0-9]+", "-", text)
    return text.strip("-") or "untitled"


def edition_from_text(text: str) -> str | None:
    """``YYYY-MM`` from a header line such as "February 2019"."""
    for word, year in _MONTH_YEAR.findall(text):
        month = month_number(word)
        if month:
            return f"{year}-{month:02d}"
    return None


def edition_from_filename(name: str) -> str | None:
    """``YYYY-MM`` from NATO's ``YYMM-`` file-name prefix (``1902-factsheet-...`` is 2019-02)."""
    m = _FILE_PREFIX.match(name)
    if m and 1 <= int(m.group(2)) <= 12:
        return f"20{m.group(1)}-{m.group(2)}"
    return None


def edition_from_info(info: dict[str, Any]) -> str | None:
    for key in ("CreationDate", "ModDate"):
        value = info.get(key)
        if isinstance(value, bytes):
            value = value.decode("latin-1", "replace")
        if isinstance(value, str):
            m = _PDF_DATE.search(value)
            if m and 1 <= int(m.group(2)) <= 12:
                return f"{m.group(1)}-{m.group(2)}"
    return None


@cache
def _identifier() -> Any:
    import py3langid

    return py3langid


def detect_language(text: str, default: str = "en") -> str:
    """ISO 639-1 code of the text's language (py3langid, a maintained fork of langid.py);
    ``default`` for text without letters."""
    if not re.search(r"[^\W\d_]", text):
        return default
    code, _score = _identifier().classify(text[:5000])
    return str(code)


def read_metadata(blocks: Sequence[Block], source: str, info: dict[str, Any], pages: int) -> DocumentMeta:
    title_block = next((b for b in blocks if b.kind == "title"), None)
    info_title = info.get("Title")
    if isinstance(info_title, bytes):
        info_title = info_title.decode("utf-8", "replace")
    if title_block is not None:
        title = title_block.text
    elif isinstance(info_title, str) and info_title.strip():
        title = info_title.strip()
    else:
        title = Path(source).stem
    edition = None
    for b in blocks:
        if b.kind in MARGIN_KINDS:
            edition = edition_from_text(b.text)
            if edition:
                break
    edition = edition or edition_from_filename(source) or edition_from_info(info)
    body = " ".join(b.text for b in blocks if b.kind in TEXT_KINDS)
    return DocumentMeta(title=title, series=series_slug(title), edition=edition, language=detect_language(body), pages=pages)


# --------------------------------------------------------------------------------- cache key


def _files(roots: Iterable[Path]) -> list[Path]:
    return sorted(
        p for root in roots for p in root.rglob("*")
        if p.is_file() and p.suffix in CODE_SUFFIXES and "__pycache__" not in p.parts
    )


def code_hash(roots: Iterable[Path] | None = None) -> str:
    """sha256 of the names and bytes of every code and data file under ``roots`` (by default
    ``extractors/`` and ``schemas/`` as installed)."""
    base = Path(__file__).resolve().parent.parent
    folders = [base / r for r in CODE_ROOTS] if roots is None else [Path(r) for r in roots]
    h = hashlib.sha256()
    for p in _files(folders):
        rel = next((p.relative_to(f.parent) for f in folders if f in p.parents), p)
        h.update(rel.as_posix().encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()


@cache
def _installed_code_hash() -> str:
    return code_hash()


def model_version(model: str | None) -> str:
    """``name@version`` of a spaCy model package or folder; ``rules`` for none."""
    if not model:
        return "rules"
    meta = Path(model) / "meta.json"
    if meta.is_file():
        data = json.loads(meta.read_text(encoding="utf-8"))
        return f"{data.get('name', model)}@{data.get('version', 'unknown')}"
    try:
        return f"{model}@{version(model.replace('_', '-'))}"
    except (PackageNotFoundError, ValueError):
        return f"{model}@unknown"


def cache_key(settings: Settings | None = None) -> str:
    """What a document's rows depend on besides its bytes: the code and data of ``extractors/``
    and ``schemas/``, the model and its version, and the settings that shape the output."""
    settings = settings or Settings()
    parts = {"code": _installed_code_hash(), "model": model_version(settings.model), **settings.shaping()}
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def pipeline_version(settings: Settings | None = None) -> str:
    """The ``pipeline_version`` of a document: the package version and the cache key."""
    try:
        package = version("factsheets")
    except PackageNotFoundError:
        package = "0"
    return f"{package}+{cache_key(settings)}"
