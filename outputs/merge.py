"""A batch of processed documents into the store: decide what is new, keep the rows that
arrive, merge them with what the store holds, compare the editions that changed, write.

>>> from extractors import process_pdf
>>> from outputs import Store
>>> with Store("out").batch() as batch:                              # doctest: +SKIP
...     for path in batch.plan(["a.pdf", "b.pdf"]):
...         batch.add(process_pdf(path))
...     batch.commit()

:class:`Batch` holds the store's lock from ``plan`` to ``commit``; rows of each result go to a
spool on disk as they arrive, so memory does not grow with the batch. A document already in
the store with the same cache key is skipped (unless ``force``); the same bytes under a new
name are recorded as an alias, not processed again; when nothing changed, nothing is written.
"""

from __future__ import annotations

import contextlib
import fnmatch
import os
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pyarrow as pa

from schemas.errors import FactsheetError, Failure, FileNameError, UnreadablePDFError, UsageError
from schemas.records import FACT_LABELS
from schemas.settings import Settings
from schemas.tables import DOCUMENT_ORDER, concat_arrow, empty, frame

from .compare import Edition, JobsResult, PairJob, compare_jobs, editions_by_series, finish_changes, sort_changes
from .facts import Key as FactKey
from .facts import Matches, resolve_fact_ids
from .rows import ROW_TABLES, Overlay, Rows, RowSource, Spool, StoredRows, same_content

if TYPE_CHECKING:
    from extractors.pipeline import ProcessedPDF

    from .store import Manifest, Snapshot, Store, TableData

#: Documents per part when the blocks and entities tables are written.
CHUNK_DOCS = 64

CompareFn = Callable[[Iterable[PairJob]], JobsResult]


@dataclass
class Merged:
    """The store's tables after a merge: ``documents``, ``changes`` and ``failures`` in
    memory; the rows of ``blocks``, ``entities`` and ``facts`` come from ``rows`` one document at
    a time, in the order of ``documents``, as they are written. ``written`` says, for each of
    those, which documents' rows differ from the store's (new, changed or removed), and
    ``changed_series`` which series' change rows do: only those are written."""

    documents: pd.DataFrame
    changes: pd.DataFrame
    failures: pd.DataFrame
    rows: Rows
    touched: set[str] = field(default_factory=set)  # series with a new document or a pair compared again
    written: dict[str, set[str]] = field(default_factory=dict)
    changed_series: set[str] = field(default_factory=set)
    #: the series whose rows of ``documents`` differ from the store's (None: write it whole)
    document_series: set[str] | None = None

    def parts(self, name: str, docs_per_part: int = CHUNK_DOCS, doc_ids: Iterable[str] | None = None) -> Iterator[pd.DataFrame]:
        """The rows of ``name`` (of ``doc_ids`` only, when given), ``docs_per_part`` documents at a time."""
        ids = self.documents["doc_id"].tolist()
        if doc_ids is not None:
            wanted = set(doc_ids)
            ids = [d for d in ids if d in wanted]
        for i in range(0, len(ids), docs_per_part):
            yield self.rows.frame(name, ids[i : i + docs_per_part])

    def tables(self) -> dict[str, TableData]:
        """For ``Store.write``: ``failures`` whole; of the others, what changed (a
        :class:`~outputs.store.Delta`: the rows of the series in ``document_series``, of the
        documents in ``written``, the change rows of ``changed_series``), the large tables as
        functions that yield their parts."""
        from .store import Delta

        docs: TableData = self.documents
        if self.document_series is not None:
            docs = Delta(self.document_series, self.documents[self.documents["series"].isin(self.document_series)])
        out: dict[str, TableData] = {"documents": docs, "failures": self.failures}
        for name in ROW_TABLES:
            keys = self.written.get(name, set())
            out[name] = Delta(keys, partial(self.parts, name, CHUNK_DOCS, keys))
        out["changes"] = Delta(self.changed_series, self.changes[self.changes["series"].isin(self.changed_series)])
        return out

    def frames(self) -> dict[str, pd.DataFrame]:
        """Every table in memory (for small stores and tests)."""
        ids = self.documents["doc_id"].tolist()
        return {
            "documents": self.documents,
            "blocks": self.rows.frame("blocks", ids),
            "entities": self.rows.frame("entities", ids),
            "facts": self.rows.frame("facts", ids),
            "changes": self.changes,
            "failures": self.failures,
        }


