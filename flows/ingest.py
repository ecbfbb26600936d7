"""The ingest flow: factsheet PDFs in, the tables out.

It only orchestrates: each task names a stage and calls the library (``extractors`` turns a
PDF into rows, ``outputs`` merges, compares, writes and reports). The flow holds the store's
batch (lock and spool) from planning to writing; documents run in batches, each document in a
worker process with a time and memory limit (``flows.workers``).
"""

from __future__ import annotations

import math
import multiprocessing as mp
import os
import threading
from functools import partial
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task, unmapped
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.task_runners import ThreadPoolTaskRunner

import schemas.tables
from extractors.pipeline import ProcessedPDF, process_pdf
from flows.compare import report
from flows.sources import discover, fetch_sources
from outputs.compare import compare_jobs
from outputs.merge import Batch, BatchSummary, CompareFn
from outputs.report import run_markdown, summary, summary_tables
from outputs.store import Store
from schemas.errors import Failure
from schemas.settings import Settings

#: Documents per task: enough to amortise Prefect's per-task cost (about 50 ms of API server
#: CPU each, taken from the workers when the cores are busy), small enough to spread work.
MAX_BATCH = 16


def plan_batches(paths: list[str], workers: int) -> list[list[str]]:
    """Split ``paths`` into batches for ``workers`` workers that take them in order: largest
    files first; with more than one worker, each batch is at most half of what is left per
    worker, so batches shrink towards the end and no worker is left alone with a long one."""
    def size(p: str) -> int:
        try:
            return os.path.getsize(p)
        except OSError:
            return 0

    left = sorted(paths, key=size, reverse=True)
    batches: list[list[str]] = []
    while left:
        n = MAX_BATCH if workers <= 1 else max(1, min(MAX_BATCH, math.ceil(len(left) / (2 * workers))))
        batches.append(left[:n])
        left = left[n:]
    return batches


def _isolated(settings: Settings) -> bool:
    """Documents run in worker processes with limits, unless turned off or this process may not
    start children (a daemonic Dask worker)."""
    return settings.isolate and not mp.current_process().daemon


@task(name="find-pdfs", cache_policy=NO_CACHE)
def find_pdfs(paths: list[str]) -> list[str]:
    return [str(p) for p in discover(paths)]


@task(name="fetch-urls", cache_policy=NO_CACHE)
def fetch_urls(urls: list[str], index_urls: list[str], out: str, settings: Settings) -> tuple[list[str], list[Failure]]:
    files, failures = fetch_sources(urls, index_urls, Path(out) / "downloads", settings)
    return [str(f) for f in files], failures


@task(name="process-batch", cache_policy=NO_CACHE)
def process_batch(paths: list[str], settings: Settings) -> list[ProcessedPDF]:
    if _isolated(settings):
        from flows.workers import pool_for

        pool = pool_for(settings)
        return [pool.run(p) for p in paths]
    return [process_pdf(p, settings) for p in paths]


@task(name="write-tables", cache_policy=NO_CACHE)
def write_tables(batch: Batch, compare: CompareFn) -> BatchSummary:
    return batch.commit(compare=compare)


def comparer(settings: Settings) -> CompareFn:
    """Comparison of editions: spread over the worker pool when there are several workers."""
    if _isolated(settings) and settings.workers > 1:
        from flows.workers import parallel_compare, pool_for

        return partial(parallel_compare, pool_for(settings))
    return compare_jobs


@flow(name="ingest-factsheets", task_runner=ThreadPoolTaskRunner(max_workers=os.cpu_count() or 1))  # type: ignore[arg-type]
def ingest(
    paths: list[str],
    out: str = "out",
    settings: Settings | None = None,
    force: bool = False,
    urls: list[str] | None = None,
    index_urls: list[str] | None = None,
) -> dict[str, Any]:
    """Process every PDF under ``paths`` (and fetched from ``urls`` / ``index_urls``) that the
    store at ``out`` does not hold yet with the same cache key (all with ``force``), and update
    the tables, the report and a summary artifact."""
    logger = get_run_logger()
    settings = settings or Settings()
    # pandera's first schema build imports its optional backends (seconds); do it while PDFs are read
    threading.Thread(target=schemas.tables.prepare, name="prepare-schemas", daemon=True).start()
    with Store(out).batch(settings, force) as batch:
        files, failures = find_pdfs(paths), list[Failure]()
        if urls or index_urls:
            fetched, failures = fetch_urls(urls or [], index_urls or [], out, settings)
            files += fetched
        todo = [str(p) for p in batch.plan(files)]
        logger.info("%d PDF(s) found, %d to process, %d already in %s", len(files), len(todo), len(files) - len(todo), out)
        for fut in process_batch.map(plan_batches(todo, settings.workers), settings=unmapped(settings)):
            for result in fut.result():
                batch.add(result)
                if result.failure:
                    logger.warning("%s FAILED at %s: %s", result.source, result.failure.stage, result.failure.message)
            logger.info("[%d/%d] done (failures so far: %d)", len(batch.summary.processed) + batch.summary.failed, len(todo), batch.summary.failed)
        for failure in failures:
            batch.add_failure(failure)
            logger.warning("%s FAILED at %s: %s", failure.source, failure.stage, failure.message)
        run = write_tables(batch, comparer(settings))
    report_path = Path(out) / "report.html"
    if run.series or not report_path.exists():
        report_path = Path(report(out, sorted(run.series) if report_path.exists() else None))
    store = Store(out)
    text = summary(summary_tables(store), run)
    changed = {"documents": store.read("documents"), "changes": store.read("changes")}
    create_markdown_artifact(key="ingest-summary", markdown=run_markdown(changed, run, report_path), description="what this ingest run did")
    return {
        "processed": len(run.processed),
        "failed": run.failed,
        "skipped": run.skipped,
        "failures": [f.row() for f in run.failures],
        "summary": text,
        "out": str(out),
        "report": str(report_path),
    }
