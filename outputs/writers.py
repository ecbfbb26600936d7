"""Write and read the tables: every table validated first, Parquet and CSV, the whole set
replaced atomically (see ``outputs.store``)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from .store import Manifest, Store


def table_paths(out_dir: Path, name: str) -> tuple[Path, Path]:
    """The one path scheme of the output: ``DIR/NAME.parquet`` and ``DIR/NAME.csv``."""
    return out_dir / f"{name}.parquet", out_dir / f"{name}.csv"


def write_tables(out_dir: Path, tables: Mapping[str, pd.DataFrame], manifest: Manifest | None = None) -> dict[str, Path]:
    """Validate every table, then write the set. Returns the Parquet paths."""
    store = Store(out_dir)
    store.write(tables, manifest if manifest is not None else store.manifest())
    return {name: table_paths(out_dir, name)[0] for name in tables}


def read_table(out_dir: Path, name: str) -> pd.DataFrame:
    """A table from the store, with its contract types; empty when not written yet."""
    return Store(out_dir).read(name)
