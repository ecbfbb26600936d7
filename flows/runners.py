"""Task runners: threads on this machine (default) or a Dask cluster."""

from __future__ import annotations

from typing import Any

from prefect.task_runners import ThreadPoolTaskRunner


def task_runner(kind: str = "thread", workers: int = 1, dask_address: str | None = None) -> Any:
    """``thread``: a thread per worker process of this machine's pool. ``dask``: Prefect's
    ``DaskTaskRunner`` on the cluster at ``dask_address``, or on a new local cluster of
    ``workers`` single-threaded worker processes."""
    if kind == "thread":
        return ThreadPoolTaskRunner(max_workers=workers)
    if kind == "dask":
        import dask
        from prefect_dask import DaskTaskRunner

        # Workers may start their own child processes (the per-document limits need them).
        dask.config.set({"distributed.worker.daemon": False})
        if dask_address:
            return DaskTaskRunner(address=dask_address)
        return DaskTaskRunner(
            cluster_kwargs={"n_workers": workers, "threads_per_worker": 1, "processes": True, "dashboard_address": None}
        )
    raise ValueError(f"unknown runner {kind!r}; use 'thread' or 'dask'")