def merge(
    existing: Mapping[str, pd.DataFrame],
    new_rows: RowSource,
    results: Sequence[ProcessedPDF],
    old_rows: RowSource,
    compare: CompareFn = compare_jobs,
    series_map: SeriesMap | None = None,
    changes_of: Callable[[set[str]], pd.DataFrame] | None = None,
    superseded: Collection[str] = frozenset(),
) -> Merged:
    """Merge ``results`` (whose blocks and entities are in ``new_rows``) into the store's
    ``documents``, ``changes`` and ``failures`` (``existing``; its blocks and entities in
    ``old_rows``): a re-ingested document replaces its rows; every document's series is
    assigned again (:func:`assign_series`); ``changes`` is recomputed for the pairs of editions
    next to a new or re-processed document, or that are new pairs of a series. With ``changes_of`` (the stored change rows of some
    series), only the series a new, re-processed or moved document is or was in are read, and
    the merged ``changes`` holds only theirs (the others' rows stay as stored). A stored
    failure stays until its file succeeds or fails again (:func:`_failures_kept`);
    ``superseded`` names the contents of failed files whose path now holds other bytes."""
    ok = [r for r in results if r.ok]
    new_ids = {r.doc_id for r in ok}
    old_docs = existing.get("documents", empty("documents"))
    new_docs = frame("documents", [r.document_row for r in ok if r.document_row])
    kept = old_docs[~old_docs["doc_id"].isin(new_ids)]
    docs = pd.concat([kept, new_docs], ignore_index=True) if len(kept) else new_docs
    docs = assign_series(docs, series_map)
    docs = docs.sort_values(list(DOCUMENT_ORDER), na_position="first").reset_index(drop=True)
    moved = _series_moved(old_docs, docs, new_ids)
    if changes_of is not None:
        existing = {**existing, "changes": changes_of(moved)}
    old_fail = existing.get("failures", empty("failures"))
    old_fail = old_fail[_failures_kept(old_fail, docs, results, superseded)]
    new_fail = frame("failures", [r.failure.row() for r in results if r.failure])
    failures = pd.concat([old_fail, new_fail], ignore_index=True) if len(old_fail) else new_fail
    rows = Rows([new_rows, old_rows])
    kept_changes, pairs = _pairs_to_compare(existing, docs, new_ids)
    fresh_rows, matches = compare(pair_jobs_from(pairs, rows)) if pairs else ([], {})
    for _, a, b in pairs:  # a pair with the same content had no job: its facts pair by place
        if (a.doc_id, b.doc_id) not in matches:
            matches[(a.doc_id, b.doc_id)] = {k: k for k in _fact_keys(rows, b.doc_id)}
    touched = {s for s, _, _ in pairs} | set(docs.loc[docs.doc_id.isin(new_ids), "series"])
    fact_ids = _fact_ids(docs, touched, rows, new_ids, matches)
    rows.overlay = _overlay(docs, fact_ids)
    fresh = finish_changes(fresh_rows, fact_ids) if pairs else empty("changes")
    parts = [p for p in (kept_changes, fresh) if len(p)]
    changes = sort_changes(pd.concat(parts, ignore_index=True)) if parts else empty("changes")
    written = _written(old_docs, docs, touched, new_ids, rows, old_rows)
    old_changes = existing.get("changes", empty("changes"))
    changed_series = touched | (set(old_changes["series"].tolist()) ^ set(changes["series"].tolist()))
    return Merged(docs, changes, failures, rows, touched, written, changed_series, moved)


