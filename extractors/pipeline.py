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
from functools import cache, lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from schemas.errors import FactsheetError, Failure, LayoutError
from schemas.records import FACT_LABELS, MARGIN_KINDS, TEXT_KINDS, Block, DocumentMeta, ExtractedDocument
from schemas.settings import Settings
from schemas.tables import ROW_TABLES, arrow_table, frame, frame_from_arrow

from .layout import build_blocks
from .normalise import APOSTROPHES, DASHES, month_number
from .pdf import file_digest, read_pages

#: The folders whose files shape a document's rows (with the model and the settings).
CODE_ROOTS = ("extractors", "schemas")
#: The kinds of files in them that count: code and data.
CODE_SUFFIXES = (".py", ".csv", ".jsonl", ".txt", ".json")


@dataclass
class ProcessedPDF:
    """What one input gave: its rows (``document``, ``blocks``, ``entities`` as DataFrames with
    the table schemas' types), or ``failure``. Rows travel as compact Arrow tables (``rows``)
    between processes; the DataFrames are made when asked for."""

    source: str
    doc_id: str | None = None
    path: str | None = None  # where the PDF was read
    extracted: ExtractedDocument | None = None  # between the two stages of process_pdf
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

    @property
    def facts(self) -> pd.DataFrame:
        """The document's facts; ``fact_id`` is provisional until a store places the document in
        its series (:func:`fact_id`)."""
        return frame_from_arrow("facts", [self.rows["facts"]])

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
    settings = settings or Settings()
    return tag_pdf(read_pdf(path, settings), settings)


def read_pdf(path: Path | str, settings: Settings | None = None) -> ProcessedPDF:
    """The first stage of :func:`process_pdf`: read and lay out the PDF (``result.extracted``),
    or a failure."""
    settings = settings or Settings()
    path = Path(path)
    result = ProcessedPDF(source=path.name, path=str(path.resolve()))
    stage = "read"
    try:
        result.doc_id = file_digest(path)
        stage = "layout"
        result.extracted = extract_document(path, settings.layout, settings.max_pages, result.doc_id, settings.ocr)
    except Exception as exc:  # one broken PDF never stops a batch
        result.failure = Failure.from_exception(path.name, result.doc_id, exc.stage if isinstance(exc, FactsheetError) else stage, exc)
    return result


def tag_pdf(result: ProcessedPDF, settings: Settings | None = None) -> ProcessedPDF:
    """The second stage of :func:`process_pdf`: tag what :func:`read_pdf` laid out and make the
    rows (a failure passes through)."""
    from .tagging import entity_id, load_nlp, tag_blocks_and_facts

    settings = settings or Settings()
    extracted, result.extracted = result.extracted, None
    if result.failure is not None or extracted is None:
        return result
    try:
        entities, facts = tag_blocks_and_facts(extracted.blocks, load_nlp(settings.model), extracted.meta.edition)
    except Exception as exc:
        result.failure = Failure.from_exception(result.source, result.doc_id, exc.stage if isinstance(exc, FactsheetError) else "tag", exc)
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
    doc_id = extracted.doc_id
    result.rows["entities"] = arrow_table("entities", [
        {"doc_id": doc_id, **asdict(e),
         "entity_id": fact_id(doc_id, e.block_id, e.start_char) if e.label in FACT_LABELS else entity_id(e.label, e.canonical)}
        for e in entities
    ])
    result.rows["facts"] = arrow_table("facts", [
        {**asdict(f), "doc_id": doc_id, "series": meta.series, "edition": meta.edition,
         "fact_id": fact_id(doc_id, f.block_id, f.start_char), "entity_id": fact_id(doc_id, f.block_id, f.start_char)}
        for f in facts
    ])
    return result


def fact_id(doc_id: str, block_id: int, start_char: int) -> str:
    """A fact's id where it first appears: its document and its place there. A store gives a fact
    of a later edition the id of the same fact in the edition before (``outputs.facts``); an
    amount's or a date's ``entity_id`` is its fact's id, so it stays when only the value changes."""
    return hashlib.sha256(f"{doc_id}\x1f{block_id}\x1f{start_char}".encode()).hexdigest()[:16]


