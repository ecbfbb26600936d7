"""The table store: one folder, six tables as folders of Parquet parts, a new version per run
made current in one atomic step.

Layout of ``DIR``::

    DIR/entities          -> .current/entities       (likewise documents, blocks, facts, changes, failures)
    DIR/.current          -> .versions/v000042       (the complete set in use)
    DIR/.versions/v000042/entities/part-000017-0000.parquet ...   the parts of this version
    DIR/.versions/v000042/keys/entities/part-000017-0000.json     each keyed part's keys (documents or series)
    DIR/.versions/v000042/manifest/000017.json ...   the manifest's segments: documents' cache keys and file names
    DIR/.versions/v000042/parts.json                 each part's rows and bytes
    DIR/.lock                                        held by the run that writes

A part is never changed once written, nor is its keys file or a manifest segment. A version's
folder holds a hard link to each of them: what it shares with the version before is linked,
not copied, so a run writes only its new parts (with their keys files), the ``failures``
table, one manifest segment (what the run changed in the manifest) and ``parts.json`` (a line
per part, not per document). The rows of one document (``blocks``, ``entities``, ``facts``) or
one series (``documents``, ``changes``) are always in one part; a run that changes rows of a
document or series already stored rewrites the part that held them (without them) and writes
them anew.

A run builds the new version in a hidden folder (every new file flushed to disk), renames it,
then points ``.current`` at it with one ``rename``: a reader, or a run killed at any moment,
sees the old set or the new one, never a mix. ``DIR/entities`` goes through ``.current``, so
``pd.read_parquet("DIR/entities")`` reads the current version's parts; :class:`Store` reads
pin one version for the whole read. The last :attr:`Store.keep_versions` versions are kept
(``FACTSHEETS_KEEP_VERSIONS``, default 2); older ones are removed, and with them the parts no
version links any more. Many small parts are merged (:meth:`Store.compact`, automatic past
:data:`MAX_SMALL_PARTS`), and so are manifest segments (:func:`_merge_segments`).

The manifest records, for each document, the cache key it was processed with and every file
name it was seen under, so an unchanged inbox is a no-op. Its segments are applied in order
(an entry of a later one replaces the earlier, ``null`` removes it; a segment marked ``full``
is the whole manifest). A store of an earlier layout (``manifest.json``, ``parts.json`` with
every key of every part) is read as it is; the next run writes the new layout.

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
    DOCUMENT_ORDER,
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
MANIFEST = "manifest.json"  # the manifest of stores written before its segments
MANIFEST_DIR = "manifest"
KEYS_DIR = "keys"
PARTS = "parts.json"
#: The layout ``parts.json`` says it is in (2: every key of every part in it; 3: keys files, manifest segments).
FORMAT = 3
SPOOL = ".spool"
#: The column whose value keeps a table's rows together in one part (the others are written whole).
KEYS = {"documents": "series", "blocks": "doc_id", "entities": "doc_id", "facts": "doc_id", "changes": "series"}
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
    (documents or series) whose rows it holds (None: a table written whole, a store of the
    old layout, or a part whose keys are lost with its file), its rows and its size."""

    file: str
    keys: tuple[str, ...] | None
    rows: int
    bytes: int
    #: how many of ``keys`` (in order) each row group holds; None when not known
    groups: tuple[int, ...] | None = None

    def to_json(self) -> dict[str, Any]:
        """Its line in ``parts.json``; the keys are in its keys file (:meth:`keys_json`)."""
        out: dict[str, Any] = {"file": self.file, "rows": self.rows, "bytes": self.bytes}
        if self.keys is None:
            out["keys"] = None
        else:
            out["nkeys"] = len(self.keys)
        return out

    def keys_json(self) -> str:
        """The part's keys file: its keys and how many of them each row group holds."""
        return json.dumps({"keys": list(self.keys or ()), "groups": None if self.groups is None else list(self.groups)},
                          separators=(",", ":"))

    @classmethod
    def from_json(cls, data: Mapping[str, Any], version: Path | None = None) -> Part:
        """A part from its line in ``parts.json``: the keys inline (the earlier layout) or in its
        keys file in ``version`` (read from the part's own rows when that file is damaged)."""
        keys, groups = data.get("keys"), data.get("groups")
        file, rows, size = str(data["file"]), int(data["rows"]), int(data["bytes"])
        if "nkeys" in data and version is not None:
            found = _keys_file(version, file, int(data["nkeys"]))
            if found is None:
                found = _keys_of_part(version / file)
            keys, groups = (None, None) if found is None else found
        return cls(file, None if keys is None else tuple(keys), rows, size, None if groups is None else tuple(int(g) for g in groups))

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
        sort = name == "documents" and bool(paths)  # parts hold whole series, not in order (nor a part rewritten by a run)
        read = columns if columns is None or not sort else list(dict.fromkeys([*columns, *DOCUMENT_ORDER]))
        with _reading(self.root, name):
            tables = _read_tables(paths, read, filters)
        if sort:
            both = None if read is None else pa.schema([ARROW[name].field(c) for c in read])
            table = _in_document_order(pa.concat_tables([conform(name, t) if both is None else t.select(read).cast(both) for t in tables]))
            return table if columns is None else table.select(columns)
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
        if checked is not None and checked[0] == cur and checked[1] == _manifest_stat(cur):
            return checked[2]  # parsed by check() a moment ago (a large store's manifest takes a while)
        try:
            return _read_manifest(cur)
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            log.warning("the manifest of %s is damaged (%s); rebuilt from the documents table and an older version", cur, exc)
            return self.recover_manifest(cur)

    def recover_manifest(self, version: Path) -> Manifest:
        """A manifest for ``version`` when its own cannot be read: the newest older version's
        entries for the documents still in the tables, and for the others the cache key their
        rows were made with (``documents.pipeline_version``) and their file name."""
        older = Manifest()
        for other in sorted(self._versions(), key=lambda p: p.name, reverse=True):
            if other.name < version.name:
                try:
                    older = _read_manifest(other)
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
        its keys file, the manifest and ``parts.json`` readable, the links in place. With ``repair``, what
        can be mended is (a part linked again from an older version that holds it, a manifest
        rebuilt, ``.current`` pointed at the newest complete version when it is gone) and the
        list of what was done is returned; what cannot raises :class:`StoreDamagedError`."""
        done: list[str] = []
        versions = self._versions()
        cur = self.current
        if cur is None:
            complete = [v for v in versions if (v / PARTS).is_file() or (v / MANIFEST).is_file() or (v / MANIFEST_DIR).is_dir()]
            if not complete:
                return done
            if not repair:
                raise StoreDamagedError(f"{self.root / CURRENT} is missing; run `factsheets check --out {self.root}` to point it at {complete[-1].name}.")
            self._switch(complete[-1])
            done.append(f"{CURRENT} pointed at {complete[-1].name} (it was missing)")
            cur = complete[-1]
        format_ = 0
        try:
            if (cur / PARTS).exists():
                format_ = _load_format(cur / PARTS)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            if not repair:
                raise StoreDamagedError(f"{cur / PARTS} is damaged ({exc}); run `factsheets check --out {self.root}` to rebuild it.") from None
            _atomic_text(cur / PARTS, _parts_json(self._scan_parts(cur)))
            done.append(f"{PARTS} rebuilt from the parts' files")
            format_ = FORMAT
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
            if repair and name in KEYS and format_ >= FORMAT:
                done += self._mend_keys(cur, parts, versions)
        if broken:
            what = f" (they hold the rows of {len(keys)} document(s) or series)" if keys else ""
            raise StoreDamagedError(
                f"the store in {self.root} is damaged and no older version holds a good copy: {'; '.join(broken)}{what}. "
                f"Restore {self.root} from a backup, or run `factsheets check --out {self.root} --forget-damaged` to drop those "
                "rows so that the next ingest processes their PDFs again.")
        try:
            key = _manifest_stat(cur)
            self._checked = (cur, key, _read_manifest(cur))
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            if not repair:
                raise StoreDamagedError(f"the manifest of {cur} is damaged ({exc}); run `factsheets check --out {self.root}` to rebuild it.") from None
            self._replace_manifest(cur, self.recover_manifest(cur))
            done.append(f"the manifest rebuilt from the documents table and the version before ({type(exc).__name__}: {exc})")
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
                    raise StoreDamagedError(f"{part.file} of {name} is damaged and which rows it held is not known (it holds the whole "
                                            f"table, or its keys file is lost too); restore {self.root} from a backup.")
                (lost_series if KEYS[name] == "series" else lost).update(part.keys)
        docs = self._read_intact("documents", cur, index["documents"])
        manifest = self.manifest()
        source = dict(zip(docs["doc_id"].tolist(), docs["source"].tolist(), strict=True))
        if any(_part_problem(cur / p.file, p) for p in index["documents"]):  # documents whose row went with its part
            lost |= set(manifest.documents) - set(source)
        dropped = sorted(source.get(d) or min(manifest.documents[d].get("sources") or [d])
                         for d in lost if d in source or d in manifest.documents)
        for doc_id in lost:
            manifest.documents.pop(doc_id, None)
        lost_series |= set(docs.loc[docs["doc_id"].isin(lost), "series"].tolist())
        tables: dict[str, TableData] = {"documents": docs[~docs["doc_id"].isin(lost)].reset_index(drop=True), "failures": Delta(set())}
        for name in ROW_TABLES:
            tables[name] = Delta(set(lost))
        tables["changes"] = Delta(lost_series)  # changes of the series that lost a document: made again next run
        self.write(tables, manifest, skip_damaged=True)
        return dropped

    def _read_intact(self, name: str, version: Path, parts: list[Part]) -> pd.DataFrame:
        """The rows of ``name`` in the parts of ``version`` that are whole, in the store's order."""
        good = [version / p.file for p in parts if _part_problem(version / p.file, p) is None]
        with _reading(self.root, name):
            tables = [conform(name, t) for t in _read_tables(good, None, None)]
        table = pa.concat_tables(tables) if tables else ARROW[name].empty_table()
        return frame_from_arrow(name, [_in_document_order(table) if name == "documents" else table])

    def _mend_keys(self, version: Path, parts: list[Part], versions: list[Path]) -> list[str]:
        """Keys files of ``version`` that are missing or damaged: linked again from another
        version, or written from the keys read from the part (``Part.from_json`` did)."""
        done = []
        for part in parts:
            if part.keys is None or _keys_file(version, part.file, len(part.keys)) is not None:
                continue
            path = _keys_path(version, part.file)
            source = next((o for o in reversed(versions) if o != version
                           and _keys_file(o, part.file, len(part.keys or ())) is not None), None)
            path.parent.mkdir(parents=True, exist_ok=True)
            if source is not None:
                tmp = path.with_name(f".{path.name}.tmp")
                tmp.unlink(missing_ok=True)
                _link_or_copy(_keys_path(source, part.file), tmp)
                os.replace(tmp, path)
                done.append(f"{KEYS_DIR}/{Path(part.file).with_suffix('.json')} linked again from {source.name}")
            else:
                _atomic_text(path, part.keys_json(), fsync=True)
                done.append(f"{KEYS_DIR}/{Path(part.file).with_suffix('.json')} written again from its part's rows")
        return done

    def _replace_manifest(self, version: Path, manifest: Manifest) -> None:
        """Put ``manifest`` in place of the damaged one of ``version``, as one full segment in
        place of its newest (a reader sees the old segments or the full one, which replaces
        them), then remove the others."""
        folder = version / MANIFEST_DIR
        if not folder.is_dir():
            _atomic_text(version / MANIFEST, manifest.to_json(), fsync=True)
            return
        old = _segments(version)
        newest = old[-1] if old else folder / f"{int(version.name[1:]):06d}.json"
        _atomic_text(newest, _segment_json(manifest.documents, manifest.failed, full=True), fsync=True)
        for path in old[:-1]:
            path.unlink()

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
        nothing is written. ``compact`` merges every table's small parts, and writes the
        manifest as one segment. Hold the lock."""
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
                _write_manifest(staging, None if base is None or compact else base.folder, manifest, number)
                _atomic_text(staging / PARTS, _parts_json(index), fsync=True)
                for folder in (*(staging / n for n in TABLES), *(staging / KEYS_DIR / n for n in KEYS), staging / KEYS_DIR,
                               staging / MANIFEST_DIR):
                    if folder.is_dir():
                        _fsync_dir(folder)
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
        series) and the manifest's segments into one, as a new version, and remove versions beyond :attr:`keep_versions`; None when
        there was nothing to merge. Takes the lock."""
        with self.lock(timeout):
            snap = self.snapshot()
            if snap is None:
                return None
            small = {n: [p for p in snap.parts.get(n, []) if p.keys is None or len(p.keys) < PART_KEYS] for n in KEYS}
            if len(_segments(snap.folder)) < 2 and not any(len(ps) > 1 or any(p.keys is None for p in ps) for ps in small.values()):
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
                file = f"{name}/{f.name}"
                try:
                    rows = pq.ParquetFile(f).metadata.num_rows
                except (OSError, pa.ArrowException):
                    rows = -1
                found = (_keys_of_part(f) or ([], None)) if name in KEYS else None
                keys, groups = (None, None) if found is None else found
                parts.append(Part(file, None if keys is None else tuple(keys), rows, f.stat().st_size,
                                  None if groups is None else tuple(groups)))
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
        self.staging = staging
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
            self._link(base.folder, p)
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
        for p, f in zip(small, files, strict=True):
            f.unlink()
            _keys_path(self.staging, p.file).unlink(missing_ok=True)
        self._write_new(frame_from_arrow(self.name, [t]) for t in tables)

    def _link(self, base: Path, part: Part) -> None:
        """Link a part of the version before, and its keys file (written when it has none: a
        store of the earlier layout kept its keys in ``parts.json``)."""
        target = self.folder / Path(part.file).name
        _link_or_copy(base / part.file, target)
        linked = Part(f"{self.name}/{target.name}", part.keys, part.rows, part.bytes, part.groups)
        if part.keys is not None:
            keys = _keys_path(base, part.file)
            if keys.is_file():  # checked when the run opened the store (Store.check mends a damaged one)
                _keys_path(self.staging, linked.file).parent.mkdir(parents=True, exist_ok=True)
                _link_or_copy(keys, _keys_path(self.staging, linked.file))
            else:
                _write_keys(self.staging, linked)
        self.parts.append(linked)

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
            part = Part(f"{self.name}/{path.name}", tuple(keys) if self.key else None, rows, path.stat().st_size,
                        tuple(groups) if self.key and groups is not None else None)
            if self.key:
                _write_keys(self.staging, part)
            self.parts.append(part)
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


