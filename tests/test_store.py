"""The store: atomic sets of tables, a lock against concurrent runs, recovery from kills."""

from __future__ import annotations

import json
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
        for _ in range(600):  # the first write (schemas built) takes a second or more on a busy machine
            if Store(out).exists():
                break
            time.sleep(0.1)
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
    assert len(pd.read_parquet(out / "documents")) == 4


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
    assert sum(pq.ParquetFile(f).num_row_groups for f in (split.root / "blocks").glob("*.parquet")) == len(ids) > 1
    pd.testing.assert_frame_equal(split.read("blocks"), whole.read("blocks"))
    pd.testing.assert_frame_equal(pd.read_parquet(split.root / "blocks"), pd.read_parquet(whole.root / "blocks"))

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

    from outputs.store import export_csv
    from schemas.tables import TABLES

    Store(tmp_path).write(store, Manifest())
    assert [p.name for p in export_csv(Store(tmp_path))] == [f"{name}.csv" for name in TABLES]
    for name in TABLES:
        assert (tmp_path / name).is_symlink() and (tmp_path / "csv" / f"{name}.csv").exists()
    ents = pq.read_table(tmp_path / "entities")
    assert ents.schema.field("date_start").type == pa.date32()
    assert ents.schema.field("value").type == pa.float64()
    assert ents.num_rows == len(store["entities"])
    with (tmp_path / "csv" / "entities.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    eur = [r for r in rows if r["unit"] == "EUR"]
    assert eur[0]["value"] == "2000000.0" and eur[0]["text"] == "2 million EUR"
    july = next(r for r in rows if r["text"] == "July 2016")
    assert (july["date_start"], july["date_end"]) == ("2016-07-01", "2016-07-31")
    back = Store(tmp_path).read("entities")
    assert str(back["date_start"].dtype) == "date32[day][pyarrow]" and len(back) == len(store["entities"])
    assert not list(tmp_path.rglob("*.tmp"))


# ------------------------------------------------------------------- the layout of parts (issue #20)


@pytest.fixture(scope="module")
def samples_pickle(store, tmp_path_factory):
    """The samples' tables in a file, for writer and reader processes."""
    import pickle

    path = tmp_path_factory.mktemp("samples") / "tables.pickle"
    path.write_bytes(pickle.dumps(dict(store)))
    return path


def _files(root):
    """Every file under ``root`` by inode: (size, path)."""
    out = {}
    for folder, _, names in os.walk(root):
        for n in names:
            st = os.lstat(os.path.join(folder, n))
            out.setdefault((st.st_dev, st.st_ino), (st.st_size, os.path.join(folder, n)))
    return out


def _written(before, after):
    """Bytes of the files that are new, or the bytes appended to those that grew."""
    return sum(size - before[k][0] if k in before else size for k, (size, _) in after.items() if k not in before or size > before[k][0])


def test_adding_a_document_writes_its_parts_and_links_the_others(store, tmp_path):
    from outputs.report import update_report
    from schemas.settings import Settings
    from tests.synthetic import Samples

    samples = Samples(store)
    out = Store(tmp_path / "out")
    out.write(samples.tables(60, docs_per_part=8), Manifest())
    with out.lock():
        update_report(out, locked=True)
    stored = pd.read_parquet(out.root / "entities")
    before = _files(out.root)
    with out.batch(Settings(isolate=False)) as batch:
        batch.add(samples.result(61))  # the 2020 edition of group 20, whose 2019 edition is stored
        run = batch.commit()
        batch.update_report(run.series)
    after = _files(out.root)
    assert run.series == {"nato-eu-g00020"}
    total = sum(size for size, _ in after.values())
    assert _written(before, after) <= 0.10 * total, (_written(before, after), total)
    new = {p for k, (_, p) in after.items() if k not in before}
    new_parts = sorted(os.path.relpath(p, run.written) for p in new if p.endswith(".parquet"))
    # the new document's rows, the small tables, the changes of its series: nothing else
    assert [p.split("/")[0] for p in new_parts] == ["blocks", "changes", "documents", "entities", "facts", "failures"], new_parts
    ents = pd.read_parquet(out.root / "entities")
    assert len(ents) == len(stored) + len(samples.rows("entities", 61))
    pd.testing.assert_frame_equal(ents[ents.doc_id != samples.document_row(61)["doc_id"]].reset_index(drop=True), stored, check_like=True)
    assert set(out.read("changes").series) == {f"nato-eu-g{g:05d}" for g in range(20)}  # g20: the same content, no change rows


def test_the_tables_read_in_one_line_with_pandas_and_duckdb(store, tmp_path):
    from tests.synthetic import Samples

    out = tmp_path / "out"
    Store(out).write(Samples(store).tables(9, docs_per_part=2), Manifest())
    ents = pd.read_parquet(out / "entities")
    assert len(ents) == 3 * len(store["entities"]) and (out / "entities").is_symlink()
    duckdb = pytest.importorskip("duckdb")
    n = duckdb.sql(f"SELECT count(*) FROM read_parquet('{out}/entities/*.parquet')").fetchall()[0][0]
    assert n == len(ents)


WRITER_OF_PARTS = textwrap.dedent(
    """
    import pickle, sys
    sys.path.insert(0, {root!r})
    from outputs.store import Store
    from schemas.settings import Settings
    from tests.synthetic import Samples
    samples = Samples(pickle.loads(open({tables!r}, "rb").read()))
    store = Store({out!r}, keep_versions=3)
    settings = Settings(isolate=False)
    step = int(sys.argv[1])
    from extractors.pipeline import pipeline_version
    pipeline_version(settings)  # imports done
    print("ready", flush=True)
    while True:  # add document `step`; every third step re-processes an earlier one; every fifth compacts
        with store.batch(settings, force=True) as batch:
            batch.add(samples.result(step))
            if step % 3 == 2:
                batch.add(samples.result(step // 2))
            batch.commit()
        print("committed", step + 1, flush=True)
        if step % 5 == 4:
            store.compact()
        step += 1
    """
)


def _a_version(root, samples, n_max):
    """Read the store as a reader would (pinned, and as folders); check it is one whole version:
    documents 0..n-1 each with all its rows once. Returns n."""
    from tests.synthetic import TEMPLATES, doc_id

    ids = {doc_id(i): i for i in range(n_max + 1)}
    per = {name: [len(samples.rows(name, t)) for t in range(TEMPLATES)] for name in ("blocks", "entities", "facts")}
    store = Store(root)
    snap = store.snapshot()
    tables = store.read_all(snap)
    n = len(tables["documents"])
    assert set(tables["documents"].doc_id) == {doc_id(i) for i in range(n)}
    assert set(store.manifest(snap).documents) == set(tables["documents"].doc_id)
    for name in ("blocks", "entities", "facts"):
        counts = tables[name].doc_id.map(ids).value_counts().to_dict()
        assert counts == {i: per[name][i % TEMPLATES] for i in range(n) if per[name][i % TEMPLATES]}, name
    folder = pd.read_parquet(root / "entities")  # may be another version than the read above, never a mix
    counts = folder.doc_id.map(ids).value_counts()
    m = counts.index.max() + 1
    assert counts.to_dict() == {i: per["entities"][i % TEMPLATES] for i in range(m)}
    return n


def test_writer_killed_at_random_moments_leaves_the_old_or_the_new_version(store, samples_pickle, tmp_path):
    """SIGKILL a real writer (adding documents, re-processing old ones, compacting) at random
    moments, many times: the store always reads as a whole version, the last committed or the
    one being made, and the next writer goes on from there."""
    import random

    from tests.synthetic import Samples

    samples = Samples(store)
    out = tmp_path / "store"
    script = WRITER_OF_PARTS.format(root=str(ROOT), tables=str(samples_pickle), out=str(out))
    rng = random.Random(20)
    committed, kills, seen = 0, 0, set()
    while kills < 12 or (kills < 60 and (len(seen) < 4 or committed < 5)):  # a loaded machine writes slower: kill on
        proc = subprocess.Popen([sys.executable, "-c", script, str(committed)], stdout=subprocess.PIPE, text=True, cwd=ROOT)
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.0, 2.0) * (1 + kills // 12))  # a write takes tenths of a second (more when loaded): kills land anywhere in one
        proc.send_signal(signal.SIGKILL)
        lines = proc.communicate()[0].split()
        kills += 1
        done = [int(x) for x in lines if x.isdigit()]
        last = done[-1] if done else committed
        n = _a_version(out, samples, last + 1) if Store(out).exists() else 0
        assert n in (last, last + 1), (n, last)  # what was committed, or the version being made when killed
        committed = n
        seen.add(n)
    assert len(seen) >= 4 and committed >= 5
    assert Store(out).check(repair=False) == []
    assert len([p for p in (out / ".versions").iterdir() if not p.name.startswith(".")]) <= 3


READER = textwrap.dedent(
    """
    import pickle, sys, time
    sys.path.insert(0, {root!r})
    from pathlib import Path
    from tests.synthetic import Samples
    from tests.test_store import _a_version
    samples = Samples(pickle.loads(open({tables!r}, "rb").read()))
    reads, races, end = 0, 0, time.monotonic() + {seconds}
    while time.monotonic() < end:
        try:
            _a_version(Path({out!r}), samples, 100)
            reads += 1
        except FileNotFoundError:  # a folder listed just before a version that dropped a part: read again
            races += 1
    print(reads, races)
    """
)


def test_a_reader_during_writes_never_sees_a_mix(store, samples_pickle, tmp_path):
    from tests.synthetic import Samples

    samples = Samples(store)
    out = tmp_path / "store"
    Store(out).write(Samples(store).tables(3), _manifest_of(samples, 3))
    writer = subprocess.Popen([sys.executable, "-c", WRITER_OF_PARTS.format(root=str(ROOT), tables=str(samples_pickle), out=str(out)), "3"],
                              stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        reader = subprocess.run([sys.executable, "-c", READER.format(root=str(ROOT), tables=str(samples_pickle), out=str(out), seconds=12)],
                                capture_output=True, text=True, cwd=ROOT, timeout=120)
    finally:
        writer.kill()
        lines = writer.communicate()[0].split()
    assert reader.returncode == 0, reader.stderr[-3000:]
    reads, races = map(int, reader.stdout.split())
    assert reads >= 10 and races <= reads // 10, (reads, races)
    assert int(lines[-1]) >= 6  # the writer made versions meanwhile


def _manifest_of(samples, n):
    m = Manifest()
    for i in range(n):
        row = samples.document_row(i)
        m.record(row["doc_id"], "k", row["source"])
    return m


# --------------------------------------------------------------------- reliability (issue #18)


def _synthetic_store(store, root, n=6, docs_per_part=2):
    """A store of ``n`` synthetic documents written by batches (two versions: the older one
    shares most parts), with the manifest a run would write."""
    from extractors.pipeline import pipeline_version
    from schemas.settings import Settings
    from tests.synthetic import Samples

    samples = Samples(store)
    out = Store(root)
    settings = Settings(isolate=False)
    manifest = Manifest()
    for i in range(n - 1):
        manifest.record(samples.document_row(i)["doc_id"], pipeline_version(settings), samples.document_row(i)["source"])
    out.write(samples.tables(n - 1, docs_per_part=docs_per_part), manifest)
    with out.batch(settings) as batch:
        batch.add(samples.result(n - 1))
        batch.commit()
    return samples, out, settings


def test_d3_a_deleted_part_is_linked_again_from_the_version_before(store, tmp_path):
    samples, out, settings = _synthetic_store(store, tmp_path / "out")
    before = out.read("entities")
    victim = sorted((out.root / "entities").glob("*.parquet"))[0]
    victim.unlink()  # a user deletes the entities data of some documents
    (out.root / "blocks").unlink()  # and the link to the blocks table
    with out.batch(settings) as batch:
        batch.add(samples.result(6))
        batch.commit()
    after = out.read("entities")
    assert len(after) == len(before) + len(samples.rows("entities", 6))
    pd.testing.assert_frame_equal(after[after.doc_id.isin(before.doc_id)].reset_index(drop=True), before)
    assert len(pd.read_parquet(out.root / "blocks")) == len(out.read("blocks"))


def test_d3_a_table_lost_in_every_version_stops_the_run_with_the_fix(store, tmp_path):
    from outputs.store import StoreDamagedError

    samples, out, settings = _synthetic_store(store, tmp_path / "out")
    victim = sorted((out.root / "entities").glob("*.parquet"))[0].name
    for version in (out.root / ".versions").iterdir():
        (version / "entities" / victim).unlink(missing_ok=True)
    current = out.current
    with pytest.raises(StoreDamagedError, match=rf"entities/{victim} is missing.*--forget-damaged") as err, out.batch(settings) as batch:
        batch.add(samples.result(6))
        batch.commit()
    assert "\n" not in str(err.value)
    assert out.current == current  # nothing was written: no version without those entities
    # the way out it names: drop the lost documents, the next ingest processes them again
    from typer.testing import CliRunner

    from flows.cli import app

    result = CliRunner().invoke(app, ["check", "--out", str(out.root), "--forget-damaged"])
    assert result.exit_code == 0, result.output
    assert "dropped 5 document(s)" in result.output  # the five written in one part by the first version
    kept = out.read("documents")
    assert len(kept) == 1 and set(out.manifest().documents) == set(kept.doc_id)
    assert set(out.read("entities").doc_id) == set(kept.doc_id) and out.check(repair=False) == []


def test_d3_the_current_link_deleted_is_pointed_again_at_the_newest_version(store, tmp_path):
    samples, out, settings = _synthetic_store(store, tmp_path / "out")
    n = len(out.read("documents"))
    (out.root / ".current").unlink()
    with out.batch(settings) as batch:
        batch.add(samples.result(6))
        batch.commit()
    assert len(out.read("documents")) == n + 1


def test_d4_a_truncated_manifest_is_rebuilt_and_ingest_goes_on(store, tmp_path):
    samples, out, settings = _synthetic_store(store, tmp_path / "out")
    want = out.manifest().documents
    newest = sorted((out.current / "manifest").glob("*.json"))[-1]
    newest.write_text(newest.read_text()[:100])  # a disk full or a kill while it was copied
    for force in (False, True):
        with out.batch(settings, force=force) as batch:
            assert all(batch.manifest.is_current(d, batch.key) for d in want)
            assert batch.plan([]) == []
            batch.commit()
    assert out.manifest().documents.keys() == want.keys()
    assert json.loads(sorted((out.current / "manifest").glob("*.json"))[-1].read_text())["documents"].keys() == want.keys()
    # every manifest damaged: the documents table gives each document's cache key and file name
    for segment in (out.root / ".versions").glob("*/manifest/*.json"):
        segment.write_text("{")
    with out.batch(settings) as batch:
        assert all(batch.manifest.is_current(d, batch.key) for d in want)
    assert sorted(out.manifest().documents) == sorted(want)


def test_d6_csv_cells_that_a_spreadsheet_would_run_are_neutralised(store, tmp_path):
    from outputs.store import export_csv

    blocks = store["blocks"].copy()
    evil = ['=HYPERLINK("http://example.com","x")', "+1+2", "-3+4", "@SUM(A1:A2)", "\t=1", "\r=1"]
    blocks.loc[: len(evil) - 1, "text"] = evil
    failures = pd.DataFrame([{"source": "=cmd.pdf", "doc_id": None, "stage": "read", "error": "@E", "message": "-rf"}])
    ents = store["entities"].copy()
    ents.loc[0, ["label", "value", "unit"]] = ["AMOUNT", -5.0, "EUR"]
    s = Store(tmp_path / "out")
    s.write({**store, "blocks": blocks, "failures": failures, "entities": ents}, Manifest())
    export_csv(s)
    got = pd.read_csv(tmp_path / "out" / "csv" / "blocks.csv", keep_default_na=False)
    assert got.text.tolist()[: len(evil)] == ["'" + e for e in evil]
    assert got.text.tolist()[len(evil) :] == blocks.text.tolist()[len(evil) :]
    fails = pd.read_csv(tmp_path / "out" / "csv" / "failures.csv")
    assert fails.iloc[0][["source", "error", "message"]].tolist() == ["'=cmd.pdf", "'@E", "'-rf"]
    assert pd.read_csv(tmp_path / "out" / "csv" / "entities.csv").value.iloc[0] == -5.0  # a number stays a number
    assert s.read("blocks").text.tolist()[: len(evil)] == evil  # Parquet keeps the true text


def test_d14_the_report_is_written_under_the_stores_lock(store, tmp_path):
    from outputs.report import update_report

    samples, out, settings = _synthetic_store(store, tmp_path / "out")
    with out.lock(), pytest.raises(StoreBusyError):
        update_report(Store(out.root), timeout=0.3)  # a run holds the store: the report waits for it
    assert not (out.root / "report.html").exists()
    with out.batch(settings) as batch:
        held = _lock_is_held(out.root)
        path = batch.update_report()
    assert held and path.read_text().startswith("<!DOCTYPE html>")
    assert not _lock_is_held(out.root)


def _lock_is_held(root) -> bool:
    import fcntl

    with (root / ".lock").open("a+") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return True
        return False


@pytest.mark.usefixtures("prefect_harness")
def test_d14_the_ingest_flow_writes_the_report_while_it_holds_the_lock(tmp_path, monkeypatch):
    import outputs.report
    from flows.ingest import run_ingest
    from schemas.settings import Settings

    from .conftest import SEA_GUARDIAN

    out = tmp_path / "out"
    held = []
    write_report = outputs.report.write_report

    def spy(*args, **kwargs):
        held.append(_lock_is_held(out))
        return write_report(*args, **kwargs)

    monkeypatch.setattr(outputs.report, "write_report", spy)
    _, result = run_ingest(paths=[str(SEA_GUARDIAN)], out=str(out), settings=Settings(model="none", isolate=False))
    assert result["processed"] == 1 and held == [True]


def _mount_tmpfs(path, size):
    """A small tmpfs at ``path`` (root only); skips the test where it cannot be mounted."""
    if os.geteuid() != 0:
        pytest.skip("needs root to mount a small file system")
    path.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")


def test_w1_a_full_disk_and_a_read_only_folder_give_one_line_and_the_fix(store, tmp_path):
    from schemas.errors import OutputError

    disk = tmp_path / "disk"
    _mount_tmpfs(disk, "2m")
    try:
        samples, out, settings = _synthetic_store(store, disk / "out", n=3, docs_per_part=1)
        current = out.current
        filler = disk / "filler"
        with filler.open("wb") as fh:  # fill the disk
            try:
                while True:
                    fh.write(b"\0" * 65536)
                    fh.flush()
            except OSError:
                pass
        with pytest.raises(OutputError) as err, out.batch(settings) as batch:
            for i in range(3, 9):
                batch.add(samples.result(i))
            batch.commit()
        assert "no space left on the device" in str(err.value) and "free some space" in str(err.value) and "\n" not in str(err.value)
        assert out.current == current and len(out.read("documents")) == 3
        filler.unlink()
        with out.batch(settings) as batch:
            batch.add(samples.result(3))
            batch.commit()
        assert len(out.read("documents")) == 4
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        with pytest.raises(OutputError, match="read-only file system.*give --out a folder you can write to") as err, out.batch(settings):
            pass
        assert "\n" not in str(err.value) and len(out.read("documents")) == 4  # still readable
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def test_w1_a_damaged_table_is_one_line_on_the_command_line(store, tmp_path):
    samples, out, settings = _synthetic_store(store, tmp_path / "out")
    part = sorted((out.root / "entities").glob("*.parquet"))[0]
    os.truncate(part, part.stat().st_size // 2)  # damaged in place (a copy cut short): every version's link sees it
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for command in (["summary"], ["report"], ["ingest", str(SAMPLES / "1902-factsheet-nato-eu-en.pdf"), "--model", "none"]):
        done = subprocess.run([sys.executable, "-m", "flows.cli", *command, "--out", str(out.root)], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 1, (command, done.stdout, done.stderr[-2000:])
        errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
        assert len(errors) == 1 and "Traceback" not in done.stderr, (command, done.stderr[-2000:])
        assert "entities" in errors[0] and "factsheets check" in errors[0], errors[0]


def test_a_store_of_the_old_layout_is_read_and_rewritten_in_parts(store, tmp_path):
    """A store written before parts (``.versions/vN/NAME.parquet``, ``DIR/NAME.parquet`` links)."""
    import pyarrow.parquet as pq

    from extractors.pipeline import pipeline_version
    from schemas.settings import Settings
    from schemas.tables import to_arrow
    from tests.synthetic import Samples

    samples = Samples(store)
    settings = Settings(isolate=False)
    out = tmp_path / "out"
    old = out / ".versions" / "v000001"
    old.mkdir(parents=True)
    tables = samples.tables(5)
    for name in TABLES:
        data = tables[name]
        frames = list(data()) if callable(data) else [data]
        pq.write_table(pa_concat([to_arrow(name, f) for f in frames]), old / f"{name}.parquet")
        (out / f"{name}.parquet").symlink_to(f".current/{name}.parquet")
    (old / "manifest.json").write_text(samples.manifest(range(5), pipeline_version(settings)).to_json())
    (out / ".current").symlink_to(".versions/v000001")
    s = Store(out)
    assert len(s.read("documents")) == 5 and s.check() == []
    with s.batch(settings) as batch:
        batch.add(samples.result(5))
        batch.commit()
    assert len(s.read("documents")) == 6 and len(pd.read_parquet(out / "entities")) == len(s.read("entities"))
    assert not (out / "entities.parquet").exists() and (out / "entities").is_symlink()
    assert set(s.manifest().documents) == set(s.read("documents").doc_id)


def pa_concat(tables):
    import pyarrow as pa

    return pa.concat_tables(tables)


# --------------------------------------------------------------------- what a run writes (issue #20)


def _written_files(before, after) -> dict[str, int]:
    """The files of version ``after`` that are not hard links of files of ``before``: what the
    run that made ``after`` wrote (path relative to the version -> bytes)."""
    old = {p.stat().st_ino for p in before.rglob("*") if p.is_file()}
    return {str(p.relative_to(after)): p.stat().st_size for p in after.rglob("*") if p.is_file() and p.stat().st_ino not in old}


def _parts_of(version, name):
    from outputs.store import _load_index

    return _load_index(version / "parts.json")[name]


def test_adding_a_document_writes_its_rows_and_small_metadata_not_the_store_again(store, tmp_path, monkeypatch):
    import outputs.store

    monkeypatch.setattr(outputs.store, "PART_KEYS", 8)  # parts of 8 series (or documents), as a large store's of 256
    monkeypatch.setattr(outputs.store, "ROW_GROUP_KEYS", 4)
    samples, out, settings = _synthetic_store(store, tmp_path / "out", n=40, docs_per_part=8)
    assert len(out.snapshot().parts["documents"]) > 1
    before, docs_before = out.current, out.read("documents")
    with out.batch(settings) as batch:
        batch.add(samples.result(40))
        batch.commit()
    after = out.current
    written = _written_files(before, after)
    new = samples.document_row(40)
    series = out.read("documents").set_index("doc_id").loc[new["doc_id"], "series"]
    # the manifest: one segment with the new document's entry, merged at most with the small
    # segments of the runs before (the first, full one is linked)
    segments = [w for w in written if w.startswith("manifest/")]
    assert len(segments) == 1, written
    segment = json.loads((after / segments[0]).read_text())
    recent = {d for p in sorted((before / "manifest").glob("*.json"))[1:] for d in json.loads(p.read_text())["documents"]}
    assert new["doc_id"] in segment["documents"] and set(segment["documents"]) <= recent | {new["doc_id"]}
    assert not segment.get("full") and segment["failed"] == {}
    assert (after / "manifest" / sorted((before / "manifest").glob("*.json"))[0].name).stat().st_ino == \
        sorted((before / "manifest").glob("*.json"))[0].stat().st_ino
    # documents: one part, the rows of the new document's series and of the part that held that
    # series (its other series are in no other part written); every other part is linked
    held = [set(p.keys or ()) for p in _parts_of(before, "documents") if series in (p.keys or ())]
    doc_parts = [w for w in written if w.startswith("documents/")]
    assert len(doc_parts) == 1
    assert set(pd.read_parquet(after / doc_parts[0]).series) == {series}.union(*held)
    assert len(docs_before[docs_before.series.isin({series}.union(*held))]) < len(docs_before)
    # parts.json names each part's rows and bytes, not the keys: those are in the parts' keys files
    parts = json.loads((after / "parts.json").read_text())
    assert parts["format"] == 3 and all("keys" not in p or p["keys"] is None for ps in parts["tables"].values() for p in ps)
    assert all(w.split("/")[0] in {"documents", "blocks", "entities", "facts", "changes", "failures", "keys", "manifest"}
               or w == "parts.json" for w in written), written
    for w in written:
        if w.startswith("keys/"):
            assert (after / w.removeprefix("keys/")).with_suffix(".parquet").is_file()
    # and every table reads as one set, documents in the store's order
    docs = out.read("documents")
    assert len(docs) == len(docs_before) + 1
    want = docs.sort_values(["series", "edition", "source", "doc_id"], na_position="first").reset_index(drop=True)
    pd.testing.assert_frame_equal(docs, want)
    assert list(docs.drop(columns="series").columns) == [c for c in docs_before.columns if c != "series"]
    assert _consistent(out.root) == 41


def test_manifest_segments_add_up_to_the_manifest_and_stay_few(tmp_path):
    from outputs.store import SEGMENT_RATIO

    out = Store(tmp_path / "out")
    manifest = Manifest()
    written, previous = 0, None
    for run in range(80):
        manifest.record(f"{run:064x}", "key-1", f"doc-{run}.pdf")
        if run % 7 == 3:
            manifest.documents.pop(f"{run - 2:064x}")  # dropped (check --forget-damaged)
        if run % 5 == 1:
            manifest.record_failure(f"{run + 1000:064x}", "key-1", f"broken-{run}.pdf")
        if run % 11 == 5:
            manifest.record(f"{run - 4:064x}", "key-2", f"again-{run}.pdf")  # processed again by a new pipeline
        out.write({}, manifest)
        current = out.current
        assert out.manifest().documents == manifest.documents and out.manifest().failed == manifest.failed
        if previous is not None:
            written += sum(size for name, size in _written_files(previous, current).items() if name.startswith("manifest/"))
        previous = current
        sizes = [p.stat().st_size for p in sorted((current / "manifest").glob("*.json"))]
        assert all(a >= SEGMENT_RATIO * b for a, b in zip(sizes, sizes[1:], strict=False)) or len(sizes) < 2, sizes
        assert len(sizes) <= 5, sizes
    whole = len(manifest.to_json())
    # rewriting the whole manifest each run would have written about 40 times its final size
    assert written < 8 * whole, (written, whole)
    assert len(list((out.current / "manifest").glob("*.json"))) > 1
    assert out.compact() is not None  # compaction writes the manifest as one segment
    (segment,) = (out.current / "manifest").glob("*.json")
    assert json.loads(segment.read_text())["full"] is True
    assert out.manifest().documents == manifest.documents and out.manifest().failed == manifest.failed


def _to_earlier_layout(version) -> None:
    """Rewrite ``version`` as factsheets wrote it before keys files and manifest segments:
    ``parts.json`` (format 2) names every key of every part; ``manifest.json`` is the whole manifest."""
    import shutil

    from outputs.store import _load_index, _read_manifest

    index = _load_index(version / "parts.json")
    data = {"format": 2, "tables": {name: [{"file": p.file, "keys": None if p.keys is None else list(p.keys), "rows": p.rows,
                                            "bytes": p.bytes, "groups": None if p.groups is None else list(p.groups)}
                                           for p in parts] for name, parts in index.items()}}
    manifest = _read_manifest(version)
    (version / "parts.json").unlink()
    (version / "parts.json").write_text(json.dumps(data))
    (version / "manifest.json").write_text(manifest.to_json())
    shutil.rmtree(version / "keys")
    shutil.rmtree(version / "manifest")


def test_a_store_of_the_earlier_layout_is_read_and_the_next_run_writes_the_new_one(store, tmp_path):
    samples, out, settings = _synthetic_store(store, tmp_path / "out", n=12, docs_per_part=4)
    tables, manifest = out.read_all(), out.manifest()
    for version in (out.root / ".versions").iterdir():
        _to_earlier_layout(version)
    old = Store(out.root)
    assert old.check(repair=False) == []
    for name in TABLES:
        pd.testing.assert_frame_equal(old.read(name), tables[name])
    assert old.manifest().documents == manifest.documents
    with old.batch(settings) as batch:
        assert batch.plan([]) == []
        batch.add(samples.result(12))
        batch.commit()
    cur = old.current
    parts = json.loads((cur / "parts.json").read_text())
    assert parts["format"] == 3 and not (cur / "manifest.json").exists()
    keyed = [p["file"] for name, ps in parts["tables"].items() if name != "failures" for p in ps]
    assert all((cur / "keys" / f).with_suffix(".json").is_file() for f in keyed)
    assert set(old.manifest().documents) == set(manifest.documents) | {samples.document_row(12)["doc_id"]}
    for name in ("blocks", "entities", "facts"):
        got = old.read(name)
        pd.testing.assert_frame_equal(got[got.doc_id.isin(tables["documents"].doc_id)].reset_index(drop=True), tables[name])
    assert _consistent(out.root) == 13


def test_a_lost_keys_file_is_written_again_from_its_part(store, tmp_path):
    samples, out, settings = _synthetic_store(store, tmp_path / "out", n=12, docs_per_part=4)
    want = {name: [(p.file, p.keys, p.groups) for p in parts] for name, parts in out.snapshot().parts.items()}
    victim = sorted((out.current / "keys" / "entities").glob("*.json"))[0]
    name = victim.name
    for version in (out.root / ".versions").iterdir():
        (version / "keys" / "entities" / name).unlink(missing_ok=True)
    cut = out.current / "keys" / "blocks" / name
    cut.unlink()  # this version's copy cut short (the others, hard links of one file, are whole)
    cut.write_text('{"keys": ["not a document"]')
    from outputs.store import _INDEXES

    _INDEXES.clear()
    done = out.check()
    assert f"keys/entities/{victim.stem}.json written again from its part's rows" in done
    assert any(d.startswith(f"keys/blocks/{victim.stem}.json linked again from") for d in done), done
    got = {name: [(p.file, p.keys, p.groups) for p in parts] for name, parts in Store(out.root).snapshot().parts.items()}
    assert got == want
    assert out.check() == []
    with out.batch(settings) as batch:
        batch.add(samples.result(12))
        batch.commit()
    assert _consistent(out.root) == 13


def test_a_documents_part_lost_in_every_version_drops_its_series_documents(store, tmp_path):
    from typer.testing import CliRunner

    from flows.cli import app
    from outputs.store import StoreDamagedError

    samples, out, settings = _synthetic_store(store, tmp_path / "out", n=12, docs_per_part=4)
    docs = out.read("documents")
    victim = next(p for p in out.snapshot().parts["documents"] if p.keys and len(p.keys) < docs.series.nunique())
    lost = docs[docs.series.isin(victim.keys)]
    for version in (out.root / ".versions").iterdir():
        (version / victim.file).unlink(missing_ok=True)
    with pytest.raises(StoreDamagedError, match=rf"documents/{victim.file.split('/')[1]} is missing"):
        out.check()
    result = CliRunner().invoke(app, ["check", "--out", str(out.root), "--forget-damaged"])
    assert result.exit_code == 0, result.output
    assert f"dropped {len(lost)} document(s)" in result.output
    kept = out.read("documents")
    assert set(kept.doc_id) == set(docs.doc_id) - set(lost.doc_id)
    assert _consistent(out.root) == len(kept)
    assert not set(out.read("changes").series) & set(victim.keys)
