"""The ingest flow: factsheet PDFs in, the five tables out.

Tasks are thin wrappers around ``flows.steps``; the flow orchestrates them in plain Python.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task, unmapped
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from extractors import PIPELINE_VERSION
from extractors.pdf import file_digest
from outputs.writers import read_table, write_tables
from schemas.tables import TABLES

from . import steps
from .settings import Settings


@task(name="process-document", cache_policy=NO_CACHE)
def process_document(path: str, settings: Settings) -> steps.DocumentResult:
    return steps.process_document(path, settings)


@task(name="write-tables", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=1)
def write(out_dir: str, tables: dict[str, Any]) -> list[str]:
    return [str(p) for p in write_tables(Path(out_dir), tables).values()]


@flow(name="ingest-factsheets", log_prints=False)
def ingest(paths: list[str], out: str = "out", settings: Settings | None = None, force: bool = False) -> dict[str, Any]:
    """Process every PDF under ``paths`` not yet in the store at ``out`` and update the tables.

    A document already in the store (same bytes, same pipeline version) is skipped unless
    ``force``; when nothing is new, no file is rewritten.
    """
    logger = get_run_logger()
    settings = settings or Settings()
    out_dir = Path(out)
    files = steps.discover(paths)
    existing = {name: read_table(out_dir, name) for name in TABLES}
    known = set(existing["documents"].loc[existing["documents"]["pipeline_version"] == PIPELINE_VERSION, "doc_id"])
    todo = files if force else [f for f in files if file_digest(f) not in known]
    logger.info("%d PDF(s) found, %d to process, %d already in %s", len(files), len(todo), len(files) - len(todo), out_dir)
    results: list[steps.DocumentResult] = []
    futures = process_document.map([str(f) for f in todo], settings=unmapped(settings))
    failed = 0
    for i, fut in enumerate(futures, start=1):
        r = fut.result()
        results.append(r)
        if r.ok:
            logger.info("[%d/%d] %s: %d blocks, %d entities (failures so far: %d)", i, len(todo), r.source, len(r.blocks), len(r.entities), failed)
        else:
            failed += 1
            assert r.failure is not None
            logger.warning("[%d/%d] %s FAILED at %s: %s (failures so far: %d)", i, len(todo), r.source, r.failure["stage"], r.failure["message"], failed)
    if results:
        tables = steps.merge_results(existing, results)
        write(str(out_dir), tables)
    else:
        tables = existing
    text = steps.summary(tables, results)
    create_markdown_artifact(key="ingest-summary", markdown=_markdown(text, tables), description="factsheets ingest summary")
    return {
        "processed": len(results) - failed,
        "failed": failed,
        "skipped": len(files) - len(todo),
        "failures": [r.failure for r in results if r.failure],
        "summary": text,
        "out": str(out_dir),
    }


def _markdown(text: str, tables: dict[str, Any]) -> str:
    changes = tables["changes"]
    lines = ["# factsheets ingest", "", "```", text, "```", ""]
    facts = changes[(changes["level"] == "entity") & (changes["change"] == "changed")] if len(changes) else changes
    if len(facts):
        lines += ["## Facts that changed", "", "| series | from | to | label | before | after |", "|---|---|---|---|---|---|"]
        for r in facts.itertuples(index=False):
            lines.append(f"| {r.series} | {r.from_edition} | {r.to_edition} | {r.label} | {r.before} | {r.after} |")
    return "\n".join(lines)
