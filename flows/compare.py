"""The compare flow: the report of a store's changes between editions, as ``report.html`` and
as a Prefect markdown artifact, on demand (the ``compare-factsheets/store`` deployment, ``factsheets
report``). The ingest flow writes the same report with the ``report`` task after every run that
added documents, and its own artifact carries the changes."""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from outputs.merge import Batch
from outputs.report import changes_markdown, update_report
from outputs.store import Store


@task(name="write-report", task_run_name="write-report", cache_policy=NO_CACHE)
def report(out: str, series: list[str] | None = None, batch: Batch | None = None) -> str:
    """Write ``out/report.html`` and the pages of ``series`` (all when None) from the store's
    tables, reading only what they show, under the store's lock (the lock ``batch`` holds,
    when given)."""
    return str(batch.update_report(series) if batch is not None else update_report(Store(out), series))


@flow(name="compare-factsheets")
def compare(out: str = "out") -> dict[str, Any]:
    """Write ``out/report.html`` from the store's tables and publish the changes as an artifact."""
    logger = get_run_logger()
    tables = Store(out).read_small()
    path = report(out)
    create_markdown_artifact(key="factsheet-changes", markdown=changes_markdown(tables), description="changes between editions")
    counts = tables["changes"].groupby(["level", "change"]).size().to_dict() if len(tables["changes"]) else {}
    logger.info("report written to %s (%d change rows)", path, len(tables["changes"]))
    return {"report": path, "changes": {f"{k[0]}/{k[1]}": int(v) for k, v in counts.items()}}
