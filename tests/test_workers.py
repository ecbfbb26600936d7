"""The worker pool's comparison jobs: spread over two workers, the same changes as in one process."""

from __future__ import annotations

import dataclasses

import pandas as pd

from flows.workers import COMPARE_GROUP, WorkerPool, parallel_compare
from outputs.compare import compare_jobs, finish_changes, pair_jobs
from schemas.settings import Settings


def test_parallel_compare_gives_the_same_changes(store):
    (job,) = list(pair_jobs(store["documents"], store["blocks"], store["entities"], store["facts"]))  # February 2019 → June 2020
    series, a, b, blocks, entities, facts = job
    # Enough pairs for several groups, each its own series so that every pair's rows count.
    jobs = [(f"{series}-{i}", a, dataclasses.replace(b, edition=f"2020-{i + 1:02d}"), blocks, entities, facts) for i in range(3 * COMPARE_GROUP + 1)]
    rows, matches = compare_jobs(jobs)
    expected = finish_changes(rows)
    assert len(expected) == len(jobs) * len(compare_jobs([job])[0]) and expected["change_id"].is_unique
    assert matches[(a.doc_id, b.doc_id)]  # facts of the two editions paired
    with WorkerPool(Settings(workers=2), size=2) as pool:
        got_rows, got_matches = parallel_compare(pool, iter(jobs))  # consumed as the workers become free
    pd.testing.assert_frame_equal(finish_changes(got_rows), expected)
    assert got_matches == matches
    with WorkerPool(Settings(workers=1), size=1) as pool:  # in this process, every group
        pd.testing.assert_frame_equal(finish_changes(parallel_compare(pool, iter(jobs))[0]), expected)