def _failures_kept(old_fail: pd.DataFrame, docs: pd.DataFrame, results: Sequence[ProcessedPDF],
                   superseded: Collection[str]) -> pd.Series:
    """Which stored failure rows stay: a failure belongs to its file's content (``doc_id``,
    the sha256 of its bytes), so it goes when that content is now a document, fails again (its
    new row replaces it) or was replaced at its path by other bytes (``superseded``), never
    because another file of the same name came in. A file whose bytes could not be read has no
    content identity and is known by its name: its row goes when a file of that name is tried."""
    gone = set(docs["doc_id"].tolist()) | {r.doc_id for r in results if r.doc_id} | set(superseded)
    hashed = old_fail["doc_id"].notna()
    return (hashed & ~old_fail["doc_id"].isin(gone)) | (~hashed & ~old_fail["source"].isin({r.source for r in results}))


def _series_moved(old_docs: pd.DataFrame, docs: pd.DataFrame, new_ids: set[str | None]) -> set[str]:
    """The series (before and after) of the documents that are new, re-processed, gone, or in
    another series than before: the only series whose pairs of editions can differ."""
    before = dict(zip(old_docs["doc_id"].tolist(), old_docs["series"].tolist(), strict=True))
    after = dict(zip(docs["doc_id"].tolist(), docs["series"].tolist(), strict=True))
    moved = {d for d, s in after.items() if d in new_ids or before.get(d) != s} | (set(before) - set(after))
    return {before[d] for d in moved if d in before} | {after[d] for d in moved if d in after}


def _written(old_docs: pd.DataFrame, docs: pd.DataFrame, touched: set[str], new_ids: set[str | None],
             rows: Rows, old_rows: RowSource) -> dict[str, set[str]]:
    """For each row table, the documents whose rows a merge changes: the new and re-processed
    ones, those gone from ``documents``, and those whose facts took other ids, series or
    editions (looked for only in the ``touched`` series and among documents whose series or
    edition changed; their rows are compared with the store's)."""
    def where(df: pd.DataFrame) -> dict[str, tuple[str, str | None]]:
        return {d: (s, None if pd.isna(e) else e) for d, s, e in zip(df["doc_id"].tolist(), df["series"].tolist(), df["edition"].tolist(), strict=True)}

    before, after = where(old_docs), where(docs)
    new = {d for d in new_ids if d is not None}
    gone = set(before) - set(after)
    maybe = [d for d, place in after.items() if d not in new and (place[0] in touched or before.get(d) != place)]
    out = {"blocks": new | gone}
    for name in ("entities", "facts"):
        changed = set()
        for d in maybe:
            stored = old_rows.get(name, d)
            now = rows.get(name, d)
            if stored is None or not now.equals(stored):
                changed.add(d)
        out[name] = new | gone | changed
    return out


def merge_results(
    existing: Mapping[str, pd.DataFrame],
    results: Sequence[ProcessedPDF],
    compare: CompareFn = compare_jobs,
    series_map: SeriesMap | None = None,
) -> dict[str, pd.DataFrame]:
    """:func:`merge` with every table in memory: ``existing`` holds all five tables and each
    result its own rows."""
    new_rows = StoredRows({name: concat_arrow(name, [r.rows[name] for r in results if r.ok]) for name in ROW_TABLES})
    old_rows = StoredRows({name: existing.get(name, empty(name)) for name in ROW_TABLES})
    return merge(existing, new_rows, results, old_rows, compare, series_map).frames()


