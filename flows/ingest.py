"""The ingest flow: factsheet PDFs in, the five tables out.

Tasks are thin wrappers around ``flows.steps``; the flow orchestrates them in plain Python:
lock the store, find what is new, process it in batches (each document in a worker process
with a time and memory limit; its rows go to a spool on disk as they arrive), merge, write the
new set of tables atomically, part by part, publish a summary artifact.
"""

from __future__ import annotations

import math
import multiprocessing as mp
import os
import threading
import time
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task, unmapped
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.task_runners import ThreadPoolTaskRunner

import schemas.tables
from extractors.pdf import file_digest
from flows import steps
from flows.settings import Settings
from flows.sources import fetch_sources
from outputs.report import changes_markdown
from outputs.store import Store

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


@task(name="process-batch", cache_policy=NO_CACHE)
def process_batch(paths: list[str], settings: Settings) -> list[steps.DocumentResult]:
    """Process documents; each in a worker process with limits unless ``settings.isolate`` is off
    (or this process may not start children, as in a daemonic Dask worker)."""
    if settings.isolate and not mp.current_process().daemon:
        from flows.workers import pool_for

        pool = pool_for(settings)
        return [pool.run(p) for p in paths]
    return [steps.process_document(p, settings) for p in paths]


@flow(name="ingest-factsheets", task_runner=ThreadPoolTaskRunner(max_workers=os.cpu_count() or 1))
def ingest(
    paths: list[str],
    out: str = "out",
    settings: Settings | None = None,
    force: bool = False,
    urls: list[str] | None = None,
    index_urls: list[str] | None = None,
) -> dict[str, Any]:
    """Process every PDF under ``paths`` (and fetched from ``urls`` / ``index_urls``) that the
    store at ``out`` does not hold yet, and update the tables.

    A document already processed with the same cache key (pipeline version, model, layout
    settings) is skipped unless ``force``; the same bytes under a new name are recorded as an
    alias, not processed again; when nothing changed, no file is rewritten.
    """
    logger = get_run_logger()
    settings = settings or Settings()
    # pandera's first schema build imports its optional backends (seconds); do it while PDFs are read
    threading.Thread(target=schemas.tables.prepare, name="prepare-schemas", daemon=True).start()
    store = Store(out)
    with store.lock(settings.lock_timeout_s):
        files = [str(p) for p in steps.discover(paths)]
        fetch_failures: list[dict[str, Any]] = []
        if urls or index_urls:
            fetched, fetch_failures = fetch_sources(urls or [], index_urls or [], Path(out) / "downloads", settings)
            files += [str(p) for p in fetched]
        manifest = store.manifest()
        key = settings.cache_key
        names: dict[str, list[str]] = {}  # digest → file names seen in this run
        digest_of: dict[str, str] = {}  # file name → digest
        todo: list[str] = []
        for f in files:
            digest = file_digest(Path(f))
            digest_of.setdefault(Path(f).name, digest)
            if digest in names:  # the same bytes twice in this run: processed once
                names[digest].append(Path(f).name)
                continue
            names[digest] = [Path(f).name]
            if force or not manifest.is_current(digest, key):
                todo.append(f)
        skipped = len(files) - len(todo)
        logger.info("%d PDF(s) found, %d to process, %d already in %s", len(files), len(todo), skipped, out)
        clock = time.perf_counter()

        results: list[steps.DocumentResult] = []
        failed = 0
        done = 0
        batches = plan_batches(todo, settings.workers)
        timings: dict[str, float] = {}
        with store.spool() as spool:
            for fut in process_batch.map(batches, settings=unmapped(settings)):
                batch = fut.result()
                for r in batch:
                    done += 1
                    if r.ok:
                        assert r.doc_id is not None
                        logger.debug("%s: %d blocks, %d entities", r.source, len(r.blocks), len(r.entities))
                        spool.add(r.doc_id, {"blocks": r.blocks, "entities": r.entities})
                        r.drop_rows()  # they are in the spool now
                    else:
                        failed += 1
                        assert r.failure is not None
                        logger.warning("[%d/%d] %s FAILED at %s: %s (failures so far: %d)", done, len(todo), r.source, r.failure["stage"], r.failure["message"], failed)
                    results.append(r)
                # one progress line per batch: a log record costs the flow a few milliseconds
                logger.info("[%d/%d] done, %d in this batch (failures so far: %d)", done, len(todo), len(batch), failed)
            for fail in fetch_failures:
                failed += 1
                results.append(steps.DocumentResult(source=fail["source"], failure=fail))
                logger.warning("%s FAILED at %s: %s", fail["source"], fail["stage"], fail["message"])

            for r in results:
                if r.ok and r.doc_id:
                    manifest.record(r.doc_id, key, r.source)
                elif r.failure and (r.doc_id or r.source in digest_of):
                    # reported once; tried again when its bytes or the pipeline change, or with --force
                    manifest.record_failure(r.doc_id or digest_of[r.source], key, r.source)
            aliases = sum(
                manifest.add_alias(digest, name)
                for digest, seen in names.items()
                if digest in manifest.documents
                for name in seen
            )
            timings["process"] = time.perf_counter() - clock
            if results or aliases:
                clock = time.perf_counter()
                compare_fn = steps.compare_jobs
                if settings.isolate and not mp.current_process().daemon and settings.workers > 1:
                    from functools import partial

                    from flows.workers import parallel_compare, pool_for

                    compare_fn = partial(parallel_compare, pool_for(settings))
                merged = steps.merge(store.read_small(), spool, results, store.rows(), compare=compare_fn)
                timings["merge"] = time.perf_counter() - clock
                clock = time.perf_counter()
                store.write(merged.tables(), manifest)
                timings["write"] = time.perf_counter() - clock
                del merged
    report_path = str(Path(out) / "report.html")
    if any(r.ok for r in results) or not Path(report_path).exists():
        from flows.compare import report

        clock = time.perf_counter()
        report_path = report(str(out))
        timings["report"] = time.perf_counter() - clock
    logger.info("timings (s): %s", ", ".join(f"{k} {v:.1f}" for k, v in timings.items()))
    tables = steps.summary_tables(store)
    text = steps.summary(tables, results)
    if aliases:
        text += f"\naliases recorded (same bytes under another name, not processed again): {aliases}"
    create_markdown_artifact(key="ingest-summary", markdown=_markdown(text, tables), description="factsheets ingest summary")
    return {
        "processed": len(results) - failed,
        "failed": failed,
        "skipped": skipped,
        "failures": [r.failure for r in results if r.failure],
        "summary": text,
        "out": str(out),
        "new_documents": [r.doc_id for r in results if r.ok],
        "report": report_path,
    }


def _markdown(text: str, tables: dict[str, Any]) -> str:
    """The run's summary, then the changes between editions (``outputs.report``)."""
    return "\n".join(["# factsheets ingest", "", "```", text, "```", "", changes_markdown(tables)])
