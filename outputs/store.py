"""The table store: one folder, five tables, replaced as a set in one atomic step.

Layout of ``DIR``::

    DIR/documents.parquet  -> .current/documents.parquet   (and .csv; likewise the other tables)
    DIR/.current           -> .versions/v000042            (the complete set in use)
    DIR/.versions/v000042/ NAME.parquet, NAME.csv, manifest.json
    DIR/.lock              (held by the run that writes)

A run writes a whole new version folder (every file flushed to disk), then points ``.current``
at it with one ``rename``: a reader, or a run killed at any moment, sees either the old set
or the new one, never a mix. Versions that are no longer current are removed (the previous one
is kept). ``manifest.json`` records, for each document, the cache key it was processed with
and every file name it was seen under, so an unchanged inbox is a no-op.
"""

from __future__ import annotations

import errno
import fcntl
import itertools
import json
import os
import re
import shutil
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pandera.errors import SchemaErrors

from outputs.rows import ROW_TABLES, Spool, StoredRows
from schemas.errors import OutputError, StoreBusyError
from schemas.settings import Settings
from schemas.tables import (
    ARROW,
    TABLES,
    conform,
    empty,
    frame_from_arrow,
    to_arrow,
    types_mapper,
    validate,
)

if TYPE_CHECKING:
    from outputs.merge import Batch

__all__ = ["Manifest", "Store", "StoreBusyError", "TableData"]

CURRENT = ".current"
VERSIONS = ".versions"
LOCK = ".lock"
MANIFEST = "manifest.json"
SPOOL = ".spool"
#: A table to write: all of it, or a function that yields its parts in order.
TableData: TypeAlias = pd.DataFrame | Callable[[], Iterable[pd.DataFrame]]
_VERSION = re.compile(r"^v(\d{6,})$")


@dataclass
class Manifest:
    """``documents``: doc_id → {"cache_key": str, "sources": [file names]}; ``failed``: the
    sha256 of inputs that failed → {"cache_key", "source"}, so a broken file is reported once
    and tried again only when its bytes or the pipeline change (or with ``force``)."""

    documents: dict[str, dict[str, Any]] = field(default_factory=dict)
    failed: dict[str, dict[str, Any]] = field(default_factory=dict)

    def is_current(self, doc_id: str, cache_key: str) -> bool:
        entry = self.documents.get(doc_id) or self.failed.get(doc_id)
        return entry is not None and entry.get("cache_key") == cache_key

    def record_failure(self, digest: str, cache_key: str, source: str) -> None:
        self.failed[digest] = {"cache_key": cache_key, "source": source}

    def record(self, doc_id: str, cache_key: str, source: str, path: str | None = None) -> None:
        self.failed.pop(doc_id, None)
        entry = self.documents.setdefault(doc_id, {"cache_key": cache_key, "sources": []})
        entry["cache_key"] = cache_key
        if path:
            entry["path"] = path  # where the PDF was last seen: the report links to its pages
        if source not in entry["sources"]:
            entry["sources"].append(source)
            entry["sources"].sort()

    def add_alias(self, doc_id: str, source: str) -> bool:
        entry = self.documents[doc_id]
        if source in entry["sources"]:
            return False
        entry["sources"].append(source)
        entry["sources"].sort()
        return True

    def paths(self) -> dict[str, str]:
        """doc_id -> the path where each document's PDF was last seen."""
        return {doc_id: e["path"] for doc_id, e in self.documents.items() if e.get("path")}

    def to_json(self) -> str:
        return json.dumps({"documents": self.documents, "failed": self.failed}, indent=1, sort_keys=True)


