"""The pipeline's steps as plain functions: the Prefect tasks in ``flows.ingest`` wrap these,
and benchmarks and tests call them directly."""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from extractors import PIPELINE_VERSION
from extractors.document import extract_document
from extractors.entities import entity_id, tag_document
from extractors.errors import FactsheetError
from extractors.nlp import load_nlp
from extractors.pdf import file_digest
from flows.settings import Settings
from outputs.compare import (
    Edition,
    PairJob,
    compare_jobs,
    editions_by_series,
    sort_changes,
)
from outputs.rows import ROW_TABLES, Rows, RowSource, StoredRows, same_content
from outputs.store import Store, TableData
from schemas.tables import (
    TABLES,
    arrow_table,
    concat_arrow,
    empty,
    frame,
)


@dataclass
class DocumentResult:
    """What one input gave: its rows for each table (Arrow tables: compact to keep and to
    send between processes), or one failure row."""

    source: str
    doc_id: str | None = None
    document: dict[str, Any] | None = None
    blocks: pa.Table = field(default_factory=lambda: arrow_table("blocks", []))
    entities: pa.Table = field(default_factory=lambda: arrow_table("entities", []))
    failure: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return self.failure is None

    def drop_rows(self) -> None:
        """Let go of the rows (once they are kept elsewhere); ``document`` and ``failure`` stay."""
        self.blocks = arrow_table("blocks", [])
        self.entities = arrow_table("entities", [])


class UsageError(ValueError):
    """The command was called wrongly (a path that does not exist, ...)."""


def discover(paths: Iterable[str | Path]) -> list[Path]:
    """PDF files named directly or found (recursively, ``*.pdf``, any case) under folders."""
    found: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found.extend(
                sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() == ".pdf" and not f.name.startswith("."))
            )
        elif p.is_file():
            found.append(p)
        else:
            raise UsageError(f"{raw}: no such file or folder; pass PDF files or folders that hold them.")
    unique: dict[Path, None] = {}
    for f in found:
        unique.setdefault(f.resolve(), None)
    return list(unique)


def failure_row(source: str, doc_id: str | None, stage: str, exc: BaseException) -> dict[str, Any]:
    if isinstance(exc, MemoryError):
        return {"source": source, "doc_id": doc_id, "stage": "limit", "error": "MemoryError",
                "message": f"{source} needed more memory than the limit allows at stage {stage} (a decompression bomb "
                           "or a huge page?); raise FACTSHEETS_MEMORY_LIMIT_MB if it is a real factsheet."}
    message = str(exc) if isinstance(exc, FactsheetError) else (
        f"unexpected {type(exc).__name__} in stage {stage}: {exc}. This is a bug in factsheets or a PDF it "
        f"cannot handle yet; report it with the file. Last frame: {traceback.format_exc(limit=-1).strip().splitlines()[-1]}"
    )
    return {"source": source, "doc_id": doc_id, "stage": stage, "error": type(exc).__name__, "message": message}


