"""The table store: one folder, six tables as folders of Parquet parts, a new version per run
made current in one atomic step.

Layout of ``DIR``::

    DIR/entities          -> .current/entities       (likewise documents, blocks, facts, changes, failures)
    DIR/.current          -> .versions/v000042       (the complete set in use)
    DIR/.versions/v000042/entities/part-000017-0000.parquet ...   the parts of this version
    DIR/.versions/v000042/manifest.json              documents' cache keys and file names
    DIR/.versions/v000042/parts.json                 each part's keys (documents or series), rows, bytes
    DIR/.lock                                        held by the run that writes

A part is never changed once written. A version's folder holds a hard link to each part it
has: the parts it shares with the version before are linked, not copied, so a run writes only
its new parts, the two small tables (``documents``, ``failures``) and the two JSON files.
The rows of one document (``blocks``, ``entities``, ``facts``) or one series (``changes``) are
always in one part; a run that changes rows of a document already stored rewrites the part
that held them (without them) and writes them anew.

A run builds the new version in a hidden folder (every new file flushed to disk), renames it,
then points ``.current`` at it with one ``rename``: a reader, or a run killed at any moment,
sees the old set or the new one, never a mix. ``DIR/entities`` goes through ``.current``, so
``pd.read_parquet("DIR/entities")`` reads the current version's parts; :class:`Store` reads
pin one version for the whole read. The last :attr:`Store.keep_versions` versions are kept
(``FACTSHEETS_KEEP_VERSIONS``, default 2); older ones are removed, and with them the parts no
version links any more. Many small parts are merged (:meth:`Store.compact`, automatic past
:data:`MAX_SMALL_PARTS`).

``manifest.json`` records, for each document, the cache key it was processed with and every
file name it was seen under, so an unchanged inbox is a no-op.

A store is checked when a batch opens it (:meth:`Store.check`): a part that was deleted is
linked again from an older version that holds it, a damaged manifest is rebuilt, and what
cannot be repaired stops the run with a :class:`StoreDamagedError` that says what to do.
"""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import re
import shutil
import tempfile
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np
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

__all__ = ["Delta", "Manifest", "Store", "StoreBusyError", "StoreDamagedError", "TableData", "csv_safe", "write_csv"]

log = logging.getLogger(__name__)

CURRENT = ".current"
VERSIONS = ".versions"
LOCK = ".lock"
MANIFEST = "manifest.json"
PARTS = "parts.json"
SPOOL = ".spool"
#: The column whose value keeps a table's rows together in one part (the others are written whole).
KEYS = {"blocks": "doc_id", "entities": "doc_id", "facts": "doc_id", "changes": "series"}
#: Keys (documents, series) per Parquet row group, and at most per part.
ROW_GROUP_KEYS = 64
PART_KEYS = 256
#: A table with more parts of fewer than PART_KEYS / 4 keys has them merged when a version is written.
MAX_SMALL_PARTS = 16
#: Parts of one table read at the same time by :meth:`Store.read_arrow`.
READ_THREADS = min(8, os.cpu_count() or 1)
_VERSION = re.compile(r"^v(\d{6,})$")
_PARQUET_MAGIC = b"PAR1"


class StoreDamagedError(OutputError):
    """A table of the store is missing or damaged and could not be rebuilt from another version."""


@dataclass
class Delta:
    """A change to a keyed table: the rows of ``keys`` become ``rows`` (a key without rows there
    is removed); every other key keeps the rows the store holds."""

    keys: set[str]
    rows: pd.DataFrame | Callable[[], Iterable[pd.DataFrame]] | None = None