class Store:
    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    # ------------------------------------------------------------------------------ reading
    @property
    def current(self) -> Path | None:
        link = self.root / CURRENT
        return link.resolve() if link.is_symlink() and link.resolve().is_dir() else None

    def exists(self) -> bool:
        return self.current is not None or (self.root / "documents.parquet").is_file()

    def read(self, name: str, columns: list[str] | None = None, doc_ids: Iterable[str] | None = None) -> pd.DataFrame:
        """A table with its contract types; empty when the store has none yet. ``columns``
        reads only those columns, ``doc_ids`` only those documents' rows."""
        return frame_from_arrow(name, [self.read_arrow(name, doc_ids)]) if columns is None else (
            self.read_arrow(name, doc_ids, columns).to_pandas(types_mapper=types_mapper)
        )

    def read_arrow(self, name: str, doc_ids: Iterable[str] | None = None, columns: list[str] | None = None) -> pa.Table:
        """A table as Arrow, with the contract's columns and types (or only ``columns``)."""
        path = self.root / f"{name}.parquet"
        wanted = None if doc_ids is None else sorted(set(doc_ids))
        if not path.exists() or wanted == []:
            table = ARROW[name].empty_table()
        else:
            table = pq.read_table(path, columns=columns, filters=None if wanted is None else [("doc_id", "in", wanted)])
        return conform(name, table) if columns is None else table.select(columns).cast(
            pa.schema([ARROW[name].field(c) for c in columns])
        )

    def read_parts(self, name: str, columns: list[str], doc_ids: Iterable[str] | None = None) -> Iterator[pa.Table]:
        """``columns`` of a table, one part (Parquet row group: whole documents) at a time; with
        ``doc_ids``, only those documents' rows."""
        path = self.root / f"{name}.parquet"
        if not path.exists():
            return
        wanted = None if doc_ids is None else pa.array(sorted(set(doc_ids)), pa.string())
        read = columns if wanted is None or "doc_id" in columns else [*columns, "doc_id"]
        with pq.ParquetFile(path) as pf:
            for i in range(pf.num_row_groups):
                part = pf.read_row_group(i, columns=read)
                if wanted is not None:
                    part = part.filter(pc.is_in(part["doc_id"], value_set=wanted)).select(columns)
                yield part

    def read_all(self) -> dict[str, pd.DataFrame]:
        return {name: self.read(name) for name in TABLES}

    def read_small(self) -> dict[str, pd.DataFrame]:
        """The tables with one or a few rows per document or change (not blocks, entities)."""
        return {name: self.read(name) for name in TABLES if name not in ROW_TABLES}

    def rows(self) -> StoredRows:
        """The blocks and entities already in the store, by document (compact Arrow)."""
        return StoredRows({name: self.read_arrow(name) for name in ROW_TABLES})

    def spool(self) -> Spool:
        """A new spool for this run's rows, in the store's folder; spools that a killed run
        left behind are removed (call this while holding the lock)."""
        for old in self.root.glob(f"{SPOOL}-*"):
            shutil.rmtree(old, ignore_errors=True)
        return Spool(self.root / f"{SPOOL}-{os.getpid()}")

    def batch(self, settings: Settings | None = None, force: bool = False) -> Batch:
        """A batch of documents to add (``with store.batch() as b: ...``; see ``outputs.merge``)."""
        from outputs.merge import Batch

        return Batch(self, settings, force)

    def manifest(self) -> Manifest:
        cur = self.current
        if cur is None or not (cur / MANIFEST).exists():
            return Manifest()
        data = json.loads((cur / MANIFEST).read_text(encoding="utf-8"))
        return Manifest(data["documents"], data.get("failed", {}))

    # ------------------------------------------------------------------------------ locking
    @contextmanager
    def lock(self, timeout: float = 600.0) -> Iterator[None]:
        """Hold the store's lock; wait up to ``timeout`` seconds for another run to finish."""
        self.root.mkdir(parents=True, exist_ok=True)
        fh = (self.root / LOCK).open("a+")
        deadline = time.monotonic() + timeout
        try:
            while True:
                try:
                    fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError as exc:
                    if exc.errno not in (errno.EAGAIN, errno.EACCES):
                        raise
                    if time.monotonic() >= deadline:
                        raise StoreBusyError(
                            f"another factsheets run is writing to {self.root} (it holds {self.root / LOCK}); "
                            f"waited {timeout:g} s. Wait for it to finish or raise FACTSHEETS_LOCK_TIMEOUT_S."
                        ) from None
                    time.sleep(0.2)
            yield
        finally:
            fh.close()  # closing releases the lock

    # ------------------------------------------------------------------------------ writing
    def write(self, tables: Mapping[str, TableData], manifest: Manifest) -> Path:
        """Validate every table, write a new version, make it current in one step.

        A table is a DataFrame, or a function that returns its parts (DataFrames, in order):
        parts are validated and written one at a time, so a large table is never in memory
        as a whole. When a part does not validate, nothing is written."""
        versions = self.root / VERSIONS
        versions.mkdir(parents=True, exist_ok=True)
        self._collect_garbage()
        target = versions / f"v{self._next_number():06d}"
        staging = versions / f".{target.name}.tmp"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        try:
            for name in TABLES:
                _write_table(name, tables.get(name), staging)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        (staging / MANIFEST).write_text(manifest.to_json(), encoding="utf-8")
        for f in staging.iterdir():
            _fsync(f)
        os.rename(staging, target)
        _fsync_dir(versions)
        tmp_link = self.root / f"{CURRENT}.tmp"
        if tmp_link.is_symlink() or tmp_link.exists():
            tmp_link.unlink()
        os.symlink(Path(VERSIONS) / target.name, tmp_link)
        os.replace(tmp_link, self.root / CURRENT)  # the atomic step
        _fsync_dir(self.root)
        self._ensure_table_links()
        self._collect_garbage()
        return target

    def _next_number(self) -> int:
        numbers = [int(m.group(1)) for p in (self.root / VERSIONS).iterdir() if (m := _VERSION.match(p.name))]
        return max(numbers, default=0) + 1

    def _ensure_table_links(self) -> None:
        for name in TABLES:
            for ext in ("parquet", "csv"):
                link = self.root / f"{name}.{ext}"
                want = Path(CURRENT) / f"{name}.{ext}"
                if link.is_symlink() and Path(os.readlink(link)) == want:
                    continue
                tmp = self.root / f".{name}.{ext}.link"
                if tmp.is_symlink() or tmp.exists():
                    tmp.unlink()
                os.symlink(want, tmp)
                os.replace(tmp, link)

    def _collect_garbage(self) -> None:
        """Remove unfinished versions and all but the current and the previous one."""
        versions = self.root / VERSIONS
        if not versions.is_dir():
            return
        cur = self.current
        done = sorted((p for p in versions.iterdir() if _VERSION.match(p.name)), key=lambda p: p.name)
        keep = {cur.name} if cur else set()
        if cur:
            older = [p for p in done if p.name < cur.name]
            if older:
                keep.add(older[-1].name)
        for p in versions.iterdir():
            if p.name.startswith(".") and p.name.endswith(".tmp"):
                shutil.rmtree(p, ignore_errors=True)
            elif _VERSION.match(p.name) and p.name not in keep:
                # older versions, and a version a killed run finished but never made current
                shutil.rmtree(p, ignore_errors=True)


