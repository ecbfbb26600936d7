"""The pipeline's steps as plain functions: the Prefect tasks in ``flows.ingest`` wrap these,
and benchmarks and tests call them directly."""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
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
from outputs.compare import compare_editions, editions_by_series, sort_changes
from schemas.tables import TABLES, arrow_table, empty, frame, frame_from_arrow

from flows.settings import Settings


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


def merge_results(
    existing: dict[str, pd.DataFrame],
    results: Sequence[DocumentResult],
    ingested_at: datetime | None = None,
    compare: Callable[[pd.DataFrame, pd.DataFrame, pd.DataFrame], pd.DataFrame] = compare_editions,
) -> dict[str, pd.DataFrame]:
    """The store's tables with ``results`` merged in: a re-ingested document replaces its rows,
    a source that now succeeds loses its old failure rows; ``changes`` is recomputed for the
    series that got a new or re-processed document."""
    ingested_at = ingested_at or datetime.now(timezone.utc)
    ok = [r for r in results if r.ok]
    new_ids = {r.doc_id for r in ok}
    retried = {r.source for r in results}
    tables: dict[str, pd.DataFrame] = {}
    for name in ("documents", "blocks", "entities"):
        old = existing.get(name, empty(name))
        old = old[~old["doc_id"].isin(new_ids)]
        if name == "documents":
            new = frame(name, [{**(r.document or {}), "ingested_at": ingested_at} for r in ok])
        else:
            new = frame_from_arrow(name, [getattr(r, name) for r in ok])
        tables[name] = pd.concat([old, new], ignore_index=True) if len(old) else new
    old_fail = existing.get("failures", empty("failures"))
    old_fail = old_fail[~old_fail["source"].isin(retried)]
    new_fail = frame("failures", [r.failure for r in results if r.failure])
    tables["failures"] = pd.concat([old_fail, new_fail], ignore_index=True) if len(old_fail) else new_fail
    tables["documents"] = tables["documents"].sort_values(["series", "edition", "source"], na_position="first").reset_index(drop=True)
    order = tables["documents"]["doc_id"].tolist()
    rank = {d: i for i, d in enumerate(order)}
    for name in ("blocks", "entities"):
        df = tables[name]
        sort_cols = ["_rank", "block_id"] + (["start_char"] if name == "entities" else [])
        tables[name] = df.assign(_rank=df["doc_id"].map(rank)).sort_values(sort_cols, kind="mergesort").drop(columns="_rank").reset_index(drop=True)
    tables["changes"] = _changes(existing, tables, new_ids, compare)
    return {name: tables[name] for name in TABLES}


def _changes(
    existing: dict[str, pd.DataFrame],
    tables: dict[str, pd.DataFrame],
    new_ids: set[str | None],
    compare: Callable[[pd.DataFrame, pd.DataFrame, pd.DataFrame], pd.DataFrame],
) -> pd.DataFrame:
    """The changes table after a merge: pairs of editions that did not change keep their rows;
    only pairs with a new or re-processed document are compared (the whole series when its
    editions are not all distinct, since rows are keyed by edition)."""
    old_docs = existing.get("documents", empty("documents"))
    old_changes = existing.get("changes", empty("changes"))
    docs = tables["documents"]
    if not len(old_changes) or not len(old_docs):
        return compare(docs, tables["blocks"], tables["entities"])
    touched = set(docs.loc[docs["doc_id"].isin(new_ids), "series"]) | set(old_docs.loc[old_docs["doc_id"].isin(new_ids), "series"])
    if not touched:
        return old_changes
    old_eds, new_eds = editions_by_series(old_docs), editions_by_series(docs)
    keep_rows = ~old_changes["series"].isin(touched)
    scope_ids: set[str] = set()
    recompute: set[tuple[str, str | None, str | None]] = set()
    for series in touched:
        eds = new_eds.get(series, [])
        before = old_eds.get(series, [])
        distinct = all(len({e.edition for e in x}) == len(x) and None not in {e.edition for e in x} for x in (eds, before))
        old_pairs = {(x.doc_id, y.doc_id) for x, y in zip(before, before[1:])}
        kept = set()
        for x, y in zip(eds, eds[1:]):
            if distinct and (x.doc_id, y.doc_id) in old_pairs and not {x.doc_id, y.doc_id} & new_ids:
                kept.add((x.edition, y.edition))
            else:
                scope_ids.update((x.doc_id, y.doc_id))
                recompute.add((series, x.edition, y.edition))
        if kept:
            pair_of = list(zip(old_changes["from_edition"], old_changes["to_edition"]))
            keep_rows |= (old_changes["series"] == series) & pd.Series([p in kept for p in pair_of], index=old_changes.index)
    scope = docs[docs["doc_id"].isin(scope_ids)]
    fresh = compare(scope, tables["blocks"][tables["blocks"]["doc_id"].isin(scope_ids)],
                    tables["entities"][tables["entities"]["doc_id"].isin(scope_ids)]) if len(scope) else empty("changes")
    return _only_pairs(fresh, recompute, old_changes[keep_rows])


def _only_pairs(fresh: pd.DataFrame, wanted: set[tuple[str, str | None, str | None]], kept: pd.DataFrame) -> pd.DataFrame:
    """Kept rows plus the fresh rows of the pairs that were to be compared (comparing a scope
    of documents also pairs documents that are consecutive only within the scope)."""
    if len(fresh):
        fresh = fresh[[(s, f, t) in wanted for s, f, t in zip(fresh["series"], fresh["from_edition"], fresh["to_edition"])]]
    parts = [p for p in (kept, fresh) if len(p)]
    return sort_changes(pd.concat(parts, ignore_index=True)) if parts else empty("changes")


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
