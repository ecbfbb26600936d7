"""The ingest flow: factsheet PDFs in, the tables out.

It only orchestrates: each task names a stage and calls the library (``extractors`` turns a PDF
into rows, ``outputs`` merges, compares, writes and reports). The run graph shows discovery
(``find-pdfs``, ``fetch-urls``), each document's stages (``extract[<file>]``, ``tag[<file>]``),
the merge with its comparisons (``merge-tables``, ``compare[<series>]``), ``write-tables`` and
``write-report``. A run with more documents than :data:`PER_DOCUMENT_TASKS` processes them in
batches (``process[<first file> +N]``): a task costs Prefect tens of milliseconds, which a bulk
load of hundreds of documents would feel. Documents run in worker processes with a time and a
memory limit (``flows.workers``).

A run in which any input failed ends in a ``Failed`` state whose message counts and names the
failures (after the good documents are written), so an automation on the flow's failed runs can
alert on it; a run where all succeed ends ``Completed``.
"""

from __future__ import annotations

import itertools
import math
import multiprocessing as mp
import os
import threading
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run
from prefect.states import Completed, Failed, State
from prefect.task_runners import ThreadPoolTaskRunner

import schemas.tables
from extractors.pipeline import ProcessedPDF, process_pdf, read_pdf, tag_pdf
from flows.compare import report
from flows.sources import discover, fetch_sources
from outputs.compare import JobsResult, PairJob, run_jobs
from outputs.merge import Batch, BatchSummary, CompareFn, Merged
from outputs.report import run_markdown, summary, summary_tables
from outputs.store import Store
from schemas.errors import FactsheetError, Failure
from schemas.settings import Settings

#: Runs of at most this many documents get a task per stage and document; larger runs, batches.
PER_DOCUMENT_TASKS = 32
#: Documents per batch task: enough to amortise Prefect's per-task cost, small enough to spread work.
MAX_BATCH = 16
#: Failed inputs a failed run's message names.
NAMED_FAILURES = 3


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


def run_name() -> str:
    """The flow run's name: what it ingests and when, ``ingest-inbox-2026-12-03T06:00``."""
    params = flow_run.parameters or {}
    paths, urls = params.get("paths") or [], (params.get("urls") or []) + (params.get("index_urls") or [])
    if paths:
        source = Path(str(paths[0])).name or "files"
        source = Path(source).stem if source.lower().endswith(".pdf") else source
    elif urls:
        source = urlparse(str(urls[0])).hostname or "urls"
    else:
        source = "nothing"
    more = len(paths) + len(urls) - 1
    return f"ingest-{source}{f'-and-{more}-more' if more > 0 else ''}-{datetime.now().strftime('%Y-%m-%dT%H:%M')}"


# ------------------------------------------------------------------------------------ tasks


@task(name="find-pdfs", task_run_name="find-pdfs", cache_policy=NO_CACHE)
def find_pdfs(paths: list[str]) -> list[str]:
    return [str(p) for p in discover(paths)]


@task(name="fetch-urls", task_run_name="fetch-urls", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5)
def fetch_urls(urls: list[str], index_urls: list[str], out: str, settings: Settings) -> tuple[list[str], list[Failure]]:
    files, failures = fetch_sources(urls, index_urls, Path(out) / "downloads", settings)
    return [str(f) for f in files], failures


@task(name="extract", cache_policy=NO_CACHE)
def extract(path: str, settings: Settings) -> ProcessedPDF:
    if _isolated(settings):
        from flows.workers import pool_for

        return pool_for(settings).read(path)
    return read_pdf(path, settings)


@task(name="tag", cache_policy=NO_CACHE)
def tag(result: ProcessedPDF, settings: Settings) -> ProcessedPDF:
    if _isolated(settings):
        from flows.workers import pool_for

        return pool_for(settings).tag(result)
    return tag_pdf(result, settings)