def _in_document_order(table: pa.Table) -> pa.Table:
    """``documents`` rows sorted as a merge writes them (:data:`DOCUMENT_ORDER`, undated first)."""
    if table.num_rows < 2:
        return table
    keys = [(c, "ascending", "at_start") for c in DOCUMENT_ORDER]
    order = pc.sort_indices(table.select(list(DOCUMENT_ORDER)), options=pc.SortOptions(keys))
    return table.combine_chunks().take(order)


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
#: written once (a repair replaces the file: another inode), and so are the keys files it names.
_INDEXES: OrderedDict[tuple[Any, ...], tuple[int, dict[str, list[Part]]]] = OrderedDict()


def _stat_key(path: Path) -> tuple[int, int, int]:
    """What tells a file from the one it replaced: inode, size, modification time."""
    st = path.stat()
    return st.st_ino, st.st_size, st.st_mtime_ns


def _parsed(path: Path) -> tuple[int, dict[str, list[Part]]]:
    """A ``parts.json``: its layout (:data:`FORMAT`) and its index, parsed once."""
    key = (str(path.absolute()), *_stat_key(path))
    found = _INDEXES.get(key)
    if found is None:
        data = json.loads(path.read_text(encoding="utf-8"))
        found = int(data.get("format", 2)), {name: [Part.from_json(p, path.parent) for p in data["tables"].get(name, [])]
                                             for name in TABLES}
        _INDEXES[key] = found
        while len(_INDEXES) > 8:
            _INDEXES.popitem(last=False)
    return found


