"""Scheduled and incremental ingestion: deployments served against a temporary Prefect server,
sources on loopback HTTP, runs across processes, and the Dask runner."""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import subprocess
import sys
import threading
import time

import pandas as pd
import pytest

from flows.ingest import ingest, run_ingest
from flows.runners import task_runner
from flows.sources import pdf_links, safe_name
from schemas.settings import Settings

from .conftest import NATO_EU_2019, NATO_EU_2020, ROOT, SAMPLES, SEA_GUARDIAN

pytestmark = pytest.mark.usefixtures("prefect_harness")


def _env():
    from prefect.settings import PREFECT_API_URL

    return {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value()}


def _content(out):
    """The store's tables without the run-dependent ingestion time, in a stable order."""
    docs = pd.read_parquet(out / "documents").drop(columns=["ingested_at"]).sort_values("doc_id").reset_index(drop=True)
    blocks = pd.read_parquet(out / "blocks").sort_values(["doc_id", "block_id"]).reset_index(drop=True)
    ents = pd.read_parquet(out / "entities").sort_values(["doc_id", "block_id", "start_char"]).reset_index(drop=True)
    changes = pd.read_parquet(out / "changes")
    return docs, blocks, ents, changes


def test_served_deployment_runs_and_ingests_the_new_factsheet(tmp_path):
    from prefect.deployments import run_deployment

    inbox, out = tmp_path / "inbox", tmp_path / "out"
    inbox.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-m", "flows.cli", "serve", "--inbox", str(inbox), "--out", str(out), "--cron", "0 0 1 1 *"],
        cwd=ROOT, env={**_env(), "PREFECT_RUNNER_POLL_FREQUENCY": "1"},  # it looks for the run asked for below every 1 s, not 10 s
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )
    try:
        shutil.copy(SEA_GUARDIAN, inbox / SEA_GUARDIAN.name)
        deadline = time.monotonic() + 120
        run = None
        while time.monotonic() < deadline:
            try:
                run = run_deployment("ingest-factsheets/inbox", timeout=240, poll_interval=1)
                break
            except Exception:  # the deployment is not registered yet
                time.sleep(0.5)
        assert run is not None, "the served deployment never appeared"
        assert run.state.is_completed(), run.state
        docs = pd.read_parquet(out / "documents")
        assert list(docs.source) == [SEA_GUARDIAN.name], pd.read_parquet(out / "failures").message.tolist()
        assert list(docs.title) == ["Operation Sea Guardian"]
        assert (out / "report.html").exists()
    finally:
        os.killpg(proc.pid, 9)
        proc.wait()
        output = proc.stdout.read()
        if not (out / "documents").exists():
            print(output[-5000:])  # shown when the test fails