def _pairs_to_compare(
    existing: Mapping[str, pd.DataFrame], docs: pd.DataFrame, new_ids: set[str | None]
) -> tuple[pd.DataFrame, list[tuple[str, Edition, Edition]]]:
    """The change rows to keep, and the pairs of editions to compare: a pair of documents that
    were already consecutive in the same series and are not new or re-processed keeps its rows
    (found by the series and the two documents' ids), unless an earlier pair of its series is
    compared again (its facts' ids may follow from that one); every other pair is compared."""
    old_docs = existing.get("documents", empty("documents"))
    old_changes = existing.get("changes", empty("changes"))
    pairs = [(s, x, y) for s, eds in editions_by_series(docs).items() for x, y in zip(eds, eds[1:], strict=False)]
    if not len(old_docs) or "from_doc_id" not in old_changes or old_changes["from_doc_id"].isna().any():
        # nothing stored yet, or changes written before rows carried their documents' ids
        return empty("changes"), pairs
    old_pairs = {(s, x.doc_id, y.doc_id) for s, eds in editions_by_series(old_docs).items() for x, y in zip(eds, eds[1:], strict=False)}
    kept: set[tuple[str, str, str]] = set()
    todo: list[tuple[str, Edition, Edition]] = []
    redone: set[str] = set()  # series compared again from a pair on: facts' ids follow from there
    for series, x, y in pairs:
        if series not in redone and (series, x.doc_id, y.doc_id) in old_pairs and not {x.doc_id, y.doc_id} & new_ids:
            kept.add((series, x.doc_id, y.doc_id))
        else:
            redone.add(series)
            todo.append((series, x, y))
    keep = [key in kept for key in zip(*(old_changes[c].tolist() for c in ("series", "from_doc_id", "to_doc_id")), strict=True)]
    return old_changes[keep], todo


#: User overrides of series: (pattern, series); a pattern matches a document's file name (glob,
#: case-insensitive) or its title (the whole title, case-insensitive).
SeriesMap = list[tuple[str, str]]


def read_series_map(path: str | Path | None) -> SeriesMap:
    """The overrides of a ``pattern,series`` CSV file (``--series-map``, ``FACTSHEETS_SERIES_MAP``).
    A file that cannot be read, or a series that is not a slug, is a usage error."""
    if not path:
        return []
    from extractors.data import read_rows
    from extractors.pipeline import series_slug

    p = Path(path)
    try:
        rows = read_rows(p.name, p.parent)
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"series map {p}: {exc}; give a CSV file with the columns pattern,series.") from None
    if rows and not {"pattern", "series"} <= set(rows[0]):
        raise UsageError(f"series map {p} needs the columns pattern,series; it has {', '.join(rows[0])}.")
    out = []
    for r in rows:
        series = series_slug(r["series"])
        if not r["pattern"] or not series:
            raise UsageError(f"series map {p}: a row needs a pattern and a series, got {r}.")
        out.append((r["pattern"], series))
    return out


def assign_series(documents: pd.DataFrame, series_map: SeriesMap | None = None) -> pd.DataFrame:
    """Each document's series: a user's override (first matching row of ``series_map``) wins;
    else NATO's file-name slug; else the series of documents with the same title key (the
    title's content words without "(Archived)" and the like) that have a file-name slug; else
    the title key (``extractors.pipeline.document_series``). So the editions of one factsheet
    share a series when the title is reworded or marked archived, and unrelated documents do
    not: titles of fewer than two content words fall back to the file name."""
    from extractors.pipeline import document_series, factsheet_slug, title_key

    if documents.empty:
        return documents
    sources, titles = documents["source"].tolist(), documents["title"].tolist()
    slugs = [factsheet_slug(s) for s in sources]
    keys = [title_key(t) for t in titles]
    by_key: dict[str, str] = {}
    for slug, key in sorted(zip(slugs, keys, strict=True), key=lambda p: (p[1], p[0] or "")):
        if slug and len(key.split("-")) >= 2:
            by_key.setdefault(key, slug)
    series = []
    for source, title, slug, key in zip(sources, titles, slugs, keys, strict=True):
        override = next((s for pattern, s in series_map or [] if fnmatch.fnmatch(source.casefold(), pattern.casefold())
                         or title.casefold() == pattern.casefold()), None)
        series.append(override or slug or by_key.get(key) or document_series(source, title))
    return documents.assign(series=series)