@task(name="process", cache_policy=NO_CACHE)
def process_batch(paths: list[str], settings: Settings) -> list[ProcessedPDF]:
    if _isolated(settings):
        from flows.workers import pool_for

        pool = pool_for(settings)
        return [pool.run(p) for p in paths]
    return [process_pdf(p, settings) for p in paths]


@task(name="compare", cache_policy=NO_CACHE)
def compare_series(jobs: list[PairJob], settings: Settings) -> JobsResult:
    if _isolated(settings) and settings.workers > 1:
        from flows.workers import parallel_compare, pool_for

        return parallel_compare(pool_for(settings), jobs)
    return run_jobs(jobs)


@task(name="merge-tables", task_run_name="merge-tables", cache_policy=NO_CACHE)
def merge_tables(batch: Batch, settings: Settings) -> Merged | None:
    return batch.merge(compare=_comparer(settings))


@task(name="write-tables", task_run_name="write-tables", cache_policy=NO_CACHE)
def write_tables(batch: Batch, merged: Merged | None) -> BatchSummary:
    return batch.write(merged)


def _comparer(settings: Settings) -> CompareFn:
    """Comparison of editions as a ``compare[<series>]`` task per series."""
    def run(jobs: Iterable[PairJob]) -> JobsResult:
        rows: list[dict[str, Any]] = []
        matches: dict[Any, Any] = {}
        for series, group in itertools.groupby(jobs, key=lambda job: job[0]):
            got_rows, got_matches = compare_series.with_options(task_run_name=f"compare[{series}]")(list(group), settings)
            rows += got_rows
            matches.update(got_matches)
        return rows, matches

    return run


def _documents(paths: list[str], settings: Settings) -> Iterable[ProcessedPDF]:
    """Each document's result as it comes: a task per stage and document for a small run,
    batches for a large one."""
    if len(paths) <= PER_DOCUMENT_TASKS:
        futures = []
        for p in paths:
            name = Path(p).name
            read = extract.with_options(task_run_name=f"extract[{name}]").submit(p, settings)
            futures.append(tag.with_options(task_run_name=f"tag[{name}]").submit(read, settings))  # type: ignore[call-overload]
        for p, f in zip(paths, futures, strict=True):
            yield from _results(f, [p])
        return
    batches = plan_batches(paths, settings.workers)
    names = [f"process[{Path(b[0]).name}{f' +{len(b) - 1}' if len(b) > 1 else ''}]" for b in batches]
    futures = [process_batch.with_options(task_run_name=n).submit(b, settings) for n, b in zip(names, batches, strict=True)]
    for b, f in zip(batches, futures, strict=True):
        yield from _results(f, b)


def _results(future: Any, paths: list[str]) -> list[ProcessedPDF]:
    """A task's documents; when the task itself did not finish (its Dask worker died, or a bug
    outside the pipeline's own error handling), a failure row for each of its documents, so the
    run writes the others."""
    try:
        result = future.result()
    except Exception as exc:  # any lost task is its documents' failure, never the run's
        return [ProcessedPDF.failed(Path(p).name, lost_task(p, exc)) for p in paths]
    return result if isinstance(result, list) else [result]


def lost_task(path: str, exc: BaseException) -> Failure:
    """The failure of a document whose task was lost: ``KilledWorker`` when Dask gave up on it
    after its worker died ``allowed-failures`` times, anything else a bug."""
    name = Path(path).name
    if type(exc).__name__ == "KilledWorker":
        message = (f"the Dask worker processing {name} died (killed, or over its memory limit) as often as the "
                   "scheduler allows (distributed.scheduler.allowed-failures); the other documents were written. "
                   "The next run tries it again; if it fails again, give the workers more memory.")
        return Failure(name, None, "limit", "KilledWorker", message)
    return Failure.from_exception(name, None, "pipeline", exc)


# ------------------------------------------------------------------------------------- flow