def _load_index(path: Path) -> dict[str, list[Part]]:
    return {name: list(parts) for name, parts in _parsed(path)[1].items()}  # the Parts are frozen; the lists are the caller's


def _load_format(path: Path) -> int:
    return _parsed(path)[0]


def _parts_json(index: Mapping[str, list[Part]]) -> str:
    return json.dumps({"format": FORMAT, "tables": {n: [p.to_json() for p in ps] for n, ps in index.items()}}, separators=(",", ":"))


def _keys_path(version: Path, file: str) -> Path:
    """Where the keys file of the part ``file`` (``NAME/part-….parquet``) is in ``version``: in
    ``keys/``, beside the tables' folders, so that a folder read of a table finds only Parquet."""
    return version / KEYS_DIR / Path(file).with_suffix(".json")


def _keys_file(version: Path, file: str, n: int) -> tuple[list[str], list[int] | None] | None:
    """The keys and row groups in a part's keys file; None when it is missing, damaged, or does
    not hold the ``n`` keys ``parts.json`` says."""
    try:
        data = json.loads(_keys_path(version, file).read_text(encoding="utf-8"))
        keys, groups = data["keys"], data.get("groups")
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(keys, list) or len(keys) != n or not all(isinstance(k, str) for k in keys):
        return None
    if groups is not None and (not isinstance(groups, list) or not all(isinstance(g, int) for g in groups) or sum(groups) != n):
        return None
    return keys, groups