def pair_jobs_from(pairs: Iterable[tuple[str, Edition, Edition]], rows: Rows) -> Iterator[PairJob]:
    """Comparison jobs for ``pairs``, each with only its two documents' rows, made as they
    are consumed; a pair whose two editions have the same content has no changes and no job."""
    for series, a, b in pairs:
        rows_a, rows_b = rows.tables(a.doc_id), rows.tables(b.doc_id)  # read once for both uses
        if same_content(rows_a, rows_b):
            continue
        # Arrow, not frames: the worker that compares them makes the frames
        yield (series, a, b, *(concat_arrow(n, [rows_a[n], rows_b[n]]) for n in ("blocks", "entities", "facts")))


def _fact_keys(rows: Rows, doc_id: str) -> list[FactKey]:
    facts = rows.get("facts", doc_id)
    return list(zip(facts["block_id"].to_pylist(), facts["start_char"].to_pylist(), strict=True))


def _fact_ids(docs: pd.DataFrame, touched: set[str], rows: Rows, new_ids: set[str | None],
              matches: Mapping[tuple[str, str], Matches]) -> dict[str, dict[FactKey, str]]:
    """The ids of the facts of every document in a ``touched`` series (with a new document or a
    pair compared again), followed from the edition before; documents of other series keep theirs."""
    ids: dict[str, dict[FactKey, str]] = {}
    for eds in editions_by_series(docs[docs.series.isin(touched)]).values():
        keys, stored = {}, {}
        for e in eds:
            facts = rows.get("facts", e.doc_id)
            keys[e.doc_id] = list(zip(facts["block_id"].to_pylist(), facts["start_char"].to_pylist(), strict=True))
            if e.doc_id not in new_ids:
                stored[e.doc_id] = dict(zip(keys[e.doc_id], facts["fact_id"].to_pylist(), strict=True))
        ids.update(resolve_fact_ids([e.doc_id for e in eds], keys, stored, matches))
    return ids


def _overlay(docs: pd.DataFrame, fact_ids: Mapping[str, Mapping[FactKey, str]]) -> Overlay:
    """What a merge changes in a document's rows as they are read: its facts' series and
    edition (from ``documents``), its facts' ids, and the entity ids of its amounts and dates
    (their facts' ids)."""
    where = {d: (s, e) for d, s, e in zip(*(docs[c].tolist() for c in ("doc_id", "series", "edition")), strict=True)}

    def apply(name: str, doc_id: str, table: pa.Table) -> pa.Table:
        if name == "blocks" or not table.num_rows:
            return table
        ids = fact_ids.get(doc_id)
        keys = list(zip(table["block_id"].to_pylist(), table["start_char"].to_pylist(), strict=True))
        if name == "facts":
            series, edition = where.get(doc_id, (None, None))
            if series is not None:
                table = table.set_column(table.schema.get_field_index("series"), "series", pa.array([series] * table.num_rows, pa.string()))
                table = table.set_column(table.schema.get_field_index("edition"), "edition", pa.array([edition] * table.num_rows, pa.string()))
            if ids:
                new = pa.array([ids.get(k, old) for k, old in zip(keys, table["fact_id"].to_pylist(), strict=True)], pa.string())
                table = table.set_column(table.schema.get_field_index("fact_id"), "fact_id", new)
                table = table.set_column(table.schema.get_field_index("entity_id"), "entity_id", new)
            return table
        if ids:  # entities: an amount's or a date's id is its fact's
            labels = table["label"].to_pylist()
            new = pa.array([ids.get(k, old) if lab in FACT_LABELS else old
                            for k, lab, old in zip(keys, labels, table["entity_id"].to_pylist(), strict=True)], pa.string())
            table = table.set_column(table.schema.get_field_index("entity_id"), "entity_id", new)
        return table

    return apply


# ---------------------------------------------------------------------------------- the batch


@dataclass
class BatchSummary:
    """What a committed batch did."""

    processed: list[str] = field(default_factory=list)  # sources of new or re-processed documents
    doc_ids: list[str] = field(default_factory=list)  # their ids
    failures: list[Failure] = field(default_factory=list)
    skipped: int = 0  # already in the store with the same cache key
    aliases: int = 0  # the same bytes under another name, recorded
    written: Path | None = None  # the new version folder, None when nothing changed
    series: set[str] = field(default_factory=set)  # series whose tables (and report pages) changed

    @property
    def failed(self) -> int:
        return len(self.failures)