# ---------------------------------------------------------------------------------- metadata

_MONTH_YEAR = re.compile(r"\b([^\W\d_]+)\.?\s+((?:19|20)\d\d)\b")
_FILE_PREFIX = re.compile(r"^(\d\d)(\d\d)[-_]")
_PDF_DATE = re.compile(r"(?:D:)?((?:19|20)\d\d)(\d\d)")
_DASH_RUN = re.compile(rf"\s*[{re.escape(DASHES)}]+\s*")


def series_slug(title: str) -> str:
    """A slug of a title, the same whatever its dashes, apostrophes, accents or case; letters of
    any script are kept ("NATO – EU Relations" and "NATO-EU relations" → "nato-eu-relations",
    "Отношения НАТО с Украиной" → "отношения-нато-с-украиной"); "" for a title without letters or
    digits.

    >>> series_slug("NATO – EU Relations") == series_slug("NATO-EU relations") == "nato-eu-relations"
    True
    """
    text = unicodedata.normalize("NFKD", title)
    # accents off Latin letters only ("Défense" → "defense"); other scripts keep their marks ("й")
    text = "".join(c for i, c in enumerate(text) if not (unicodedata.combining(c) and i and text[i - 1].isascii()))
    text = unicodedata.normalize("NFKC", text)
    text = _DASH_RUN.sub("-", text.casefold())
    text = re.sub(f"[{re.escape(APOSTROPHES)}]", "", text)
    text = re.sub(r"[\W_]+", "-", text)
    return text.strip("-")


#: NATO's factsheet file names: ``YYMM-factsheet-SLUG-LANG.pdf``, perhaps after a download's hash
#: prefix and with a suffix of the copy ("-copy0001", ".photocol").
_FACTSHEET_NAME = re.compile(
    r"(?:^|[-_])(?P<yy>\d\d)(?P<mm>\d\d)[-_]factsheet[-_](?P<slug>[a-z0-9]+(?:-[a-z0-9]+)*)[-_](?P<lang>[a-z]{2})(?:[._-][^/]*)?\.pdf$",
    re.IGNORECASE,
)
#: A title's suffix that marks an archived or updated page, not another factsheet.
_TITLE_STATE = re.compile(rf"\s*(?:[\(\[]\s*|[{re.escape(DASHES)}:]\s*)(?:archived|archive|updated|update|revised)\s*[\)\]]?\s*$", re.IGNORECASE)
#: Words a title's key leaves out: function words and a possessive owner ("NATO's relations with
#: Ukraine" and "Relations with Ukraine" are one factsheet).
_TITLE_SMALL = frozenset(["a", "an", "and", "at", "by", "for", "from", "in", "of", "on", "the", "to", "with", "its", "their"])


@lru_cache(maxsize=1 << 16)  # every run assigns the series of every stored document again
def factsheet_slug(source: str) -> str | None:
    """The slug of NATO's file name (``2111-factsheet-nato-eu-en.pdf`` → ``nato-eu``): the same for
    every edition of a factsheet, whatever its title says."""
    m = _FACTSHEET_NAME.search(Path(source).name)
    return m.group("slug").lower() if m else None


def title_core(title: str) -> str:
    """The title without a suffix such as "(Archived)" or "– updated"."""
    return _TITLE_STATE.sub("", title).strip()


@lru_cache(maxsize=1 << 16)  # as factsheet_slug
def title_key(title: str) -> str:
    """The content words of a title, as a slug: what stays when it is reworded around them
    ("NATO's relations with Ukraine", "Relations with Ukraine (Archived)" → ``relations-ukraine``)."""
    words = series_slug(title_core(title)).split("-")
    if len(words) > 1 and words[0] in ("natos", "eus", "uns", "osces"):  # a possessive owner ("NATO's", apostrophe dropped)
        words = words[1:]
    return "-".join(w for w in words if w and w not in _TITLE_SMALL)


