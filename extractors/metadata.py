"""Document metadata read from the page: title, edition, series and language."""

from __future__ import annotations

import csv
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

from schemas.records import Block, DocumentMeta

DATA = Path(__file__).parent / "data"

_MONTHS = {
    m: i
    for i, names in enumerate(
        [
            ("january", "jan", "janvier"),
            ("february", "feb", "février", "fevrier"),
            ("march", "mar", "mars"),
            ("april", "apr", "avril"),
            ("may", "mai"),
            ("june", "jun", "juin"),
            ("july", "jul", "juillet"),
            ("august", "aug", "août", "aout"),
            ("september", "sep", "sept", "septembre"),
            ("october", "oct", "octobre"),
            ("november", "nov", "novembre"),
            ("december", "dec", "décembre", "decembre"),
        ],
        start=1,
    )
    for m in names
}
_MONTH_YEAR = re.compile(r"\b([A-Za-zéûÉ]+)\.?\s+((?:19|20)\d\d)\b")
_FILE_PREFIX = re.compile(r"^(\d\d)(\d\d)[-_]")
_PDF_DATE = re.compile(r"(?:D:)?((?:19|20)\d\d)(\d\d)")
_DASHES = re.compile(r"\s*[-\u2010\u2011\u2012\u2013\u2014\u2015\u2212]+\s*")


def series_slug(title: str) -> str:
    """A slug that is the same for every edition of a series, whatever the title's dashes or case.

    >>> series_slug("NATO – EU Relations") == series_slug("NATO-EU relations") == "nato-eu-relations"
    True
    """
    text = unicodedata.normalize("NFKD", title)
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = _DASHES.sub("-", text.lower())
    text = re.sub(r"[’'`]", "", text)
    text = re.sub(r"[^a-z0-9]+", "-", text)
    return text.strip("-") or "untitled"


def edition_from_text(text: str) -> str | None:
    """``YYYY-MM`` from a header line such as "February 2019"."""
    for word, year in _MONTH_YEAR.findall(text):
        month = _MONTHS.get(word.lower())
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
def _stopwords() -> dict[str, frozenset[str]]:
    with (DATA / "stopwords.csv").open(encoding="utf-8") as fh:
        return {row["language"]: frozenset(row["words"].split()) for row in csv.DictReader(fh)}


def detect_language(text: str, default: str = "en") -> str:
    """ISO 639-1 code of the language with the most stopword hits."""
    words = Counter(re.findall(r"[^\W\d_]+", text.lower()))
    scores = {lang: sum(words[w] for w in stop) for lang, stop in _stopwords().items()}
    best = max(scores, key=lambda lang: scores[lang]) if scores else default
    return best if scores.get(best, 0) > 0 else default


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
        if b.kind in ("header", "footer"):
            edition = edition_from_text(b.text)
            if edition:
                break
    edition = edition or edition_from_filename(source) or edition_from_info(info)
    body = " ".join(b.text for b in blocks if b.kind in ("paragraph", "list_item"))
    return DocumentMeta(title=title, series=series_slug(title), edition=edition, language=detect_language(body), pages=pages)