def _without_ids(store: Store, snap: Snapshot) -> bool:
    """Whether stored change rows lack their documents' ids (written before the columns existed)."""
    from .store import StoreDamagedError

    try:
        return bool(store.read_arrow("changes", columns=["from_doc_id"], snapshot=snap)["from_doc_id"].null_count)
    except StoreDamagedError:
        return True  # no such column: read them all, as merge did before


def _planned_digest(path: Path) -> str:
    """The sha256 of a file to plan. A name that is not valid UTF-8 (it could not be a row of
    the tables) and a file that cannot be read are errors of that file."""
    from extractors.pdf import file_digest

    try:
        path.name.encode("utf-8")
    except UnicodeEncodeError:
        shown = os.fsencode(path.name).decode("utf-8", "backslashreplace")
        raise FileNameError(f"{shown}: the file name is not valid UTF-8 (shown with \\x escapes); rename the file and "
                            "ingest it again.", source=shown) from None
    try:
        return file_digest(path)
    except PermissionError as exc:
        raise UnreadablePDFError(f"{path.name} cannot be read ({exc.strerror}); check its permissions: the user running "
                                 "factsheets needs read access.", source=path.name) from None
    except OSError as exc:
        raise UnreadablePDFError(f"{path.name} cannot be read ({exc.strerror or exc}); check that it is still there and "
                                 "that it can be read.", source=path.name) from None