@flow(name="ingest-factsheets", flow_run_name=run_name, task_runner=ThreadPoolTaskRunner(max_workers=os.cpu_count() or 1))  # type: ignore[arg-type]
def ingest(
    paths: list[str],
    out: str = "out",
    settings: Settings | None = None,
    force: bool = False,
    urls: list[str] | None = None,
    index_urls: list[str] | None = None,
) -> State:
    """Process every PDF under ``paths`` (and fetched from ``urls`` / ``index_urls``) that the
    store at ``out`` does not hold yet with the same cache key (all with ``force``), and update
    the tables, the report and the run's artifact. Ends ``Failed`` when any input failed."""
    settings = settings or Settings()
    try:
        return _ingest(paths, out, settings, force, urls, index_urls)
    except (FactsheetError, OSError) as exc:  # the store could not be locked or written: nothing changed
        message = str(exc) if isinstance(exc, FactsheetError) else f"{out}: {exc.strerror or exc}; check the folder (space, permissions)."
        get_run_logger().error("%s", message)
        return Failed(message=message, data={"error": type(exc).__name__, "message": message})


def _ingest(paths: list[str], out: str, settings: Settings, force: bool, urls: list[str] | None, index_urls: list[str] | None) -> State:
    logger = get_run_logger()
    # pandera's first schema build imports its optional backends (seconds); do it while PDFs are read
    threading.Thread(target=schemas.tables.prepare, name="prepare-schemas", daemon=True).start()
    with Store(out).batch(settings, force) as batch:
        files, failures = find_pdfs(paths), list[Failure]()
        if urls or index_urls:
            fetched, failures = fetch_urls(urls or [], index_urls or [], out, settings)
            files += fetched
        todo = [str(p) for p in batch.plan(files)]
        logger.info("%d PDF(s) found, %d to process, %d already in %s", len(files), len(todo), len(files) - len(todo), out)
        for n, doc in enumerate(_documents(todo, settings), start=1):
            batch.add(doc)
            if doc.failure:
                logger.warning("[%d/%d] %s FAILED at %s: %s", n, len(todo), doc.source, doc.failure.stage, doc.failure.message)
            else:
                logger.info("[%d/%d] %s: done", n, len(todo), doc.source)
        for failure in failures:
            batch.add_failure(failure)
            logger.warning("%s FAILED at %s: %s", failure.source, failure.stage, failure.message)
        run = write_tables(batch, merge_tables(batch, settings))
        report_path = Path(out) / "report.html"
        if run.series or not report_path.exists():  # under the batch's lock
            report_path = Path(report(out, sorted(run.series) if report_path.exists() else None, batch=batch))
    store = Store(out)
    text = summary(summary_tables(store), run)
    changed = {"documents": store.read("documents"), "changes": store.read("changes")}
    create_markdown_artifact(key="ingest-summary", markdown=run_markdown(changed, run, report_path), description="what this ingest run did")
    result = {
        "processed": len(run.processed),
        "failed": run.failed,
        "skipped": run.skipped,
        "failures": [f.row() for f in run.failures],
        "summary": text,
        "out": str(out),
        "report": str(report_path),
    }
    if run.failures:
        names = ", ".join(f.source for f in run.failures[:NAMED_FAILURES]) + (f" (+{run.failed - NAMED_FAILURES} more)" if run.failed > NAMED_FAILURES else "")
        message = (f"{run.failed} of {len(run.processed) + run.failed} input(s) failed: {names}; the others were written. "
                   f"See the failures table in {out} (`factsheets summary --out {out}`).")
        return Failed(message=message, data=result)
    return Completed(message=f"{len(run.processed)} document(s) processed, {run.skipped} already in {out}", data=result)


def run_ingest(flow_: Any = None, **parameters: Any) -> tuple[State, dict[str, Any]]:
    """Run the ingest flow (or ``flow_``, the flow with other options) and return its final
    state and its result (also when it failed)."""
    state: State = (flow_ or ingest)(**parameters, return_state=True)
    data = state.result(raise_on_failure=False)
    if isinstance(data, BaseException):
        raise data
    return state, data
