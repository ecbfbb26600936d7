"""The worker pool's comparison jobs: spread over two workers, the same changes as in one process."""

from __future__ import annotations

import dataclasses

import pandas as pd

from flows.workers import COMPARE_GROUP, WorkerPool, parallel_compare
from outputs.compare import compare_jobs, pair_jobs
from schemas.settings import Settings


def test_parallel_compare_gives_the_same_changes(store):
    (job,) = list(pair_jobs(store["documents"], store["blocks"], store["entities"]))  # February 2019 → June 2020
    series, a, b, blocks, entities = job
    # Enough pairs for several groups, each its own series so that every pair's rows count.
    jobs = [(f"{series}-{i}", a, dataclasses.replace(b, edition=f"2020-{i + 1:02d}"), blocks, entities) for i in range(3 * COMPARE_GROUP + 1)]
    expected = compare_jobs(jobs)
    assert len(expected) == len(jobs) * len(compare_jobs([job])) and expected["change_id"].is_unique
    with WorkerPool(Settings(workers=2), size=2) as pool:
        got = parallel_compare(pool, iter(jobs))  # consumed as the workers become free
    pd.testing.assert_frame_equal(got, expected)
    with WorkerPool(Settings(workers=1), size=1) as pool:  # in this process, every group
        pd.testing.assert_frame_equal(parallel_compare(pool, iter(jobs)), expected)