#: A table to write: all of it, a function that yields its parts in order, or a :class:`Delta`.
TableData: TypeAlias = pd.DataFrame | Callable[[], Iterable[pd.DataFrame]] | Delta


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

    def record_failure(self, digest: str, cache_key: str, source: str, path: str | None = None) -> None:
        self.failed[digest] = {"cache_key": cache_key, "source": source}
        if path:
            self.failed[digest]["path"] = path  # a later file at this path with other bytes replaces the failure

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
        return json.dumps({"documents": self.documents, "failed": self.failed}, separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        data = json.loads(text)
        if not isinstance(data, dict) or not isinstance(data.get("documents"), dict):
            raise ValueError("not a manifest: no 'documents' object")
        return cls(data["documents"], data.get("failed", {}))


@dataclass(frozen=True)
class Part:
    """One Parquet file of a table in a version: its path in the version folder, the keys
    (documents or series) whose rows it holds (None: a table written whole, or a store of the
    old layout), its rows and its size."""

    file: str
    keys: tuple[str, ...] | None
    rows: int
    bytes: int
    #: how many of ``keys`` (in order) each row group holds; None when not known
    groups: tuple[int, ...] | None = None

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "keys": None if self.keys is None else list(self.keys), "rows": self.rows, "bytes": self.bytes,
                "groups": None if self.groups is None else list(self.groups)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Part:
        keys, groups = data.get("keys"), data.get("groups")
        return cls(str(data["file"]), None if keys is None else tuple(keys), int(data["rows"]), int(data["bytes"]),
                   None if groups is None else tuple(int(g) for g in groups))

    def row_groups(self) -> dict[str, int]:
        """key -> the row group that holds its rows (empty when not known)."""
        if self.keys is None or self.groups is None:
            return {}
        out, i = {}, 0
        for group, n in enumerate(self.groups):
            for key in self.keys[i : i + n]:
                out[key] = group
            i += n
        return out


@dataclass
class Snapshot:
    """One version of the store, as read: its folder and each table's parts."""

    folder: Path
    parts: dict[str, list[Part]]

    def paths(self, name: str, keys: Iterable[str] | None = None) -> list[Path]:
        """The files of table ``name``; with ``keys``, only the parts that may hold them."""
        parts = self.parts.get(name, [])
        if keys is not None and KEYS.get(name) == "doc_id":
            wanted = set(keys)
            parts = [p for p in parts if p.keys is None or not wanted.isdisjoint(p.keys)]
        return [self.folder / p.file for p in parts]


class Store:
    def __init__(self, root: Path | str, keep_versions: int | None = None) -> None:
        self.root = Path(root)
        self._keep_versions = keep_versions
        #: the manifest :meth:`check` parsed, handed to the next :meth:`manifest` of that version
        self._checked: tuple[Path, tuple[int, int, int], Manifest] | None = None

    @property
    def keep_versions(self) -> int:
        """Versions kept: the argument, else the settings' (``FACTSHEETS_KEEP_VERSIONS``), read
        when a write first needs it (a reader never does)."""
        if self._keep_versions is None:
            from schemas.settings import Settings

            self._keep_versions = Settings().keep_versions
        return self._keep_versions

    # ------------------------------------------------------------------------------ reading
    @property
    def current(self) -> Path | None:
        link = self.root / CURRENT
        return link.resolve() if link.is_symlink() and link.resolve().is_dir() else None

    def exists(self) -> bool:
        return self.current is not None

    def snapshot(self) -> Snapshot | None:
        """The current version, pinned: its reads do not move to a version made meanwhile."""
        cur = self.current
        return None if cur is None else Snapshot(cur, self._index(cur))

    def read(self, name: str, columns: list[str] | None = None, doc_ids: Iterable[str] | None = None) -> pd.DataFrame:
        """A table with its contract types; empty when the store has none yet. ``columns``
        reads only those columns, ``doc_ids`` only those documents' rows."""
        return frame_from_arrow(name, [self.read_arrow(name, doc_ids)]) if columns is None else (
            self.read_arrow(name, doc_ids, columns).to_pandas(types_mapper=types_mapper)
        )

    def read_arrow(self, name: str, doc_ids: Iterable[str] | None = None, columns: list[str] | None = None,
                   snapshot: Snapshot | None = None) -> pa.Table:
        """A table as Arrow, with the contract's columns and types (or only ``columns``): rows of
        ``blocks``, ``entities`` and ``facts`` in the order of ``documents``, ``changes`` by series."""
        snap = snapshot or self.snapshot()
        wanted = None if doc_ids is None else sorted(set(doc_ids))
        schema = ARROW[name] if columns is None else pa.schema([ARROW[name].field(c) for c in columns])
        if snap is None or wanted == []:
            return schema.empty_table()
        paths = snap.paths(name, wanted)
        filters = None if wanted is None else [("doc_id", "in", wanted)]
        with _reading(self.root, name):
            tables = _read_tables(paths, columns, filters)
        table = pa.concat_tables([conform(name, t) if columns is None else t.select(columns).cast(schema) for t in tables]) if tables else schema.empty_table()
        return self._ordered(name, table, snap) if table.num_rows > 1 else table

    def _ordered(self, name: str, table: pa.Table, snap: Snapshot) -> pa.Table:
        """Rows of several parts in the store's order: a document's rows in the order of
        ``documents`` (each part keeps a document's rows in order), changes by series."""
        if name in ROW_TABLES and "doc_id" in table.column_names:
            order = self.read_arrow("documents", columns=["doc_id"], snapshot=snap)["doc_id"].combine_chunks()
            rank = pc.index_in(table["doc_id"], value_set=order)
            if rank.null_count == 0 and _ascending(rank):  # parts written in order (most reads): nothing to move
                return table
            return table.combine_chunks().take(pc.sort_indices(pa.table({"r": rank}), [("r", "ascending")]))
        if name == "changes" and "series" in table.column_names:
            return table.combine_chunks().take(pc.sort_indices(table.select(["series"]), [("series", "ascending")]))
        return table

    def read_parts(self, name: str, columns: list[str], doc_ids: Iterable[str] | None = None) -> Iterator[pa.Table]:
        """``columns`` of a table, one part (Parquet row group: whole documents) at a time; with
        ``doc_ids``, only those documents' rows."""
        snap = self.snapshot()
        if snap is None:
            return
        wanted = None if doc_ids is None else pa.array(sorted(set(doc_ids)), pa.string())
        read = columns if wanted is None or "doc_id" in columns else [*columns, "doc_id"]
        for path in snap.paths(name, None if wanted is None else wanted.to_pylist()):
            with _reading(self.root, name), pq.ParquetFile(path) as pf:
                groups = [pf.read_row_group(i, columns=read) for i in range(pf.num_row_groups)]
            for part in groups:
                if wanted is not None:
                    part = part.filter(pc.is_in(part["doc_id"], value_set=wanted)).select(columns)
                yield part

    def read_series(self, name: str, series: Iterable[str], snapshot: Snapshot | None = None) -> pd.DataFrame:
        """The rows of ``series`` of a table kept by series (``changes``): only the parts that
        hold them are read."""
        snap = snapshot or self.snapshot()
        wanted = sorted(set(series))
        if snap is None or not wanted:
            return frame_from_arrow(name, [])
        parts = [p for p in snap.parts.get(name, []) if p.keys is None or not set(wanted).isdisjoint(p.keys)]
        with _reading(self.root, name):
            tables = [pq.read_table(snap.folder / p.file, filters=[("series", "in", wanted)]) for p in parts]
        return frame_from_arrow(name, [conform(name, t) for t in tables])

    def read_all(self, snapshot: Snapshot | None = None) -> dict[str, pd.DataFrame]:
        snap = snapshot or self.snapshot()
        return {name: frame_from_arrow(name, [self.read_arrow(name, snapshot=snap)]) for name in TABLES}

    def read_small(self) -> dict[str, pd.DataFrame]:
        """The tables with one or a few rows per document or change (not blocks, entities)."""
        snap = self.snapshot()
        return {name: frame_from_arrow(name, [self.read_arrow(name, snapshot=snap)]) for name in TABLES if name not in ROW_TABLES}

    def rows(self) -> PartRows:
        """The blocks, entities and facts already in the store, by document, read part by part
        as they are asked for."""
        return PartRows(self.snapshot(), self.root)

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

    def manifest(self, snapshot: Snapshot | None = None) -> Manifest:
        """The current version's manifest (or ``snapshot``'s); a damaged one is rebuilt (:meth:`recover_manifest`)."""
        cur = snapshot.folder if snapshot is not None else self.current
        if cur is None:
            return Manifest()
        checked, self._checked = self._checked, None
        if checked is not None and checked[0] == cur and checked[1] == _stat_key(cur / MANIFEST):
            return checked[2]  # parsed by check() a moment ago (a large store's manifest takes a while)
        try:
            return Manifest.from_json((cur / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            log.warning("%s is damaged (%s); rebuilt from the documents table and an older version", cur / MANIFEST, exc)
            return self.recover_manifest(cur)

    def recover_manifest(self, version: Path) -> Manifest:
        """A manifest for ``version`` when its own cannot be read: the newest older version's
        entries for the documents still in the tables, and for the others the cache key their
        rows were made with (``documents.pipeline_version``) and their file name."""
        older = Manifest()
        for other in sorted(self._versions(), key=lambda p: p.name, reverse=True):
            if other.name < version.name:
                try:
                    older = Manifest.from_json((other / MANIFEST).read_text(encoding="utf-8"))
                    break
                except (OSError, ValueError, UnicodeDecodeError):
                    continue
        docs = self.read("documents", columns=["doc_id", "source", "pipeline_version"])
        failures = self.read("failures", columns=["doc_id", "source"])
        out = Manifest(failed={k: v for k, v in older.failed.items() if k in set(failures["doc_id"].dropna())})
        for r in docs.itertuples(index=False):
            entry = older.documents.get(r.doc_id)
            out.documents[r.doc_id] = dict(entry) if entry else {"cache_key": r.pipeline_version, "sources": [r.source]}
        return out

    # ------------------------------------------------------------------------------ checking
    def check(self, repair: bool = True) -> list[str]:
        """Check the current version: every part there and whole (size, Parquet footer),
        ``manifest.json`` and ``parts.json`` readable, the links in place. With ``repair``, what
        can be mended is (a part linked again from an older version that holds it, a manifest
        rebuilt, ``.current`` pointed at the newest complete version when it is gone) and the
        list of what was done is returned; what cannot raises :class:`StoreDamagedError`."""
        done: list[str] = []
        versions = self._versions()
        cur = self.current
        if cur is None:
            complete = [v for v in versions if (v / PARTS).is_file() or (v / MANIFEST).is_file()]
            if not complete:
                return done
            if not repair:
                raise StoreDamagedError(f"{self.root / CURRENT} is missing; run `factsheets check --out {self.root}` to point it at {complete[-1].name}.")
            self._switch(complete[-1])
            done.append(f"{CURRENT} pointed at {complete[-1].name} (it was missing)")
            cur = complete[-1]
        try:
            if (cur / PARTS).exists():
                _load_index(cur / PARTS)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            if not repair:
                raise StoreDamagedError(f"{cur / PARTS} is damaged ({exc}); run `factsheets check --out {self.root}` to rebuild it.") from None
            _atomic_text(cur / PARTS, _parts_json(self._scan_parts(cur)))
            done.append(f"{PARTS} rebuilt from the parts' files")
        broken: list[str] = []
        keys: set[str] = set()
        for name, parts in self._index(cur).items():
            for part in parts:
                path = cur / part.file
                problem = _part_problem(path, part)
                if problem is None:
                    continue
                source = self._intact_copy(part, cur, versions) if repair else None
                if source is None:
                    broken.append(f"{name}/{Path(part.file).name} is {problem}")
                    keys.update(part.keys or ())
                    continue
                path.parent.mkdir(parents=True, exist_ok=True)
                if path.exists() or path.is_symlink():
                    path.unlink()
                _link_or_copy(source, path)
                done.append(f"{part.file} linked again from {source.parent.parent.name}")
        if broken:
            what = f" (they hold the rows of {len(keys)} document(s) or series)" if keys else ""
            raise StoreDamagedError(
                f"the store in {self.root} is damaged and no older version holds a good copy: {'; '.join(broken)}{what}. "
                f"Restore {self.root} from a backup, or run `factsheets check --out {self.root} --forget-damaged` to drop those "
                "rows so that the next ingest processes their PDFs again.")
        try:
            key = _stat_key(cur / MANIFEST)
            self._checked = (cur, key, Manifest.from_json((cur / MANIFEST).read_text(encoding="utf-8")))
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            if not repair:
                raise StoreDamagedError(f"{cur / MANIFEST} is damaged ({exc}); run `factsheets check --out {self.root}` to rebuild it.") from None
            _atomic_text(cur / MANIFEST, self.recover_manifest(cur).to_json())
            done.append(f"{MANIFEST} rebuilt from the documents table and the version before ({type(exc).__name__}: {exc})")
        if repair:
            self._ensure_table_links()
        return done

    def forget_damaged(self) -> list[str]:
        """Write a version without the parts that are damaged beyond repair and without their
        documents (dropped from ``documents`` and the manifest, so the next ingest processes
        their PDFs again). Returns the sources of the documents dropped. Hold the lock."""
        cur = self.current
        if cur is None:
            return []
        index = self._index(cur)
        lost: set[str] = set()
        lost_series: set[str] = set()
        for name, parts in index.items():
            for part in parts:
                if _part_problem(cur / part.file, part) is None:
                    continue
                if part.keys is None:
                    raise StoreDamagedError(f"{part.file} of {name} is damaged and holds the whole table; restore {self.root} from a backup.")
                (lost_series if KEYS[name] == "series" else lost).update(part.keys)
        docs = self.read("documents")
        dropped = docs[docs["doc_id"].isin(lost)]
        manifest = self.manifest()
        for doc_id in lost:
            manifest.documents.pop(doc_id, None)
        lost_series |= set(dropped["series"])
        tables: dict[str, TableData] = {"documents": docs[~docs["doc_id"].isin(lost)].reset_index(drop=True), "failures": Delta(set())}
        for name in ROW_TABLES:
            tables[name] = Delta(set(lost))
        tables["changes"] = Delta(lost_series)  # changes of the series that lost a document: made again next run
        self.write(tables, manifest, skip_damaged=True)
        return sorted(dropped["source"])

    # ------------------------------------------------------------------------------ locking
    @contextmanager
    def lock(self, timeout: float = 600.0) -> Iterator[None]:
        """Hold the store's lock; wait up to ``timeout`` seconds for another run to finish."""
        with writing(self.root, "the lock file"):
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
    def write(self, tables: Mapping[str, TableData], manifest: Manifest, compact: bool = False, skip_damaged: bool = False) -> Path:
        """Validate every table, write a new version, make it current in one step.

        A table is a DataFrame, a function that returns its parts (DataFrames, in order; they
        are validated and written one at a time, so a large table is never in memory as a
        whole), or a :class:`Delta` of the current version (parts it does not touch are linked,
        not written). A table not given is written empty. When a part does not validate,
        nothing is written. ``compact`` merges every table's small parts. Hold the lock."""
        with writing(self.root, "a new version of the tables"):
            versions = self.root / VERSIONS
            versions.mkdir(parents=True, exist_ok=True)
            self._collect_garbage()
            base = self.snapshot()
            number = self._next_number()
            target = versions / f"v{number:06d}"
            staging = versions / f".{target.name}.tmp"
            shutil.rmtree(staging, ignore_errors=True)
            staging.mkdir()
            try:
                index: dict[str, list[Part]] = {}
                for name in TABLES:
                    writer = _TableWriter(name, staging, number)
                    index[name] = writer.write(tables.get(name), base, compact, skip_damaged)
                _atomic_text(staging / MANIFEST, manifest.to_json(), fsync=True)
                _atomic_text(staging / PARTS, _parts_json(index), fsync=True)
                for name in TABLES:
                    _fsync_dir(staging / name)
                _fsync_dir(staging)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
            os.rename(staging, target)
            _fsync_dir(versions)
            self._switch(target)
            self._ensure_table_links()
            self._collect_garbage()
        return target

    def compact(self, timeout: float = 600.0) -> Path | None:
        """Merge each table's small parts into parts of up to :data:`PART_KEYS` documents (or
        series), as a new version, and remove versions beyond :attr:`keep_versions`; None when
        there was nothing to merge. Takes the lock."""
        with self.lock(timeout):
            snap = self.snapshot()
            if snap is None:
                return None
            small = {n: [p for p in snap.parts.get(n, []) if p.keys is None or len(p.keys) < PART_KEYS] for n in KEYS}
            if not any(len(ps) > 1 or any(p.keys is None for p in ps) for ps in small.values()):
                with writing(self.root, "the versions"):
                    self._collect_garbage()
                return None
            return self.write({name: Delta(set()) for name in TABLES}, self.manifest(), compact=True)

    def _switch(self, target: Path) -> None:
        tmp_link = self.root / f"{CURRENT}.tmp"
        if tmp_link.is_symlink() or tmp_link.exists():
            tmp_link.unlink()
        os.symlink(Path(VERSIONS) / target.name, tmp_link)
        os.replace(tmp_link, self.root / CURRENT)  # the atomic step
        _fsync_dir(self.root)

    def _versions(self) -> list[Path]:
        folder = self.root / VERSIONS
        if not folder.is_dir():
            return []
        return sorted((p for p in folder.iterdir() if _VERSION.match(p.name) and p.is_dir()), key=lambda p: p.name)

    def _next_number(self) -> int:
        numbers = [int(m.group(1)) for p in (self.root / VERSIONS).iterdir() if (m := _VERSION.match(p.name))]
        return max(numbers, default=0) + 1

    def _index(self, version: Path) -> dict[str, list[Part]]:
        """Each table's parts in ``version``: from ``parts.json``; from the files when it is
        damaged; one whole file per table in a store of the old layout (``NAME.parquet``)."""
        path = version / PARTS
        if path.exists():
            try:
                return _load_index(path)
            except (OSError, ValueError, KeyError, TypeError):
                return self._scan_parts(version)
        if (version / "documents").is_dir():
            return self._scan_parts(version)
        out: dict[str, list[Part]] = {}
        for name in TABLES:  # the old layout: one file per table
            f = version / f"{name}.parquet"
            out[name] = [Part(f.name, None, 0, f.stat().st_size)] if f.exists() else []
        return out

    def _scan_parts(self, version: Path) -> dict[str, list[Part]]:
        """The index of ``version`` made from its files (when ``parts.json`` is lost)."""
        out: dict[str, list[Part]] = {}
        for name in TABLES:
            parts = []
            for f in sorted((version / name).glob("*.parquet")) if (version / name).is_dir() else []:
                key = KEYS.get(name)
                try:
                    keys = tuple(dict.fromkeys(pq.read_table(f, columns=[key])[key].to_pylist())) if key else None
                    rows = pq.ParquetFile(f).metadata.num_rows
                except (OSError, pa.ArrowException):
                    keys, rows = (), -1
                parts.append(Part(f"{name}/{f.name}", keys, rows, f.stat().st_size))
            out[name] = parts
        return out

    def _intact_copy(self, part: Part, current: Path, versions: list[Path]) -> Path | None:
        """A good file of ``part`` in another version (the same name is the same content)."""
        for other in reversed(versions):
            if other == current:
                continue
            candidate = other / part.file
            if candidate.is_file() and _part_problem(candidate, part) is None:
                return candidate
        return None

    def _ensure_table_links(self) -> None:
        """``DIR/NAME`` → ``.current/NAME`` for each table; the links of the old layout go."""
        for name in TABLES:
            for ext in ("parquet", "csv"):
                old = self.root / f"{name}.{ext}"
                if old.is_symlink() and os.readlink(old).startswith(CURRENT):
                    old.unlink()
            link = self.root / name
            want = Path(CURRENT) / name
            if link.is_symlink() and Path(os.readlink(link)) == want:
                continue
            if link.exists() and not link.is_symlink():
                raise StoreDamagedError(f"{link} is not the store's link to its {name} table (it is a real file or folder); "
                                        "move it out of the way and run again.")
            tmp = self.root / f".{name}.link"
            if tmp.is_symlink() or tmp.exists():
                tmp.unlink()
            os.symlink(want, tmp)
            os.replace(tmp, link)

    def _collect_garbage(self) -> None:
        """Remove unfinished versions, versions a killed run finished but never made current,
        and all but the newest :attr:`keep_versions` up to the current one. A part goes with
        the last version that links it."""
        versions = self.root / VERSIONS
        if not versions.is_dir():
            return
        cur = self.current
        done = self._versions()
        keep = set()
        if cur:
            older = [p.name for p in done if p.name <= cur.name]
            keep = set(older[-max(1, self.keep_versions):])
        for p in versions.iterdir():
            unfinished = p.name.startswith(".") and p.name.endswith(".tmp")
            if unfinished or (cur is not None and _VERSION.match(p.name) and p.name not in keep):
                shutil.rmtree(p, ignore_errors=True)


class PartRows:
    """Rows of the documents in a store version, by document, read part by part as asked for
    (the last few parts read are kept); a :class:`~outputs.rows.RowSource`."""

    CACHED_PARTS = 4

    def __init__(self, snapshot: Snapshot | None, root: Path) -> None:
        self.snapshot = snapshot
        self.root = root
        #: doc_id -> (file, row group or -1 for the whole file)
        self._where: dict[str, dict[str, tuple[str, int]]] = {name: {} for name in ROW_TABLES}
        self._legacy: set[str] = set()
        self._cache: OrderedDict[tuple[str, str, int], StoredRows] = OrderedDict()
        if snapshot is not None:
            for name in ROW_TABLES:
                for part in snapshot.parts.get(name, []):
                    if part.keys is None:
                        self._legacy.add(name)
                        self._where[name]["*"] = (part.file, -1)
                        continue
                    groups = part.row_groups()
                    self._where[name].update({k: (part.file, groups.get(k, -1)) for k in part.keys})

    def get(self, name: str, doc_id: str) -> pa.Table | None:
        where = self._where[name].get("*" if name in self._legacy else doc_id)
        return None if where is None else self._rows(name, *where).get(name, doc_id)

    def _rows(self, name: str, file: str, group: int) -> StoredRows:
        """The rows of one row group of a part (its whole file when ``group`` is -1), cached."""
        key = (name, file, group)
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        assert self.snapshot is not None
        with _reading(self.root, name):
            if group < 0:
                table = pq.read_table(self.snapshot.folder / file)
            else:
                with pq.ParquetFile(self.snapshot.folder / file) as pf:
                    table = pf.read_row_group(group)
        rows = StoredRows({name: table})
        self._cache[key] = rows
        while len(self._cache) > self.CACHED_PARTS * len(ROW_TABLES):
            self._cache.popitem(last=False)
        return rows


class _TableWriter:
    """Writes one table of a new version into ``staging/NAME/``."""

    def __init__(self, name: str, staging: Path, number: int) -> None:
        self.name = name
        self.key = KEYS.get(name)
        self.folder = staging / name
        self.folder.mkdir()
        self.number = number
        self.parts: list[Part] = []

    def write(self, data: TableData | None, base: Snapshot | None, compact: bool, skip_damaged: bool) -> list[Part]:
        old = base.parts.get(self.name, []) if base is not None else []
        if isinstance(data, Delta) and base is not None:
            keys = data.keys
            hit = [p for p in old if p.keys is None or not keys.isdisjoint(p.keys) or (skip_damaged and _part_problem(base.folder / p.file, p))]
            kept = [p for p in old if p not in hit]
            if compact:
                small = [p for p in kept if len(p.keys or ()) < PART_KEYS]
                if len(small) > 1:
                    hit, kept = hit + small, [p for p in kept if p not in small]
            new = self._carried(data.rows, hit, keys, base, skip_damaged)
        else:
            kept = []
            new = _frames(data if not isinstance(data, Delta) else data.rows)
        for p in kept:
            assert base is not None  # parts are kept only from a version before
            self._link(base.folder / p.file, p)
        self._write_new(new)
        small = [p for p in self.parts if p.keys is not None and len(p.keys) < PART_KEYS // 4]
        if self.key and len(small) > MAX_SMALL_PARTS:
            self._merge(small)
        if not self.parts:
            self._write_new(iter([empty(self.name)]))  # a table without rows is one empty part, with its columns
        return self.parts

    def _carried(self, rows: Any, hit: list[Part], keys: set[str], base: Snapshot, skip_damaged: bool) -> Iterator[pd.DataFrame]:
        """The delta's rows, then the rows of the parts it touches that it does not replace."""
        yield from _frames(rows)
        for p in hit:
            path = base.folder / p.file
            if skip_damaged and _part_problem(path, p):
                continue
            with _reading(base.folder, self.name):
                table = conform(self.name, pq.read_table(path))
            if self.key and keys:
                table = table.filter(pc.invert(pc.is_in(table[self.key], value_set=pa.array(sorted(keys), pa.string()))))
            if table.num_rows:
                yield frame_from_arrow(self.name, [table])

    def _merge(self, small: list[Part]) -> None:
        files = [(self.folder / Path(p.file).name) for p in small]
        self.parts = [p for p in self.parts if p not in small]
        tables = [conform(self.name, pq.read_table(f)) for f in files]
        for f in files:
            f.unlink()
        self._write_new(frame_from_arrow(self.name, [t]) for t in tables)

    def _link(self, source: Path, part: Part) -> None:
        target = self.folder / Path(part.file).name
        _link_or_copy(source, target)
        self.parts.append(Part(f"{self.name}/{target.name}", part.keys, part.rows, part.bytes, part.groups))

    def _write_new(self, frames: Iterable[pd.DataFrame]) -> None:
        """Validate and write ``frames`` as new parts: a row group per frame (split into groups of
        :data:`ROW_GROUP_KEYS` keys), a new file past :data:`PART_KEYS` keys."""
        writer: pq.ParquetWriter | None = None
        path: Path | None = None
        keys: dict[str, None] = {}
        groups: list[int] | None = []
        rows = 0
        seq = len([p for p in self.parts if Path(p.file).name.startswith(f"part-{self.number:06d}-")])

        def close() -> None:
            nonlocal writer, keys, groups, rows, seq
            if writer is None or path is None:
                return
            writer.close()
            _fsync(path)
            self.parts.append(Part(f"{self.name}/{path.name}", tuple(keys) if self.key else None, rows, path.stat().st_size,
                                   tuple(groups) if self.key and groups is not None else None))
            writer, keys, groups, rows, seq = None, {}, [], 0, seq + 1

        try:
            for group in _key_groups(frames, self.key):
                if not len(group) and writer is not None:
                    continue
                checked = _validated(self.name, group)
                group_keys = dict.fromkeys(checked[self.key].tolist()) if self.key else {}
                if writer is not None and self.key and len(keys) + len(group_keys) > PART_KEYS:
                    close()
                if writer is None:
                    path = self.folder / f"part-{self.number:06d}-{seq:04d}.parquet"
                    while path.exists():
                        seq += 1
                        path = self.folder / f"part-{self.number:06d}-{seq:04d}.parquet"
                    writer = pq.ParquetWriter(path, ARROW[self.name], compression="zstd")
                table = to_arrow(self.name, checked)
                writer.write_table(table, row_group_size=max(table.num_rows, 1))  # one row group
                if groups is not None:
                    groups = None if any(k in keys for k in group_keys) else [*groups, len(group_keys)]
                keys.update(group_keys)
                rows += len(checked)
            close()
        finally:
            if writer is not None:
                writer.close()


def _read_tables(paths: list[Path], columns: list[str] | None, filters: Any) -> list[pa.Table]:
    """The parts at ``paths``, in order, read a few at a time (Arrow releases the GIL while
    it reads and decodes: a table of many parts reads as fast as ``pd.read_parquet``'s)."""
    def one(path: Path) -> pa.Table:
        return pq.read_table(path, columns=columns, filters=filters)

    if len(paths) < 2:
        return [one(p) for p in paths]
    with ThreadPoolExecutor(max_workers=min(len(paths), READ_THREADS)) as pool:
        return list(pool.map(one, paths))


def _ascending(values: pa.ChunkedArray) -> bool:
    """Whether integer ``values`` (no nulls) never decrease."""
    flat = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    if len(flat) < 2:
        return True
    return bool(pc.all(pc.less_equal(flat.slice(0, len(flat) - 1), flat.slice(1))).as_py())


def _frames(data: pd.DataFrame | Callable[[], Iterable[pd.DataFrame]] | None) -> Iterator[pd.DataFrame]:
    if data is None:
        return iter(())
    if isinstance(data, pd.DataFrame):
        return iter([data])
    return iter(data())


def _key_groups(frames: Iterable[pd.DataFrame], key: str | None) -> Iterator[pd.DataFrame]:
    """Each frame, split into groups of at most :data:`ROW_GROUP_KEYS` keys (a key's rows stay
    together and in order); a table without a key as it comes."""
    for df in frames:
        if key is None or key not in df.columns or df[key].nunique() <= ROW_GROUP_KEYS:
            yield df
            continue
        codes, _ = pd.factorize(df[key])
        order = np.argsort(codes, kind="stable")  # a key's rows together, in their order
        df = df.iloc[order]
        chunk = codes[order] // ROW_GROUP_KEYS
        for c in sorted(set(chunk.tolist())):
            yield df[chunk == c].reset_index(drop=True)


def _validated(name: str, df: pd.DataFrame) -> pd.DataFrame:
    try:
        return validate(name, df)
    except SchemaErrors as exc:
        raise OutputError(
            f"table {name!r} does not match its schema in schemas/tables.py, nothing was written:\n"
            f"{exc.failure_cases.head(20).to_string()}"
        ) from exc


def _part_problem(path: Path, part: Part) -> str | None:
    """Why the file of ``part`` is not good, or None: missing, another size, no Parquet footer."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return "missing"
    except OSError as exc:
        return f"unreadable ({exc.strerror})"
    if part.bytes and size != part.bytes:
        return f"damaged ({size} bytes, written as {part.bytes})"
    try:
        with path.open("rb") as fh:
            head = fh.read(4)
            fh.seek(-4, os.SEEK_END)
            tail = fh.read(4)
    except OSError as exc:
        return f"unreadable ({exc.strerror or exc})"
    if head != _PARQUET_MAGIC or tail != _PARQUET_MAGIC:
        return "damaged (not a whole Parquet file)"
    return None


#: parts.json files read: (path, inode, size, mtime) -> their index. A version's parts.json is
#: written once (a repair replaces the file: another inode); it names every key of every part,
#: so a large store's took longer to parse than a run's other reads of it.
_INDEXES: OrderedDict[tuple[Any, ...], dict[str, list[Part]]] = OrderedDict()


def _stat_key(path: Path) -> tuple[int, int, int]:
    """What tells a file from the one it replaced: inode, size, modification time."""
    st = path.stat()
    return st.st_ino, st.st_size, st.st_mtime_ns


def _load_index(path: Path) -> dict[str, list[Part]]:
    key = (str(path.absolute()), *_stat_key(path))
    index = _INDEXES.get(key)
    if index is None:
        data = json.loads(path.read_text(encoding="utf-8"))
        index = {name: [Part.from_json(p) for p in data["tables"].get(name, [])] for name in TABLES}
        _INDEXES[key] = index
        while len(_INDEXES) > 8:
            _INDEXES.popitem(last=False)
    return {name: list(parts) for name, parts in index.items()}  # the Parts are frozen; the lists are the caller's


def _parts_json(index: Mapping[str, list[Part]]) -> str:
    return json.dumps({"format": 2, "tables": {n: [p.to_json() for p in ps] for n, ps in index.items()}}, separators=(",", ":"))


def _link_or_copy(source: Path, target: Path) -> None:
    """A hard link (the part is shared, not copied); a copy where the file system has none."""
    try:
        os.link(source, target)
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.EXDEV, errno.EMLINK, errno.ENOTSUP, errno.EOPNOTSUPP):
            raise
        shutil.copy2(source, target)
        _fsync(target)


@contextmanager
def writing(root: Path, what: str) -> Iterator[None]:
    """An ``OSError`` of the file system as one line naming the problem and the fix."""
    try:
        yield
    except OSError as exc:
        raise OutputError(_os_message(root, what, exc)) from exc


@contextmanager
def _reading(root: Path, name: str) -> Iterator[None]:
    try:
        yield
    except (OSError, pa.ArrowException) as exc:
        if isinstance(exc, OSError) and exc.errno in (errno.EACCES, errno.EPERM):
            raise OutputError(f"{root}: table {name} cannot be read ({exc.strerror}); check the folder's permissions.") from exc
        raise StoreDamagedError(
            f"table {name} in {root} cannot be read ({str(exc).splitlines()[0][:200]}); run `factsheets check --out {root}` "
            "to repair it from an older version, or see 'When things go wrong' in the README.") from exc


def _os_message(root: Path, what: str, exc: OSError) -> str:
    """One line: what went wrong writing ``what`` into the store at ``root``, and the fix."""
    where = f" ({exc.filename})" if exc.filename else ""
    code = exc.errno
    if code is None:  # Arrow's I/O errors carry the errno in their text only
        m = re.search(r"\[errno (\d+)\]", str(exc), re.I)
        code = int(m.group(1)) if m else None
    if code in (errno.ENOSPC, errno.EDQUOT):
        return (f"{root}: no space left on the device while writing {what}{where}; free some space or give --out a folder "
                "on a larger disk, then run again (the store still holds its previous version).")
    if code in (errno.EROFS, errno.EACCES, errno.EPERM):
        kind = "on a read-only file system" if code == errno.EROFS else "not writable"
        return (f"{root} is {kind} ({exc.strerror}{where}); give --out a folder you can write to, or fix its permissions "
                "(the store was not changed).")
    reason = exc.strerror or str(exc).splitlines()[0]
    return f"{root}: {reason}{where} while writing {what}; check the folder and run again (the store still holds its previous version)."


def _atomic_text(path: Path, text: str, fsync: bool = False) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o644)  # as other files (mkstemp makes it private)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            if fsync:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# ---------------------------------------------------------------------------------- CSV

#: First characters that make a spreadsheet read a cell as a formula (OWASP, CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with every text cell that a spreadsheet would run as a formula (it starts with
    ``=``, ``+``, ``-``, ``@``, a tab or a carriage return) prefixed with a single quote, as
    OWASP advises; numbers, dates and other text are as they were."""
    out = df.copy()
    for col in out.columns:
        s = out[col]
        if not (pd.api.types.is_object_dtype(s) or pd.api.types.is_string_dtype(s)):
            continue
        text = s.astype("string")
        risky = text.str.startswith(FORMULA_STARTS).fillna(False).astype(bool)
        if risky.any():
            out[col] = s.where(~risky, "'" + text)
    return out


def write_csv(df: pd.DataFrame, path: Path, append: bool = False) -> None:
    """``df`` as CSV (RFC 4180: UTF-8, header row, lines ended by CR LF, so that a cell holding a
    line break of either kind is quoted), cells neutralised by :func:`csv_safe`."""
    csv_safe(df).to_csv(path, index=False, header=not append, mode="a" if append else "w", encoding="utf-8",
                        lineterminator="\r\n", date_format="%Y-%m-%dT%H:%M:%S.%fZ")


def export_csv(store: Store, folder: Path | str | None = None) -> list[Path]:
    """Write each table of the current version as one CSV file, ``NAME.csv``, into ``folder``
    (default ``DIR/csv``), part by part; each file is written under a temporary name and
    renamed, so a reader sees a whole file. Returns the files."""
    snap = store.snapshot()
    if snap is None:
        raise OutputError(f"{store.root} holds no tables yet; run `factsheets ingest PATH --out {store.root}` first.")
    out = Path(folder) if folder is not None else store.root / "csv"
    written = []
    with writing(store.root, "the CSV files"):
        out.mkdir(parents=True, exist_ok=True)
        for name in TABLES:
            tmp = out / f".{name}.csv.{os.getpid()}.tmp"
            try:
                if name in ROW_TABLES:  # part by part: a document's rows together and in order
                    write_csv(empty(name), tmp)
                    for path in snap.paths(name):
                        with _reading(store.root, name):
                            table = pq.read_table(path)
                        write_csv(_csv_frame(name, table), tmp, append=True)
                else:
                    write_csv(_csv_frame(name, store.read_arrow(name, snapshot=snap)), tmp)
                os.replace(tmp, out / f"{name}.csv")
            finally:
                tmp.unlink(missing_ok=True)
            written.append(out / f"{name}.csv")
    return written


def _csv_frame(name: str, table: pa.Table) -> pd.DataFrame:
    """Rows as the writer validated them: whole numbers stay whole where some are missing."""
    df = frame_from_arrow(name, [table])
    for f in ARROW[name]:
        if pa.types.is_integer(f.type) and pd.api.types.is_float_dtype(df[f.name]):
            df[f.name] = df[f.name].astype("Int64")
    return df


def _fsync(path: Path) -> None:
    with path.open("rb") as fh:
        os.fsync(fh.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