class Batch:
    """One run's update of a store. Use as a context manager (it takes the store's lock and a
    spool for the rows): :meth:`plan` the files, :meth:`add` each result, :meth:`commit`."""

    def __init__(self, store: Store, settings: Settings | None = None, force: bool = False) -> None:
        self.store = store
        self.settings = settings or Settings()
        self.force = force
        self.summary = BatchSummary()
        self._results: list[ProcessedPDF] = []
        self._names: dict[str, list[str]] = {}  # digest -> file names seen in this run
        self._digest_of: dict[str, str] = {}  # file name -> digest
        self._path_of: dict[str, str] = {}  # digest -> where its file is
        self._superseded: set[str] = set()  # digests of failed files whose path now holds other bytes
        self._stack = contextlib.ExitStack()
        self._spool: Spool | None = None
        self._manifest: Manifest | None = None

    def __enter__(self) -> Batch:
        import logging

        self._stack.enter_context(self.store.lock(self.settings.lock_timeout_s))
        try:
            for repair in self.store.check(repair=True):  # a table deleted or damaged: mended, or the run stops
                logging.getLogger(__name__).warning("%s: %s", self.store.root, repair)
            from .store import writing

            with writing(self.store.root, "this run's rows (the spool)"):
                self._spool = self._stack.enter_context(self.store.spool())
            self._manifest = self.store.manifest()
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    @property
    def key(self) -> str:
        from extractors.pipeline import pipeline_version

        return pipeline_version(self.settings)

    @property
    def manifest(self) -> Manifest:
        if self._manifest is None:
            raise RuntimeError("use the batch as a context manager: `with store.batch() as batch:`")
        return self._manifest

    def _failed_at(self) -> dict[str, str]:
        """Path -> digest of the failed files the manifest remembers with their path."""
        return {entry["path"]: digest for digest, entry in self.manifest.failed.items() if entry.get("path")}

    def plan(self, files: Iterable[str | Path]) -> list[Path]:
        """The files to process: each distinct content once, not already in the store with
        this cache key (all of them with ``force``). A file whose name is not valid UTF-8, or
        that cannot be read, is not returned: it is a failure row of this batch."""
        todo: list[Path] = []
        key = self.key
        failed_at = self._failed_at()
        for f in map(Path, files):
            try:
                digest = _planned_digest(f)
            except FactsheetError as exc:  # never a document: not remembered by its bytes, tried again next run
                self.add_failure(Failure.from_exception(exc.source or f.name, None, exc.stage, exc))
                continue
            self._digest_of.setdefault(f.name, digest)
            where = str(f.resolve())
            self._path_of.setdefault(digest, where)
            before = failed_at.get(where)
            if before is not None and before != digest:  # the file was replaced: its old failure goes
                self._superseded.add(before)
            if digest in self._names:  # the same bytes twice in this run: processed once
                self._names[digest].append(f.name)
                continue
            self._names[digest] = [f.name]
            if self.force or not self.manifest.is_current(digest, key):
                todo.append(f)
            else:
                self.summary.skipped += 1
        return todo

    def add(self, result: ProcessedPDF) -> None:
        """Keep one result: its rows go to the spool, its failure to the failures table."""
        if self._spool is None:
            raise RuntimeError("use the batch as a context manager: `with store.batch() as batch:`")
        if result.ok and result.doc_id:
            from .store import writing

            with writing(self.store.root, "this run's rows (the spool)"):
                self._spool.add(result.doc_id, result.rows)
            result.drop_rows()  # they are in the spool now
            self.manifest.record(result.doc_id, self.key, result.source, result.path)
            self.summary.processed.append(result.source)
            self.summary.doc_ids.append(result.doc_id)
        elif result.failure is not None:
            digest = result.doc_id or self._digest_of.get(result.source)
            if digest and not result.failure.transient:  # reported once; tried again when its bytes or the pipeline change, or with force
                self.manifest.record_failure(digest, self.key, result.source, result.path or self._path_of.get(digest))
            self.summary.failures.append(result.failure)
        self._results.append(result)

    def add_failure(self, failure: Failure) -> None:
        """An input that never became a document (a URL that could not be fetched, a file that
        could not be read)."""
        from extractors.pipeline import ProcessedPDF

        self.add(ProcessedPDF.failed(failure.source, failure))

    def merge(self, compare: CompareFn = compare_jobs) -> Merged | None:
        """Merge what was added with the store's tables, comparing the editions that need it;
        None when nothing changed (no document added, no new alias, no series renamed)."""
        self.summary.aliases = sum(
            self.manifest.add_alias(digest, name)
            for digest, seen in self._names.items()
            if digest in self.manifest.documents
            for name in seen
        )
        snap = self.store.snapshot()
        existing = {name: self.store.read(name) for name in ("documents", "failures")}
        legacy = snap is not None and _without_ids(self.store, snap)
        changes_of = None if legacy else partial(self.store.read_series, "changes", snapshot=snap)  # older rows lack ids: all again
        if legacy:
            existing["changes"] = self.store.read("changes")
        series_map = read_series_map(self.settings.series_map)
        renamed = not assign_series(existing["documents"], series_map)["series"].equals(existing["documents"]["series"])
        if not (self._results or self.summary.aliases or renamed):
            return None
        assert self._spool is not None
        merged = merge(existing, self._spool, self._results, self.store.rows(), compare=compare, series_map=series_map,
                       changes_of=changes_of, superseded=self._superseded)
        gone = set(existing["documents"]["series"].tolist()) - set(merged.documents["series"].tolist())
        self.summary.series = merged.touched | gone
        return merged

    def write(self, merged: Merged | None) -> BatchSummary:
        """Write the merged tables as the store's new version (atomically), and the manifest."""
        if merged is not None:
            self.summary.written = self.store.write(merged.tables(), self.manifest)
        return self.summary

    def commit(self, compare: CompareFn = compare_jobs) -> BatchSummary:
        """:meth:`merge`, then :meth:`write`."""
        return self.write(self.merge(compare))

    def update_report(self, series: Iterable[str] | None = None) -> Path:
        """Write the report (``report.html``, the pages of ``series``; all when None) while this
        batch holds the store's lock (:func:`outputs.report.update_report`)."""
        from .report import update_report

        if self._spool is None:
            raise RuntimeError("use the batch as a context manager: `with store.batch() as batch:`")
        # the manifest this batch wrote is the current one: not read again
        pdfs = self.manifest.paths() if self.summary.written is not None else None
        return update_report(self.store, series, locked=True, pdfs=pdfs)