def _keys_of_part(path: Path) -> tuple[list[str], list[int] | None] | None:
    """A keyed part's keys read from its rows, and how many each row group holds (None when a
    key's rows span row groups); None when the file cannot be read."""
    key = KEYS.get(path.parent.name)
    if key is None:
        return None
    keys: dict[str, None] = {}
    groups: list[int] | None = []
    try:
        with pq.ParquetFile(path) as pf:
            for i in range(pf.num_row_groups):
                mine = dict.fromkeys(pf.read_row_group(i, columns=[key])[key].to_pylist())
                if groups is not None:
                    groups = None if any(k in keys for k in mine) else [*groups, len(mine)]
                keys.update(mine)
    except (OSError, pa.ArrowException):
        return None
    return list(keys), groups


def _write_keys(version: Path, part: Part) -> None:
    """Write the keys file of a new keyed part (flushed: it belongs to the version as much as the part)."""
    path = _keys_path(version, part.file)
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_new_file(path, part.keys_json())


def _write_new_file(path: Path, text: str) -> None:
    """Write a new file of a version being built, flushed to disk (the version is renamed into
    place only when all its files are)."""
    path.write_text(text, encoding="utf-8")
    _fsync(path)


# ---------------------------------------------------------------------------------- manifest segments

#: A tail of segments is merged into the segment before it once that one is less than this many
#: times their size: the segments' sizes fall geometrically, so a manifest of N documents has
#: O(log N) segments and a run writes, on average, O(log N) times what it changed.
SEGMENT_RATIO = 4