def test_no_op_across_processes_and_a_new_file_is_a_new_document(tmp_path):
    inbox, out = tmp_path / "inbox", tmp_path / "out"
    inbox.mkdir()
    shutil.copy(NATO_EU_2019, inbox / NATO_EU_2019.name)
    cli = [sys.executable, "-m", "flows.cli", "ingest", str(inbox), "--out", str(out)]
    first = subprocess.run(cli, cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr[-2000:]
    snapshot = {p: p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file() and not p.is_symlink()}
    second = subprocess.run(cli, cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=300)
    assert second.returncode == 0 and "this run: 0 input(s)" in second.stdout
    assert {p: p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file() and not p.is_symlink()} == snapshot
    # the same bytes under a new name: recorded, not processed again
    shutil.copy(NATO_EU_2019, inbox / "copy-of-the-2019-edition.pdf")
    third = subprocess.run(cli, cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=300)
    assert "this run: 0 input(s)" in third.stdout and "aliases recorded" in third.stdout
    # changed bytes: a new document
    shutil.copy(NATO_EU_2020, inbox / NATO_EU_2020.name)
    fourth = subprocess.run(cli, cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=300)
    assert "this run: 1 input(s), 1 processed" in fourth.stdout
    assert len(pd.read_parquet(out / "documents")) == 2


def test_cache_key_includes_the_model(tmp_path):
    out = tmp_path / "out"
    _, first = run_ingest(paths=[str(SEA_GUARDIAN)], out=str(out), settings=Settings(model="none", isolate=False))
    _, again = run_ingest(paths=[str(SEA_GUARDIAN)], out=str(out), settings=Settings(model="none", isolate=False))
    _, other = run_ingest(paths=[str(SEA_GUARDIAN)], out=str(out), settings=Settings(isolate=False))
    assert (first["processed"], again["processed"], other["processed"]) == (1, 0, 1)


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def guess_type(self, path):
        if str(path).endswith("fake.pdf"):
            return "text/html"
        return super().guess_type(path)


@pytest.fixture()
def http_site(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    for pdf in (NATO_EU_2019, SEA_GUARDIAN):
        shutil.copy(pdf, site / pdf.name)
    (site / "fake.pdf").write_text("<html>not a pdf</html>")
    (site / "big.pdf").write_bytes(b"%PDF-1.4\n" + b"0" * 2_100_000)
    (site / "index.html").write_text(
        "<html><body>"
        f'<a href="{NATO_EU_2019.name}">2019</a> <a href="/{SEA_GUARDIAN.name}">SG</a> <a href="fake.pdf">x</a>'
        '<a href="big.pdf">big</a> <a href="notes.txt">notes</a> <a href="ftp://example.org/a.pdf">ftp</a>'
        "</body></html>"
    )
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)  # shutdown() waits for one poll
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_url_sources_on_loopback(tmp_path, http_site):
    out = tmp_path / "out"
    settings = Settings(isolate=False, max_download_mb=2, allow_private_hosts=True)  # the site is on loopback
    _, result = run_ingest(paths=[], out=str(out), settings=settings, index_urls=[f"{http_site}/index.html"],
                    urls=[f"{http_site}/missing.pdf", "file:///etc/passwd"])
    docs = pd.read_parquet(out / "documents")
    assert sorted(docs.title) == ["NATO – EU Relations", "Operation Sea Guardian"]
    fails = {f["source"].rsplit("/", 1)[-1]: f["message"] for f in result["failures"]}
    assert "text/html, not one of" in fails["fake.pdf"]
    assert "over the cap of 2 MB" in fails["big.pdf"] or "larger than the cap" in fails["big.pdf"]
    assert "HTTP 404" in fails["missing.pdf"]
    assert "not an http(s) URL" in fails["passwd"]
    stored = sorted(p.name for p in (out / "downloads").iterdir())
    assert len(stored) == 2 and all(len(n.split("-", 1)[0]) == 16 for n in stored)
    # fetched again: stored once, processed once
    _, again = run_ingest(paths=[], out=str(out), settings=settings, index_urls=[f"{http_site}/index.html"])
    assert again["processed"] == 0
    assert sorted(p.name for p in (out / "downloads").iterdir()) == stored


def test_link_and_name_helpers():
    assert pdf_links('<a href="a.pdf">a</a><a href="/x/B.PDF?x=1">b</a><a href="c.html">c</a><a href="a.pdf">dup</a>',
                     "http://h/docs/index.html") == ["http://h/docs/a.pdf", "http://h/x/B.PDF?x=1"]
    assert safe_name("http://h/a/..%2F..%2Fetc%2Fpasswd") == "etc-passwd.pdf"
    assert safe_name("http://h/1902-factsheet-nato-eu-en.pdf") == "1902-factsheet-nato-eu-en.pdf"


def test_dask_runner_gives_the_same_tables(tmp_path):
    """The Dask runner with no address (a local cluster of its own) writes the golden tables,
    the library's (``tests/test_golden.py``); ``tests/test_runners.py`` compares the default
    runner with a cluster of separate processes."""
    from tests import golden

    dask_out = tmp_path / "dask"
    flow = ingest.with_options(task_runner=task_runner("dask", workers=2))
    _, result = run_ingest(flow, paths=[str(SAMPLES)], out=str(dask_out), settings=Settings(workers=2))
    assert result["processed"] == 4 and result["failed"] == 0
    got, want = golden.snapshot(dask_out), golden.load()
    for name in want:
        pd.testing.assert_frame_equal(got[name], want[name], obj=name)
