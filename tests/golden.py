"""The sample store's tables as checked-in CSV files, to see every change of output in review.

``.venv/bin/python -m tests.golden`` rebuilds ``tests/data/golden/`` from the samples with the
library (``extractors.process_pdf`` into an ``outputs.Store``); ``tests/test_golden.py`` checks
that the pipeline still gives exactly these tables. Columns that change with every run or every
code edit (``ingested_at``, ``pipeline_version``) are left out. Rebuild them in the commit that
changes the output on purpose, and say why in its message.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import pandas as pd

from schemas.tables import TABLES

HERE = Path(__file__).resolve().parent
GOLDEN = HERE / "data" / "golden"
SAMPLES = HERE.parent / "samples"
#: Columns that differ between runs of the same code on the same PDFs, or between code versions.
VOLATILE = ("ingested_at", "pipeline_version")


def snapshot(store_dir: Path) -> dict[str, pd.DataFrame]:
    """The store's tables as text (CSV cells), without the volatile columns, in a stable order."""
    from outputs.store import Store, export_csv

    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        export_csv(Store(store_dir), tmp)
        frames = {name: pd.read_csv(Path(tmp) / f"{name}.csv", dtype=str, keep_default_na=False) for name in TABLES}
    for name in TABLES:
        df = frames[name]
        df = df.drop(columns=[c for c in VOLATILE if c in df.columns])
        out[name] = df.sort_values(list(df.columns)).reset_index(drop=True)
    return out


def build(store_dir: Path) -> dict[str, pd.DataFrame]:
    """Ingest the samples into ``store_dir`` with the library and snapshot the tables."""
    from extractors import process_pdf
    from outputs import Store
    from schemas.settings import Settings

    settings = Settings(isolate=False)
    with Store(store_dir).batch(settings) as batch:
        for pdf in batch.plan(sorted(SAMPLES.glob("*.pdf"))):
            batch.add(process_pdf(pdf, settings))
        batch.commit()
    return snapshot(store_dir)


def load() -> dict[str, pd.DataFrame]:
    return {name: pd.read_csv(GOLDEN / f"{name}.csv", dtype=str, keep_default_na=False) for name in TABLES}


def write(tables: dict[str, pd.DataFrame]) -> None:
    GOLDEN.mkdir(parents=True, exist_ok=True)
    for name, df in tables.items():
        df.to_csv(GOLDEN / f"{name}.csv", index=False, lineterminator="\n")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    source = Path(args[0]) if args else None  # an existing store to snapshot instead of building one
    with tempfile.TemporaryDirectory() as tmp:
        write(snapshot(source) if source else build(Path(tmp)))
    print(f"wrote {', '.join(TABLES)} to {GOLDEN}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
