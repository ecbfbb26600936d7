"""Deployments as code: scheduled ingestion of inbox folders (and URLs), and the comparison.

``factsheets serve`` builds these and serves them (Prefect 3 ``to_deployment`` + ``serve``);
runs appear in the UI of the Prefect server that ``PREFECT_API_URL`` points to.
"""

from __future__ import annotations

from typing import Any

from flows.compare import compare
from flows.ingest import ingest
from schemas.settings import Settings

DEFAULT_CRON = "0 * * * *"  # hourly


def build_deployments(
    inboxes: list[str],
    out: str,
    cron: str = DEFAULT_CRON,
    settings: Settings | None = None,
    urls: list[str] | None = None,
    index_urls: list[str] | None = None,
) -> list[Any]:
    """The ``ingest-factsheets/inbox`` deployment on ``cron`` and ``compare-factsheets/store``
    (run by ingest after each run that found something new; also runnable by hand)."""
    settings = settings or Settings()
    params = {"paths": inboxes, "out": out, "settings": settings.model_dump(), "urls": urls or [], "index_urls": index_urls or []}
    return [
        ingest.to_deployment(name="inbox", cron=cron, parameters=params, tags=["factsheets"],
                             description=f"Ingest new factsheets from {', '.join(inboxes + (urls or []) + (index_urls or []))} into {out}"),
        compare.to_deployment(name="store", parameters={"out": out}, tags=["factsheets"],
                              description=f"Report the changes between editions in {out}"),
    ]
