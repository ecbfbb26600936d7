"""Writers: Parquet and CSV for every table, validated first, nothing half-written."""

from __future__ import annotations

import csv

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from extractors.errors import OutputError
from outputs.writers import read_table, write_tables
from schemas.tables import TABLES, frame


def test_writes_parquet_and_csv_for_every_table(store, tmp_path):
    write_tables(tmp_path, store)
    for name in TABLES:
        assert (tmp_path / f"{name}.parquet").exists()
        assert (tmp_path / f"{name}.csv").exists()
    ents = pq.read_table(tmp_path / "entities.parquet")
    assert ents.schema.field("date_start").type == pa.date32()
    assert ents.schema.field("value").type == pa.float64()
    assert ents.num_rows == len(store["entities"])
    with (tmp_path / "entities.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    eur = [r for r in rows if r["unit"] == "EUR"]
    assert eur[0]["value"] == "2000000.0" and eur[0]["text"] == "2 million EUR"
    july = next(r for r in rows if r["text"] == "July 2016")
    assert (july["date_start"], july["date_end"]) == ("2016-07-01", "2016-07-31")
    assert not list(tmp_path.rglob("*.tmp"))
    assert (tmp_path / "entities.parquet").is_symlink()


def test_round_trip_keeps_types(store, tmp_path):
    write_tables(tmp_path, store)
    back = read_table(tmp_path, "entities")
    assert str(back["date_start"].dtype) == "date32[day][pyarrow]"
    assert len(back) == len(store["entities"])


def test_invalid_table_writes_nothing(store, tmp_path):
    write_tables(tmp_path, store)
    before = {p.name: p.read_bytes() for p in tmp_path.glob("*.*") if p.is_file()}
    versions = sorted(p.name for p in (tmp_path / ".versions").iterdir())
    bad = dict(store)
    bad["blocks"] = frame("blocks", [{"doc_id": "not-a-sha", "block_id": 0, "page": 1, "kind": "paragraph", "text": "x", "x0": 0, "top": 0, "x1": 1, "bottom": 1}])
    with pytest.raises(OutputError, match="does not match its schema"):
        write_tables(tmp_path, bad)
    assert {p.name: p.read_bytes() for p in tmp_path.glob("*.*") if p.is_file()} == before
    assert sorted(p.name for p in (tmp_path / ".versions").iterdir()) == versions