def _write_table(name: str, data: TableData | None, folder: Path) -> None:
    """Validate and write one table as ``NAME.parquet`` and ``NAME.csv``, part by part."""
    parts = iter([] if data is None else [data] if isinstance(data, pd.DataFrame) else data())
    first = next(parts, empty(name))  # a table without parts is written empty, with its header
    writer: pq.ParquetWriter | None = None
    csv_path = folder / f"{name}.csv"
    try:
        for i, df in enumerate(itertools.chain([first], parts)):
            if i and not len(df):
                continue  # adds no row
            try:
                checked = validate(name, df)
            except SchemaErrors as exc:
                raise OutputError(
                    f"table {name!r} does not match its schema in schemas/tables.py, nothing was written:\n"
                    f"{exc.failure_cases.head(20).to_string()}"
                ) from exc
            if writer is None:
                writer = pq.ParquetWriter(folder / f"{name}.parquet", ARROW[name], compression="zstd")
            writer.write_table(to_arrow(name, checked))
            write_csv(checked, csv_path, append=i > 0)
    finally:
        if writer is not None:
            writer.close()


def write_csv(df: pd.DataFrame, path: Path, append: bool = False) -> None:
    df.to_csv(path, index=False, header=not append, mode="a" if append else "w", encoding="utf-8",
              lineterminator="\n", date_format="%Y-%m-%dT%H:%M:%S.%fZ")


def _fsync(path: Path) -> None:
    with path.open("rb") as fh:
        os.fsync(fh.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