def _segments(version: Path) -> list[Path]:
    folder = version / MANIFEST_DIR
    return sorted(folder.glob("*.json")) if folder.is_dir() else []


def _manifest_stat(version: Path) -> tuple[Any, ...]:
    """What tells a version's manifest from the one a repair put in its place."""
    segments = _segments(version)
    if segments:
        return tuple((p.name, *_stat_key(p)) for p in segments)
    return _stat_key(version / MANIFEST)


def _read_segment(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not all(isinstance(data.get(k, {}), dict) for k in ("documents", "failed")):
        raise ValueError(f"{path.name} is not a manifest segment")
    return data


def _read_manifest(version: Path) -> Manifest:
    """The manifest of ``version``: its segments applied in order, or the ``manifest.json`` of
    the earlier layout. Raises ``OSError``/``ValueError`` when it cannot be read."""
    segments = _segments(version)
    if not segments:
        return Manifest.from_json((version / MANIFEST).read_text(encoding="utf-8"))
    out = Manifest()
    for path in segments:
        _apply(out, _read_segment(path))
    return out


def _apply(manifest: Manifest, segment: Mapping[str, Any]) -> None:
    if segment.get("full"):
        manifest.documents, manifest.failed = {}, {}
    for name, target in (("documents", manifest.documents), ("failed", manifest.failed)):
        for key, entry in segment.get(name, {}).items():
            if entry is None:
                target.pop(key, None)
            else:
                target[key] = entry


def _segment_json(documents: Mapping[str, Any], failed: Mapping[str, Any], full: bool) -> str:
    data: dict[str, Any] = {"documents": documents, "failed": failed}
    if full:
        data = {"full": True, **data}
    return json.dumps(data, separators=(",", ":"), sort_keys=True)


def _write_manifest(staging: Path, base: Path | None, manifest: Manifest, number: int) -> None:
    """The manifest of the new version in ``staging``: the segments of ``base`` linked, and a
    segment with what ``manifest`` changed (nothing when it changed nothing); then
    :func:`_merge_segments`. A base of the earlier layout, or one whose manifest cannot be read,
    gives one full segment."""
    folder = staging / MANIFEST_DIR
    folder.mkdir()
    old = _segments(base) if base is not None else []
    try:
        before = _read_manifest(base) if old and base is not None else None
    except (OSError, ValueError):
        before = None
    target = folder / f"{number:06d}.json"
    if before is None:
        _write_new_file(target, _segment_json(manifest.documents, manifest.failed, full=True))
        return
    for path in old:
        _link_or_copy(path, folder / path.name)
    changed = {name: _changed(getattr(before, name), getattr(manifest, name)) for name in ("documents", "failed")}
    if any(changed.values()):
        _write_new_file(target, _segment_json(changed["documents"], changed["failed"], full=False))
    _merge_segments(folder, number)


def _changed(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    """The entries of ``after`` that are new or differ from ``before``; ``None`` for those gone."""
    out: dict[str, Any] = {k: v for k, v in after.items() if before.get(k) != v}
    out.update({k: None for k in before if k not in after})
    return out


def _merge_segments(folder: Path, number: int) -> None:
    """Merge the newest segments into the one before while it is less than :data:`SEGMENT_RATIO`
    times their size (into the first: one full segment, without removals)."""
    while True:
        segments = sorted(folder.glob("*.json"))
        if len(segments) < 2:
            return
        sizes = [p.stat().st_size for p in segments]
        tail = sizes[-1]
        i = len(segments) - 1
        while i > 0 and sizes[i - 1] < SEGMENT_RATIO * tail:
            i -= 1
            tail += sizes[i]
        if i == len(segments) - 1:
            return
        read = [_read_segment(path) for path in segments[i:]]
        if i == 0 or read[0].get("full"):
            merged = Manifest()
            for segment in read:
                _apply(merged, segment)
            text = _segment_json(merged.documents, merged.failed, full=True)
        else:  # a later entry replaces an earlier one; removals stay, for the older segments' entries
            kept: dict[str, dict[str, Any]] = {"documents": {}, "failed": {}}
            for segment in read:
                for name, entries in kept.items():
                    entries.update(segment.get(name, {}))
            text = _segment_json(kept["documents"], kept["failed"], full=False)
        for path in segments[i:]:
            path.unlink()
        _write_new_file(folder / f"{number:06d}.json", text)


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
