"""Write the tables as Parquet and CSV, validated first, each file replaced atomically.

All tables of a run are validated before the first byte is written; each file is written to a
temporary name in the output folder, flushed to disk and renamed into place, so a reader (or a
run killed half-way) never sees a half-written file.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
from pandera.errors import SchemaErrors

from extractors.errors import OutputError
from schemas.tables import TABLES, empty, frame, to_arrow, validate


def table_paths(out_dir: Path, name: str) -> tuple[Path, Path]:
    """The one path scheme of the output: ``DIR/NAME.parquet`` and ``DIR/NAME.csv``."""
    return out_dir / f"{name}.parquet", out_dir / f"{name}.csv"


def _atomic_write(path: Path, write: "callable[[Path], None]") -> None:  # type: ignore[valid-type]
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        write(tmp_path)
        with tmp_path.open("rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def _write_csv(df: pd.DataFrame, path: Path) -> None:
    df.to_csv(path, index=False, encoding="utf-8", lineterminator="\n", date_format="%Y-%m-%dT%H:%M:%S.%fZ")


def write_tables(out_dir: Path, tables: Mapping[str, pd.DataFrame]) -> dict[str, Path]:
    """Validate every table, then write each as Parquet and CSV. Returns the Parquet paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    checked: dict[str, pd.DataFrame] = {}
    for name in TABLES:
        df = tables.get(name)
        df = empty(name) if df is None else df
        try:
            checked[name] = validate(name, df)
        except SchemaErrors as exc:
            raise OutputError(
                f"table {name!r} does not match its schema in schemas/tables.py, nothing was written:\n"
                f"{exc.failure_cases.head(20).to_string()}"
            ) from exc
    written: dict[str, Path] = {}
    for name, df in checked.items():
        parquet, csv = table_paths(out_dir, name)
        arrow = to_arrow(name, df)
        _atomic_write(parquet, lambda p, t=arrow: pq.write_table(t, p, compression="zstd"))
        _atomic_write(csv, lambda p, d=df: _write_csv(d, p))
        written[name] = parquet
    return written


def read_table(out_dir: Path, name: str) -> pd.DataFrame:
    """A table from the store, with its contract types; empty when not written yet."""
    parquet, _ = table_paths(out_dir, name)
    if not parquet.exists():
        return empty(name)
    table = pq.read_table(parquet)
    return frame(name, table.to_pylist())
