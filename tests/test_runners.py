"""The Dask runner against a real cluster: ``dask scheduler`` and two ``dask worker`` processes
on 127.0.0.1, started here. Twenty documents give the same tables as the local runner; a worker
killed while it processes a document gives that document a failure row (the scheduler here
allows no retry, so the failure path is what runs) and a store that is whole, and the next run
processes it.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from flows.ingest import ingest, run_ingest
from flows.runners import task_runner
from outputs.store import Store
from schemas.settings import Settings

from .conftest import ROOT, SAMPLES

pytestmark = pytest.mark.usefixtures("prefect_harness")

#: 20 PDFs: 4 samples, 4 from other producers, 2 reissued copies, 10 corpus texts in 5 series.
DOCUMENTS = [SAMPLES, ROOT / "tests" / "data" / "producers", ROOT / "tests" / "data" / "reissue", ROOT / "tests" / "data" / "corpus"]
BIN = Path(sys.executable).parent


def _count() -> int:
    return sum(len(list(Path(d).glob("*.pdf"))) for d in DOCUMENTS)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A scheduler (no retry of a task whose worker died) and two single-threaded workers."""
    folder = tmp_path_factory.mktemp("dask")
    scheduler_file = folder / "scheduler.json"
    env = {**os.environ, "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "0"}
    common = ["--no-dashboard", "--scheduler-file", str(scheduler_file)]
    commands = {"scheduler": ["scheduler", "--host", "127.0.0.1", "--port", "0"]}
    commands |= {f"worker{i}": ["worker", "--nthreads", "1", "--host", "127.0.0.1", "--name", f"w{i}"] for i in range(2)}
    procs: list[subprocess.Popen[bytes]] = []
    with contextlib.ExitStack() as logs:
        for name, args in commands.items():
            log = logs.enter_context(open(folder / f"{name}.log", "wb"))
            procs.append(subprocess.Popen([BIN / "dask", *args, *common], env=env, cwd=ROOT, stdout=log, stderr=log))
            deadline = time.monotonic() + 60
            while name == "scheduler" and not scheduler_file.exists() and time.monotonic() < deadline:
                time.sleep(0.2)
        from distributed import Client

        try:
            with Client(json.loads(scheduler_file.read_text())["address"], timeout=60) as client:
                client.wait_for_workers(2, timeout=120)
                yield client.scheduler.address, client
        finally:
            for p in reversed(procs):
                p.terminate()
            for p in procs:
                try:
                    p.wait(30)
                except subprocess.TimeoutExpired:
                    p.kill()


def _tables(out: Path) -> list[pd.DataFrame]:
    """The store's tables in a stable order, without the run-dependent ingestion time."""
    store = Store(out)
    keys = {"documents": ["doc_id"], "blocks": ["doc_id", "block_id"], "entities": ["doc_id", "block_id", "start_char"],
            "facts": ["fact_id", "doc_id"], "changes": ["change_id"]}
    out_tables = []
    for name, key in keys.items():
        frame = store.read(name)
        frame = frame.drop(columns=["ingested_at"], errors="ignore")
        out_tables.append(frame.sort_values(key).reset_index(drop=True))
    return out_tables


@pytest.fixture(scope="module")
def local_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("local") / "out"
    state, result = run_ingest(paths=[str(d) for d in DOCUMENTS], out=str(out), settings=Settings(workers=2))
    assert state.is_completed(), result
    return out, result


def test_a_real_cluster_gives_the_same_tables_as_the_local_runner(cluster, local_run, tmp_path):
    address, _ = cluster
    local_out, local = local_run
    assert local["processed"] == _count() == 20
    out = tmp_path / "out"
    flow = ingest.with_options(task_runner=task_runner("dask", dask_address=address))
    state, result = run_ingest(flow, paths=[str(d) for d in DOCUMENTS], out=str(out), settings=Settings(workers=2))
    assert state.is_completed() and result["processed"] == 20 and result["failed"] == 0
    for a, b in zip(_tables(local_out), _tables(out), strict=True):
        pd.testing.assert_frame_equal(a, b)


def test_a_worker_killed_mid_run_gives_failure_rows_and_a_whole_store(cluster, local_run, tmp_path):
    address, client = cluster
    out = tmp_path / "out"
    flow = ingest.with_options(task_runner=task_runner("dask", dask_address=address))
    done: dict[str, object] = {}

    def run() -> None:
        done["state"], done["result"] = run_ingest(flow, paths=[str(d) for d in DOCUMENTS], out=str(out), settings=Settings(workers=2))

    thread = threading.Thread(target=run)
    thread.start()
    killed = None
    deadline = time.monotonic() + 120
    while killed is None and thread.is_alive() and time.monotonic() < deadline:
        busy = [w for w, tasks in client.processing().items() if tasks]
        if busy:
            pid = client.run(os.getpid, workers=busy[:1])[busy[0]]
            os.kill(pid, signal.SIGKILL)  # the nanny starts a new worker
            killed = busy[0]
        else:
            time.sleep(0.05)
    thread.join(300)
    assert killed is not None, "no task was seen running on a worker"
    state, result = done["state"], done["result"]
    assert state.is_failed()  # type: ignore[attr-defined]
    failures = result["failures"]  # type: ignore[index]
    assert failures and result["processed"] + result["failed"] == 20  # type: ignore[index]
    assert {f["stage"] for f in failures} == {"limit"} and {f["error"] for f in failures} == {"KilledWorker"}
    assert all("Dask worker processing" in f["message"] and "The next run tries it again" in f["message"] for f in failures)
    # The store is whole: the documents it holds are those the run processed, rows and all.
    store = Store(out)
    docs = store.read("documents")
    assert len(docs) == result["processed"]  # type: ignore[index]
    assert set(store.read("blocks")["doc_id"]) == set(docs["doc_id"])
    assert sorted(store.read("failures")["source"]) == sorted(f["source"] for f in failures)
    # The next run processes what was lost; the store ends as the local run's.
    again_state, again = run_ingest(flow, paths=[str(d) for d in DOCUMENTS], out=str(out), settings=Settings(workers=2))
    assert again_state.is_completed() and again["processed"] == result["failed"] and again["failed"] == 0  # type: ignore[index]
    assert store.read("failures").empty
    for a, b in zip(_tables(local_run[0]), _tables(out), strict=True):
        pd.testing.assert_frame_equal(a, b)
