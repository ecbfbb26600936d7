"""The store: atomic sets of tables, a lock against concurrent runs, recovery from kills."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pandas as pd
import pytest

from outputs.store import Manifest, Store, StoreBusyError
from schemas.tables import TABLES, validate

from .conftest import ROOT, SAMPLES


def _consistent(out) -> int:
    """Validate every table of the current set and check they belong together; returns the
    number of documents (0 when the store is empty)."""
    store = Store(out)
    if not store.exists():
        return 0
    tables = store.read_all()
    for name in TABLES:
        validate(name, tables[name])
    docs = set(tables["documents"].doc_id)
    assert set(tables["blocks"].doc_id) == docs
    assert set(tables["entities"].doc_id) <= docs
    assert set(store.manifest().documents) == docs
    return len(docs)


def test_lock_makes_a_second_run_wait_or_stop(tmp_path):
    store = Store(tmp_path)
    with store.lock(), pytest.raises(StoreBusyError, match="another factsheets run is writing"), Store(tmp_path).lock(timeout=0.3):
        pass
    got = []

    def second():
        with Store(tmp_path).lock(timeout=10):
            got.append(time.monotonic())

    with store.lock():
        t = threading.Thread(target=second)
        t.start()
        time.sleep(0.5)
        released = time.monotonic()
    t.join()
    assert got and got[0] >= released


WRITER = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {root!r})
    import pandas as pd
    from outputs.store import Store, Manifest
    from extractors.pipeline import process_pdf
    from outputs.merge import merge_results
    from pathlib import Path
    results = [process_pdf(p) for p in sorted(Path({samples!r}).glob("*.pdf"))]
    print("ready", flush=True)
    store = Store({out!r})
    i = 0
    while True:  # write sets of 1, 2, 3, ... documents until killed
        subset = results[: 1 + i % len(results)]
        m = Manifest()
        for r in subset:
            m.record(r.doc_id, "k", r.source)
        store.write(merge_results({{}}, subset), m)
        i += 1
    """
)


def test_killed_writer_always_leaves_a_complete_set(tmp_path):
    out = tmp_path / "store"
    script = WRITER.format(root=str(ROOT), samples=str(SAMPLES), out=str(out))
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    seen = set()
    try:
        for delay in [0.05, 0.11, 0.17, 0.23, 0.29, 0.31, 0.37, 0.41, 0.43, 0.47]:
            time.sleep(delay)
            proc.send_signal(signal.SIGSTOP)  # freeze it wherever it is, like a kill would
            seen.add(_consistent(out))
            proc.send_signal(signal.SIGCONT)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert _consistent(out) >= 1
    assert len(seen) >= 2  # the checks landed on different sets
    # the next write completes and cleans up what the killed one left
    Store(out).write(Store(out).read_all(), Store(out).manifest())
    assert not [p for p in (out / ".versions").iterdir() if p.name.endswith(".tmp")]
    assert len(list((out / ".versions").iterdir())) <= 2


@pytest.mark.usefixtures("prefect_harness")
def test_killed_cli_run_leaves_the_previous_set_and_the_next_run_completes(tmp_path):
    from prefect.settings import PREFECT_API_URL

    out = tmp_path / "store"
    env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value(), "FACTSHEETS_WORKERS": "2"}
    cli = [sys.executable, "-m", "flows.cli", "ingest", "--out", str(out)]
    first = subprocess.run([*cli, str(SAMPLES / "1902-factsheet-nato-eu-en.pdf")], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr[-2000:]
    assert _consistent(out) == 1
    for delay in (3.0, 6.0, 9.0):
        proc = subprocess.Popen([*cli, str(SAMPLES)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        time.sleep(delay)
        os.killpg(proc.pid, signal.SIGKILL)  # the run and its worker processes
        proc.wait()
        assert _consistent(out) in (1, 4)  # the previous complete set, or the new one
    done = subprocess.run([*cli, str(SAMPLES)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert _consistent(out) == 4
    assert len(pd.read_parquet(out / "documents.parquet")) == 4


def test_tables_written_in_parts_match_one_piece_and_a_bad_part_writes_nothing(store, tmp_path):
    import pyarrow.parquet as pq

    from outputs.store import Manifest
    from schemas.errors import OutputError

    blocks = store["blocks"]
    ids = list(dict.fromkeys(blocks.doc_id))
    parts = [blocks[blocks.doc_id == d].reset_index(drop=True) for d in ids]
    whole, split = Store(tmp_path / "whole"), Store(tmp_path / "split")
    whole.write(store, Manifest())
    split.write({**store, "blocks": lambda: iter(parts)}, Manifest())
    assert (split.root / "blocks.csv").read_bytes() == (whole.root / "blocks.csv").read_bytes()
    assert pq.ParquetFile(split.root / "blocks.parquet").num_row_groups == len(ids) > 1
    pd.testing.assert_frame_equal(split.read("blocks"), whole.read("blocks"))

    before = split.current
    bad = parts[-1].assign(kind="sidebar")  # not a block kind
    with pytest.raises(OutputError, match="table 'blocks' does not match its schema"):
        split.write({**store, "blocks": lambda: iter(parts[:-1] + [bad])}, Manifest())
    assert split.current == before
    assert not [p for p in (split.root / ".versions").iterdir() if p.name.endswith(".tmp")]
    pd.testing.assert_frame_equal(split.read("blocks"), whole.read("blocks"))


def test_writes_parquet_and_csv_for_every_table_with_stable_types(store, tmp_path):
    import csv

    import pyarrow as pa
    import pyarrow.parquet as pq

    from schemas.tables import TABLES

    Store(tmp_path).write(store, Manifest())
    for name in TABLES:
        assert (tmp_path / f"{name}.parquet").is_symlink() and (tmp_path / f"{name}.csv").exists()
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
    back = Store(tmp_path).read("entities")
    assert str(back["date_start"].dtype) == "date32[day][pyarrow]" and len(back) == len(store["entities"])
    assert not list(tmp_path.rglob("*.tmp"))
