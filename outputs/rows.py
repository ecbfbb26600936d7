"""Per-document rows of the two large tables (``blocks`` and ``entities``), kept out of memory.

A run never holds every document's rows at once: each result goes to a :class:`Spool` (Arrow
IPC files on disk, one record batch per document) as it arrives, the rows already in the store
stay in their compact Arrow form (:class:`StoredRows`), and :class:`Rows` hands out one
document's rows at a time, newest source first, to the comparison and to the writer.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from schemas.tables import ARROW, ROW_TABLES, conform, frame_from_arrow

#: Sort keys of a document's rows, in the order the store keeps them.
ROW_ORDER = {"blocks": ["block_id"], "entities": ["block_id", "start_char"], "facts": ["block_id", "start_char"]}


class RowSource(Protocol):
    def get(self, name: str, doc_id: str) -> pa.Table | None: ...


class Spool:
    """Rows of documents processed in this run, on disk in ``folder`` until the run ends.

    Write with :meth:`add`; the first :meth:`get` closes the files for writing. Rows are read
    back from the files (not memory-mapped), one document at a time. ``close`` removes the
    folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._writers: dict[str, pa.ipc.RecordBatchFileWriter] | None = {
            name: pa.ipc.new_file(str(self.folder / f"{name}.arrow"), ARROW[name]) for name in ROW_TABLES
        }
        self._readers: dict[str, pa.ipc.RecordBatchFileReader] = {}
        self._files: list[pa.NativeFile] = []
        self._index: dict[str, dict[str, tuple[int, int]]] = {name: {} for name in ROW_TABLES}
        self._batches = dict.fromkeys(ROW_TABLES, 0)

    def add(self, doc_id: str, tables: Mapping[str, pa.Table]) -> None:
        """Keep ``tables[name]`` (one document's rows of each row table; a table not given is empty)."""
        if self._writers is None:
            raise RuntimeError("this spool is closed for writing: add every document before reading any")
        for name in ROW_TABLES:
            schema = ARROW[name]
            table = tables.get(name, schema.empty_table())  # a document without facts (or from an older store)
            batches = table.select(schema.names).cast(schema).combine_chunks().to_batches()
            for batch in batches:
                self._writers[name].write_batch(batch)
            self._index[name][doc_id] = (self._batches[name], len(batches))
            self._batches[name] += len(batches)

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._index["blocks"]

    def get(self, name: str, doc_id: str) -> pa.Table | None:
        where = self._index[name].get(doc_id)
        if where is None:
            return None
        self._finish_writing()
        start, n = where
        reader = self._readers[name]
        return pa.Table.from_batches([reader.get_batch(i) for i in range(start, start + n)], schema=ARROW[name])

    def _finish_writing(self) -> None:
        if self._writers is None:
            return
        for writer in self._writers.values():
            writer.close()
        self._writers = None
        for name in ROW_TABLES:
            f = pa.OSFile(str(self.folder / f"{name}.arrow"))
            self._files.append(f)
            self._readers[name] = pa.ipc.open_file(f)

    def close(self) -> None:
        """Close and remove the spool; never raises for a file it cannot finish (a full disk:
        the rows are dropped with the folder, and the error that stopped the run is the one seen)."""
        if self._writers is not None:
            for writer in self._writers.values():
                with contextlib.suppress(OSError):
                    writer.close()
            self._writers = None
        for f in self._files:
            f.close()
        self._files.clear()
        self._readers.clear()
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class StoredRows:
    """Rows of documents already in the store (or in memory), as Arrow tables, by document."""

    def __init__(self, tables: Mapping[str, pa.Table | pd.DataFrame]) -> None:
        self._tables: dict[str, pa.Table] = {}
        self._index: dict[str, dict[str, tuple[int, int]]] = {}
        for name in ROW_TABLES:
            raw = tables.get(name)
            if raw is None:
                table = ARROW[name].empty_table()
            elif isinstance(raw, pd.DataFrame):
                table = pa.Table.from_pandas(raw, preserve_index=False)
            else:
                table = raw
            table = conform(name, table)
            index = _runs(table["doc_id"])
            if index is None:  # a document's rows apart: brought together (a stable sort keeps their order)
                table = table.take(pc.sort_indices(table, [("doc_id", "ascending")]))
                index = _runs(table["doc_id"]) or {}
            self._tables[name] = table
            self._index[name] = index

    def get(self, name: str, doc_id: str) -> pa.Table | None:
        where = self._index[name].get(doc_id)
        return None if where is None else self._tables[name].slice(*where)


def _runs(doc_ids: pa.ChunkedArray) -> dict[str, tuple[int, int]] | None:
    """doc_id -> (offset, rows) when each document's rows are together (as a part holds them);
    None when a document's rows are in more than one run."""
    ids = doc_ids.combine_chunks()
    n = len(ids)
    if n == 0:
        return {}
    starts = [0, *(np.asarray(pc.indices_nonzero(pc.not_equal(ids.slice(1), ids.slice(0, n - 1)))) + 1).tolist()]
    keys = ids.take(pa.array(starts, pa.int64())).to_pylist()
    if len(set(keys)) != len(keys):
        return None
    ends = [*starts[1:], n]
    return {k: (a, b - a) for k, a, b in zip(keys, starts, ends, strict=True)}


def same_content(rows_a: Mapping[str, pa.Table], rows_b: Mapping[str, pa.Table]) -> bool:
    """Whether two documents' rows (:meth:`Rows.tables`) are the same blocks and the same
    entities, with the same normalised values (a relative date resolved against another
    edition differs): an edition re-issued unchanged, which needs no comparison."""
    def content(table: pa.Table) -> pa.Table:
        return table.drop_columns([c for c in _PER_DOCUMENT if c in table.column_names])

    return all(content(rows_a[name]).equals(content(rows_b[name])) for name in ROW_TABLES)


#: Columns that say which document (and series, edition) a row is of, not what it holds; a
#: fact's provisional id is made from its document's id.
_PER_DOCUMENT = ("doc_id", "fact_id", "entity_id", "series", "edition")


#: A change made to a document's rows as they are read: (table name, doc_id, rows) -> rows.
Overlay = Callable[[str, str, pa.Table], pa.Table]


class Rows:
    """One document's rows from the first source that has them (put the newest first), with an
    ``overlay`` applied (the ids and series a merge gives them)."""

    def __init__(self, sources: Sequence[RowSource], overlay: Overlay | None = None) -> None:
        self.sources = list(sources)
        self.overlay = overlay

    def get(self, name: str, doc_id: str) -> pa.Table:
        for source in self.sources:
            table = source.get(name, doc_id)
            if table is not None:
                return self.overlay(name, doc_id, table) if self.overlay is not None else table
        return ARROW[name].empty_table()

    def arrow(self, name: str, doc_ids: Iterable[str]) -> pa.Table:
        """The rows of ``doc_ids``, in that order, each document's rows in store order."""
        parts = []
        for doc_id in doc_ids:
            t = self.get(name, doc_id)
            if t.num_rows:
                parts.append(t.sort_by([(c, "ascending") for c in ROW_ORDER[name]]))
        return pa.concat_tables(parts) if parts else ARROW[name].empty_table()

    def tables(self, doc_id: str) -> dict[str, pa.Table]:
        """One document's rows of each row table, in store order."""
        return {name: self.arrow(name, [doc_id]) for name in ROW_TABLES}

    def frame(self, name: str, doc_ids: Iterable[str]) -> pd.DataFrame:
        """:meth:`arrow` as a DataFrame with the table's column types."""
        return frame_from_arrow(name, [self.arrow(name, doc_ids)])