def document_series(source: str, title: str) -> str:
    """The series of one document: NATO's file-name slug when it has one, else the key of its
    title (of two content words at least), else its file name's: never a key that unrelated
    documents share by accident ("untitled")."""
    slug = factsheet_slug(source)
    if slug:
        return slug
    key = title_key(title)
    if len(key.split("-")) >= 2:
        return key
    return series_slug(Path(source).stem) or "document"


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
    m = _FACTSHEET_NAME.search(Path(name).name)  # a download's name: "<hash>-2111-factsheet-..."
    if m and 1 <= int(m.group("mm")) <= 12:
        return f"20{m.group('yy')}-{m.group('mm')}"
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


def load_language_model() -> None:
    """Load py3langid's model now (about a second: it is xz-compressed) rather than at the
    first document's language guess: a worker does it while its parent starts the run."""
    detect_language("warm")


def detect_language(text: str, default: str = "en") -> str:
    """ISO 639-1 code of the text's language (py3langid, a maintained fork of langid.py);
    ``default`` for text without letters."""
    if not re.search(r"[^\W\d_]", text):
        return default
    code, _score = _identifier().classify(text[:5000])
    return str(code)


#: PDF info titles that are no title: a producer's placeholder or a file name.
_PLACEHOLDER_TITLE = re.compile(
    r"^(?:untitled\b.*|microsoft\s+\w+\s*-.*|document\d*|doc\d*|presentation\d*|slide\s*\d*|title)$|"
    r"\.(?:pdf|docx?|odt|rtf|txt|pptx?|xlsx?|indd|qxp|exe|tmp|html?|ps|eps|ai|pages)\s*$",
    re.IGNORECASE,
)
#: A dated line near the top of page 1 ("Vienna, 14 March 2023", "Last updated: 28 Nov. 2022")
#: has at most this many words besides its date.
_DATELINE_WORDS = 4


def info_title(info: dict[str, Any], source: str) -> str | None:
    """The PDF's metadata title when it is a real title: not empty, not a file name or a
    producer's placeholder ("Microsoft Word - doc1.docx", "untitled", "10811.exe")."""
    value = info.get("Title")
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        return None
    title = " ".join(value.split())
    stem = Path(source).stem
    if (len(title) < 3 or not re.search(r"[^\W\d_]", title) or _PLACEHOLDER_TITLE.search(title)
            or title.casefold() in (stem.casefold(), Path(source).name.casefold())):
        return None
    return title


def _dateline_edition(blocks: Sequence[Block]) -> str | None:
    """The edition from a short dated line among the first blocks of page 1: a letterhead date
    or a "Last updated" line."""
    first_page = [b for b in blocks if b.page == blocks[0].page and b.kind in TEXT_KINDS][:6]
    for b in first_page:
        edition = edition_from_text(b.text)
        if edition is None:
            continue
        rest = _MONTH_YEAR.sub(" ", b.text)
        if len(re.findall(r"[^\W\d_]+", rest)) <= _DATELINE_WORDS:
            return edition
    return None


def read_metadata(blocks: Sequence[Block], source: str, info: dict[str, Any], pages: int) -> DocumentMeta:
    """Title, edition, series and language of a document from its blocks, its file name and its
    PDF info.

    - title: the largest type of page 1 (the layout's ``title`` block), else the first heading of
      page 1, else the PDF's metadata title when it is a real one, else the file name;
    - edition: a month and year in the running header or footer, else in a dated line at the
      top of page 1, else NATO's ``YYMM-`` file-name prefix, else the PDF's creation date;
    - series: see :func:`document_series` (the store may still join it to an existing series);
    - language: of the body text."""
    first_page = blocks[0].page if blocks else 1
    title_block = next((b for b in blocks if b.kind == "title"), None) or next(
        (b for b in blocks if b.kind == "heading" and b.page == first_page), None
    )
    title = title_block.text if title_block is not None else info_title(info, source) or Path(source).stem
    edition = next((e for b in blocks if b.kind in MARGIN_KINDS for e in [edition_from_text(b.text)] if e), None)
    edition = edition or _dateline_edition(blocks) or edition_from_filename(source) or edition_from_info(info)
    body = " ".join(b.text for b in blocks if b.kind in TEXT_KINDS)
    return DocumentMeta(title=title, series=document_series(source, title), edition=edition, language=detect_language(body), pages=pages)


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
