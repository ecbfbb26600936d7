"""Run documents in worker processes that can be stopped: a time limit per document and a
memory limit per worker.

Why not Prefect's ``ProcessPoolTaskRunner``: it runs tasks in a ``concurrent.futures`` process
pool, where a worker killed by the kernel (a decompression bomb over the memory limit) breaks
the whole pool and fails every task in flight, and a task's ``timeout_seconds`` cannot stop a
parser stuck in C code. A hostile PDF must cost one failure row, never the batch, so this pool
keeps what that runner cannot do: a hard time limit per document (the worker is killed and
replaced) and an address-space limit per worker (``RLIMIT_AS``), each turned into a failure row.

A ``WorkerPool`` keeps ``size`` long-lived worker processes (started by a fork server, so
starting one is cheap and safe in a threaded parent). Each worker caps its address space with
``RLIMIT_AS``, loads the spaCy pipeline and the language model once and processes one document
at a time. The parent waits at most ``timeout`` seconds for a document; a worker that runs over
is killed and replaced, and the document becomes a ``timeout`` failure; a worker that dies (out of memory,
crashed parser) gives a ``limit`` failure. Either way the batch goes on.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import multiprocessing as mp
import os
import queue
import signal
import threading
from collections.abc import Iterable, Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any

from extractors.pipeline import ProcessedPDF
from schemas.errors import Failure
from schemas.settings import Settings

if TYPE_CHECKING:  # the workers do not import outputs until they compare (memory under their limit)
    from outputs.compare import JobsResult

_PRELOAD = ["extractors.pipeline", "extractors.tagging", "spacy", "pdfplumber"]


def _worker_main(conn: Connection, settings_json: str) -> None:
    """A worker: limit memory, load the pipeline, then run commands until told to stop:
    ``("process", path)``, ``("read", path)``, ``("tag", result)`` (the stages of
    ``extractors.pipeline``) and ``("compare", jobs)``."""
    import resource

    from extractors.pipeline import load_language_model, process_pdf, read_pdf, tag_pdf
    from extractors.tagging import load_nlp

    settings = Settings.model_validate_json(settings_json)
    if settings.memory_limit_mb:
        limit = settings.memory_limit_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    with contextlib.suppress(MemoryError):  # reported per document below
        load_nlp(settings.model)
        load_language_model()
    stages: dict[str, Any] = {"process": process_pdf, "read": read_pdf, "tag": tag_pdf}
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        command, payload = message
        if command == "compare":
            from outputs.compare import run_jobs

            reply: Any = run_jobs(payload)
        else:
            try:
                reply = stages[command](payload, settings)
            except MemoryError as exc:  # the stages catch it; this is for one raised while they return
                name = payload.source if isinstance(payload, ProcessedPDF) else Path(payload).name
                reply = ProcessedPDF.failed(name, Failure.from_exception(name, None, "pipeline", exc))
        try:
            conn.send(reply)
        except (BrokenPipeError, OSError):
            return


class _Worker:
    def __init__(self, ctx: Any, settings: Settings) -> None:
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_worker_main, args=(child, settings.model_dump_json()), daemon=True)
        self.process.start()
        child.close()

    def alive(self) -> bool:
        return self.process.is_alive()

    def kill(self) -> None:
        if self.process.is_alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.process.pid, signal.SIGKILL)
        self.process.join(5)
        self.conn.close()

    def stop(self) -> None:
        with contextlib.suppress(BrokenPipeError, OSError):
            self.conn.send(None)
        self.process.join(5)
        if self.process.is_alive():
            self.kill()
        else:
            self.conn.close()


class WorkerPool:
    """``size`` worker processes; ``run(path)`` is safe to call from several threads."""

    def __init__(self, settings: Settings, size: int | None = None) -> None:
        self.settings = settings
        self.size = max(1, size or settings.workers)
        self._ctx = mp.get_context("forkserver")
        self._ctx.set_forkserver_preload(_PRELOAD)
        self._idle: queue.Queue[_Worker | None] = queue.Queue()
        self._lock = threading.Lock()
        self._started = 0
        self._closed = False

    def _take(self) -> _Worker:
        with self._lock:
            if self._closed:
                raise RuntimeError("the worker pool is closed")
            if self._idle.empty() and self._started < self.size:
                self._started += 1
                return _Worker(self._ctx, self.settings)
        worker = self._idle.get()
        if worker is None or not worker.alive():
            if worker is not None:
                worker.kill()
            return _Worker(self._ctx, self.settings)
        return worker

    def warm(self, n: int = 1) -> threading.Thread:
        """Start up to ``n`` workers in the background now (the fork server imports the pipeline,
        each worker loads the model) so that they are ready when the first document comes: a
        command can do it while it imports Prefect and starts the flow run."""
        def start() -> None:
            with self._lock:
                want = min(n, self.size) - self._started
                if self._closed or want <= 0:
                    return
                self._started += want
            for _ in range(want):
                try:
                    worker = _Worker(self._ctx, self.settings)
                except (OSError, EOFError):
                    if self._closed:  # the command ended (and stopped the fork server) first
                        return
                    raise
                self._idle.put(worker)
                if self._closed:  # closed while it started: the close did not see it
                    worker.kill()

        thread = threading.Thread(target=start, name="warm-workers", daemon=True)
        thread.start()
        return thread

    def run(self, path: str | Path) -> ProcessedPDF:
        """Read, lay out and tag one PDF in a worker (``extractors.pipeline.process_pdf``)."""
        return self.call("process", str(path), Path(path).name)

    def read(self, path: str | Path) -> ProcessedPDF:
        """The first stage, in a worker (``read_pdf``)."""
        return self.call("read", str(path), Path(path).name)

    def tag(self, result: ProcessedPDF) -> ProcessedPDF:
        """The second stage, in a worker (``tag_pdf``); a failure passes through."""
        return result if result.failure is not None else self.call("tag", result, result.source)

    def call(self, command: str, payload: Any, name: str) -> ProcessedPDF:
        """Send a stage to a worker and wait for it at most ``timeout_s``; a worker that runs over
        is killed (a ``timeout`` failure), one that dies gives a ``limit`` failure."""
        worker = self._take()
        timeout = self.settings.timeout_s
        try:
            worker.conn.send((command, payload))
            if worker.conn.poll(timeout):
                result: ProcessedPDF = worker.conn.recv()
                self._idle.put(worker)
                return result
            worker.kill()
            self._idle.put(None)
            return _failure(name, "timeout", "TimeoutError",
                            f"{name} took more than {timeout:g} s and was stopped; it may be huge or malformed. "
                            "Raise FACTSHEETS_TIMEOUT_S if it is a real factsheet.")
        except (EOFError, OSError, BrokenPipeError):
            worker.process.join(1)
            code = worker.process.exitcode
            worker.kill()
            self._idle.put(None)
            if code is not None and code > 0:
                return _failure(name, "pipeline", "WorkerDied",
                                f"the worker processing {name} stopped with an error (exit code {code}); this is a bug in "
                                "factsheets or a PDF it cannot handle yet: report it with the file.")
            why = f"killed by signal {-code}" if code is not None and code < 0 else "it stopped"
            return _failure(name, "limit", "WorkerDied",
                            f"the worker processing {name} died ({why}), most likely over the memory limit of "
                            f"{self.settings.memory_limit_mb} MB (a decompression bomb or a huge page); raise "
                            "FACTSHEETS_MEMORY_LIMIT_MB if it is a real factsheet.")

    def compare(self, jobs: list[Any]) -> JobsResult:
        """Run edition-comparison jobs in a worker (no time limit: they are the project's own
        data, not a hostile file); raises if the worker dies."""
        worker = self._take()
        try:
            worker.conn.send(("compare", jobs))
            rows: JobsResult = worker.conn.recv()
        except BaseException:
            worker.kill()
            self._idle.put(None)
            raise
        self._idle.put(worker)
        return rows

    def close(self, kill: bool = False) -> None:
        """Stop the idle workers: ask them (each finishes what it is doing first), or, with
        ``kill``, kill them (at exit: a worker still loading the model would make the command
        wait for it)."""
        with self._lock:
            self._closed = True
        while True:
            try:
                worker = self._idle.get_nowait()
            except queue.Empty:
                break
            if worker is not None and kill:
                worker.kill()
            elif worker is not None:
                worker.stop()

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _failure(source: str, stage: str, error: str, message: str) -> ProcessedPDF:
    return ProcessedPDF.failed(source, Failure(source, None, stage, error, message))


def parallel_compare(pool: WorkerPool, jobs: Iterable[Any]) -> JobsResult:
    """``outputs.compare.compare_jobs``, with the jobs spread over the pool's workers in
    groups; jobs are made as workers become free, so only the groups in flight are in memory."""
    from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

    from outputs.compare import run_jobs

    groups = _groups(iter(jobs), COMPARE_GROUP)
    first = next(groups, [])
    if pool.size < 2 or len(first) < COMPARE_GROUP:  # one worker, or too few jobs to share
        return run_jobs(itertools.chain(first, itertools.chain.from_iterable(groups)))
    rows: list[dict[str, Any]] = []
    matches: dict[Any, Any] = {}
    pending: set[Future[JobsResult]] = set()

    def take(futures: Iterable[Future[JobsResult]]) -> None:
        for f in futures:
            got_rows, got_matches = f.result()
            rows.extend(got_rows)
            matches.update(got_matches)

    with ThreadPoolExecutor(pool.size) as ex:
        for group in itertools.chain([first], groups):
            if len(pending) >= 2 * pool.size:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                take(done)
            pending.add(ex.submit(pool.compare, group))
        take(pending)
    return rows, matches


#: Comparison jobs sent to a worker at a time.
COMPARE_GROUP = 8


def _groups(items: Iterator[Any], n: int) -> Iterator[list[Any]]:
    while group := list(itertools.islice(items, n)):
        yield group


_POOLS: dict[str, WorkerPool] = {}
_POOLS_LOCK = threading.Lock()


def pool_for(settings: Settings) -> WorkerPool:
    """The process-wide pool for these settings (one per process, created on first use)."""
    key = settings.model_dump_json()
    with _POOLS_LOCK:
        pool = _POOLS.get(key)
        if pool is None or pool._closed:
            pool = _POOLS[key] = WorkerPool(settings)
        return pool


def _take_pools() -> list[WorkerPool]:
    """Every pool of this process, forgotten by :func:`pool_for` (the next call makes a new one)."""
    with _POOLS_LOCK:
        pools = list(_POOLS.values())
        _POOLS.clear()
    return pools


def close_pools() -> None:
    """At exit: kill every pool's workers (they hold nothing to save; a worker warmed for a run
    that found nothing new may still be loading the model), then the fork server."""
    for pool in _take_pools():
        pool.close(kill=True)
    _stop_fork_server()


def _stop_fork_server(reap: bool = True) -> None:
    """Kill the fork server: it runs nothing, only holds the pipeline's imports, and asked to
    stop it would tear them down for a second after this process has gone, holding this
    process's output open (a caller waiting for it to close waits that second too). ``reap``:
    close its pipe and wait for it (takes the fork server's lock: not from a signal handler)."""
    import multiprocessing.forkserver as forkserver

    server = forkserver._forkserver
    pid = getattr(server, "_forkserver_pid", None)
    if pid:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        if reap:
            with contextlib.suppress(OSError):
                server._stop()  # type: ignore[attr-defined]


def kill_children() -> None:
    """Stop every process this one started for documents, at once: the workers of every pool
    and the fork server that starts them (on an interrupt, when there is no time to ask)."""
    for pool in _take_pools():
        pool._closed = True
    for child in mp.active_children():
        with contextlib.suppress(ProcessLookupError):
            os.kill(child.pid, signal.SIGKILL)  # type: ignore[arg-type]
    _stop_fork_server(reap=False)  # from a signal handler, which may have interrupted a holder of its lock


atexit.register(close_pools)