def process_document(path: str | Path, settings: Settings | None = None) -> DocumentResult:
    """Read, lay out and tag one PDF. Never raises for a bad input: returns a failure instead."""
    settings = settings or Settings()
    path = Path(path)
    result = DocumentResult(source=path.name)
    stage = "read"
    try:
        result.doc_id = file_digest(path)
        extracted = extract_document(path, layout=settings.layout, max_pages=settings.max_pages, doc_id=result.doc_id, ocr=settings.ocr)
        stage = "tag"
        nlp = load_nlp(settings.model)
        entities = tag_document(extracted, nlp)
    except FactsheetError as exc:
        result.failure = failure_row(path.name, result.doc_id, exc.stage, exc)
        return result
    except Exception as exc:  # one broken PDF never stops a batch
        result.failure = failure_row(path.name, result.doc_id, stage, exc)
        return result
    meta = extracted.meta
    result.document = {
        "doc_id": extracted.doc_id,
        "source": extracted.source,
        "series": meta.series,
        "title": meta.title,
        "edition": meta.edition,
        "language": meta.language,
        "pages": meta.pages,
        "pipeline_version": PIPELINE_VERSION,
    }
    result.blocks = arrow_table("blocks", [
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
    result.entities = arrow_table("entities", [
        {"doc_id": extracted.doc_id, "entity_id": entity_id(e.label, e.canonical), **asdict(e)} for e in entities
    ])
    return result


#: Documents per part when the blocks and entities tables are written.
CHUNK_DOCS = 64

CompareFn = Callable[[Iterable[PairJob]], pd.DataFrame]


@dataclass
class Merged:
    """The store's tables after a merge: ``documents``, ``changes`` and ``failures`` in
    memory; the rows of ``blocks`` and ``entities`` come from ``rows`` one document at a time,
    in the order of ``documents``, as they are written."""

    documents: pd.DataFrame
    changes: pd.DataFrame
    failures: pd.DataFrame
    rows: Rows

    def parts(self, name: str, docs_per_part: int = CHUNK_DOCS) -> Iterator[pd.DataFrame]:
        ids = self.documents["doc_id"].tolist()
        for i in range(0, len(ids), docs_per_part):
            yield self.rows.frame(name, ids[i : i + docs_per_part])

    def tables(self) -> dict[str, TableData]:
        """For ``Store.write``: the large tables as functions that yield their parts."""
        return {
            "documents": self.documents,
            "blocks": partial(self.parts, "blocks"),
            "entities": partial(self.parts, "entities"),
            "changes": self.changes,
            "failures": self.failures,
        }

    def frames(self) -> dict[str, pd.DataFrame]:
        """Every table in memory (for small stores and tests)."""
        ids = self.documents["doc_id"].tolist()
        return {
            "documents": self.documents,
            "blocks": self.rows.frame("blocks", ids),
            "entities": self.rows.frame("entities", ids),
            "changes": self.changes,
            "failures": self.failures,
        }


def merge(
    existing: Mapping[str, pd.DataFrame],
    new_rows: RowSource,
    results: Sequence[DocumentResult],
    old_rows: RowSource,
    ingested_at: datetime | None = None,
    compare: CompareFn = compare_jobs,
) -> Merged:
    """Merge ``results`` (whose blocks and entities are in ``new_rows``) into the store's
    ``documents``, ``changes`` and ``failures`` (``existing``; its blocks and entities in
    ``old_rows``): a re-ingested document replaces its rows, a source that now succeeds loses
    its old failure rows; ``changes`` is recomputed for the pairs of editions next to a new
    or re-processed document."""
    ingested_at = ingested_at or datetime.now(timezone.utc)
    ok = [r for r in results if r.ok]
    new_ids = {r.doc_id for r in ok}
    retried = {r.source for r in results}
    old_docs = existing.get("documents", empty("documents"))
    new_docs = frame("documents", [{**(r.document or {}), "ingested_at": ingested_at} for r in ok])
    kept = old_docs[~old_docs["doc_id"].isin(new_ids)]
    docs = pd.concat([kept, new_docs], ignore_index=True) if len(kept) else new_docs
    docs = docs.sort_values(["series", "edition", "source"], na_position="first").reset_index(drop=True)
    old_fail = existing.get("failures", empty("failures"))
    old_fail = old_fail[~old_fail["source"].isin(retried)]
    new_fail = frame("failures", [r.failure for r in results if r.failure])
    failures = pd.concat([old_fail, new_fail], ignore_index=True) if len(old_fail) else new_fail
    rows = Rows([new_rows, old_rows])
    kept_changes, pairs = _pairs_to_compare(existing, docs, new_ids)
    fresh = compare(pair_jobs_from(pairs, rows)) if pairs else empty("changes")
    parts = [p for p in (kept_changes, fresh) if len(p)]
    changes = sort_changes(pd.concat(parts, ignore_index=True)) if parts else empty("changes")
    return Merged(docs, changes, failures, rows)


def merge_results(
    existing: dict[str, pd.DataFrame],
    results: Sequence[DocumentResult],
    ingested_at: datetime | None = None,
    compare: CompareFn = compare_jobs,
) -> dict[str, pd.DataFrame]:
    """:func:`merge` with every table in memory: ``existing`` holds all five tables and each
    result its own rows."""
    new_rows = StoredRows({name: concat_arrow(name, [getattr(r, name) for r in results if r.ok]) for name in ROW_TABLES})
    old_rows = StoredRows({name: existing.get(name, empty(name)) for name in ROW_TABLES})
    return merge(existing, new_rows, results, old_rows, ingested_at, compare).frames()


def _pairs_to_compare(
    existing: Mapping[str, pd.DataFrame], docs: pd.DataFrame, new_ids: set[str | None]
) -> tuple[pd.DataFrame, list[tuple[str, Edition, Edition]]]:
    """The change rows to keep, and the pairs of editions to compare: a pair of documents that
    were already consecutive and are not new or re-processed keeps its rows (found by the two
    documents' ids); every other consecutive pair is compared."""
    old_docs = existing.get("documents", empty("documents"))
    old_changes = existing.get("changes", empty("changes"))
    pairs = [(s, x, y) for s, eds in editions_by_series(docs).items() for x, y in zip(eds, eds[1:])]
    if not len(old_docs) or "from_doc_id" not in old_changes or old_changes["from_doc_id"].isna().any():
        # nothing stored yet, or changes written before rows carried their documents' ids
        return empty("changes"), pairs
    old_pairs = {(x.doc_id, y.doc_id) for eds in editions_by_series(old_docs).values() for x, y in zip(eds, eds[1:])}
    kept: set[tuple[str, str]] = set()
    todo: list[tuple[str, Edition, Edition]] = []
    for series, x, y in pairs:
        if (x.doc_id, y.doc_id) in old_pairs and not {x.doc_id, y.doc_id} & new_ids:
            kept.add((x.doc_id, y.doc_id))
        else:
            todo.append((series, x, y))
    keep = [pair in kept for pair in zip(old_changes["from_doc_id"], old_changes["to_doc_id"])]
    return old_changes[keep], todo


def pair_jobs_from(pairs: Iterable[tuple[str, Edition, Edition]], rows: Rows) -> Iterator[PairJob]:
    """Comparison jobs for ``pairs``, each with only its two documents' rows, made as they
    are consumed; a pair whose two editions have the same content has no changes and no job."""
    for series, a, b in pairs:
        rows_a, rows_b = rows.tables(a.doc_id), rows.tables(b.doc_id)  # read once for both uses
        if same_content(rows_a, rows_b):
            continue
        # Arrow, not frames: the worker that compares them makes the frames
        yield series, a, b, concat_arrow("blocks", [rows_a["blocks"], rows_b["blocks"]]), concat_arrow("entities", [rows_a["entities"], rows_b["entities"]])


def summary_tables(store: Store) -> dict[str, pd.DataFrame]:
    """What :func:`summary` reads of a store: the small tables whole, of blocks and entities
    only their kind and label."""
    return {
        "documents": store.read("documents"),
        "blocks": store.read("blocks", columns=["kind"]),
        "entities": store.read("entities", columns=["label"]),
        "changes": store.read("changes"),
        "failures": store.read("failures"),
    }


def summary(tables: dict[str, pd.DataFrame], results: Sequence[DocumentResult] | None = None) -> str:
    """A short, human summary of the store (and of this run's results)."""
    docs, blocks, ents, changes, fails = (tables[n] for n in TABLES)
    lines = []
    if results is not None:
        n_ok = sum(r.ok for r in results)
        lines.append(f"this run: {len(results)} input(s), {n_ok} processed, {len(results) - n_ok} failed")
    lines.append(f"documents: {len(docs)} in {docs['series'].nunique() if len(docs) else 0} series")
    lines.append(f"blocks: {len(blocks)}" + (" (" + ", ".join(f"{k} {v}" for k, v in blocks['kind'].value_counts().sort_index().items()) + ")" if len(blocks) else ""))
    lines.append(f"entities: {len(ents)}" + (" (" + ", ".join(f"{k} {v}" for k, v in ents['label'].value_counts().sort_index().items()) + ")" if len(ents) else ""))
    if len(changes):
        by = changes.groupby(["level", "change"]).size()
        lines.append(f"changes: {len(changes)} (" + ", ".join(f"{lvl} {chg} {n}" for (lvl, chg), n in by.items()) + ")")
    else:
        lines.append("changes: 0")
    lines.append(f"failures: {len(fails)}")
    for row in fails.itertuples(index=False):
        lines.append(f"  {row.source}: [{row.stage}] {row.error}: {row.message}")
    return "\n".join(lines)
